import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../api/client";
import { type ApiProblem, toApiProblem } from "../api/problem";
import { ErrorAlert, Loading } from "../components/Alerts";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

type Outcome = { ok: true } | { ok: false; problem: ApiProblem };

// A confirmation token works once: remember each token's request so that a second
// render of this page (React's StrictMode, going back and forth) does not spend it twice.
const confirmations = new Map<string, Promise<Outcome>>();

function confirmOnce(token: string): Promise<Outcome> {
  let pending = confirmations.get(token);
  if (!pending) {
    pending = api.confirm(token).then(
      (): Outcome => ({ ok: true }),
      (error: unknown): Outcome => ({ ok: false, problem: toApiProblem(error) }),
    );
    confirmations.set(token, pending);
  }
  return pending;
}

/** Only for tests. */
export function forgetConfirmations(): void {
  confirmations.clear();
}

export function ConfirmPage() {
  useDocumentTitle("Confirm your email");
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  useEffect(() => {
    if (!token) return;
    let current = true;
    void confirmOnce(token).then((result) => {
      if (current) setOutcome(result);
    });
    return () => {
      current = false;
    };
  }, [token]);

  return (
    <div className="page page-narrow">
      <h1>Confirm your email</h1>
      {!token ? (
        <>
          <ErrorAlert>
            This link is missing its confirmation code. Open the link from the email exactly
            as it is, or sign up again to get a new one.
          </ErrorAlert>
          <p>
            <Link to="/signup">Sign up again</Link>
          </p>
        </>
      ) : outcome === null ? (
        <Loading>Confirming your email address…</Loading>
      ) : outcome.ok ? (
        <>
          <p className="success-message">Your email is confirmed. Your daily digest is scheduled.</p>
          <p>
            <Link to="/login">Log in</Link>
          </p>
        </>
      ) : (
        <>
          <ErrorAlert>{outcome.problem.detail}</ErrorAlert>
          <p>
            Confirmation links work once and for a limited time. If your address is
            already confirmed, just log in; otherwise, <Link to="/signup">sign up again</Link>{" "}
            with the same address to get a new link.
          </p>
          <p>
            <Link to="/login">Go to log in</Link>
          </p>
        </>
      )}
    </div>
  );
}
