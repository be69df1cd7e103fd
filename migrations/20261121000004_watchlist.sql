-- The symbols a user follows. The check mirrors domain::Symbol so that no other path
-- can store a symbol the API would have refused.
create table watchlist_items (
    user_id  uuid not null references users (id) on delete cascade,
    symbol   text not null check (symbol ~ '^[A-Z0-9][A-Z0-9.:-]{0,19}$'),
    added_at timestamptz not null default now(),
    primary key (user_id, symbol)
);

-- The ETL asks "which distinct symbols are watched", not "whose list is this".
create index watchlist_items_symbol_idx on watchlist_items (symbol);
