// Shared helpers for the browser tests: Debian's Chromium driven by playwright-core
// against the real service (started by scripts/test), the SES emulator's mailbox,
// axe-core accessibility checks and screenshots at desktop and phone width.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { expect } from "vitest";

export const BASE_URL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:18080";
const SES_URL = process.env.SES_URL ?? "http://127.0.0.1:8005";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(import.meta.dirname, "artifacts", "screenshots");

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // This machine's network is closed: without these Chromium keeps trying to reach
    // Google's services. No sandbox: CI runs as root.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export type Session = { context: BrowserContext; page: Page; errors: string[] };

/**
 * A new browser context (own cookies) at desktop size, in `timeZone`. Uncaught errors
 * in the page and Content-Security-Policy violations (in the page and in its frames,
 * such as the digest preview) are collected in `errors`; tests assert there are none.
 */
export async function newPage(browser: Browser, timeZone = "America/New_York"): Promise<Session> {
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: DESKTOP, timezoneId: timeZone, locale: "en-US" });
  const page = await context.newPage();
  // Fail with the locator's name instead of running into the test's own timeout.
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await watchCsp(page, errors);
  return { context, page, errors };
}

/**
 * Collects every CSP violation on `page` into `into`: the `securitypolicyviolation`
 * events of documents that may run scripts, and Chromium's console reports, which
 * also cover the sandboxed digest frame (no script runs there to listen).
 */
export async function watchCsp(page: Page, into: string[]): Promise<void> {
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|CSP violation/i.test(text)) into.push(`${page.url()}: ${text}`);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
}

/** A fresh address per test, so tests never see each other's mail. */
export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export const PASSWORD = "velvet-harbor-oxide-42";

type Mail = {
  subject: string;
  destination: { to: string[] };
  body: { html?: string; text?: string };
};

/**
 * Only the mail of this run: the emulator may hold thousands of digests from the Rust
 * tests that ran before (tens of megabytes of JSON per poll); `since` (epoch seconds)
 * makes it send only the newer ones.
 */
const SINCE = Math.floor(Date.now() / 1000) - 60;

export async function mailsTo(to: string): Promise<Mail[]> {
  const response = await fetch(`${SES_URL}/store?since=${SINCE}`);
  const store = (await response.json()) as { emails: Mail[] };
  return store.emails.filter((m) => m.destination?.to?.includes(to));
}

/** Waits (up to 20 s) for a mail to `to` whose subject matches `subject`. */
export async function waitForMail(to: string, subject: string | RegExp): Promise<Mail> {
  const deadline = Date.now() + 20_000;
  const matches = (s: string) => (typeof subject === "string" ? s.includes(subject) : subject.test(s));
  for (;;) {
    const found = (await mailsTo(to)).find((m) => matches(m.subject));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with subject ${subject}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first link in the mail's text part whose path starts with `path`. */
export function linkIn(mail: Mail, path: string): string {
  const text = mail.body.text ?? "";
  const links = text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
  const link = links.find((l) => new URL(l).pathname === path);
  if (!link) throw new Error(`no ${path} link in: ${text}`);
  return link;
}

/** No serious or critical axe-core findings on the page as it is now. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // The digest itself is shown in a sandboxed iframe (no scripts): axe cannot run inside
  // it, and would wait for it forever. The email's own markup is not the page's.
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .exclude("iframe[sandbox]")
    .analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = bad.map((v) => `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(summary, `axe findings on ${screen}`).toEqual([]);
}

/**
 * Checks a screen at desktop and phone width: accessible at both, no sideways scrolling
 * on a phone, and a screenshot of each saved as a build artefact.
 */
export async function checkScreen(page: Page, screen: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await expectAccessible(page, `${screen} (desktop)`);
  await page.screenshot({ path: join(SCREENSHOTS, `${screen}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await expectAccessible(page, `${screen} (phone)`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${screen} scrolls sideways at phone width`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: join(SCREENSHOTS, `${screen}-phone.png`), fullPage: true });
  await page.setViewportSize(before);
}

/** Signs up and confirms through the API (for tests about later screens). */
export async function confirmedAccount(tag: string, email = uniqueEmail(tag)): Promise<string> {
  const signup = await fetch(`${BASE_URL}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, time_zone: "Europe/London" }),
  });
  expect(signup.status).toBe(202);
  const token = new URL(linkIn(await waitForMail(email, "Confirm your Quotidian"), "/confirm")).searchParams.get("token");
  const confirm = await fetch(`${BASE_URL}/api/v1/auth/confirm`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  expect(confirm.ok).toBe(true);
  return email;
}

/** Logs in through the page. */
export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { level: 1, name: "Watchlist" }).waitFor();
}
