import type { ApiProblem } from "../api/problem";

export interface FormErrors<F extends string> {
  /** Messages for the form's own fields, keyed by API field name. */
  fields: Partial<Record<F, string>>;
  /** Everything else, for the alert near the submit button (null when none). */
  form: string | null;
}

/**
 * Splits a problem between the form's fields (a 422's `errors[]` for fields the form
 * has) and the alert near its button (the detail, or field errors the form has no
 * input for).
 */
export function formErrors<F extends string>(
  problem: ApiProblem | null,
  fields: readonly F[],
): FormErrors<F> {
  if (!problem) return { fields: {}, form: null };
  const out: Partial<Record<F, string>> = {};
  const other: string[] = [];
  for (const e of problem.errors) {
    if ((fields as readonly string[]).includes(e.field)) {
      const field = e.field as F;
      if (!out[field]) out[field] = e.message;
    } else {
      other.push(`${e.field.replace(/_/g, " ")}: ${e.message}`);
    }
  }
  if (problem.errors.length === 0) return { fields: out, form: problem.detail };
  return { fields: out, form: other.length ? other.join("; ") : null };
}

/** Focuses the first field, in form order, that has an error. */
export function focusFirstInvalid(form: HTMLFormElement | null): void {
  const invalid = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  invalid?.focus();
}
