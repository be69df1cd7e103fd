import { NavLink, Outlet } from "react-router";
import { useAuth } from "../../auth/AuthContext";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";

const SECTIONS = [
  { to: "/operations", label: "Overview", end: true },
  { to: "/operations/digest-runs", label: "Digest runs", end: false },
  { to: "/operations/etl-runs", label: "ETL runs", end: false },
  { to: "/operations/suppressions", label: "Suppressions", end: false },
] as const;

/**
 * The frame of the operator console: its own menu over each screen. Only for accounts
 * in QUOTIDIAN_OPERATOR_EMAILS (the service checks every request; this only spares
 * everyone else screens of "not allowed").
 */
export function OperationsLayout() {
  const { me } = useAuth();
  if (!me?.operator) return <OperatorsOnly />;
  return (
    <div className="ops">
      <nav aria-label="Operations" className="ops-nav">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.to}>
              <NavLink to={s.to} end={s.end}>
                {s.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Outlet />
    </div>
  );
}

function OperatorsOnly() {
  useDocumentTitle("Operators only");
  return (
    <div className="page page-narrow">
      <h1>Operators only</h1>
      <p>
        The operations console is for the people who run Quotidian. Your account is not one of
        them.
      </p>
    </div>
  );
}
