-- Schedule and content preferences, one row per user.
create table preferences (
    user_id          uuid primary key references users (id) on delete cascade,
    time_zone        text not null default 'UTC',
    send_time        time not null default '07:00',
    days             text not null default 'weekdays'
                     check (days in ('every_day', 'weekdays', 'trading_days')),
    paused           boolean not null default false,
    include_news     boolean not null default true,
    include_earnings boolean not null default true,
    -- The next instant a digest is due, computed from the columns above whenever they
    -- change. Null while the account is unconfirmed or paused, so the scheduler's
    -- "who is due" query is an index range scan over due rows only.
    next_send_at     timestamptz,
    updated_at       timestamptz not null default now()
);

create index preferences_next_send_at_idx on preferences (next_send_at)
    where next_send_at is not null;
