-- A domain with a CHECK constraint is created and a column switches to it.
-- @a
create table public.contacts (id integer primary key, email text);
-- @b
create domain public.email_address as text check (value ~ '^[^@]+@[^@]+$');
create table public.contacts (id integer primary key, email public.email_address);
