// The whole journey of a new person, in a real browser against the real service:
// sign up, confirm from the email, log in, add three tickers by search, set a schedule,
// see the preview, send now, see it in history, and unsubscribe from the email's link.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PASSWORD, checkScreen, launch, linkIn, newPage, uniqueEmail, waitForMail } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test("a new person goes from sign-up to an unsubscribed digest", async () => {
  const { page, errors } = await newPage(browser, "America/New_York");
  const email = uniqueEmail("journey");

  // Sign up. The browser's time zone goes along as the schedule's zone.
  await page.goto("/");
  await page.getByRole("heading", { level: 1, name: "Log in" }).waitFor();
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByRole("heading", { level: 1, name: "Create your account" }).waitFor();
  await checkScreen(page, "signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { level: 1, name: "Check your email" }).waitFor();
  await checkScreen(page, "check-email");

  // Confirm from the email the SES emulator received.
  const confirmation = await waitForMail(email, "Confirm your Quotidian email address");
  await page.goto(linkIn(confirmation, "/confirm"));
  await page.getByText("Your email is confirmed").waitFor();
  await checkScreen(page, "confirm");
  await page.getByRole("link", { name: "Log in" }).click();

  // Log in.
  await page.getByRole("heading", { level: 1, name: "Log in" }).waitFor();
  await checkScreen(page, "login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { level: 1, name: "Watchlist" }).waitFor();

  // Three tickers by search-as-you-type: two with the mouse, one with the keyboard.
  const search = page.getByRole("combobox", { name: "Search symbols" });
  for (const [query, symbol] of [
    ["apple", "AAPL"],
    ["microsoft", "MSFT"],
  ]) {
    await search.fill(query);
    await page.getByRole("option", { name: new RegExp(`^${symbol}\\b`) }).click();
    await page.getByRole("button", { name: `Remove ${symbol}` }).waitFor();
  }
  await search.fill("nvidia");
  await page.getByRole("option", { name: /^NVDA\b/ }).waitFor();
  await search.press("ArrowDown");
  await search.press("Enter");
  await page.getByRole("button", { name: "Remove NVDA" }).waitFor();
  const listed = await page.getByRole("list", { name: "Your symbols" }).getByRole("listitem").allInnerTexts();
  expect(listed.map((t) => t.split(/\s/)[0])).toEqual(["AAPL", "MSFT", "NVDA"]);
  await checkScreen(page, "watchlist");

  // The schedule: the zone defaults to the browser's; choose time, days and content.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedule" }).click();
  await page.getByRole("heading", { level: 1, name: "Schedule" }).waitFor();
  const zone = page.getByLabel("Time zone");
  await expect.poll(() => zone.inputValue()).toBe("America/New_York");
  await page.getByLabel("Send time").fill("07:15");
  await page.getByLabel("Weekdays").check();
  await page.getByLabel("Include earnings").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  await checkScreen(page, "schedule");
  // Saved for real: a reload shows the same.
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Schedule" }).waitFor();
  await expect.poll(() => page.getByLabel("Send time").inputValue()).toBe("07:15");
  expect(await page.getByLabel("Weekdays").isChecked()).toBe(true);
  expect(await page.getByLabel("Include earnings").isChecked()).toBe(false);
  expect(await page.getByLabel("Include news").isChecked()).toBe(true);

  // Today's preview, as the email will look.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Preview" }).click();
  await page.getByRole("heading", { level: 1, name: "Today's preview" }).waitFor();
  const preview = page.frameLocator('iframe[title="Digest preview"]');
  await preview.getByText("AAPL").first().waitFor();
  await preview.getByText("NVDA").first().waitFor();
  await checkScreen(page, "preview");

  // Send now: it arrives once, and history shows it.
  await page.getByRole("button", { name: "Send now" }).click();
  await page.getByText(/on its way/).waitFor();
  // "[Sample data] Quotidian Sat 21 Nov: ..." with the offline sample data.
  const digest = await waitForMail(email, /Quotidian (Mon|Tue|Wed|Thu|Fri|Sat|Sun) /);
  expect(digest.body.html).toContain("MSFT");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
  await page.getByRole("heading", { level: 1, name: "History" }).waitFor();
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York" }).format(new Date());
  const entry = page.getByRole("link", { name: new RegExp(today) });
  await entry.waitFor();
  // The delivery worker may still be finishing: reload until history says sent.
  await expect
    .poll(
      async () => {
        await page.reload();
        await page.getByRole("heading", { level: 1, name: "History" }).waitFor();
        return page.getByRole("main").getByText(/^\s*sent\s*$/i).count();
      },
      { timeout: 20_000, interval: 500 },
    )
    .toBeGreaterThan(0);
  await checkScreen(page, "history");
  await page.getByRole("link", { name: new RegExp(today) }).click();
  await page.getByRole("link", { name: "Back to history" }).waitFor();
  await page.frameLocator('iframe[title="Digest as sent"]').getByText("MSFT").first().waitFor();
  await checkScreen(page, "history-detail");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await page.getByRole("heading", { level: 1, name: "Account" }).waitFor();
  await page.getByText(email).waitFor();
  await checkScreen(page, "account");

  // Unsubscribe from the email's link: a confirmation first, then done.
  await page.goto(linkIn(digest, "/unsubscribe"));
  await page.getByRole("heading", { level: 1, name: "Unsubscribe from Quotidian" }).waitFor();
  await checkScreen(page, "unsubscribe");
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await page.getByRole("heading", { level: 1, name: "You are unsubscribed" }).waitFor();
  await checkScreen(page, "unsubscribed");
  // The schedule now shows the digest paused.
  await page.goto("/schedule");
  await page.getByRole("heading", { level: 1, name: "Schedule" }).waitFor();
  await expect.poll(() => page.getByLabel("Pause digests").isChecked()).toBe(true);

  // An unknown address gets the not-found page.
  await page.goto("/no-such-page");
  await page.getByRole("heading", { level: 1, name: "Page not found" }).waitFor();
  await checkScreen(page, "not-found");

  expect(errors).toEqual([]);
});
