-- Deleting an account deletes its digest jobs (cascade), but not the audit records of
-- their deliveries: those describe what we did and must reach S3 complete. A digest
-- the deletion finds on its way gets its delivery record queued in the deletion's own
-- transaction. One inside the SES call at that moment cannot have its outcome known
-- yet: its record is queued as "outcome unknown", held back until the worker's lease is
-- over, and marked as awaiting that worker's report. The worker, finding its job row
-- gone, writes the outcome into that record instead (ADR 0006).
alter table audit_outbox add column awaiting_outcome boolean not null default false;

-- The delivery record of a job, while it is still to be written: how the worker finds
-- the record awaiting its report, and how retention tells whether a digest's record is
-- in S3 yet.
create index audit_outbox_unwritten_job_idx on audit_outbox (((body->>'job_id')::bigint))
    where written_at is null and kind = 'delivery';
