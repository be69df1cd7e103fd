-- The Finnhub call budget of every process on this database (ADR 0013): the same GCRA
-- row as the SES send rate's, so extraction, symbol search and the watchlist's check
-- in every process together stay within the plan's limits.
insert into send_pacing (name) values ('finnhub') on conflict (name) do nothing;
