import { type Status, statusLabel, statusTone } from "../lib/format";

/** A digest's status as a coloured word ("Sent", "Failed"...); the word carries it, not the colour. */
export function StatusBadge({ status }: { status: Status }) {
  return <span className={`badge badge-${statusTone(status)}`}>{statusLabel(status)}</span>;
}
