import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LOGGED_IN, mockApi, problem, validation } from "../test/mockApi";
import { renderApp } from "../test/renderApp";

const APPLE = [
  { symbol: "AAPL", display_symbol: "AAPL", description: "APPLE INC", kind: "Common Stock" },
  { symbol: "APLE", display_symbol: "APLE", description: "APPLE HOSPITALITY REIT INC", kind: "REIT" },
];

function setup(symbols: string[] = ["MSFT"]) {
  const server = mockApi({
    ...LOGGED_IN,
    "GET /api/v1/watchlist": {
      body: { max: 50, symbols: symbols.map((symbol) => ({ symbol, added_at: "2026-11-21T09:10:00Z" })) },
    },
    "GET /api/v1/symbols": (call) => ({
      body: {
        query: call.url.searchParams.get("q"),
        results: APPLE.filter((h) =>
          `${h.symbol} ${h.description}`.toLowerCase().includes((call.url.searchParams.get("q") ?? "").toLowerCase()),
        ),
        sample_data: false,
      },
    }),
    "POST /api/v1/watchlist": (call) => ({
      status: 201,
      body: { symbol: String((call.body as { symbol: string }).symbol).toUpperCase(), added_at: "2026-11-21T10:00:00Z" },
    }),
  });
  const utils = renderApp("/watchlist");
  return { server, ...utils };
}

async function symbolList() {
  return screen.findByRole("list", { name: "Your symbols" });
}

describe("watchlist", () => {
  it("lists the symbols with a count and a Remove button each", async () => {
    setup(["MSFT", "NVDA"]);
    const list = await symbolList();
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      expect.stringContaining("MSFT"),
      expect.stringContaining("NVDA"),
    ]);
    expect(screen.getByRole("button", { name: "Remove MSFT" })).toBeInTheDocument();
    expect(screen.getByText(/2 of 50/)).toBeInTheDocument();
    expect(document.title).toBe("Watchlist · Quotidian");
  });

  it("searches as you type, debounced, and adds the option chosen with the keyboard", async () => {
    const { user, server } = setup();
    await symbolList();
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    expect(box).toHaveAttribute("aria-expanded", "false");

    await user.type(box, "appl");
    const listbox = await screen.findByRole("listbox");
    const options = await within(listbox).findAllByRole("option");
    expect(options[0]).toHaveAccessibleName(/^AAPL — APPLE INC/);
    expect(options[1]).toHaveAccessibleName(/^APLE — APPLE HOSPITALITY REIT INC/);
    expect(box).toHaveAttribute("aria-expanded", "true");
    expect(box).toHaveAttribute("aria-controls", listbox.id);
    // One request for the whole word, not one per keystroke.
    expect(server.callsTo("GET /api/v1/symbols").map((c) => c.url.searchParams.get("q"))).toEqual(["appl"]);

    await user.keyboard("{ArrowDown}{ArrowDown}");
    expect(box).toHaveAttribute("aria-activedescendant", options[1]!.id);
    expect(options[1]).toHaveAttribute("aria-selected", "true");
    await user.keyboard("{ArrowUp}");
    expect(box).toHaveAttribute("aria-activedescendant", options[0]!.id);
    await user.keyboard("{Enter}");

    const list = await symbolList();
    await within(list).findByText("AAPL");
    expect(server.callsTo("POST /api/v1/watchlist")[0]?.body).toEqual({ symbol: "AAPL" });
    expect(screen.getByRole("status")).toHaveTextContent("Added AAPL");
    expect(box).toHaveValue("");
    expect(box).toHaveFocus();
    expect(screen.getByText(/2 of 50/)).toBeInTheDocument();
  });

  it("adds an option chosen with the pointer", async () => {
    const { user, server } = setup();
    await symbolList();
    await user.type(screen.getByRole("combobox", { name: "Search symbols" }), "hospitality");
    await user.click(await screen.findByRole("option", { name: /^APLE/ }));
    await within(await symbolList()).findByText("APLE");
    expect(server.callsTo("POST /api/v1/watchlist")[0]?.body).toEqual({ symbol: "APLE" });
  });

  it("adds what was typed on Enter with no option highlighted, and shows a 422 next to the box", async () => {
    const { user, server } = setup();
    await symbolList();
    server.on(
      "POST /api/v1/watchlist",
      validation([{ field: "symbol", message: "ZZZZ is not a symbol Finnhub knows" }]),
    );
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    await user.type(box, "zzzz{Enter}");

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("symbol: ZZZZ is not a symbol Finnhub knows");
    expect(box).toHaveAccessibleDescription(/ZZZZ is not a symbol Finnhub knows/);
    expect(box).toHaveValue("zzzz");
    expect(server.callsTo("POST /api/v1/watchlist")[0]?.body).toEqual({ symbol: "zzzz" });
  });

  it("shows a duplicate's 409 detail", async () => {
    const { user, server } = setup(["AAPL"]);
    await symbolList();
    server.on("POST /api/v1/watchlist", problem(409, "already-exists", "AAPL is already on your watchlist."));
    await user.type(screen.getByRole("combobox", { name: "Search symbols" }), "AAPL");
    await user.click(screen.getByRole("button", { name: "Add" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("AAPL is already on your watchlist.");
  });

  it("removes a symbol and keeps focus in the list", async () => {
    const { user, server } = setup(["AAPL", "MSFT"]);
    await symbolList();
    server.on("DELETE /api/v1/watchlist/AAPL", { status: 204 });
    await user.click(screen.getByRole("button", { name: "Remove AAPL" }));

    await waitFor(() => expect(screen.queryByRole("button", { name: "Remove AAPL" })).not.toBeInTheDocument());
    expect(screen.getByRole("button", { name: "Remove MSFT" })).toHaveFocus();
    expect(screen.getByRole("status")).toHaveTextContent("Removed AAPL");
    expect(screen.getByText(/1 of 50/)).toBeInTheDocument();
    expect(server.callsTo("DELETE /api/v1/watchlist/AAPL")).toHaveLength(1);
  });

  it("keeps a symbol whose removal failed and says why", async () => {
    const { user, server } = setup(["AAPL"]);
    await symbolList();
    server.on("DELETE /api/v1/watchlist/AAPL", problem(503, "unavailable", "The database is not reachable."));
    await user.click(screen.getByRole("button", { name: "Remove AAPL" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not remove AAPL: The database is not reachable.");
    expect(screen.getByRole("button", { name: "Remove AAPL" })).toBeInTheDocument();
  });

  it("closes the options on Escape, keeping the text for Enter to add as typed", async () => {
    const { user, server } = setup();
    await symbolList();
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    await user.type(box, "apple");
    await screen.findAllByRole("option");
    await user.keyboard("{Escape}");
    expect(box).toHaveAttribute("aria-expanded", "false");
    expect(box).toHaveValue("apple");
    await user.keyboard("{Escape}");
    expect(box).toHaveValue("apple");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(server.callsTo("POST /api/v1/watchlist")[0]?.body).toEqual({ symbol: "apple" }));
  });

  it("adds what was typed when Escape comes before the search answers", async () => {
    const { user, server } = setup();
    await symbolList();
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    await user.type(box, "ZZZQX{Escape}{Enter}");
    await waitFor(() => expect(server.callsTo("POST /api/v1/watchlist")[0]?.body).toEqual({ symbol: "ZZZQX" }));
  });
});

describe("watchlist search results", () => {
  it("highlight nothing when newer results replace the ones being browsed", async () => {
    const { user } = setup();
    await symbolList();
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    await user.type(box, "apple");
    await screen.findAllByRole("option");
    await user.keyboard("{ArrowDown}");
    expect(box).toHaveAttribute("aria-activedescendant");
    await user.type(box, " hosp");
    await waitFor(() => expect(screen.getAllByRole("option")).toHaveLength(1));
    expect(box).not.toHaveAttribute("aria-activedescendant");
  });
});

describe("watchlist search requests", () => {
  it("asks once per query on this screen", async () => {
    const { user, server } = setup();
    await symbolList();
    const box = screen.getByRole("combobox", { name: "Search symbols" });
    await user.type(box, "apple");
    await screen.findAllByRole("option");
    await user.clear(box);
    await waitFor(() => expect(box).toHaveAttribute("aria-expanded", "false"));
    await user.type(box, "apple");
    await screen.findAllByRole("option");
    await new Promise((r) => setTimeout(r, 300));
    expect(server.callsTo("GET /api/v1/symbols")).toHaveLength(1);
  });
});
