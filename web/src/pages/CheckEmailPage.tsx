import { Link, useLocation } from "react-router";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import type { CheckEmailState } from "./SignupPage";

export function CheckEmailPage() {
  useDocumentTitle("Check your email");
  const state = useLocation().state as CheckEmailState | null;
  return (
    <div className="page page-narrow">
      <h1>Check your email</h1>
      <p>
        We sent a link to confirm your address
        {state?.email ? (
          <>
            {" "}
            to <strong>{state.email}</strong>
          </>
        ) : null}
        . Open it to finish signing up; your first digest is scheduled once the address is
        confirmed.
      </p>
      <p>
        The link works for a limited time. No email after a few minutes? Look in your spam
        folder, or <Link to="/signup">sign up again</Link> with the same address to get a new link.
      </p>
      <p>
        Already confirmed? <Link to="/login">Go to log in</Link>
      </p>
    </div>
  );
}
