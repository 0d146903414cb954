-- A plain column becomes a stored generated column.
-- @a
create table public.prices (net numeric not null, gross numeric);
-- @b
create table public.prices (net numeric not null, gross numeric generated always as (net * 1.2) stored);
