import type { ReactNode } from "react";

/** An error near the form or button that caused it; announced at once. */
export function ErrorAlert({
  id,
  title,
  children,
}: {
  id?: string;
  title?: string;
  children: ReactNode;
}) {
  return (
    <div id={id} role="alert" className="alert alert-error">
      {title ? <p className="alert-title">{title}</p> : null}
      <div>{children}</div>
    </div>
  );
}

/**
 * The page's one polite live region for outcomes ("Saved"). It stays in the page so
 * that screen readers announce changes to its text.
 */
export function StatusMessage({ children }: { children?: ReactNode }) {
  return (
    <div role="status" className={children ? "status status-visible" : "status"}>
      {children}
    </div>
  );
}

export function Loading({ children = "Loading…" }: { children?: ReactNode }) {
  return <p className="loading">{children}</p>;
}
