// The operator's console, in a real browser against the real service: an account in
// QUOTIDIAN_OPERATOR_EMAILS (E2E_OPERATOR_EMAIL; scripts/lib/web.sh browser_tests sets both)
// sends itself a digest, then visits the overview, the digest runs and one run, the ETL
// runs and one run, and lifts the suppression scripts/lib/web.sh seeded (E2E_SUPPRESSED_EMAIL).
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { checkScreen, confirmedAccount, launch, logIn, newPage, waitForMail } from "./support";

const OPERATOR = process.env.E2E_OPERATOR_EMAIL;
const SUPPRESSED = process.env.E2E_SUPPRESSED_EMAIL;

let browser: Browser;
beforeAll(async () => {
  if (OPERATOR) browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test.skipIf(!OPERATOR || !SUPPRESSED)("an operator sees runs, queues and budgets and lifts a suppression", async () => {
  const operator = OPERATOR!;
  const suppressed = SUPPRESSED!;
  await confirmedAccount("operator", operator);
  const { page, errors } = await newPage(browser, "America/New_York");
  await logIn(page, operator);

  // Something to look at: a digest run (send now) and the extraction it starts.
  const add = await page.request.post("/api/v1/watchlist", { data: { symbol: "AAPL" } });
  expect(add.status()).toBe(201);
  const send = await page.request.post("/api/v1/digests/send-now");
  expect(send.status()).toBe(202);
  await waitForMail(operator, /Quotidian (Mon|Tue|Wed|Thu|Fri|Sat|Sun) /);

  // The overview: queues and budgets.
  const main = page.getByRole("navigation", { name: "Main" });
  await main.getByRole("link", { name: "Operations" }).click();
  await page.getByRole("heading", { level: 1, name: "Operations" }).waitFor();
  await page.getByRole("heading", { level: 3, name: "Audit outbox" }).waitFor();
  await page.getByRole("heading", { level: 3, name: "Finnhub" }).waitFor();
  await page.getByText("built-in sample data stands in").waitFor();
  expect(await page.title()).toBe("Operations · Quotidian");
  await checkScreen(page, "ops-overview");

  // Today's digest runs, and the send-now run with its counts.
  const ops = page.getByRole("navigation", { name: "Operations" });
  await ops.getByRole("link", { name: "Digest runs" }).click();
  await page.getByRole("heading", { level: 1, name: "Digest runs" }).waitFor();
  const today = page.getByRole("region", { name: "Today" });
  const run = today.getByRole("link", { name: /^Run \d+$/ }).first();
  await run.waitFor();
  await expect.poll(() => today.getByText("Send now").count()).toBeGreaterThan(0);
  await checkScreen(page, "ops-digest-runs");
  const runId = (await run.innerText()).trim().replace("Run ", "");
  await run.click();
  await page.getByRole("heading", { level: 1, name: `Digest run ${runId}` }).waitFor();
  await page.getByRole("region", { name: "Not sent" }).waitFor();
  await checkScreen(page, "ops-digest-run");

  // ETL runs: the extraction the digest asked for, and its detail.
  await ops.getByRole("link", { name: "ETL runs" }).click();
  await page.getByRole("heading", { level: 1, name: "ETL runs" }).waitFor();
  const etl = page.getByRole("main").getByRole("link", { name: /^Run \d+$/ }).first();
  await etl.waitFor();
  await checkScreen(page, "ops-etl-runs");
  const etlId = (await etl.innerText()).trim().replace("Run ", "");
  await etl.click();
  await page.getByRole("heading", { level: 1, name: `ETL run ${etlId}` }).waitFor();
  await page.getByRole("region", { name: "Failures" }).waitFor();
  await checkScreen(page, "ops-etl-run");

  // Suppressions: lift one, after saying yes.
  await ops.getByRole("link", { name: "Suppressions" }).click();
  await page.getByRole("heading", { level: 1, name: "Suppressed addresses" }).waitFor();
  await page.getByText(suppressed).waitFor();
  await checkScreen(page, "ops-suppressions");
  const lift = page.getByRole("button", { name: `Lift the suppression of ${suppressed}` });
  await lift.click();
  await page.getByText(`Send email to ${suppressed} again?`).waitFor();
  await checkScreen(page, "ops-suppression-confirm");
  await page.getByRole("button", { name: "Yes, lift the suppression" }).click();
  await page.getByRole("status").filter({ hasText: `Lifted the suppression of ${suppressed}` }).waitFor();
  await expect.poll(() => page.getByText(suppressed, { exact: true }).count()).toBe(0);
  // Lifted for real: a reload does not show it.
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Suppressed addresses" }).waitFor();
  await page.getByText("No address is suppressed.").or(page.getByRole("list", { name: "Suppressed addresses" })).first().waitFor();
  expect(await page.getByText(suppressed, { exact: true }).count()).toBe(0);

  expect(errors).toEqual([]);
});
