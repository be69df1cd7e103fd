import { Link } from "react-router";
import { api, type EtlOutcome } from "../../api/client";
import { Loading } from "../../components/Alerts";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDateTime, plural } from "../../lib/format";
import { Counts, LoadProblem, useRunDetail } from "./shared";

const OUTCOMES: Record<EtlOutcome, string> = {
  no_data: "No data",
  bad_data: "Bad data",
  unavailable: "Unavailable",
  rate_limited: "Rate limited",
  rejected: "Rejected",
};

export function EtlRunPage() {
  const { run, notFound, heading } = useRunDetail("ETL run", (id, signal) => api.etlRun(id, { signal }));
  const r = run.data;

  return (
    <div className="page">
      <p className="back-link">
        <Link to="/operations/etl-runs">Back to ETL runs</Link>
      </p>
      <h1>{heading}</h1>
      {r ? (
        <>
          <dl className="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={r.status} />
              </dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd>{r.source === "sample" ? "Sample data" : "Finnhub"}</dd>
            </div>
            <div>
              <dt>Started by</dt>
              <dd>{r.trigger}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(r.started_at)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{r.finished_at ? formatDateTime(r.finished_at) : "Not yet"}</dd>
            </div>
            {r.error ? (
              <div>
                <dt>Error</dt>
                <dd>{r.error}</dd>
              </div>
            ) : null}
          </dl>
          <Counts
            items={[
              ["Symbols", r.symbols],
              ["Calls", r.calls],
              ["Retries", r.retries],
              ["Rate limited", r.rate_limited],
              ["Failures", r.failures],
            ]}
          />
          <section aria-labelledby="failures-heading">
            <h2 id="failures-heading">Failures</h2>
            {r.failure_details.length === 0 ? (
              <p>Every symbol of this run was fetched and loaded.</p>
            ) : (
              <>
                <p>{plural(r.failure_details.length, "call")} did not load; the rest of the run did.</p>
                <ul className="history-list">
                  {r.failure_details.map((f, i) => (
                    <li key={`${f.symbol}-${f.endpoint}-${i}`} className="history-item">
                      <div className="history-head">
                        <span className="history-date symbol">{f.symbol}</span>
                        <span className="badge badge-bad">{OUTCOMES[f.outcome] ?? f.outcome}</span>
                        <code className="ops-code">{f.endpoint}</code>
                      </div>
                      <p className="history-reason">Reason: {f.reason}</p>
                      <p className="meta">Recorded {formatDateTime(f.recorded_at)}</p>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </section>
        </>
      ) : run.problem ? (
        <LoadProblem what="this ETL run" problem={run.problem} reload={notFound ? undefined : run.reload} />
      ) : (
        <Loading />
      )}
    </div>
  );
}
