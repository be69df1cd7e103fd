import { Link } from "react-router";
import { api } from "../../api/client";
import { Loading } from "../../components/Alerts";
import { StatusBadge } from "../../components/StatusBadge";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { formatDateTime } from "../../lib/format";
import { Counts, LoadMore, LoadProblem, usePaged } from "./shared";

async function loadRuns(before: number | null, signal?: AbortSignal) {
  const page = await api.etlRuns(before, { signal });
  return { items: page.runs, next: page.next_before ?? null };
}

export function EtlRunsPage() {
  useDocumentTitle("ETL runs");
  const { listRef, ...paged } = usePaged(loadRuns, (r) => String(r.id));

  return (
    <div className="page">
      <h1>ETL runs</h1>
      <p>
        Market data extractions from Finnhub, newest first. Open a run for the symbols that could
        not be fetched and why.
      </p>
      {paged.first.loading && !paged.first.data ? (
        <Loading />
      ) : paged.first.problem && !paged.first.data ? (
        <LoadProblem what="ETL runs" problem={paged.first.problem} reload={paged.first.reload} />
      ) : paged.items.length === 0 ? (
        <p>No extraction has run yet.</p>
      ) : (
        <div ref={listRef}>
          <ul className="history-list">
            {paged.items.map((r) => (
              <li key={r.id} className="history-item" data-entry={r.id}>
                <div className="history-head">
                  <Link to={`/operations/etl-runs/${r.id}`} className="history-date">
                    Run {r.id}
                  </Link>
                  <StatusBadge status={r.status} />
                  <span>
                    {r.source === "sample" ? "sample data" : "Finnhub"} · {r.trigger}
                  </span>
                </div>
                <p className="meta">Started {formatDateTime(r.started_at)}</p>
                {r.error ? <p className="history-reason">Error: {r.error}</p> : null}
                <Counts
                  items={[
                    ["Symbols", r.symbols],
                    ["Calls", r.calls],
                    ["Retries", r.retries],
                    ["Rate limited", r.rate_limited],
                    ["Failures", r.failures],
                  ]}
                />
              </li>
            ))}
          </ul>
          <LoadMore paged={paged} />
        </div>
      )}
    </div>
  );
}
