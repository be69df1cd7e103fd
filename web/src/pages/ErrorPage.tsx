import { useDocumentTitle } from "../hooks/useDocumentTitle";

/** What a screen that crashed shows instead. A full page load, to start clean. */
export function ErrorPage() {
  useDocumentTitle("Something went wrong");
  return (
    <div className="page page-narrow">
      <h1>Something went wrong</h1>
      <p>
        This screen ran into a problem it could not recover from. Your saved settings are safe.
        Reloading the page usually helps.
      </p>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </div>
  );
}
