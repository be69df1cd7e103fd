-- Retention (ADR 0011): rows whose purpose is served are pruned after configurable
-- windows, in small batches. Each index below serves one pruning query, so a batch
-- finds its rows without scanning the table.

-- A digest's record is kept for good; its HTML and text are dropped after
-- QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS, and this says when (the history shows it).
alter table digest_jobs add column body_pruned_at timestamptz;
create index digest_jobs_body_kept_idx on digest_jobs (finished_at) where html_body is not null;

-- Audit records already in S3.
create index audit_outbox_written_idx on audit_outbox (written_at) where written_at is not null;

-- Transactional emails no longer pending.
create index email_outbox_finished_idx on email_outbox (created_at) where status <> 'pending';

-- Cached symbol searches.
create index symbol_searches_fetched_idx on symbol_searches (fetched_at);

-- Digest runs that queued nothing and recorded nothing missed (mostly "send now" asked
-- again on a day that already had its digest).
create index digest_runs_empty_idx on digest_runs (finished_at) where queued = 0 and missed = 0;
