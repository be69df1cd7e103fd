/** What the operator endpoints answer, for the component and accessibility tests. */

export const OVERVIEW = {
  as_of: "2026-11-23T12:31:00Z",
  queues: {
    email_outbox: { depth: 0, oldest_queued_at: null, oldest_age_secs: null },
    digest_jobs: { depth: 3, oldest_queued_at: "2026-11-23T12:30:00Z", oldest_age_secs: 60 },
    audit_outbox: { depth: 5, oldest_queued_at: "2026-11-23T11:26:00Z", oldest_age_secs: 3900 },
  },
  finnhub: { source: "finnhub", calls_per_minute: 60, calls_per_second: 30, calls_last_minute: 41 },
  ses: { send_rate_per_second: 14, configured: false, shared: true, events: true },
  suppressed_addresses: 2,
  unresolved_outcomes: 3,
};

export function digestRun(id: number, started_at: string, extra: object = {}) {
  return {
    id,
    trigger: "schedule",
    started_at,
    finished_at: started_at,
    due: 3,
    queued: 3,
    missed: 0,
    sent: 2,
    failed: 1,
    skipped: 0,
    in_progress: 0,
    ...extra,
  };
}

export const DIGEST_RUN_DETAIL = {
  ...digestRun(7, "2026-11-23T12:30:00Z"),
  audit_bucket: "quotidian-audit",
  problems: [
    {
      job_id: 31,
      user_id: "0d7c2a4e-6a43-4f0e-9d85-2b1f0b7f6c11",
      local_date: "2026-11-23",
      status: "failed",
      attempts: 4,
      reason: "SES refused the message: MessageRejected",
      audit_key: "deliveries/2026-11-23/5f0c7a52-8a0e-4c1b-9d59-0f4b7a6c2e11.json",
      audit_stored_at: "2026-11-23T12:30:05Z",
    },
    {
      job_id: 32,
      user_id: "1d7c2a4e-6a43-4f0e-9d85-2b1f0b7f6c12",
      local_date: "2026-11-23",
      status: "skipped",
      attempts: 0,
      reason: "paused",
      audit_key: null,
      audit_stored_at: null,
    },
  ],
};

export function etlRun(id: number, extra: object = {}) {
  return {
    id,
    started_at: "2026-11-23T11:00:00Z",
    finished_at: "2026-11-23T11:00:09Z",
    status: "partial",
    source: "finnhub",
    trigger: "digest",
    symbols: 3,
    calls: 9,
    retries: 1,
    rate_limited: 1,
    failures: 1,
    error: null,
    ...extra,
  };
}

export const SUPPRESSIONS = {
  suppressions: [
    { email: "gone@example.com", reason: "bounce", detail: "Permanent/General: 550 user unknown", suppressed_at: "2026-11-22T10:00:00Z" },
    { email: "angry@example.com", reason: "complaint", detail: "abuse", suppressed_at: "2026-11-21T10:00:00Z" },
  ],
  next_before: null,
};
