-- Accounts. The email is stored normalised (trimmed, lower-cased) by the domain layer,
-- so a plain unique index is enough to make "one account per address" a database fact.
create table users (
    id            uuid primary key default gen_random_uuid(),
    email         text not null,
    password_hash text not null,
    confirmed_at  timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

create unique index users_email_key on users (email);
