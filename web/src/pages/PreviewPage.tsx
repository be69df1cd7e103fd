import { useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import { ErrorAlert, Loading, StatusMessage } from "../components/Alerts";
import { DigestView } from "../components/DigestView";
import { BusyButton } from "../components/BusyButton";
import { useAuth } from "../auth/AuthContext";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useResource } from "../hooks/useResource";

export function PreviewPage() {
  useDocumentTitle("Today's preview");
  const { me } = useAuth();
  const preview = useResource((signal) => api.preview({ signal }));
  const send = useAction(api.sendNow);
  const [status, setStatus] = useState<string | null>(null);

  async function onSendNow() {
    setStatus(null);
    const result = await send.run();
    if (result.ok) {
      setStatus(
        `Today's digest is on its way${me ? ` to ${me.email}` : ""}. It should arrive within moments.`,
      );
    }
  }

  const data = preview.data;
  return (
    <div className="page">
      <h1>Today's preview</h1>
      <p>Your digest for today as the email will look, made from the market data loaded so far.</p>

      <div className="send-now">
        <BusyButton busy={send.pending} busyLabel="Sending…" onClick={() => void onSendNow()}>
          Send now
        </BusyButton>
        <p className="field-hint">
          Sends today's digest to your inbox right away (one digest per day).
        </p>
        {send.problem ? (
          <ErrorAlert>
            <p>{send.problem.detail}</p>
            {send.problem.status === 409 ? (
              <p>
                See it in your <Link to="/history">history</Link>.
              </p>
            ) : null}
          </ErrorAlert>
        ) : null}
        <StatusMessage>{status}</StatusMessage>
      </div>

      {data ? (
        <section aria-labelledby="preview-subject" className="preview">
          <h2 id="preview-subject" className="subject">
            <span className="subject-label">Subject: </span>
            {data.subject}
          </h2>
          <p className="meta">For {data.local_date}</p>
          {data.sample_data ? (
            <p className="note">
              <strong>Sample market data:</strong> this preview uses built-in example prices and
              news, not live market data.
            </p>
          ) : null}
          <DigestView html={data.html} text={data.text} frameTitle="Digest preview" />
        </section>
      ) : preview.problem ? (
        <ErrorAlert>
          <p>Could not load the preview: {preview.problem.detail}</p>
          <button type="button" className="button button-secondary" onClick={preview.reload}>
            Try again
          </button>
        </ErrorAlert>
      ) : (
        <Loading>Loading the preview…</Loading>
      )}
    </div>
  );
}
