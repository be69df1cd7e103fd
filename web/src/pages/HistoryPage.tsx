import { useRef, useState } from "react";
import { Link } from "react-router";
import { api, type DigestSummary } from "../api/client";
import { ErrorAlert, Loading } from "../components/Alerts";
import { StatusBadge } from "../components/StatusBadge";
import { BusyButton } from "../components/BusyButton";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useResource } from "../hooks/useResource";
import { triggerLabel } from "../lib/format";

export function HistoryPage() {
  useDocumentTitle("History");
  const first = useResource((signal) => api.digests(null, { signal }));
  const [more, setMore] = useState<{ digests: DigestSummary[]; nextBefore: string | null } | null>(
    null,
  );
  const loadMore = useAction((before: string) => api.digests(before));
  const listRef = useRef<HTMLUListElement>(null);

  const digests = [...(first.data?.digests ?? []), ...(more?.digests ?? [])];
  const nextBefore = more ? more.nextBefore : (first.data?.next_before ?? null);

  async function onLoadMore() {
    if (!nextBefore) return;
    const shown = digests.length;
    const result = await loadMore.run(nextBefore);
    if (!result.ok) return;
    setMore((m) => ({
      digests: [...(m?.digests ?? []), ...result.data.digests],
      nextBefore: result.data.next_before ?? null,
    }));
    // Move on to the first of the new entries.
    requestAnimationFrame(() => {
      listRef.current?.querySelectorAll<HTMLAnchorElement>("a")[shown]?.focus();
    });
  }

  return (
    <div className="page">
      <h1>History</h1>
      <p>Every digest of yours, newest first, including any that could not be sent and why.</p>
      {first.loading && !first.data ? (
        <Loading />
      ) : first.problem && !first.data ? (
        <ErrorAlert>
          <p>Could not load your history: {first.problem.detail}</p>
          <button type="button" className="button button-secondary" onClick={first.reload}>
            Try again
          </button>
        </ErrorAlert>
      ) : digests.length === 0 ? (
        <p>No digests yet. Your first one arrives at the time set in your schedule.</p>
      ) : (
        <>
          <ul className="history-list" aria-label="Digests" ref={listRef}>
            {digests.map((d) => (
              <li key={d.id} className="history-item">
                <div className="history-head">
                  <Link to={`/history/${d.id}`} className="history-date">
                    {d.local_date}
                  </Link>
                  <StatusBadge status={d.status} />
                </div>
                <p className="history-subject">{d.subject ?? <em>No subject (not sent)</em>}</p>
                {d.reason ? <p className="history-reason">Reason: {d.reason}</p> : null}
                <p className="meta">{triggerLabel(d.trigger)}</p>
              </li>
            ))}
          </ul>
          {loadMore.problem ? (
            <ErrorAlert>Could not load more: {loadMore.problem.detail}</ErrorAlert>
          ) : null}
          {nextBefore ? (
            <BusyButton
              variant="secondary"
              busy={loadMore.pending}
              busyLabel="Loading…"
              onClick={() => void onLoadMore()}
            >
              Load more
            </BusyButton>
          ) : null}
        </>
      )}
    </div>
  );
}
