import { type RefObject, useEffect } from "react";
import type { ApiProblem } from "../api/problem";
import { focusFirstInvalid } from "../lib/formErrors";

/** After a failed submit, moves focus to the first field the API complained about. */
export function useFocusFirstInvalid(
  form: RefObject<HTMLFormElement | null>,
  problem: ApiProblem | null,
): void {
  useEffect(() => {
    if (problem && problem.errors.length > 0) focusFirstInvalid(form.current);
  }, [form, problem]);
}
