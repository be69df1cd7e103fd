import { Navigate, Outlet, useLocation } from "react-router";
import { Loading } from "../components/Alerts";
import { useAuth } from "./AuthContext";

export interface ReturnState {
  /** Where the person wanted to go before being sent to log in. */
  from?: string;
}

/** Routes for logged-in people: others go to /login and come back after it. */
export function RequireAuth() {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "anonymous") {
    const from = location.pathname + location.search + location.hash;
    return <Navigate to="/login" replace state={{ from } satisfies ReturnState} />;
  }
  return <Outlet />;
}

/** A safe place to return to after logging in: a path of this app, never /login. */
export function returnPath(state: unknown, fallback = "/watchlist"): string {
  const from = (state as ReturnState | null)?.from;
  if (typeof from !== "string" || !from.startsWith("/") || from.startsWith("//")) return fallback;
  if (from === "/login" || from.startsWith("/login?")) return fallback;
  return from;
}
