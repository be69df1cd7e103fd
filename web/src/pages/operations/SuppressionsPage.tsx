import { useEffect, useRef, useState } from "react";
import { api, type Suppression, type SuppressionReason } from "../../api/client";
import { ErrorAlert, Loading, StatusMessage } from "../../components/Alerts";
import { BusyButton } from "../../components/BusyButton";
import { useAction } from "../../hooks/useAction";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { formatDateTime } from "../../lib/format";
import { LoadMore, LoadProblem, usePaged } from "./shared";

const REASONS: Record<SuppressionReason, string> = {
  bounce: "Permanent bounce",
  complaint: "Complaint",
  manual: "By hand",
};

async function loadSuppressions(before: string | null, signal?: AbortSignal) {
  const page = await api.suppressions(before, { signal });
  return { items: page.suppressions, next: page.next_before ?? null };
}

export function SuppressionsPage() {
  useDocumentTitle("Suppressed addresses");
  const { listRef, ...paged } = usePaged(loadSuppressions, (s) => s.email);
  const [status, setStatus] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  function lifted(email: string) {
    setConfirming(null);
    paged.remove((s) => s.email !== email);
    setStatus(`Lifted the suppression of ${email}. Email goes to it again.`);
    // The entry (and its buttons) are gone: start again at the top of the screen.
    headingRef.current?.focus();
  }

  return (
    <div className="page">
      <h1 ref={headingRef} tabIndex={-1}>
        Suppressed addresses
      </h1>
      <p>
        No email goes to these addresses: SES reported a permanent bounce or a complaint, or an
        operator suppressed them. Lift one only when the address works again and its owner wants
        our email; a later bounce or complaint suppresses it again.
      </p>
      <StatusMessage>{status}</StatusMessage>
      {paged.first.loading && !paged.first.data ? (
        <Loading />
      ) : paged.first.problem && !paged.first.data ? (
        <LoadProblem
          what="suppressed addresses"
          problem={paged.first.problem}
          reload={paged.first.reload}
        />
      ) : paged.items.length === 0 ? (
        <p>No address is suppressed.</p>
      ) : (
        <div ref={listRef}>
          <ul className="history-list" aria-label="Suppressed addresses">
            {paged.items.map((s) => (
              <SuppressionItem
                key={s.email}
                suppression={s}
                open={confirming === s.email}
                onOpen={() => {
                  setStatus(null);
                  setConfirming(s.email);
                }}
                onClose={() => setConfirming(null)}
                onLifted={() => lifted(s.email)}
              />
            ))}
          </ul>
          <LoadMore paged={paged} />
        </div>
      )}
    </div>
  );
}

function SuppressionItem({
  suppression: s,
  open,
  onOpen,
  onClose,
  onLifted,
}: {
  suppression: Suppression;
  open: boolean;
  onOpen: () => void;
  onClose: () => void;
  onLifted: () => void;
}) {
  const lift = useAction(api.liftSuppression);
  const openerRef = useRef<HTMLButtonElement>(null);
  const questionRef = useRef<HTMLParagraphElement>(null);
  const regionId = `lift-${s.email.replace(/[^a-zA-Z0-9_-]/g, "_")}`;

  useEffect(() => {
    // The question, not the button: Enter must not lift it by accident.
    if (open) questionRef.current?.focus();
  }, [open]);

  function cancel() {
    lift.reset();
    onClose();
    openerRef.current?.focus();
  }

  async function onConfirm() {
    const result = await lift.run(s.email);
    // Already lifted by someone else: the address is not suppressed, as asked.
    if (result.ok || result.problem.status === 404) onLifted();
  }

  return (
    <li className="history-item" data-entry={s.email}>
      <div className="history-head">
        <span className="history-date ops-email">{s.email}</span>
        <span className="badge badge-bad">{REASONS[s.reason] ?? s.reason}</span>
      </div>
      {s.detail ? <p className="history-reason">{s.detail}</p> : null}
      <p className="meta">Suppressed {formatDateTime(s.suppressed_at)}</p>
      <button
        ref={openerRef}
        type="button"
        className="button button-secondary"
        aria-expanded={open}
        aria-controls={regionId}
        aria-label={`Lift the suppression of ${s.email}`}
        onClick={() => (open ? cancel() : onOpen())}
      >
        Lift
      </button>
      <div
        id={regionId}
        hidden={!open}
        className="confirm-region"
        role="group"
        aria-labelledby={`${regionId}-title`}
        onKeyDown={(e) => {
          if (e.key === "Escape") cancel();
        }}
      >
        {open ? (
          <>
            <p ref={questionRef} tabIndex={-1} id={`${regionId}-title`} className="alert-title">
              Send email to {s.email} again?
            </p>
            <p>Digests go to it again if its account is still subscribed.</p>
            {lift.problem ? <ErrorAlert>{lift.problem.detail}</ErrorAlert> : null}
            <div className="form-actions">
              <BusyButton
                variant="danger"
                busy={lift.pending}
                busyLabel="Lifting…"
                onClick={() => void onConfirm()}
              >
                Yes, lift the suppression
              </BusyButton>
              <button type="button" className="button button-secondary" onClick={cancel}>
                Cancel
              </button>
            </div>
          </>
        ) : null}
      </div>
    </li>
  );
}
