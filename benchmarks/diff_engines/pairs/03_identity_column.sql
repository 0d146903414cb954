-- A plain integer column becomes an identity column.
-- @a
create table public.orders (id integer not null primary key, note text);
-- @b
create table public.orders (id integer generated always as identity primary key, note text);
