/** "Monday 23 November 2026, 07:30 (America/New_York)", in the given zone. */
export function formatDateTimeInZone(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    const text = new Intl.DateTimeFormat(undefined, {
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone,
    }).format(date);
    return `${text} (${timeZone})`;
  } catch {
    return date.toUTCString();
  }
}

/** A timestamp in the browser's own zone, e.g. "21 Nov 2026, 14:05 CET". */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(date);
}

const STATUS_LABELS: Record<string, string> = {
  pending: "On its way",
  claimed: "On its way",
  sending: "On its way",
  sent: "Sent",
  failed: "Failed",
  skipped: "Skipped",
  missed: "Missed",
};

/** A digest status for people. */
export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status.charAt(0).toUpperCase() + status.slice(1);
}

/** The CSS modifier for a status badge. */
export function statusTone(status: string): "ok" | "pending" | "bad" | "neutral" {
  if (status === "sent") return "ok";
  if (status === "pending" || status === "claimed" || status === "sending") return "pending";
  if (status === "failed" || status === "missed") return "bad";
  return "neutral";
}

export function triggerLabel(trigger: string): string {
  return trigger === "send_now" ? "Sent on request" : "Scheduled";
}
