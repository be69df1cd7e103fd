import type { DigestStatus, DigestTrigger, EtlRunStatus } from "../api/client";

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

/** A digest's or an extraction run's status. */
export type Status = DigestStatus | EtlRunStatus;

const STATUS_LABELS: Record<Status, string> = {
  pending: "On its way",
  claimed: "On its way",
  sending: "On its way",
  sent: "Sent",
  failed: "Failed",
  skipped: "Skipped",
  missed: "Missed",
  // Extraction runs
  running: "Running",
  succeeded: "Succeeded",
  partial: "Partly failed",
};

/** A digest status for people. */
export function statusLabel(status: Status): string {
  // The fallback is for a value newer than this page (a page loaded before a deploy).
  return STATUS_LABELS[status] ?? status.charAt(0).toUpperCase() + status.slice(1);
}

const STATUS_TONES: Record<Status, "ok" | "pending" | "bad" | "neutral"> = {
  pending: "pending",
  claimed: "pending",
  sending: "pending",
  sent: "ok",
  failed: "bad",
  skipped: "neutral",
  missed: "bad",
  running: "pending",
  succeeded: "ok",
  partial: "bad",
};

/** The CSS modifier for a status badge. */
export function statusTone(status: Status): "ok" | "pending" | "bad" | "neutral" {
  return STATUS_TONES[status] ?? "neutral";
}

/** A wait in whole seconds for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** True when `iso` falls on today's date in the browser's zone. */
export function isToday(iso: string, now: Date = new Date()): boolean {
  const date = new Date(iso);
  return (
    date.getFullYear() === now.getFullYear() &&
    date.getMonth() === now.getMonth() &&
    date.getDate() === now.getDate()
  );
}

const DIGEST_RUN_TRIGGERS: Record<DigestTrigger, string> = {
  schedule: "Scheduled",
  manual: "quotidian run",
  send_now: "Send now",
};

/** What started a digest run, for people. */
export function digestRunTrigger(trigger: DigestTrigger): string {
  return DIGEST_RUN_TRIGGERS[trigger] ?? trigger;
}

/** "1 digest", "3 digests". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function triggerLabel(trigger: DigestTrigger): string {
  return trigger === "send_now" ? "Sent on request" : "Scheduled";
}
