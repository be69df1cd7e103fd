/**
 * The one way the page talks to the service: openapi-fetch over the types generated
 * from the service's own OpenAPI document (`npm run gen:api`), so a change to the API
 * that the page does not follow fails the type check.
 *
 * Every call resolves to the success body or throws an {@link ApiProblem}.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { ApiProblem, isAbortError } from "./problem";

type Schemas = components["schemas"];
export type Me = Schemas["MeResponse"];
export type Session = Schemas["SessionResponse"];
export type Message = Schemas["MessageResponse"];
export type SignupRequest = Schemas["SignupRequest"];
export type LoginRequest = Schemas["LoginRequest"];
export type Watchlist = Schemas["WatchlistResponse"];
export type WatchlistItem = Schemas["WatchlistItem"];
export type SymbolHit = Schemas["SymbolHit"];
export type SymbolSearch = Schemas["SearchResponse"];
export type Preferences = Schemas["PreferencesResponse"];
export type PreferencesUpdate = Schemas["PreferencesUpdate"];
export type Days = Schemas["Days"];
export type DigestPreview = Schemas["DigestPreview"];
export type DigestSummary = Schemas["DigestSummary"];
export type DigestList = Schemas["DigestList"];
export type SentDigest = Schemas["SentDigest"];
export type Revoked = Schemas["RevokedResponse"];
export type Overview = Schemas["Overview"];
export type Queue = Schemas["Queue"];
export type DigestRun = Schemas["DigestRun"];
export type DigestRunList = Schemas["DigestRunList"];
export type DigestRunDetail = Schemas["DigestRunDetail"];
export type DigestRunProblem = Schemas["DigestRunProblem"];
export type EtlRun = Schemas["EtlRun"];
export type EtlRunList = Schemas["EtlRunList"];
export type EtlRunDetail = Schemas["EtlRunDetail"];
export type Suppression = Schemas["Suppression"];
export type SuppressionList = Schemas["SuppressionList"];
// The closed sets of values the service reports, as its OpenAPI document lists them.
export type DigestStatus = Schemas["DigestStatus"];
export type DigestTrigger = Schemas["DigestTrigger"];
export type EtlRunStatus = Schemas["EtlRunStatus"];
export type EtlOutcome = Schemas["EtlOutcome"];
export type SuppressionReason = Schemas["SuppressionReason"];

/** Same-origin in production (the service serves the page) and through Vite's proxy in dev. */
function baseUrl(): string {
  return typeof window === "undefined" ? "" : window.location.origin;
}

export const client = createClient<paths>({
  baseUrl: baseUrl(),
  credentials: "same-origin",
  headers: { Accept: "application/json, application/problem+json" },
  // Looked up on every call (not captured once) so tests can stub `fetch`.
  fetch: (request) => globalThis.fetch(request),
});

interface Outcome {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The success body of an openapi-fetch result (void for 204 and other empty answers). */
type SuccessData<R> = [R extends { data: infer D } ? D : never] extends [never]
  ? void
  : R extends { data: infer D } ? D : never;

type UnauthenticatedListener = () => void;
const unauthenticatedListeners = new Set<UnauthenticatedListener>();

/** Called whenever the service answers 401 `unauthenticated` (the session ended). */
export function onUnauthenticated(listener: UnauthenticatedListener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/** The success body of a call, or an {@link ApiProblem} thrown for anything else. */
export async function unwrap<R extends Outcome>(call: Promise<R>): Promise<SuccessData<R>> {
  let outcome: R;
  try {
    outcome = await call;
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw ApiProblem.network();
  }
  const { response } = outcome;
  if (response.ok) return outcome.data as SuccessData<R>;
  const problem = ApiProblem.fromResponse(outcome.error, response);
  if (problem.status === 401 && problem.is("unauthenticated")) {
    for (const listener of unauthenticatedListeners) listener();
  }
  throw problem;
}

type Signal = { signal?: AbortSignal };

export const api = {
  // Accounts and sessions
  me: ({ signal }: Signal = {}) => unwrap(client.GET("/api/v1/me", { signal })),
  signup: (body: SignupRequest) => unwrap(client.POST("/api/v1/auth/signup", { body })),
  confirm: (token: string) => unwrap(client.POST("/api/v1/auth/confirm", { body: { token } })),
  login: (body: LoginRequest) => unwrap(client.POST("/api/v1/auth/login", { body })),
  logout: () => unwrap(client.POST("/api/v1/auth/logout")),
  requestPasswordReset: (email: string) =>
    unwrap(client.POST("/api/v1/auth/password-reset", { body: { email } })),
  resetPassword: (token: string, newPassword: string) =>
    unwrap(
      client.POST("/api/v1/auth/password-reset/confirm", {
        body: { token, new_password: newPassword },
      }),
    ),
  changePassword: (currentPassword: string, newPassword: string) =>
    unwrap(
      client.PUT("/api/v1/me/password", {
        body: { current_password: currentPassword, new_password: newPassword },
      }),
    ),
  logoutEverywhere: () => unwrap(client.DELETE("/api/v1/me/sessions")),
  deleteAccount: (password: string) =>
    unwrap(client.DELETE("/api/v1/me", { body: { password } })),

  // Watchlist
  watchlist: ({ signal }: Signal = {}) => unwrap(client.GET("/api/v1/watchlist", { signal })),
  addSymbol: (symbol: string) => unwrap(client.POST("/api/v1/watchlist", { body: { symbol } })),
  removeSymbol: (symbol: string) =>
    unwrap(client.DELETE("/api/v1/watchlist/{symbol}", { params: { path: { symbol } } })),
  searchSymbols: (q: string, { signal }: Signal = {}) =>
    unwrap(client.GET("/api/v1/symbols", { params: { query: { q } }, signal })),

  // Schedule and content
  preferences: ({ signal }: Signal = {}) => unwrap(client.GET("/api/v1/preferences", { signal })),
  updatePreferences: (body: PreferencesUpdate) =>
    unwrap(client.PATCH("/api/v1/preferences", { body })),

  // Digests
  preview: ({ signal }: Signal = {}) => unwrap(client.GET("/api/v1/digests/preview", { signal })),
  sendNow: () => unwrap(client.POST("/api/v1/digests/send-now")),
  digests: (before: string | null = null, { signal }: Signal = {}) =>
    unwrap(
      client.GET("/api/v1/digests", {
        params: { query: before ? { before } : {} },
        signal,
      }),
    ),
  digest: (id: number, { signal }: Signal = {}) =>
    unwrap(client.GET("/api/v1/digests/{id}", { params: { path: { id } }, signal })),

  // Operations (operators only: everyone else gets 403 `forbidden`)
  operatorOverview: ({ signal }: Signal = {}) =>
    unwrap(client.GET("/api/v1/operator/overview", { signal })),
  digestRuns: (before: number | null = null, { signal }: Signal = {}) =>
    unwrap(
      client.GET("/api/v1/operator/digest-runs", {
        params: { query: before !== null ? { before } : {} },
        signal,
      }),
    ),
  digestRun: (id: number, { signal }: Signal = {}) =>
    unwrap(client.GET("/api/v1/operator/digest-runs/{id}", { params: { path: { id } }, signal })),
  etlRuns: (before: number | null = null, { signal }: Signal = {}) =>
    unwrap(
      client.GET("/api/v1/operator/etl-runs", {
        params: { query: before !== null ? { before } : {} },
        signal,
      }),
    ),
  etlRun: (id: number, { signal }: Signal = {}) =>
    unwrap(client.GET("/api/v1/operator/etl-runs/{id}", { params: { path: { id } }, signal })),
  suppressions: (before: string | null = null, { signal }: Signal = {}) =>
    unwrap(
      client.GET("/api/v1/operator/suppressions", {
        params: { query: before ? { before } : {} },
        signal,
      }),
    ),
  liftSuppression: (email: string) =>
    unwrap(client.DELETE("/api/v1/operator/suppressions/{email}", { params: { path: { email } } })),
};
