import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { type ApiProblem, toApiProblem } from "../api/problem";

export type ActionResult<T> = { ok: true; data: T } | { ok: false; problem: ApiProblem };

export interface Action<A extends unknown[], T> {
  /** Runs the action; never throws: the outcome says whether it worked. */
  run: (...args: A) => Promise<ActionResult<T>>;
  pending: boolean;
  /** The problem of the last run, until the next run or `reset()`. */
  problem: ApiProblem | null;
  reset: () => void;
}

/**
 * Something the person does that calls the API (a save, a send...): tracks whether it
 * is under way (to disable its button and say "Saving…") and what went wrong.
 */
export function useAction<A extends unknown[], T>(
  action: (...args: A) => Promise<T>,
): Action<A, T> {
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const mounted = useRef(true);
  // The latest `action` (often a new closure each render) for `run`, which stays the
  // same function. Updated once the render is committed, before any event can call it.
  const actionRef = useRef(action);
  useLayoutEffect(() => {
    actionRef.current = action;
  });

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(async (...args: A): Promise<ActionResult<T>> => {
    setPending(true);
    setProblem(null);
    try {
      const data = await actionRef.current(...args);
      if (mounted.current) setPending(false);
      return { ok: true, data };
    } catch (error) {
      const p = toApiProblem(error);
      if (mounted.current) {
        setProblem(p);
        setPending(false);
      }
      return { ok: false, problem: p };
    }
  }, []);

  const reset = useCallback(() => setProblem(null), []);
  return { run, pending, problem, reset };
}
