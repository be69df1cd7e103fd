import { type FormEvent, useRef, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api } from "../api/client";
import { ErrorAlert, StatusMessage } from "../components/Alerts";
import { BusyButton } from "../components/BusyButton";
import { TextField } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { formErrors } from "../lib/formErrors";
import { browserTimeZone } from "../lib/timezones";

export interface CheckEmailState {
  email: string;
  message?: string;
}

export function SignupPage() {
  useDocumentTitle("Sign up");
  const navigate = useNavigate();
  const location = useLocation();
  const accountDeleted = (location.state as { accountDeleted?: boolean } | null)?.accountDeleted;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const signup = useAction(api.signup);
  useFocusFirstInvalid(formRef, signup.problem);
  const errors = formErrors(signup.problem, ["email", "password"] as const);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = await signup.run({ email: email.trim(), password, time_zone: browserTimeZone() });
    if (result.ok) {
      navigate("/check-email", {
        state: { email: email.trim(), message: result.data.message } satisfies CheckEmailState,
      });
    }
  }

  return (
    <div className="page page-narrow">
      <h1>Create your account</h1>
      <StatusMessage>
        {accountDeleted ? "Your account and all its data have been deleted. Goodbye!" : null}
      </StatusMessage>
      <p>
        Get a short email every morning about the stocks you follow: prices, news and
        earnings dates. Free, and you can stop any time.
      </p>
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
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          hint="At least 10 characters and hard to guess: a few unrelated words work well."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.fields.password}
        />
        {errors.form ? <ErrorAlert>{errors.form}</ErrorAlert> : null}
        <BusyButton type="submit" busy={signup.pending} busyLabel="Signing up…">
          Sign up
        </BusyButton>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in instead</Link>
      </p>
    </div>
  );
}
