import type { ButtonHTMLAttributes, ReactNode } from "react";

export interface BusyButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  /** While true the button is disabled and shows `busyLabel`. */
  busy: boolean;
  busyLabel: ReactNode;
  variant?: "primary" | "secondary" | "danger";
}

/** A button for something that waits on the API: disabled with "Saving…" meanwhile. */
export function BusyButton({
  busy,
  busyLabel,
  children,
  variant = "primary",
  disabled,
  className,
  type = "button",
  ...rest
}: BusyButtonProps) {
  return (
    <button
      type={type}
      className={["button", `button-${variant}`, className].filter(Boolean).join(" ")}
      disabled={busy || disabled}
      {...rest}
    >
      {busy ? busyLabel : children}
    </button>
  );
}
