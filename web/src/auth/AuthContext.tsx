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
import { isApiProblem } from "../api/problem";

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

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });

  const refresh = useCallback(async (): Promise<Me | null> => {
    try {
      const me = await api.me();
      setState({ status: "authenticated", me });
      return me;
    } catch (error) {
      if (isApiProblem(error) && error.status === 401) {
        setState({ status: "anonymous" });
        return null;
      }
      // The service could not say (down, offline): treat as logged out so the
      // person sees the login page and its error rather than an endless spinner.
      setState({ status: "anonymous" });
      return null;
    }
  }, []);

  const signedOut = useCallback(() => setState({ status: "anonymous" }), []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

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
