import { useEffect, useRef } from "react";
import { Link, NavLink, Outlet, useLocation } from "react-router";
import { api } from "../api/client";
import { useAuth, useSignedOutNavigate } from "../auth/AuthContext";
import { useAction } from "../hooks/useAction";
import { ErrorPage } from "../pages/ErrorPage";
import { ErrorAlert } from "./Alerts";
import { ErrorBoundary } from "./ErrorBoundary";
import { BusyButton } from "./BusyButton";

const NAV_LINKS = [
  { to: "/watchlist", label: "Watchlist" },
  { to: "/schedule", label: "Schedule" },
  { to: "/preview", label: "Preview" },
  { to: "/history", label: "History" },
  { to: "/account", label: "Account" },
] as const;

/** Only for accounts in QUOTIDIAN_OPERATOR_EMAILS (`operator` in GET /api/v1/me). */
const OPERATOR_LINK = { to: "/operations", label: "Operations" } as const;

/** The frame of every screen: skip link, header (with the menu when logged in), main. */
export function Layout() {
  const { state } = useAuth();
  const location = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  useFocusHeadingOnNavigation(location.pathname);

  return (
    <>
      <a
        className="skip-link"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          mainRef.current?.focus();
        }}
      >
        Skip to main content
      </a>
      <header className="site-header">
        <div className="site-header-inner">
          <Link to="/" className="brand">
            Quotidian
          </Link>
          {state.status === "authenticated" ? <MainNav /> : null}
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        <ErrorBoundary key={location.pathname} fallback={<ErrorPage />}>
          <Outlet />
        </ErrorBoundary>
      </main>
      <footer className="site-footer">
        <p>Quotidian: your daily market digest. Not investment advice.</p>
      </footer>
    </>
  );
}

function MainNav() {
  const { me } = useAuth();
  const links = me?.operator ? [...NAV_LINKS, OPERATOR_LINK] : NAV_LINKS;
  const signedOutTo = useSignedOutNavigate();
  const logout = useAction(api.logout);

  async function onLogout() {
    const result = await logout.run();
    // A 401 means the session had already ended: logged out either way.
    if (result.ok || result.problem.status === 401) signedOutTo("/login");
  }

  return (
    <nav aria-label="Main" className="main-nav">
      <ul>
        {links.map((link) => (
          <li key={link.to}>
            <NavLink to={link.to}>{link.label}</NavLink>
          </li>
        ))}
        <li>
          <BusyButton
            variant="secondary"
            className="nav-logout"
            busy={logout.pending}
            busyLabel="Logging out…"
            onClick={() => void onLogout()}
          >
            Log out
          </BusyButton>
        </li>
      </ul>
      {logout.problem && logout.problem.status !== 401 ? (
        <ErrorAlert>Could not log out: {logout.problem.detail}</ErrorAlert>
      ) : null}
    </nav>
  );
}

/**
 * After moving to another screen (not on the first load), puts focus on its heading so
 * screen reader and keyboard users start at the new content.
 */
function useFocusHeadingOnNavigation(pathname: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("main h1");
    if (!heading) return;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }, [pathname]);
}
