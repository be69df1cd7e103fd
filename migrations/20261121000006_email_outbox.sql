-- Transactional emails (confirmation, reset, notices) are written here in the same
-- transaction as the state they describe and sent by a background worker: the HTTP
-- answer never waits on SES, and a failing SES gets retries and a recorded reason.
create table email_outbox (
    id              bigint generated always as identity primary key,
    user_id         uuid references users (id) on delete cascade,
    kind            text not null,
    recipient       text not null,
    subject         text not null,
    -- Bodies carry single-use links; they are cleared once the email is sent.
    html_body       text,
    text_body       text,
    status          text not null default 'pending'
                    check (status in ('pending', 'sent', 'failed')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    ses_message_id  text,
    created_at      timestamptz not null default now(),
    sent_at         timestamptz
);

create index email_outbox_pending_idx on email_outbox (next_attempt_at)
    where status = 'pending';
