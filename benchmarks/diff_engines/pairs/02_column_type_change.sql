-- Column type change (integer -> bigint, varchar(20) -> text) and a default change.
-- @a
create table public.items (id integer primary key, qty integer default 0, code varchar(20));
-- @b
create table public.items (id integer primary key, qty bigint default 1, code text);
