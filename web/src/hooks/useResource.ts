import { useCallback, useEffect, useRef, useState } from "react";
import { type ApiProblem, isAbortError, toApiProblem } from "../api/problem";

export interface Resource<T> {
  data: T | undefined;
  problem: ApiProblem | null;
  loading: boolean;
  /** Fetches again (keeps the current data on screen while it does). */
  reload: () => void;
  /** Replaces the data locally, e.g. after a successful save. */
  setData: (update: T | ((current: T | undefined) => T)) => void;
}

/**
 * Loads something from the API when the component mounts (and whenever `deps`
 * change), with loading and error state. Requests of a stale render are aborted.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[] = [],
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setProblem(null);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(() => value);
        setLoading(false);
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbortError(error)) return;
        setProblem(toApiProblem(error));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [generation, ...deps]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const replace = useCallback((update: T | ((current: T | undefined) => T)) => {
    setData((current) =>
      typeof update === "function" ? (update as (c: T | undefined) => T)(current) : update,
    );
  }, []);

  return { data, problem, loading, reload, setData: replace };
}
