import { Link } from "react-router";
import { api, type DigestRun } from "../../api/client";
import { Loading } from "../../components/Alerts";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { digestRunTrigger, formatDateTime, isToday } from "../../lib/format";
import { Counts, LoadMore, LoadProblem, usePaged } from "./shared";

async function loadRuns(before: number | null, signal?: AbortSignal) {
  const page = await api.digestRuns(before, { signal });
  return { items: page.runs, next: page.next_before ?? null };
}

export function DigestRunsPage() {
  useDocumentTitle("Digest runs");
  const { listRef, ...paged } = usePaged(loadRuns, (r) => String(r.id));
  const today = paged.items.filter((r) => isToday(r.started_at));
  const earlier = paged.items.filter((r) => !isToday(r.started_at));

  return (
    <div className="page">
      <h1>Digest runs</h1>
      <p>
        Each scheduler pass, <code>quotidian run</code> or “send now”, newest first, with where its
        digests stand. Open a run for the digests that were not sent and why.
      </p>
      {paged.first.loading && !paged.first.data ? (
        <Loading />
      ) : paged.first.problem && !paged.first.data ? (
        <LoadProblem what="digest runs" problem={paged.first.problem} reload={paged.first.reload} />
      ) : (
        <div ref={listRef}>
          <section aria-labelledby="today-heading">
            <h2 id="today-heading">Today</h2>
            {today.length === 0 ? <p>No digest runs yet today.</p> : <RunList runs={today} />}
          </section>
          <section aria-labelledby="earlier-heading">
            <h2 id="earlier-heading">Earlier</h2>
            {earlier.length === 0 && paged.next === null ? (
              <p>No earlier runs.</p>
            ) : (
              <RunList runs={earlier} />
            )}
            <LoadMore paged={paged} />
          </section>
        </div>
      )}
    </div>
  );
}

function RunList({ runs }: { runs: DigestRun[] }) {
  return (
    <ul className="history-list">
      {runs.map((r) => (
        <li key={r.id} className="history-item" data-entry={r.id}>
          <div className="history-head">
            <Link to={`/operations/digest-runs/${r.id}`} className="history-date">
              Run {r.id}
            </Link>
            <span>{digestRunTrigger(r.trigger)}</span>
            {r.in_progress > 0 ? (
              <span className="badge badge-pending">In progress</span>
            ) : r.failed > 0 || r.missed > 0 ? (
              <span className="badge badge-bad">Not all sent</span>
            ) : null}
          </div>
          <p className="meta">
            Started {formatDateTime(r.started_at)}
            {r.finished_at ? "" : " · still queuing"}
          </p>
          <Counts
            items={[
              ["Due", r.due],
              ["Sent", r.sent],
              ["Failed", r.failed],
              ["Skipped", r.skipped],
              ["Missed", r.missed],
              ["In progress", r.in_progress],
            ]}
          />
        </li>
      ))}
    </ul>
  );
}
