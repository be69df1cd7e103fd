-- Bronze: every Finnhub response as it arrived (parameters without the token). The
-- typed tables below are derived from these rows, so a fix to the typing can rebuild
-- them without calling Finnhub again (`quotidian etl --rebuild`).
create table raw_responses (
    id         bigint generated always as identity primary key,
    run_id     bigint references etl_runs (id) on delete set null,
    source     text not null check (source in ('finnhub', 'sample')),
    endpoint   text not null,
    symbol     text,
    params     jsonb not null,
    status     smallint not null,
    body       text not null,
    fetched_at timestamptz not null default now()
);

create index raw_responses_fetched_idx on raw_responses (fetched_at);

-- When each (symbol, endpoint) was last fetched successfully: the freshness rules read
-- this instead of scanning the raw table.
create table fetch_state (
    symbol     text not null,
    endpoint   text not null,
    fetched_at timestamptz not null,
    primary key (symbol, endpoint)
);

-- Silver: typed rows. Each remembers the raw row it came from (`raw_id`) and whether
-- that was sample data, so what is shown can be labelled.
create table quotes (
    symbol         text not null,
    trading_day    date not null,
    price          double precision not null,
    change         double precision,
    change_percent double precision,
    high           double precision not null,
    low            double precision not null,
    open           double precision not null,
    previous_close double precision not null,
    quoted_at      timestamptz not null,
    fetched_at     timestamptz not null,
    raw_id         bigint not null,
    sample         boolean not null,
    primary key (symbol, trading_day)
);

create table company_profiles (
    symbol              text primary key,
    name                text not null,
    exchange            text,
    country             text,
    currency            text,
    industry            text,
    ipo                 date,
    logo                text,
    web_url             text,
    market_cap_millions double precision,
    shares_outstanding  double precision,
    fetched_at          timestamptz not null,
    raw_id              bigint not null,
    sample              boolean not null
);

-- News is deduplicated by Finnhub's id; one article may concern several symbols.
create table news_items (
    id           bigint primary key,
    headline     text not null,
    source       text not null,
    url          text not null,
    summary      text not null,
    image        text,
    category     text,
    published_at timestamptz not null,
    fetched_at   timestamptz not null,
    raw_id       bigint not null,
    sample       boolean not null
);

create table news_symbols (
    news_id bigint not null references news_items (id) on delete cascade,
    symbol  text not null,
    primary key (symbol, news_id)
);

create index news_items_published_idx on news_items (published_at desc);

create table earnings (
    symbol           text not null,
    report_date      date not null,
    hour             text,
    year             integer,
    quarter          integer,
    eps_estimate     double precision,
    eps_actual       double precision,
    revenue_estimate double precision,
    revenue_actual   double precision,
    fetched_at       timestamptz not null,
    raw_id           bigint not null,
    sample           boolean not null,
    primary key (symbol, report_date)
);

create table market_holidays (
    exchange     text not null,
    holiday      date not null,
    event_name   text not null,
    trading_hour text,
    raw_id       bigint not null,
    sample       boolean not null,
    primary key (exchange, holiday)
);

-- Symbols Finnhub's lookup has confirmed, for watchlist validation without a call per
-- add, and cached search answers per query.
create table symbol_directory (
    symbol         text primary key,
    display_symbol text not null,
    description    text not null,
    kind           text not null,
    seen_at        timestamptz not null default now()
);

create table symbol_searches (
    query      text primary key,
    results    jsonb not null,
    fetched_at timestamptz not null default now()
);
