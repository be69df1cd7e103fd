import { useCallback, useEffect, useEffectEvent, useState } from "react";
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

/** Which request an outcome answers: the `key` it was made for, and its reload count. */
interface Settled {
  key: unknown;
  generation: number;
  problem: ApiProblem | null;
}

/**
 * Loads something from the API when the component mounts (and again whenever `key`
 * changes, e.g. the id in the path), with loading and error state. Requests of a stale
 * render are aborted.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key?: unknown,
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  // How the latest request ended. Loading, and the problem shown, are derived from it:
  // a request for another key or generation than the one settled is still under way.
  const [settled, setSettled] = useState<Settled | null>(null);
  // The latest `load` (a new closure each render), without refetching when it changes.
  const fetchData = useEffectEvent(load);

  useEffect(() => {
    const controller = new AbortController();
    fetchData(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(() => value);
        setSettled({ key, generation, problem: null });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbortError(error)) return;
        setSettled({ key, generation, problem: toApiProblem(error) });
      },
    );
    return () => controller.abort();
  }, [key, generation]);

  const current = settled !== null && settled.generation === generation && Object.is(settled.key, key);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const replace = useCallback((update: T | ((current: T | undefined) => T)) => {
    setData((current) =>
      typeof update === "function" ? (update as (c: T | undefined) => T)(current) : update,
    );
  }, []);

  return {
    data,
    problem: current ? settled.problem : null,
    loading: !current,
    reload,
    setData: replace,
  };
}
