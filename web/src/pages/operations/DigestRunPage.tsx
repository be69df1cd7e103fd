import { Link } from "react-router";
import { api, type DigestRunProblem } from "../../api/client";
import { Loading } from "../../components/Alerts";
import { StatusBadge } from "../../components/StatusBadge";
import { digestRunTrigger, formatDateTime, plural } from "../../lib/format";
import { Counts, LoadProblem, useRunDetail } from "./shared";

export function DigestRunPage() {
  const { run, notFound, heading } = useRunDetail("digest run", (id, signal) => api.digestRun(id, { signal }));
  const r = run.data;

  return (
    <div className="page">
      <p className="back-link">
        <Link to="/operations/digest-runs">Back to digest runs</Link>
      </p>
      <h1>{heading}</h1>
      {r ? (
        <>
          <dl className="facts">
            <div>
              <dt>Started by</dt>
              <dd>{digestRunTrigger(r.trigger)}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(r.started_at)}</dd>
            </div>
            <div>
              <dt>Finished queuing</dt>
              <dd>{r.finished_at ? formatDateTime(r.finished_at) : "Not yet"}</dd>
            </div>
          </dl>
          <Counts
            items={[
              ["Due", r.due],
              ["Queued", r.queued],
              ["Sent", r.sent],
              ["Failed", r.failed],
              ["Skipped", r.skipped],
              ["Missed", r.missed],
              ["In progress", r.in_progress],
            ]}
          />
          <section aria-labelledby="problems-heading">
            <h2 id="problems-heading">Not sent</h2>
            {r.problems.length === 0 ? (
              <p>Every digest of this run was sent, or is still on its way.</p>
            ) : (
              <>
                <p>
                  {plural(r.problems.length, "digest")} of this run ended without being sent. Each
                  has an audit record in the bucket <code>{r.audit_bucket}</code> once the audit
                  outbox has put it there.
                </p>
                <ul className="history-list">
                  {r.problems.map((p) => (
                    <ProblemItem key={p.job_id} problem={p} />
                  ))}
                </ul>
              </>
            )}
          </section>
        </>
      ) : run.problem ? (
        <LoadProblem
          what="this digest run"
          problem={run.problem}
          reload={notFound ? undefined : run.reload}
        />
      ) : (
        <Loading />
      )}
    </div>
  );
}

function ProblemItem({ problem: p }: { problem: DigestRunProblem }) {
  return (
    <li className="history-item" id={`job-${p.job_id}`}>
      <div className="history-head">
        <span className="history-date">Digest {p.job_id}</span>
        <StatusBadge status={p.status} />
        <span>for {p.local_date}</span>
      </div>
      <p className="history-reason">Reason: {p.reason ?? "none recorded"}</p>
      <p className="meta">
        Account <code className="ops-code">{p.user_id}</code> · {plural(p.attempts, "attempt")}
      </p>
      <p className="ops-audit">
        {p.audit_key ? (
          <>
            Audit record key: <code className="ops-code">{p.audit_key}</code>{" "}
            <span className="meta">
              {p.audit_stored_at
                ? `(stored ${formatDateTime(p.audit_stored_at)})`
                : "(waiting in the audit outbox)"}
            </span>
          </>
        ) : (
          <span className="meta">No audit record yet.</span>
        )}
      </p>
    </li>
  );
}
