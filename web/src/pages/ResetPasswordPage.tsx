import { type FormEvent, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../api/client";
import { ErrorAlert, StatusMessage } from "../components/Alerts";
import { BusyButton } from "../components/BusyButton";
import { TextField } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { formErrors } from "../lib/formErrors";

export function ResetPasswordPage() {
  useDocumentTitle("Choose a new password");
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const reset = useAction(api.resetPassword);
  useFocusFirstInvalid(formRef, reset.problem);
  const errors = formErrors(reset.problem, ["new_password"] as const);
  const badLink = reset.problem?.is("invalid-token") ?? false;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = await reset.run(token, password);
    if (result.ok) {
      setDone(true);
      setPassword("");
    }
  }

  return (
    <div className="page page-narrow">
      <h1>Choose a new password</h1>
      <StatusMessage>
        {done ? "Your password is changed. You have been logged out everywhere; log in with the new one." : null}
      </StatusMessage>
      {done ? (
        <p>
          <Link to="/login">Log in</Link>
        </p>
      ) : !token ? (
        <>
          <ErrorAlert>
            This link is missing its reset code. Open the link from the email exactly as it
            is, or ask for a new one.
          </ErrorAlert>
          <p>
            <Link to="/forgot-password">Ask for a new reset link</Link>
          </p>
        </>
      ) : (
        <form ref={formRef} onSubmit={onSubmit} noValidate className="form">
          <TextField
            label="New password"
            name="new_password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            hint="At least 10 characters and hard to guess: a few unrelated words work well."
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.fields.new_password}
          />
          {errors.form ? (
            <ErrorAlert>
              <p>{errors.form}</p>
              {badLink ? (
                <p>
                  <Link to="/forgot-password">Ask for a new reset link</Link>
                </p>
              ) : null}
            </ErrorAlert>
          ) : null}
          <BusyButton type="submit" busy={reset.pending} busyLabel="Saving…">
            Set new password
          </BusyButton>
        </form>
      )}
    </div>
  );
}
