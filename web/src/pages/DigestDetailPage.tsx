import { Link, useParams } from "react-router";
import { api } from "../api/client";
import { ErrorAlert, Loading } from "../components/Alerts";
import { DigestView } from "../components/DigestView";
import { StatusBadge } from "../components/StatusBadge";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useResource } from "../hooks/useResource";
import { formatDateTime, triggerLabel } from "../lib/format";
import { ApiProblem } from "../api/problem";

function parseId(raw: string | undefined): number | null {
  if (!raw || !/^\d{1,18}$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}

export function DigestDetailPage() {
  const id = parseId(useParams().id);
  const digest = useResource(
    (signal) =>
      id === null
        ? Promise.reject(
            new ApiProblem({
              type: "urn:quotidian:problem:not-found",
              title: "Not found",
              status: 404,
              detail: "There is no digest at this address.",
            }),
          )
        : api.digest(id, { signal }),
    id,
  );
  const d = digest.data;
  const notFound = digest.problem?.status === 404 || digest.problem?.status === 400;
  const heading = d
    ? (d.subject ?? `Digest for ${d.local_date}`)
    : notFound
      ? "Digest not found"
      : digest.problem
        ? "Could not load this digest"
        : "Loading digest…";
  useDocumentTitle(d ? `Digest for ${d.local_date}` : heading);

  return (
    <div className="page">
      <p className="back-link">
        <Link to="/history">Back to history</Link>
      </p>
      <h1>{heading}</h1>
      {d ? (
        <>
          <dl className="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={d.status} />
              </dd>
            </div>
            <div>
              <dt>For</dt>
              <dd>{d.local_date}</dd>
            </div>
            <div>
              <dt>Sent</dt>
              <dd>{d.sent_at ? formatDateTime(d.sent_at) : "Not sent"}</dd>
            </div>
            <div>
              <dt>To</dt>
              <dd>{d.recipient ?? "—"}</dd>
            </div>
            <div>
              <dt>How</dt>
              <dd>{triggerLabel(d.trigger)}</dd>
            </div>
            {d.reason ? (
              <div>
                <dt>Reason</dt>
                <dd>{d.reason}</dd>
              </div>
            ) : null}
          </dl>
          {d.html || d.text ? (
            <DigestView html={d.html} text={d.text} frameTitle="Digest as sent" />
          ) : (
            <p>This digest was not sent, so there is no copy of it.</p>
          )}
        </>
      ) : digest.problem ? (
        <ErrorAlert>
          <p>{digest.problem.detail}</p>
          {!notFound ? (
            <button type="button" className="button button-secondary" onClick={digest.reload}>
              Try again
            </button>
          ) : null}
        </ErrorAlert>
      ) : (
        <Loading />
      )}
    </div>
  );
}
