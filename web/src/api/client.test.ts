import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { mockApi, problem, validation } from "../test/mockApi";
import { api, onUnauthenticated, type Watchlist } from "./client";
import { ApiProblem, type ProblemSlug } from "./problem";
import type { components } from "./schema";

describe("api client", () => {
  it("returns the typed body of a 2xx answer and sends the session cookie", async () => {
    const server = mockApi({
      "GET /api/v1/watchlist": {
        body: { max: 50, symbols: [{ symbol: "AAPL", added_at: "2026-11-21T09:10:00Z" }] },
      },
    });
    const list = await api.watchlist();
    expectTypeOf(list).toEqualTypeOf<Watchlist>();
    expect(list.symbols.map((s) => s.symbol)).toEqual(["AAPL"]);
    expect(server.calls[0]?.credentials).toBe("same-origin");
  });

  it("sends JSON bodies", async () => {
    const server = mockApi({ "POST /api/v1/watchlist": { status: 201, body: { symbol: "MSFT", added_at: "x" } } });
    await api.addSymbol("msft");
    expect(server.calls[0]?.body).toEqual({ symbol: "msft" });
  });

  it("resolves to nothing on 204", async () => {
    mockApi({ "DELETE /api/v1/watchlist/BRK.B": { status: 204 } });
    await expect(api.removeSymbol("BRK.B")).resolves.toBeUndefined();
  });

  it("puts the search text in the query string", async () => {
    const server = mockApi({
      "GET /api/v1/symbols": { body: { query: "s&p 500", results: [], sample_data: false } },
    });
    await api.searchSymbols("s&p 500");
    expect(server.calls[0]?.url.searchParams.get("q")).toBe("s&p 500");
  });

  it("pages the history with ?before=", async () => {
    const server = mockApi({ "GET /api/v1/digests": { body: { digests: [], next_before: null } } });
    await api.digests();
    await api.digests("2026-11-01");
    expect(server.calls[0]?.url.search).toBe("");
    expect(server.calls[1]?.url.searchParams.get("before")).toBe("2026-11-01");
  });

  it("turns a problem+json 422 into an ApiProblem with field errors", async () => {
    mockApi({
      "POST /api/v1/auth/signup": validation([
        { field: "email", message: "is not a valid email address" },
        { field: "password", message: "is too short" },
      ]),
    });
    const error = await api.signup({ email: "nope", password: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiProblem);
    const p = error as ApiProblem;
    expect(p.status).toBe(422);
    expect(p.slug).toBe("validation");
    expect(p.is("validation")).toBe(true);
    expect(p.fieldErrors()).toEqual({ email: "is not a valid email address", password: "is too short" });
    expect(p.detail).toBe("email: is not a valid email address; password: is too short");
  });

  it("reads Retry-After of a 429", async () => {
    mockApi({
      "POST /api/v1/auth/login": problem(429, "too-many-requests", "Too many attempts; try again in 30 seconds.", undefined, {
        "Retry-After": "30",
      }),
    });
    const p = (await api.login({ email: "a@b.c", password: "x" }).catch((e: unknown) => e)) as ApiProblem;
    expect(p.is("too-many-requests")).toBe(true);
    expect(p.retryAfter).toBe(30);
  });

  it("knows every kind of problem the service lists, cross-site-request included", async () => {
    mockApi({
      "POST /api/v1/watchlist": problem(403, "cross-site-request", "This change was sent from another site, so it was refused."),
    });
    const p = (await api.addSymbol("AAPL").catch((e: unknown) => e)) as ApiProblem;
    // `is` takes the slugs generated from the OpenAPI document (plus "network"): a slug
    // the service does not list fails the type check.
    expect(p.is("cross-site-request")).toBe(true);
    expectTypeOf<ProblemSlug>().toEqualTypeOf<components["schemas"]["ProblemKind"] | "network">();
  });

  it("makes a problem of an answer that is not problem+json", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>Bad gateway</html>", { status: 502 })));
    const p = (await api.me().catch((e: unknown) => e)) as ApiProblem;
    expect(p).toBeInstanceOf(ApiProblem);
    expect(p.status).toBe(502);
    expect(p.is("unavailable")).toBe(true);
    expect(p.detail).toMatch(/not reachable/);
  });

  it("makes a network problem when fetch itself fails", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const p = (await api.preview().catch((e: unknown) => e)) as ApiProblem;
    expect(p.is("network")).toBe(true);
    expect(p.status).toBe(0);
  });

  it("rethrows aborts untouched", async () => {
    mockApi({ "GET /api/v1/me": { body: {} } });
    const controller = new AbortController();
    controller.abort();
    await expect(api.me({ signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("tells listeners when the session has ended", async () => {
    mockApi({
      "GET /api/v1/preferences": problem(401, "unauthenticated", "Log in first."),
      "POST /api/v1/auth/login": problem(401, "invalid-credentials", "Wrong email or password."),
    });
    const listener = vi.fn();
    const stop = onUnauthenticated(listener);
    await api.preferences().catch(() => undefined);
    expect(listener).toHaveBeenCalledTimes(1);
    // A wrong password is not an ended session.
    await api.login({ email: "a@b.c", password: "x" }).catch(() => undefined);
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
  });
});
