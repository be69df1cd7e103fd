-- Addresses we must not email again: SES reported a permanent bounce or a complaint
-- (through SNS, POST /webhooks/ses), or an operator suppressed them by hand. Sending to
-- them anyway hurts the SES sender reputation and, for complaints, ignores a person
-- who said no. Addresses are stored normalised (trimmed, lower-cased) like
-- users.email, so the primary key is also "one row per address"; the check makes
-- that a database fact rather than a habit.
create table suppressed_addresses (
    email          text primary key check (email = lower(email)),
    reason         text not null check (reason in ('bounce', 'complaint', 'manual')),
    detail         text,
    sns_message_id text,
    suppressed_at  timestamptz not null default now()
);
