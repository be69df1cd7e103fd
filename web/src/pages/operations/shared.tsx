import { useRef, useState } from "react";
import { useParams } from "react-router";
import { ApiProblem } from "../../api/problem";
import { ErrorAlert } from "../../components/Alerts";
import { BusyButton } from "../../components/BusyButton";
import { useAction } from "../../hooks/useAction";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useResource } from "../../hooks/useResource";

/** A screen's data could not be loaded: why, and a way to try again (not for a 404). */
export function LoadProblem({
  what,
  problem,
  reload,
}: {
  what: string;
  problem: ApiProblem;
  reload?: () => void;
}) {
  return (
    <ErrorAlert>
      <p>
        Could not load {what}: {problem.detail}
      </p>
      {reload && problem.status !== 403 && problem.status !== 404 ? (
        <button type="button" className="button button-secondary" onClick={reload}>
          Try again
        </button>
      ) : null}
    </ErrorAlert>
  );
}

/** A path id ("42"), or null for anything that is not one. */
export function parseId(raw: string | undefined): number | null {
  if (!raw || !/^\d{1,18}$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}

/**
 * One run (`what`: "digest run", "ETL run") by the `:id` of the address: the resource,
 * whether it does not exist (a bad or unknown id), and the page heading, which is also
 * the document title.
 */
export function useRunDetail<T extends { id: number }>(
  what: string,
  load: (id: number, signal: AbortSignal) => Promise<T>,
) {
  const id = parseId(useParams().id);
  const run = useResource(
    (signal) =>
      id === null
        ? Promise.reject(
            new ApiProblem({
              type: "urn:quotidian:problem:not-found",
              title: "Not found",
              status: 404,
              detail: `There is no ${what} at this address.`,
            }),
          )
        : load(id, signal),
    id,
  );
  const notFound = run.problem?.status === 404 || run.problem?.status === 400;
  const name = what.charAt(0).toUpperCase() + what.slice(1);
  const heading = run.data
    ? `${name} ${run.data.id}`
    : notFound
      ? `${name} not found`
      : run.problem
        ? `Could not load this ${what}`
        : `Loading ${what}…`;
  useDocumentTitle(heading);
  return { run, notFound, heading };
}

/** Counts as a wrapping row of labelled numbers. */
export function Counts({ items }: { items: [string, number][] }) {
  return (
    <dl className="ops-counts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export interface Page<T, C> {
  items: T[];
  next: C | null;
}

/**
 * A list loaded a page at a time, newest first, with "Load more": the first page on
 * mount, each next one on request; focus moves to the first new entry's link.
 * Take `listRef` apart from the rest (`const { listRef, ...paged } = usePaged(...)`):
 * React treats an object holding a ref as a ref, which render must not read.
 */
export function usePaged<T, C>(
  load: (before: C | null, signal?: AbortSignal) => Promise<Page<T, C>>,
  keyOf: (item: T) => string,
) {
  const first = useResource((signal) => load(null, signal));
  const [more, setMore] = useState<Page<T, C> | null>(null);
  const loadMore = useAction((before: C) => load(before));
  /** Around the list(s): entries carry `data-entry={keyOf(item)}`. */
  const listRef = useRef<HTMLDivElement>(null);

  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const next = more ? more.next : (first.data?.next ?? null);

  async function onLoadMore() {
    if (next === null) return;
    const result = await loadMore.run(next);
    if (!result.ok) return;
    setMore((m) => ({ items: [...(m?.items ?? []), ...result.data.items], next: result.data.next }));
    const firstNew = result.data.items[0];
    if (firstNew === undefined) return;
    const key = keyOf(firstNew);
    // Move on to the first of the new entries.
    requestAnimationFrame(() => {
      const entries = listRef.current?.querySelectorAll<HTMLElement>("[data-entry]") ?? [];
      const entry = Array.from(entries).find((e) => e.dataset.entry === key);
      entry?.querySelector<HTMLElement>("a, button")?.focus();
    });
  }

  /** Drops entries (after lifting a suppression, say) without reloading. */
  function remove(keep: (item: T) => boolean) {
    first.setData((d) => ({ items: (d?.items ?? []).filter(keep), next: d?.next ?? null }));
    setMore((m) => (m ? { ...m, items: m.items.filter(keep) } : m));
  }

  return { first, items, next, loadMore, onLoadMore, listRef, remove };
}

/** "Load more" under a paged list, with its error. */
export function LoadMore({
  paged,
}: {
  paged: { next: unknown; loadMore: { pending: boolean; problem: ApiProblem | null }; onLoadMore: () => Promise<void> };
}) {
  return (
    <>
      {paged.loadMore.problem ? (
        <ErrorAlert>Could not load more: {paged.loadMore.problem.detail}</ErrorAlert>
      ) : null}
      {paged.next !== null ? (
        <BusyButton
          variant="secondary"
          busy={paged.loadMore.pending}
          busyLabel="Loading…"
          onClick={() => void paged.onLoadMore()}
        >
          Load more
        </BusyButton>
      ) : null}
    </>
  );
}
