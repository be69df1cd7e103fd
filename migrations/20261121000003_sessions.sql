-- Server-side sessions. The cookie holds a random token; the table holds its SHA-256,
-- so a leaked table does not hand out sessions. The foreign key makes "revoke every
-- session of this user" one DELETE and account deletion remove them all.
create table sessions (
    id_hash      bytea primary key,
    user_id      uuid not null references users (id) on delete cascade,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    last_seen_at timestamptz not null default now(),
    user_agent   text
);

create index sessions_user_idx on sessions (user_id);
create index sessions_expires_idx on sessions (expires_at);
