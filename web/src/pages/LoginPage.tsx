import { type FormEvent, useRef, useState } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { api } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { returnPath } from "../auth/RequireAuth";
import { ErrorAlert, StatusMessage } from "../components/Alerts";
import { BusyButton } from "../components/BusyButton";
import { TextField } from "../components/TextField";
import { useAction } from "../hooks/useAction";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useFocusFirstInvalid } from "../hooks/useFocusFirstInvalid";
import { formErrors } from "../lib/formErrors";

export interface LoginNotice {
  notice?: string;
}

export function LoginPage() {
  useDocumentTitle("Log in");
  const { state, refresh } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const notice = (location.state as LoginNotice | null)?.notice;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const login = useAction(async (email: string, password: string) => {
    await api.login({ email, password });
    // The session cookie is set; learn who we are before showing private screens.
    return refresh();
  });
  useFocusFirstInvalid(formRef, login.problem);
  const errors = formErrors(login.problem, ["email", "password"] as const);
  const target = returnPath(location.state);

  if (state.status === "authenticated" && !login.pending) {
    return <Navigate to={target} replace />;
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = await login.run(email.trim(), password);
    if (result.ok) navigate(target, { replace: true });
  }

  const notConfirmed = login.problem?.is("email-not-confirmed") ?? false;

  return (
    <div className="page page-narrow">
      <h1>Log in</h1>
      <StatusMessage>{notice}</StatusMessage>
      <form ref={formRef} onSubmit={onSubmit} noValidate className="form">
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.fields.email}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.fields.password}
        />
        {errors.form ? (
          <ErrorAlert>
            <p>{errors.form}</p>
            {notConfirmed ? (
              <p>
                Look for the email we sent when you signed up and open its link. Lost it or
                it expired? <Link to="/signup">Sign up again</Link> with the same address and
                we will send a new one: opening it sets the password you chose that time.
              </p>
            ) : null}
          </ErrorAlert>
        ) : null}
        <BusyButton type="submit" busy={login.pending} busyLabel="Logging in…">
          Log in
        </BusyButton>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New to Quotidian? <Link to="/signup">Create an account</Link>
      </p>
    </div>
  );
}
