import type { components } from "./schema";

export type ProblemDocument = components["schemas"]["Problem"];
export type FieldError = components["schemas"]["FieldError"];

/** The `<slug>` of `urn:quotidian:problem:<slug>` the service answers with (its `ProblemKind`). */
export type ProblemKind = components["schemas"]["ProblemKind"];

/** A problem's slug: one of the service's kinds, or `network`. */
export type ProblemSlug =
  | ProblemKind
  /** Client side only: the request never got an answer. */
  | "network";

const URN_PREFIX = "urn:quotidian:problem:";

/** `urn:quotidian:problem:<slug>`, the `type` of a problem document. */
function urn(slug: ProblemSlug): string {
  return URN_PREFIX + slug;
}

function isProblemDocument(value: unknown): value is ProblemDocument {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.detail === "string";
}

function isFieldError(value: unknown): value is FieldError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.field === "string" && typeof v.message === "string";
}

/**
 * A non-2xx answer of the API (an RFC 9457 problem document), or a request that got
 * no answer at all (`slug === "network"`, `status === 0`).
 */
export class ApiProblem extends Error {
  override readonly name = "ApiProblem";
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];
  /** Seconds from the `Retry-After` header of a 429, when there is one. */
  readonly retryAfter: number | null;

  constructor(problem: ProblemDocument, retryAfter: number | null = null) {
    super(problem.detail);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.retryAfter = retryAfter;
  }

  /** `validation` for `urn:quotidian:problem:validation`. */
  get slug(): string {
    return this.type.startsWith(URN_PREFIX) ? this.type.slice(URN_PREFIX.length) : this.type;
  }

  is(slug: ProblemSlug): boolean {
    return this.slug === slug;
  }

  /** Field errors keyed by field name (the first message per field). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.errors) {
      if (!(e.field in out)) out[e.field] = e.message;
    }
    return out;
  }

  /** Builds the problem from a failed response and its (maybe parsed) body. */
  static fromResponse(body: unknown, response: Response): ApiProblem {
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    if (isProblemDocument(body)) {
      const errors = Array.isArray(body.errors) ? body.errors.filter(isFieldError) : [];
      return new ApiProblem(
        {
          type: body.type,
          title: typeof body.title === "string" ? body.title : response.statusText,
          status: typeof body.status === "number" ? body.status : response.status,
          detail: body.detail,
          errors,
        },
        retryAfter,
      );
    }
    // Not a problem document (a proxy error page, an empty body...).
    const unavailable = response.status === 502 || response.status === 503 || response.status === 504;
    return new ApiProblem(
      {
        type: urn(unavailable ? "unavailable" : "internal"),
        title: response.statusText || "Unexpected answer",
        status: response.status,
        detail: unavailable
          ? "Quotidian is not reachable right now. Please try again in a moment."
          : `Something went wrong on our side (HTTP ${response.status}). Please try again.`,
      },
      retryAfter,
    );
  }

  static network(): ApiProblem {
    return new ApiProblem({
      type: urn("network"),
      title: "No connection",
      status: 0,
      detail: "Could not reach Quotidian. Check your connection and try again.",
    });
  }
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.round((date - Date.now()) / 1000));
}

export function isApiProblem(error: unknown): error is ApiProblem {
  return error instanceof ApiProblem;
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    "name" in error &&
    (error as { name: unknown }).name === "AbortError"
  );
}

/** Any thrown value as an ApiProblem, so screens have one error shape to show. */
export function toApiProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem({
    type: urn("internal"),
    title: "Unexpected error",
    status: 0,
    detail: error instanceof Error && error.message ? error.message : "Something went wrong.",
  });
}
