// The browser protections, in a real browser: the API docs work under their
// Content-Security-Policy, another site cannot frame our pages (clickjacking the
// unsubscribe button) or make a logged-in browser change anything (cross-site
// request forgery). The other screens are checked for CSP violations by newPage.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BASE_URL, confirmedAccount, launch, logIn, newPage } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test("the API docs render under their policy", async () => {
  const { page, errors } = await newPage(browser);
  const response = await page.goto("/docs/");
  expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
  await page.getByRole("heading", { name: /Quotidian API/ }).waitFor();
  // Open one operation: its parameters, schemas and examples render too.
  await page.getByText("/api/v1/auth/login", { exact: true }).click();
  await page.getByRole("button", { name: "Try it out" }).first().click();
  // Executing it is a same-origin POST from the docs page: allowed (the example
  // account does not exist, so the answer is the API's 401).
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/login")),
    page.getByRole("button", { name: "Execute" }).click(),
  ]);
  expect(answer.status()).toBe(401);
  expect(errors).toEqual([]);
});

test("another site cannot frame the unsubscribe page", async () => {
  const { page } = await newPage(browser);
  await page.goto("about:blank");
  // setContent waits for the frame's load: refused or not, it has loaded by then.
  await page.setContent(`<iframe title="victim" src="${BASE_URL}/unsubscribe?token=x"></iframe>`, { waitUntil: "load" });
  const frame = page.frames().find((f) => f !== page.mainFrame());
  expect(frame).toBeDefined();
  // Chromium replaces a refused frame with its error page.
  expect(frame?.url()).not.toContain("/unsubscribe");
  expect(await frame?.getByText("This link does not work").count()).toBe(0);
});

test("a form on another site cannot make a logged-in browser send a digest", async () => {
  const email = await confirmedAccount("csrf");
  const { page, errors } = await newPage(browser);
  await logIn(page, email);
  // An attacker's page (no origin of ours) posting to the API.
  await page.goto("about:blank");
  await page.setContent(
    `<form method="post" action="${BASE_URL}/api/v1/digests/send-now"><button>Win a prize</button></form>`,
  );
  const [response] = await Promise.all([page.waitForEvent("response"), page.getByRole("button").click()]);
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain("urn:quotidian:problem:cross-site-request");
  // Back on our own page, the same action works.
  await page.goto("/preview");
  await page.getByRole("heading", { level: 1, name: "Today's preview" }).waitFor();
  await page.getByRole("button", { name: "Send now" }).click();
  await page.getByText(/on its way|watchlist is empty|already/i).first().waitFor();
  expect(errors).toEqual([]);
});
