-- Row level security is enabled and forced on a table.
-- @common
create table public.notes (id integer primary key, body text);
-- @a
-- @b
alter table public.notes enable row level security;
alter table public.notes force row level security;
