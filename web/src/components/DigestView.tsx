import { useState } from "react";

/**
 * A digest as the email shows it: the HTML part in a sandboxed frame (no scripts, no
 * same-origin access), or the plain-text part.
 */
export function DigestView({
  html,
  text,
  frameTitle,
}: {
  html: string | null | undefined;
  text: string | null | undefined;
  frameTitle: string;
}) {
  const [mode, setMode] = useState<"html" | "text">(html ? "html" : "text");
  const hasBoth = Boolean(html) && Boolean(text);
  return (
    <div className="digest-view">
      {hasBoth ? (
        <div className="toggle" role="group" aria-label="Version">
          <button
            type="button"
            className="button button-toggle"
            aria-pressed={mode === "html"}
            onClick={() => setMode("html")}
          >
            Email view
          </button>
          <button
            type="button"
            className="button button-toggle"
            aria-pressed={mode === "text"}
            onClick={() => setMode("text")}
          >
            Plain text
          </button>
        </div>
      ) : null}
      {mode === "html" && html ? (
        <iframe className="digest-frame" title={frameTitle} sandbox="" srcDoc={html} />
      ) : text ? (
        // Focusable, so keyboard users can scroll it.
        <pre className="digest-text" tabIndex={0} role="region" aria-label={`${frameTitle}, plain text`}>
          {text}
        </pre>
      ) : (
        <p>There is no copy of this digest.</p>
      )}
    </div>
  );
}
