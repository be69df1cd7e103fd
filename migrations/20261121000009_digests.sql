-- Daily digests: who is due, what was sent, and the audit records still to be put to S3.

-- Unsubscribing from an email pauses the schedule; this remembers when and how.
alter table preferences add column unsubscribed_at timestamptz;

-- A key for signed links (unsubscribe) shared by every process on this database, used
-- when QUOTIDIAN_SECRET_KEY is not set. Created once, by whichever process starts first.
create table signing_keys (
    name       text primary key,
    secret     text not null,
    created_at timestamptz not null default now()
);

-- One scheduler pass that found users due (or one `quotidian run`, or one "send now").
create table digest_runs (
    id          bigint generated always as identity primary key,
    trigger     text not null check (trigger in ('schedule', 'manual', 'send_now')),
    started_at  timestamptz not null default now(),
    finished_at timestamptz,
    -- Users found due, jobs queued, and digests recorded as missed (due on a local
    -- date that had already ended when the service came back).
    due         integer not null default 0,
    queued      integer not null default 0,
    missed      integer not null default 0
);

-- One digest per person per local date: the unique key makes a second digest for the
-- same day impossible, whichever process or trigger tries to queue it.
--
-- pending  -> claimed (a worker holds it under a lease; nothing sent yet)
-- claimed  -> sending (written and committed just before the SES call)
-- sending  -> sent | pending (SES refused it, retry later) | failed
-- a `claimed` job whose lease ran out goes back to `pending` (it was never sent);
-- a `sending` job whose lease ran out is `failed` with "outcome unknown": it may have
-- reached SES, and sending it again could deliver it twice.
create table digest_jobs (
    id              bigint generated always as identity primary key,
    user_id         uuid not null references users (id) on delete cascade,
    local_date      date not null,
    run_id          bigint references digest_runs (id),
    trigger         text not null check (trigger in ('schedule', 'manual', 'send_now')),
    due_at          timestamptz not null,
    status          text not null default 'pending'
                    check (status in ('pending', 'claimed', 'sending', 'sent', 'failed', 'skipped', 'missed')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    lease_until     timestamptz,
    last_error      text,
    -- The digest as sent, written before the SES call.
    recipient       text,
    subject         text,
    html_body       text,
    text_body       text,
    content_hash    text,
    ses_message_id  text,
    sent_at         timestamptz,
    finished_at     timestamptz,
    created_at      timestamptz not null default now(),
    unique (user_id, local_date)
);

create index digest_jobs_ready_idx on digest_jobs (next_attempt_at) where status = 'pending';
create index digest_jobs_leased_idx on digest_jobs (lease_until) where status in ('claimed', 'sending');
create index digest_jobs_run_idx on digest_jobs (run_id);

-- Audit records, written in the same transaction as the state they describe and put
-- to S3 by a background flusher. The key is derived from the record's id, so a record
-- re-sent after a crash lands on the same key, where `If-None-Match: *` keeps the first.
-- (The id in the key is a UUID made when the record is queued, kept in `key`.)
create table audit_outbox (
    id              bigint generated always as identity primary key,
    kind            text not null check (kind in ('run', 'delivery')),
    key             text not null unique,
    body            jsonb not null,
    created_at      timestamptz not null default now(),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    written_at      timestamptz
);

create index audit_outbox_pending_idx on audit_outbox (next_attempt_at) where written_at is null;
