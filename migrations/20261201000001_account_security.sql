-- Account security (ADR 0008).

-- A session is only as good as the credentials it was opened with: every password
-- change, reset or confirmation bumps `users.credential_version`, and a session whose
-- version is older is dead. This closes the race in which a login verified the old
-- hash while a reset was committing and inserted its session after the reset had
-- revoked the others.
alter table users add column credential_version bigint not null default 1;
alter table sessions add column credential_version bigint not null default 1;

-- A confirmation link carries the password hash of the signup that asked for it, so
-- whoever proves control of the mailbox sets the password (no pre-registration
-- takeover). Null for reset links.
alter table email_tokens add column password_hash text;

-- Link emails are rendered, and their single-use token minted, only when the worker
-- sends them: a pending row holds no usable link, so a database reader (a backup, a
-- replica) cannot confirm or reset anyone's account. Rows pending at the time of this
-- migration are rendered afresh when sent, with a new link.
alter table email_outbox drop column html_body;
alter table email_outbox drop column text_body;
-- The hash a confirmation link will carry, until the link is minted.
alter table email_outbox add column password_hash text;
alter table email_outbox add constraint email_outbox_kind_check
    check (kind in ('confirm_email', 'account_exists', 'reset_password'));
-- `skipped`: not sent on purpose (the address is suppressed, the account was confirmed
-- meanwhile), with the reason in last_error.
alter table email_outbox drop constraint email_outbox_status_check;
alter table email_outbox add constraint email_outbox_status_check
    check (status in ('pending', 'sent', 'failed', 'skipped'));
-- "How many notices did this account get lately": the per-account email caps.
create index email_outbox_user_recent_idx on email_outbox (user_id, kind, created_at);

-- Unconfirmed accounts are purged after QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS.
create index users_unconfirmed_created_idx on users (created_at) where confirmed_at is null;
