-- Daily history: one bar per symbol and New York trading date, the series charts and
-- weekly summaries are drawn from. A bar comes from our own quotes (the quote's day:
-- open, high, low, close; /quote has no volume) or from Finnhub's daily candles where
-- the plan has them. `final` once it was taken after that session's close: a final
-- bar is never replaced by one that is not (services::etl::typing decides which wins).
-- Like the other typed tables it remembers its raw row (`raw_id`, no foreign key: raw
-- rows are purged after their retention, the bar stays) and whether it is sample data.
create table daily_bars (
    symbol       text not null,
    trading_date date not null,
    open         double precision not null,
    high         double precision not null,
    low          double precision not null,
    close        double precision not null,
    volume       bigint,
    source       text not null check (source in ('quote', 'candle')),
    final        boolean not null,
    sample       boolean not null,
    raw_id       bigint not null,
    updated_at   timestamptz not null default now(),
    primary key (symbol, trading_date)
);

