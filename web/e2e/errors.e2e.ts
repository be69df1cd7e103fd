// The error paths a person meets, in a real browser against the real service: a wrong
// password, an unknown symbol, a duplicate ticker; and keyboard-only use with a visible
// focus. Every API error shows its problem+json message next to what caused it, and
// nothing typed is lost.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PASSWORD, checkScreen, confirmedAccount, launch, logIn, newPage } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test("a wrong password is refused with the API's message, and the email stays typed", async () => {
  const email = await confirmedAccount("wrong-password");
  const { page, errors } = await newPage(browser);
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill("not-the-password-at-all");
  await page.getByRole("button", { name: "Log in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  expect(await alert.innerText()).toMatch(/password/i);
  expect(await page.getByLabel("Email").inputValue()).toBe(email);
  await checkScreen(page, "login-error");
  // The right one works.
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { level: 1, name: "Watchlist" }).waitFor();
  expect(errors).toEqual([]);
});

async function addByTyping(page: Page, symbol: string) {
  const search = page.getByRole("combobox", { name: "Search symbols" });
  await search.fill(symbol);
  await search.press("Escape"); // close the suggestions: add exactly what was typed
  await search.press("Enter");
}

test("an unknown symbol and a duplicate ticker get clear errors and change nothing", async () => {
  const email = await confirmedAccount("symbols");
  const { page, errors } = await newPage(browser);
  await logIn(page, email);

  // A symbol no exchange lists.
  await addByTyping(page, "ZZZQX");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  expect(await alert.innerText()).toMatch(/ZZZQX/);
  expect(await page.getByRole("combobox", { name: "Search symbols" }).inputValue()).toBe("ZZZQX");
  await checkScreen(page, "watchlist-unknown-symbol");

  // A ticker that is already on the list.
  const search = page.getByRole("combobox", { name: "Search symbols" });
  await search.fill("apple");
  await page.getByRole("option", { name: /^AAPL\b/ }).click();
  await page.getByRole("button", { name: "Remove AAPL" }).waitFor();
  await addByTyping(page, "AAPL");
  await page.getByRole("alert").filter({ hasText: /already/i }).waitFor();
  await checkScreen(page, "watchlist-duplicate");
  const items = page.getByRole("list", { name: "Your symbols" }).getByRole("listitem");
  expect(await items.count()).toBe(1);

  // Removing works, and survives a reload.
  await page.getByRole("button", { name: "Remove AAPL" }).click();
  await page.getByText(/no symbols yet|add a symbol/i).first().waitFor();
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Watchlist" }).waitFor();
  expect(await items.count()).toBe(0);
  expect(errors).toEqual([]);
});

test("the page works with the keyboard alone, with a visible focus", async () => {
  const email = await confirmedAccount("keyboard");
  const { page, errors } = await newPage(browser);
  await page.goto("/login");
  await page.getByRole("heading", { level: 1, name: "Log in" }).waitFor();

  // Tab from the top of the page to the email field: the skip link and the form are
  // reachable in order, and what has focus is visibly outlined.
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return null;
      const style = getComputedStyle(el);
      return {
        label: el.getAttribute("aria-label") ?? (el as HTMLInputElement).labels?.[0]?.textContent ?? el.textContent,
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== "none",
      };
    });
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press("Tab");
    const f = await focused();
    expect(f?.outline || f?.shadow, `focus on "${f?.label}" is not visible`).toBe(true);
    reached = /email/i.test(f?.label ?? "");
  }
  expect(reached, "Tab never reached the Email field").toBe(true);
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Watchlist" }).waitFor();

  // Add a symbol with the keyboard only: type, arrow to the suggestion, Enter.
  await page.getByRole("combobox", { name: "Search symbols" }).focus();
  await page.keyboard.type("tesla");
  await page.getByRole("option", { name: /^TSLA\b/ }).waitFor();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Remove TSLA" }).waitFor();

  // Move through the main navigation with Tab and Enter.
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Schedule" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Schedule" }).waitFor();
  expect(await nav.getByRole("link", { name: "Schedule" }).getAttribute("aria-current")).toBe("page");
  expect(errors).toEqual([]);
});
