-- One send-rate budget for every process on this database (ADR 0012). Each row is a
-- GCRA "theoretical arrival time": a sender reserves the next free slot with one
-- update of its row, so N processes together send at the account's rate, however many
-- there are and however they come and go.
create table send_pacing (
    name text primary key,
    tat  timestamptz not null default now()
);

insert into send_pacing (name) values ('ses');
