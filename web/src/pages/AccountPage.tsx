import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { api } from "../api/client";
import { useAuth, useSignedOutNavigate } from "../auth/AuthContext";
import { ErrorAlert, StatusMessage } from "../components/Alerts";
import { BusyButton } from "../components/BusyButton";
import { TextField } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { formatDateTime } from "../lib/format";
import { formErrors } from "../lib/formErrors";
import type { LoginNotice } from "./LoginPage";

export function AccountPage() {
  useDocumentTitle("Account");
  const { me } = useAuth();
  const [status, setStatus] = useState<string | null>(null);

  return (
    <div className="page">
      <h1>Account</h1>
      <StatusMessage>{status}</StatusMessage>
      {me ? (
        <dl className="facts">
          <div>
            <dt>Email</dt>
            <dd>{me.email}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDateTime(me.created_at)}</dd>
          </div>
          <div>
            <dt>Email confirmed</dt>
            <dd>{me.confirmed_at ? formatDateTime(me.confirmed_at) : "Not yet"}</dd>
          </div>
        </dl>
      ) : null}
      <ChangePassword onChanged={setStatus} />
      <Sessions />
      <DeleteAccount />
    </div>
  );
}

function ChangePassword({ onChanged }: { onChanged: (message: string | null) => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const change = useAction(api.changePassword);
  useFocusFirstInvalid(formRef, change.problem);
  const errors = formErrors(change.problem, ["current_password", "new_password"] as const);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onChanged(null);
    const result = await change.run(current, next);
    if (result.ok) {
      setCurrent("");
      setNext("");
      onChanged("Your password is changed. Any other devices were logged out.");
    }
  }

  return (
    <section aria-labelledby="password-heading" className="card">
      <h2 id="password-heading">Change password</h2>
      <form ref={formRef} onSubmit={onSubmit} noValidate className="form">
        <TextField
          label="Current password"
          name="current_password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          error={errors.fields.current_password}
        />
        <TextField
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          hint="At least 10 characters and hard to guess."
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={errors.fields.new_password}
        />
        {errors.form ? <ErrorAlert>{errors.form}</ErrorAlert> : null}
        <BusyButton type="submit" busy={change.pending} busyLabel="Changing…">
          Change password
        </BusyButton>
      </form>
    </section>
  );
}

function Sessions() {
  const signedOutTo = useSignedOutNavigate();
  const revoke = useAction(api.logoutEverywhere);

  async function onRevoke() {
    const result = await revoke.run();
    if (result.ok) {
      const n = result.data.revoked;
      const notice = `You are logged out everywhere (${n} session${n === 1 ? "" : "s"} ended).`;
      signedOutTo("/login", { notice } satisfies LoginNotice);
    }
  }

  return (
    <section aria-labelledby="sessions-heading" className="card">
      <h2 id="sessions-heading">Sessions</h2>
      <p>Lost a device or used a shared computer? End every session, this one included.</p>
      {revoke.problem ? <ErrorAlert>{revoke.problem.detail}</ErrorAlert> : null}
      <BusyButton
        variant="secondary"
        busy={revoke.pending}
        busyLabel="Logging out…"
        onClick={() => void onRevoke()}
      >
        Log out everywhere
      </BusyButton>
    </section>
  );
}

function DeleteAccount() {
  const signedOutTo = useSignedOutNavigate();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const regionId = useId();
  const remove = useAction(api.deleteAccount);
  useFocusFirstInvalid(formRef, remove.problem);
  const errors = formErrors(remove.problem, ["password"] as const);

  useEffect(() => {
    if (open) passwordRef.current?.focus();
  }, [open]);

  function close() {
    setOpen(false);
    setPassword("");
    remove.reset();
    openerRef.current?.focus();
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = await remove.run(password);
    if (result.ok) {
      signedOutTo("/signup", { accountDeleted: true });
    }
  }

  return (
    <section aria-labelledby="delete-heading" className="card card-danger">
      <h2 id="delete-heading">Delete account</h2>
      <p>
        Deletes your account, watchlist, schedule and digest history at once. This cannot be
        undone.
      </p>
      <button
        ref={openerRef}
        type="button"
        className="button button-danger"
        aria-expanded={open}
        aria-controls={regionId}
        onClick={() => (open ? close() : setOpen(true))}
      >
        Delete account
      </button>
      <div id={regionId} hidden={!open} className="confirm-region">
        {open ? (
          <form
            ref={formRef}
            onSubmit={onSubmit}
            noValidate
            className="form"
            aria-labelledby={`${regionId}-title`}
            onKeyDown={(e) => {
              if (e.key === "Escape") close();
            }}
          >
            <h3 id={`${regionId}-title`}>Delete your account permanently?</h3>
            <p>Enter your password to confirm that you mean it.</p>
            <TextField
              ref={passwordRef}
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={errors.fields.password}
            />
            {errors.form ? <ErrorAlert>{errors.form}</ErrorAlert> : null}
            <div className="form-actions">
              <BusyButton type="submit" variant="danger" busy={remove.pending} busyLabel="Deleting…">
                Delete my account permanently
              </BusyButton>
              <button type="button" className="button button-secondary" onClick={close}>
                Cancel
              </button>
            </div>
          </form>
        ) : null}
      </div>
    </section>
  );
}
