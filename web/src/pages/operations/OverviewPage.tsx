import { Link } from "react-router";
import { api, type Queue } from "../../api/client";
import { Loading } from "../../components/Alerts";
import { BusyButton } from "../../components/BusyButton";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useResource } from "../../hooks/useResource";
import { formatAge, formatDateTime, plural } from "../../lib/format";
import { LoadProblem } from "./shared";

const QUEUES: { key: "email_outbox" | "digest_jobs" | "audit_outbox"; name: string; what: string }[] = [
  { key: "digest_jobs", name: "Digests", what: "queued or being sent" },
  { key: "email_outbox", name: "Email outbox", what: "confirmation, reset and notice emails not sent yet" },
  { key: "audit_outbox", name: "Audit outbox", what: "audit records not in S3 yet" },
];

export function OverviewPage() {
  useDocumentTitle("Operations");
  const overview = useResource((signal) => api.operatorOverview({ signal }));
  const o = overview.data;

  return (
    <div className="page">
      <h1>Operations</h1>
      <p>What waits, and the budgets Quotidian works within, as of the moment below.</p>
      {!o && overview.loading ? (
        <Loading />
      ) : !o && overview.problem ? (
        <LoadProblem what="the overview" problem={overview.problem} reload={overview.reload} />
      ) : o ? (
        <>
          <div className="ops-refresh">
            <p className="meta">As of {formatDateTime(o.as_of)}</p>
            <BusyButton
              variant="secondary"
              busy={overview.loading}
              busyLabel="Refreshing…"
              onClick={overview.reload}
            >
              Refresh
            </BusyButton>
          </div>
          {overview.problem ? (
            <LoadProblem what="the latest counts" problem={overview.problem} />
          ) : null}

          <section aria-labelledby="queues-heading">
            <h2 id="queues-heading">Queues</h2>
            <ul className="ops-cards">
              {QUEUES.map((q) => (
                <QueueCard key={q.key} name={q.name} what={q.what} queue={o.queues[q.key]} />
              ))}
            </ul>
          </section>

          <section aria-labelledby="budgets-heading">
            <h2 id="budgets-heading">Budgets</h2>
            <ul className="ops-cards">
              <li className="ops-card">
                <h3>Finnhub</h3>
                <p className="ops-figure">
                  {o.finnhub.calls_last_minute} of {o.finnhub.calls_per_minute}
                </p>
                <p>calls in the last minute (every process), at most {o.finnhub.calls_per_second} a second</p>
                {o.finnhub.source === "sample" ? (
                  <p className="note">No Finnhub API key: the built-in sample data stands in.</p>
                ) : null}
              </li>
              <li className="ops-card">
                <h3>Amazon SES</h3>
                <p className="ops-figure">{o.ses.send_rate_per_second} a second</p>
                <p>
                  digest sends, {o.ses.shared ? "shared by every process" : "paced per process"};{" "}
                  {o.ses.configured
                    ? "set by QUOTIDIAN_SES_MAX_SEND_RATE"
                    : "the account's maximum send rate from SES"}
                </p>
                <p>
                  {o.unresolved_outcomes === 0
                    ? "No digest has an unknown SES outcome."
                    : `${plural(o.unresolved_outcomes, "digest", "digests")} with an unknown SES outcome (the person may or may not have it).`}{" "}
                  {o.ses.events
                    ? "SES's events through the configuration set settle them."
                    : "No configuration set: SES's events cannot settle them (QUOTIDIAN_SES_CONFIGURATION_SET)."}
                </p>
              </li>
            </ul>
          </section>

          <section aria-labelledby="suppressed-heading">
            <h2 id="suppressed-heading">Suppressed addresses</h2>
            <p>
              {o.suppressed_addresses === 0
                ? "No address is suppressed."
                : `${plural(o.suppressed_addresses, "address", "addresses")} ${o.suppressed_addresses === 1 ? "gets" : "get"} no email after a bounce, a complaint or by hand.`}{" "}
              <Link to="/operations/suppressions">See suppressions</Link>
            </p>
          </section>
        </>
      ) : null}
    </div>
  );
}

function QueueCard({ name, what, queue }: { name: string; what: string; queue: Queue }) {
  return (
    <li className="ops-card">
      <h3>{name}</h3>
      <p className="ops-figure">{queue.depth} waiting</p>
      <p>{what}</p>
      <p className="meta">
        {queue.oldest_queued_at && queue.oldest_age_secs != null
          ? `Oldest: ${formatAge(queue.oldest_age_secs)} (queued ${formatDateTime(queue.oldest_queued_at)})`
          : "Empty"}
      </p>
    </li>
  );
}
