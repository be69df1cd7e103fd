-- One row per extraction run: what an operator looks at to see whether market data is
-- fresh, and why not.
create table etl_runs (
    id           bigint generated always as identity primary key,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    status       text not null default 'running'
                 check (status in ('running', 'succeeded', 'partial', 'failed')),
    -- 'sample' when the offline sample source stood in for Finnhub.
    source       text not null check (source in ('finnhub', 'sample')),
    trigger      text not null,
    symbols      integer not null default 0,
    calls        integer not null default 0,
    retries      integer not null default 0,
    rate_limited integer not null default 0,
    failures     integer not null default 0,
    error        text
);

create index etl_runs_started_idx on etl_runs (started_at desc);

-- Per-symbol outcomes that were not a clean load: one failing ticker is recorded here
-- and does not spoil the run.
create table etl_failures (
    run_id      bigint not null references etl_runs (id) on delete cascade,
    symbol      text not null,
    endpoint    text not null,
    outcome     text not null
                check (outcome in ('no_data', 'bad_data', 'unavailable', 'rate_limited', 'rejected')),
    reason      text not null,
    recorded_at timestamptz not null default now()
);

create index etl_failures_run_idx on etl_failures (run_id);
