import { screen } from "@testing-library/react";
import axe from "axe-core";
import { describe, expect, it } from "vitest";
import { AS_OPERATOR, LOGGED_IN, LOGGED_OUT, mockApi, problem, validation } from "./test/mockApi";
import {
  DIGEST_RUN_DETAIL,
  OVERVIEW,
  SUPPRESSIONS,
  digestRun,
  etlRun,
} from "./test/operatorFixtures";
import { renderApp } from "./test/renderApp";

/**
 * axe-core over whole screens, as rendered in jsdom. Colour contrast needs real layout,
 * so it is left to the browser tests; everything else axe checks is checked here.
 */
async function axeViolations(): Promise<string[]> {
  const results = await axe.run(document.body, {
    rules: { "color-contrast": { enabled: false } },
    // jsdom cannot run axe inside the (sandboxed) digest frames.
    iframes: false,
    resultTypes: ["violations"],
  });
  return results.violations.map(
    (v) => `${v.impact ?? "?"} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
}

const LOGGED_IN_API = {
  ...LOGGED_IN,
  "GET /api/v1/watchlist": {
    body: { max: 50, symbols: [{ symbol: "AAPL", added_at: "2026-11-21T09:10:00Z" }] },
  },
  "GET /api/v1/preferences": {
    body: {
      time_zone: "UTC",
      send_time: "07:30",
      days: "weekdays",
      paused: false,
      include_news: true,
      include_earnings: false,
      next_send_at: "2026-11-23T07:30:00Z",
    },
  },
  "GET /api/v1/digests/preview": {
    body: { local_date: "2026-11-23", subject: "Quotidian", html: "<p>Hi</p>", text: "Hi", sample_data: true },
  },
  "GET /api/v1/digests": {
    body: {
      digests: [
        {
          id: 1,
          local_date: "2026-11-21",
          trigger: "schedule",
          status: "failed",
          queued_at: "2026-11-21T07:30:00Z",
          subject: "Quotidian Fri",
          reason: "bounced",
        },
      ],
      next_before: "2026-11-21",
    },
  },
};

describe("accessibility (axe-core)", () => {
  const loggedOutScreens: [string, string][] = [
    ["/signup", "Create your account"],
    ["/login", "Log in"],
    ["/forgot-password", "Reset your password"],
    ["/reset-password?token=t", "Choose a new password"],
    ["/check-email", "Check your email"],
    ["/nope", "Page not found"],
  ];
  for (const [path, heading] of loggedOutScreens) {
    it(`${path} has no violations`, async () => {
      mockApi(LOGGED_OUT);
      renderApp(path);
      await screen.findByRole("heading", { level: 1, name: heading });
      expect(await axeViolations()).toEqual([]);
      expect(document.querySelectorAll("main")).toHaveLength(1);
    });
  }

  const loggedInScreens: [string, string, RegExp][] = [
    ["/watchlist", "Watchlist", /AAPL/],
    ["/schedule", "Schedule", /Next digest/],
    ["/preview", "Today's preview", /Sample market data/],
    ["/history", "History", /2026-11-21/],
    ["/account", "Account", /ada@example.com/],
  ];
  for (const [path, heading, loaded] of loggedInScreens) {
    it(`${path} has no violations`, async () => {
      mockApi(LOGGED_IN_API);
      renderApp(path);
      await screen.findByRole("heading", { level: 1, name: heading });
      await screen.findAllByText(loaded);
      expect(await axeViolations()).toEqual([]);
    });
  }

  const OPERATOR_API = {
    ...AS_OPERATOR,
    "GET /api/v1/operator/overview": { body: OVERVIEW },
    "GET /api/v1/operator/digest-runs": {
      body: { runs: [digestRun(7, new Date().toISOString()), digestRun(5, "2026-11-21T12:30:00Z")], next_before: 5 },
    },
    "GET /api/v1/operator/digest-runs/7": { body: DIGEST_RUN_DETAIL },
    "GET /api/v1/operator/etl-runs": { body: { runs: [etlRun(42)], next_before: null } },
    "GET /api/v1/operator/etl-runs/42": {
      body: {
        ...etlRun(42),
        failure_details: [
          { symbol: "ZZZZ", endpoint: "/quote", outcome: "no_data", reason: "no quote", recorded_at: "2026-11-23T11:00:05Z" },
        ],
      },
    },
    "GET /api/v1/operator/suppressions": { body: SUPPRESSIONS },
  };
  const operatorScreens: [string, string, RegExp][] = [
    ["/operations", "Operations", /41 of 60/],
    ["/operations/digest-runs", "Digest runs", /Run 7/],
    ["/operations/digest-runs/7", "Digest run 7", /deliveries\//],
    ["/operations/etl-runs", "ETL runs", /Run 42/],
    ["/operations/etl-runs/42", "ETL run 42", /ZZZZ/],
    ["/operations/suppressions", "Suppressed addresses", /gone@example.com/],
  ];
  for (const [path, heading, loaded] of operatorScreens) {
    it(`${path} has no violations`, async () => {
      mockApi(OPERATOR_API);
      renderApp(path);
      await screen.findByRole("heading", { level: 1, name: heading });
      await screen.findAllByText(loaded);
      expect(await axeViolations()).toEqual([]);
    });
  }

  it("a suppression's open confirmation has no violations", async () => {
    mockApi(OPERATOR_API);
    const { user } = renderApp("/operations/suppressions");
    await user.click(await screen.findByRole("button", { name: "Lift the suppression of gone@example.com" }));
    await screen.findByRole("button", { name: "Yes, lift the suppression" });
    expect(await axeViolations()).toEqual([]);
  });

  it("/operations for someone who is not an operator has no violations", async () => {
    mockApi(LOGGED_IN);
    renderApp("/operations");
    await screen.findByRole("heading", { level: 1, name: "Operators only" });
    expect(await axeViolations()).toEqual([]);
  });

  it("a form showing field errors and an alert has no violations", async () => {
    mockApi({
      ...LOGGED_OUT,
      "POST /api/v1/auth/signup": validation([
        { field: "email", message: "is not a valid email address" },
        { field: "time_zone", message: "is not a known time zone" },
      ]),
    });
    const { user } = renderApp("/signup");
    await user.click(await screen.findByRole("button", { name: "Sign up" }));
    await screen.findByText("is not a valid email address");
    // A field error the form has no input for goes to the alert by the button.
    expect(screen.getByText("time zone: is not a known time zone")).toBeInTheDocument();
    expect(await axeViolations()).toEqual([]);
  });

  it("the watchlist with open search results and an error has no violations", async () => {
    mockApi({
      ...LOGGED_IN_API,
      "GET /api/v1/symbols": {
        body: {
          query: "a",
          results: [{ symbol: "AAPL", display_symbol: "AAPL", description: "APPLE INC", kind: "Common Stock" }],
          sample_data: true,
        },
      },
      "POST /api/v1/watchlist": problem(409, "already-exists", "AAPL is already on your watchlist."),
    });
    const { user } = renderApp("/watchlist");
    const box = await screen.findByRole("combobox", { name: "Search symbols" });
    await user.type(box, "a");
    await screen.findByRole("option", { name: /^AAPL/ });
    await user.keyboard("{ArrowDown}");
    expect(await axeViolations()).toEqual([]);
    await user.keyboard("{Enter}");
    await screen.findByRole("alert");
    expect(await axeViolations()).toEqual([]);
  });
});
