-- The market-data planner (ADR 0013) extracts ahead of the send minute, and a symbol
-- just added to a watchlist is fetched at once: two more reasons an extraction runs.
alter table etl_runs drop constraint etl_runs_trigger_check;
alter table etl_runs add constraint etl_runs_trigger_check
    check (trigger in ('cli', 'digest', 'planner', 'watchlist'));
