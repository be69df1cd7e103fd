import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AS_OPERATOR, LOGGED_IN, mockApi, problem } from "../../test/mockApi";
import { renderApp } from "../../test/renderApp";
import { DIGEST_RUN_DETAIL, OVERVIEW, SUPPRESSIONS, digestRun, etlRun } from "../../test/operatorFixtures";

describe("operations: who sees it", () => {
  it("shows Operations in the menu to operators only", async () => {
    mockApi({ ...AS_OPERATOR, "GET /api/v1/operator/overview": { body: OVERVIEW } });
    const { unmount } = renderApp("/account");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Operations" })).toHaveAttribute("href", "/operations");
    unmount();

    mockApi(LOGGED_IN);
    renderApp("/account");
    const plainNav = await screen.findByRole("navigation", { name: "Main" });
    expect(within(plainNav).queryByRole("link", { name: "Operations" })).not.toBeInTheDocument();
  });

  it("tells everyone else the console is for operators, without asking the API", async () => {
    const server = mockApi(LOGGED_IN);
    renderApp("/operations/suppressions");
    expect(await screen.findByRole("heading", { level: 1, name: "Operators only" })).toBeInTheDocument();
    expect(document.title).toBe("Operators only · Quotidian");
    expect(server.calls.filter((c) => c.path.startsWith("/api/v1/operator"))).toEqual([]);
  });

  it("shows the service's 403 if the account stopped being an operator", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/overview": problem(403, "forbidden", "Your account may not use this resource."),
    });
    renderApp("/operations");
    expect(await screen.findByRole("alert")).toHaveTextContent("Your account may not use this resource.");
    expect(screen.queryByRole("button", { name: "Try again" })).not.toBeInTheDocument();
  });
});

describe("operations overview", () => {
  it("shows queue depths with the oldest item's age, the budgets and suppressions", async () => {
    const server = mockApi({ ...AS_OPERATOR, "GET /api/v1/operator/overview": { body: OVERVIEW } });
    const { user } = renderApp("/operations");
    expect(await screen.findByRole("heading", { level: 1, name: "Operations" })).toBeInTheDocument();
    expect(document.title).toBe("Operations · Quotidian");
    const ops = screen.getByRole("navigation", { name: "Operations" });
    expect(within(ops).getByRole("link", { name: "Overview" })).toHaveAttribute("aria-current", "page");

    const digests = (await screen.findByRole("heading", { level: 3, name: "Digests" })).closest("li")!;
    expect(digests).toHaveTextContent("3 waiting");
    expect(digests).toHaveTextContent("Oldest: 1 min");
    const audit = screen.getByRole("heading", { level: 3, name: "Audit outbox" }).closest("li")!;
    expect(audit).toHaveTextContent("5 waiting");
    expect(audit).toHaveTextContent("Oldest: 1 h 5 min");
    const email = screen.getByRole("heading", { level: 3, name: "Email outbox" }).closest("li")!;
    expect(email).toHaveTextContent("0 waiting");
    expect(email).toHaveTextContent("Empty");

    const finnhub = screen.getByRole("heading", { level: 3, name: "Finnhub" }).closest("li")!;
    expect(finnhub).toHaveTextContent("41 of 60");
    expect(finnhub).toHaveTextContent("at most 30 a second");
    expect(within(finnhub).queryByText(/sample data/)).not.toBeInTheDocument();
    const ses = screen.getByRole("heading", { level: 3, name: "Amazon SES" }).closest("li")!;
    expect(ses).toHaveTextContent("14 a second");
    expect(ses).toHaveTextContent("maximum send rate from SES");
    expect(ses).toHaveTextContent("3 digests with an unknown SES outcome");
    expect(ses).toHaveTextContent("SES's events through the configuration set settle them");
    expect(screen.getByText(/2 addresses get no email/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "See suppressions" })).toHaveAttribute("href", "/operations/suppressions");

    server.on("GET /api/v1/operator/overview", {
      body: { ...OVERVIEW, queues: { ...OVERVIEW.queues, digest_jobs: { depth: 0, oldest_queued_at: null, oldest_age_secs: null } } },
    });
    await user.click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() =>
      expect(screen.getByRole("heading", { level: 3, name: "Digests" }).closest("li")).toHaveTextContent("0 waiting"),
    );
    expect(server.callsTo("GET /api/v1/operator/overview")).toHaveLength(2);
  });

  it("says when sample data stands in for Finnhub", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/overview": { body: { ...OVERVIEW, finnhub: { ...OVERVIEW.finnhub, source: "sample" } } },
    });
    renderApp("/operations");
    expect(await screen.findByText(/built-in sample data stands in/)).toBeInTheDocument();
  });

  it("offers to try again when the overview could not be loaded", async () => {
    const server = mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/overview": problem(503, "unavailable", "The database is not answering."),
    });
    const { user } = renderApp("/operations");
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load the overview: The database is not answering.");
    server.on("GET /api/v1/operator/overview", { body: OVERVIEW });
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("heading", { level: 3, name: "Digests" })).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});

describe("digest runs", () => {
  it("lists today's runs apart from earlier ones, with their counts, and loads more", async () => {
    const now = new Date().toISOString();
    const server = mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/digest-runs": (call) =>
        call.url.searchParams.get("before") === "5"
          ? { body: { runs: [digestRun(4, "2026-11-20T12:30:00Z", { failed: 0 })], next_before: null } }
          : {
              body: {
                runs: [
                  digestRun(7, now, { in_progress: 2, sent: 0, failed: 0, trigger: "send_now" }),
                  digestRun(5, "2026-11-21T12:30:00Z"),
                ],
                next_before: 5,
              },
            },
    });
    const { user } = renderApp("/operations/digest-runs");
    expect(await screen.findByRole("heading", { level: 1, name: "Digest runs" })).toBeInTheDocument();
    const today = await screen.findByRole("region", { name: "Today" });
    const run7 = within(today).getByRole("link", { name: "Run 7" });
    expect(run7).toHaveAttribute("href", "/operations/digest-runs/7");
    const item7 = run7.closest("li")!;
    expect(item7).toHaveTextContent("Send now");
    expect(within(item7).getByText("In progress", { selector: ".badge" })).toBeInTheDocument();

    const earlier = screen.getByRole("region", { name: "Earlier" });
    const item5 = within(earlier).getByRole("link", { name: "Run 5" }).closest("li")!;
    expect(within(item5).getByText("Not all sent")).toBeInTheDocument();
    const failed = within(item5).getByText("Failed", { selector: "dt" });
    expect(failed.nextElementSibling).toHaveTextContent("1");

    await user.click(screen.getByRole("button", { name: "Load more" }));
    const run4 = await screen.findByRole("link", { name: "Run 4" });
    await waitFor(() => expect(run4).toHaveFocus());
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(server.callsTo("GET /api/v1/operator/digest-runs")[1]?.url.searchParams.get("before")).toBe("5");
  });

  it("says when no run happened today", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/digest-runs": { body: { runs: [digestRun(5, "2026-11-21T12:30:00Z")], next_before: null } },
    });
    renderApp("/operations/digest-runs");
    expect(await screen.findByText("No digest runs yet today.")).toBeInTheDocument();
  });

  it("shows a run's unsent digests with reasons and audit record keys", async () => {
    mockApi({ ...AS_OPERATOR, "GET /api/v1/operator/digest-runs/7": { body: DIGEST_RUN_DETAIL } });
    renderApp("/operations/digest-runs/7");
    expect(await screen.findByRole("heading", { level: 1, name: "Digest run 7" })).toBeInTheDocument();
    expect(document.title).toBe("Digest run 7 · Quotidian");
    expect(screen.getByRole("link", { name: "Back to digest runs" })).toHaveAttribute("href", "/operations/digest-runs");
    const notSent = screen.getByRole("region", { name: "Not sent" });
    expect(notSent).toHaveTextContent("quotidian-audit");

    const failed = within(notSent).getByText("Digest 31").closest("li")!;
    expect(within(failed).getByText("Failed", { selector: ".badge" })).toBeInTheDocument();
    expect(failed).toHaveTextContent("Reason: SES refused the message: MessageRejected");
    expect(failed).toHaveTextContent("4 attempts");
    expect(within(failed).getByText("deliveries/2026-11-23/5f0c7a52-8a0e-4c1b-9d59-0f4b7a6c2e11.json")).toBeInTheDocument();
    expect(failed).toHaveTextContent(/stored/);

    const skipped = within(notSent).getByText("Digest 32").closest("li")!;
    expect(skipped).toHaveTextContent("Reason: paused");
    expect(skipped).toHaveTextContent("No audit record yet.");
  });

  it("says so when a run does not exist", async () => {
    mockApi({ ...AS_OPERATOR, "GET /api/v1/operator/digest-runs/99": problem(404, "not-found", "There is no digest run 99.") });
    renderApp("/operations/digest-runs/99");
    expect(await screen.findByRole("heading", { level: 1, name: "Digest run not found" })).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("There is no digest run 99.");
  });
});

describe("ETL runs", () => {
  it("lists runs with status and counts", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/etl-runs": {
        body: { runs: [etlRun(42), etlRun(41, { status: "failed", error: "FINNHUB_API_KEY was refused", failures: 0 })], next_before: null },
      },
    });
    renderApp("/operations/etl-runs");
    const run42 = await screen.findByRole("link", { name: "Run 42" });
    expect(run42).toHaveAttribute("href", "/operations/etl-runs/42");
    expect(within(run42.closest("li")!).getByText("Partly failed")).toBeInTheDocument();
    const run41 = screen.getByRole("link", { name: "Run 41" }).closest("li")!;
    expect(run41).toHaveTextContent("Error: FINNHUB_API_KEY was refused");
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("shows a run's per-symbol failures", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/etl-runs/42": {
        body: {
          ...etlRun(42),
          failure_details: [
            { symbol: "ZZZZ", endpoint: "/quote", outcome: "no_data", reason: "Finnhub has no quote for ZZZZ", recorded_at: "2026-11-23T11:00:05Z" },
          ],
        },
      },
    });
    renderApp("/operations/etl-runs/42");
    expect(await screen.findByRole("heading", { level: 1, name: "ETL run 42" })).toBeInTheDocument();
    const failures = screen.getByRole("region", { name: "Failures" });
    const zzzz = within(failures).getByText("ZZZZ").closest("li")!;
    expect(zzzz).toHaveTextContent("No data");
    expect(zzzz).toHaveTextContent("/quote");
    expect(zzzz).toHaveTextContent("Reason: Finnhub has no quote for ZZZZ");
  });
});

describe("suppressions", () => {
  it("lifts a suppression only after confirming, and can cancel", async () => {
    const server = mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/suppressions": { body: SUPPRESSIONS },
      "DELETE /api/v1/operator/suppressions/gone%40example.com": { status: 204 },
    });
    const { user } = renderApp("/operations/suppressions");
    expect(await screen.findByRole("heading", { level: 1, name: "Suppressed addresses" })).toBeInTheDocument();
    const gone = (await screen.findByText("gone@example.com")).closest("li")!;
    expect(gone).toHaveTextContent("Permanent bounce");
    expect(gone).toHaveTextContent("550 user unknown");

    const lift = screen.getByRole("button", { name: "Lift the suppression of gone@example.com" });
    expect(lift).toHaveAttribute("aria-expanded", "false");
    await user.click(lift);
    expect(lift).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByText("Send email to gone@example.com again?")).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(lift).toHaveFocus();
    expect(screen.queryByRole("button", { name: "Yes, lift the suppression" })).not.toBeInTheDocument();
    expect(server.callsTo("DELETE /api/v1/operator/suppressions/gone%40example.com")).toEqual([]);

    await user.click(lift);
    await user.keyboard("{Escape}");
    expect(lift).toHaveFocus();
    expect(lift).toHaveAttribute("aria-expanded", "false");

    await user.click(lift);
    await user.click(screen.getByRole("button", { name: "Yes, lift the suppression" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Lifted the suppression of gone@example.com.");
    expect(screen.queryByText("gone@example.com")).not.toBeInTheDocument();
    expect(screen.getByText("angry@example.com")).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1, name: "Suppressed addresses" })).toHaveFocus();
    expect(server.callsTo("DELETE /api/v1/operator/suppressions/gone%40example.com")).toHaveLength(1);
  });

  it("shows why a lift failed, next to its button", async () => {
    mockApi({
      ...AS_OPERATOR,
      "GET /api/v1/operator/suppressions": { body: SUPPRESSIONS },
      "DELETE /api/v1/operator/suppressions/angry%40example.com": problem(503, "unavailable", "The database is not answering."),
    });
    const { user } = renderApp("/operations/suppressions");
    await user.click(await screen.findByRole("button", { name: "Lift the suppression of angry@example.com" }));
    await user.click(screen.getByRole("button", { name: "Yes, lift the suppression" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The database is not answering.");
    expect(screen.getByText("angry@example.com")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Yes, lift the suppression" })).toBeEnabled();
  });

  it("says when no address is suppressed", async () => {
    mockApi({ ...AS_OPERATOR, "GET /api/v1/operator/suppressions": { body: { suppressions: [], next_before: null } } });
    renderApp("/operations/suppressions");
    expect(await screen.findByText("No address is suppressed.")).toBeInTheDocument();
  });
});
