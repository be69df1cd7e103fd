-- SES's own events settle digests whose SES call ended without an answer (ADR 0006).
--
-- Each attempt that reaches `sending` gets a fresh random token, sent to SES as a
-- message tag; SES puts the tag on every event it publishes about that message. The
-- token is unguessable, so an event naming it is about our send (a shared
-- configuration set or topic cannot forge one).
alter table digest_jobs
    add column send_token uuid,
    -- The attempt ended without proof either way ("outcome unknown").
    add column outcome_unknown boolean not null default false,
    -- When SES's events settled an unknown outcome, and what they said.
    add column reconciled_at timestamptz,
    add column evidence text;

create unique index digest_jobs_send_token_idx on digest_jobs (send_token)
    where send_token is not null;

-- Jobs that ended "outcome unknown" before this migration; they have no token, so no
-- event can settle them, but they are counted as unresolved.
update digest_jobs set outcome_unknown = true
where status = 'failed' and last_error like 'outcome unknown%';

create index digest_jobs_unresolved_idx on digest_jobs (finished_at) where outcome_unknown;

-- Events about digest sends that are not known to be sent: kept as evidence until the
-- job is settled (an event can arrive while its worker is still inside the SES call,
-- or after the worker died), pruned by the retention pass.
create table ses_send_events (
    id              bigint generated always as identity primary key,
    send_token      uuid not null,
    event_type      text not null,
    ses_message_id  text not null,
    occurred_at     timestamptz not null,
    detail          text,
    -- SNS may deliver a message more than once.
    sns_message_id  text not null unique,
    received_at     timestamptz not null default now()
);

create index ses_send_events_token_idx on ses_send_events (send_token);
create index ses_send_events_received_idx on ses_send_events (received_at);

alter table audit_outbox drop constraint audit_outbox_kind_check;
alter table audit_outbox add constraint audit_outbox_kind_check
    check (kind in ('run', 'delivery', 'reconciliation'));
