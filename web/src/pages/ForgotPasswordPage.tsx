import { type FormEvent, useRef, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import { ErrorAlert, StatusMessage } from "../components/Alerts";
import { BusyButton } from "../components/BusyButton";
import { TextField } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { formErrors } from "../lib/formErrors";

const NEUTRAL_MESSAGE =
  "If an account uses that address, we have emailed it a link to choose a new password. The link works for one hour.";

export function ForgotPasswordPage() {
  useDocumentTitle("Reset your password");
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const request = useAction(api.requestPasswordReset);
  useFocusFirstInvalid(formRef, request.problem);
  const errors = formErrors(request.problem, ["email"] as const);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSent(null);
    const result = await request.run(email.trim());
    if (result.ok) setSent(result.data.message || NEUTRAL_MESSAGE);
  }

  return (
    <div className="page page-narrow">
      <h1>Reset your password</h1>
      <p>Enter the address you signed up with and we will email you a link to choose a new password.</p>
      <form ref={formRef} onSubmit={onSubmit} noValidate className="form">
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.fields.email}
        />
        {errors.form ? <ErrorAlert>{errors.form}</ErrorAlert> : null}
        <BusyButton type="submit" busy={request.pending} busyLabel="Sending…">
          Send reset link
        </BusyButton>
      </form>
      <StatusMessage>{sent}</StatusMessage>
      <p>
        Remembered it? <Link to="/login">Back to log in</Link>
      </p>
    </div>
  );
}
