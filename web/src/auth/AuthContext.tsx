import {
  createContext,
  type ReactNode,
  startTransition,
  use,
  useCallback,
  useEffect,
  useMemo,
  useState,
} from "react";
import { useNavigate } from "react-router";
import { api, type Me, onUnauthenticated } from "../api/client";

export type AuthState =
  | { status: "loading" }
  | { status: "anonymous" }
  | { status: "authenticated"; me: Me };

export interface AuthContextValue {
  state: AuthState;
  /** The logged-in account, or null. */
  me: Me | null;
  /** Asks the service who is logged in (after logging in, for instance). */
  refresh: () => Promise<Me | null>;
  /** Forgets the account after the session ended (log out, account deleted). */
  signedOut: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

/** Asks the service who is logged in. */
async function whoIsLoggedIn(): Promise<AuthState> {
  try {
    return { status: "authenticated", me: await api.me() };
  } catch {
    // A 401, or the service could not say (down, offline): treat as logged out so the
    // person sees the login page and its error rather than an endless spinner.
    return { status: "anonymous" };
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });

  const refresh = useCallback(async (): Promise<Me | null> => {
    const next = await whoIsLoggedIn();
    setState(next);
    return next.status === "authenticated" ? next.me : null;
  }, []);

  const signedOut = useCallback(() => setState({ status: "anonymous" }), []);

  useEffect(() => {
    void whoIsLoggedIn().then(setState);
  }, []);

  // Any 401 "unauthenticated" (an expired session) sends the person to log in again.
  useEffect(() => onUnauthenticated(signedOut), [signedOut]);

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      me: state.status === "authenticated" ? state.me : null,
      refresh,
      signedOut,
    }),
    [state, refresh, signedOut],
  );
  return <AuthContext value={value}>{children}</AuthContext>;
}

export function useAuth(): AuthContextValue {
  const value = use(AuthContext);
  if (!value) throw new Error("useAuth must be used inside <AuthProvider>");
  return value;
}

/**
 * After the session ended on the server (log out, log out everywhere, account
 * deleted): goes to `to` and forgets the account in one render. Navigation in React
 * Router is a transition; forgetting the account in the same transition keeps the
 * logged-in-only screens from first redirecting to /login on their own.
 */
export function useSignedOutNavigate(): (to: string, state?: unknown) => void {
  const { signedOut } = useAuth();
  const navigate = useNavigate();
  return useCallback(
    (to: string, state?: unknown) => {
      startTransition(() => {
        navigate(to, { replace: true, state });
        signedOut();
      });
    },
    [navigate, signedOut],
  );
}
