-- A view over a changed column, a sequence with parameters, and an extension.
-- @common
create table public.events (id integer primary key, kind text);
-- @a
create view public.event_kinds as select distinct kind from public.events;
-- @b
create extension if not exists pg_trgm;
create sequence public.ticket_seq start with 100 increment by 5;
create view public.event_kinds as select distinct kind, count(*) over () as n from public.events;
create index events_kind_trgm on public.events using gin (kind gin_trgm_ops);
