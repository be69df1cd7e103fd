-- Single-use, expiring links sent by email (confirmation, password reset).
-- Only the SHA-256 of the token is stored: a database reader cannot use a pending link.
create table email_tokens (
    token_hash bytea primary key,
    user_id    uuid not null references users (id) on delete cascade,
    purpose    text not null check (purpose in ('confirm_email', 'reset_password')),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at    timestamptz
);

create index email_tokens_user_idx on email_tokens (user_id);
create index email_tokens_expires_idx on email_tokens (expires_at);
