import { vi } from "vitest";
import type { ProblemKind } from "../api/problem";

/** What a mocked endpoint answers. */
export interface MockAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RecordedCall {
  method: string;
  path: string;
  url: URL;
  /** The parsed JSON body, if any. */
  body: unknown;
  credentials: RequestCredentials;
}

export type Handler = (call: RecordedCall) => MockAnswer | Promise<MockAnswer>;

/** A problem+json answer as the service writes it. */
export function problem(
  status: number,
  /** One the service answers with, or `unmocked` (this mock's own, for a missing route). */
  slug: ProblemKind | "unmocked",
  detail: string,
  errors?: { field: string; message: string }[],
  headers?: Record<string, string>,
): MockAnswer {
  return {
    status,
    body: {
      type: `urn:quotidian:problem:${slug}`,
      title: slug,
      status,
      detail,
      ...(errors ? { errors } : {}),
    },
    headers: { "Content-Type": "application/problem+json", ...headers },
  };
}

/** A 422 with field errors, with the detail the service derives from them. */
export function validation(errors: { field: string; message: string }[]): MockAnswer {
  return problem(
    422,
    "validation",
    errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    errors,
  );
}

function toResponse(answer: MockAnswer): Response {
  const status = answer.status ?? 200;
  const empty = status === 204 || answer.body === undefined;
  return new Response(empty ? null : JSON.stringify(answer.body), {
    status,
    headers: { "Content-Type": "application/json", ...answer.headers },
  });
}

/**
 * Stubs `fetch` with a table of "METHOD /path" → answer (or handler). Calls are
 * recorded; an unexpected call fails the test loudly with a 599.
 */
export function mockApi(routes: Record<string, MockAnswer | Handler> = {}) {
  const table = new Map<string, MockAnswer | Handler>(Object.entries(routes));
  const calls: RecordedCall[] = [];

  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    if (request.signal.aborted) throw new DOMException("The operation was aborted.", "AbortError");
    const url = new URL(request.url);
    const text = await request.text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const call: RecordedCall = {
      method: request.method,
      path: url.pathname,
      url,
      body,
      credentials: request.credentials,
    };
    calls.push(call);
    const key = `${request.method} ${url.pathname}`;
    const route = table.get(key);
    if (!route) {
      return toResponse(problem(599, "unmocked", `No mock for ${key}`));
    }
    const answer = typeof route === "function" ? await route(call) : route;
    return toResponse(answer);
  });

  vi.stubGlobal("fetch", fetchMock);

  return {
    fetch: fetchMock,
    calls,
    /** Sets or replaces what an endpoint answers. */
    on(key: string, answer: MockAnswer | Handler) {
      table.set(key, answer);
    },
    /** The calls made to one endpoint ("GET /api/v1/symbols"). */
    callsTo(key: string): RecordedCall[] {
      return calls.filter((c) => `${c.method} ${c.path}` === key);
    },
  };
}

export const ME = {
  id: "0d7c2a4e-6a43-4f0e-9d85-2b1f0b7f6c11",
  email: "ada@example.com",
  created_at: "2026-11-21T09:00:00Z",
  confirmed_at: "2026-11-21T09:05:00Z",
  operator: false,
};

export const LOGGED_IN = { "GET /api/v1/me": { body: ME } };
/** Logged in as an account in QUOTIDIAN_OPERATOR_EMAILS. */
export const AS_OPERATOR = { "GET /api/v1/me": { body: { ...ME, operator: true } } };
export const LOGGED_OUT = {
  "GET /api/v1/me": problem(401, "unauthenticated", "This needs a valid session: log in first."),
};
