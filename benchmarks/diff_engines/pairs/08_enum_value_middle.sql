-- An enum gets a value in the middle; a table column uses the enum.
-- @a
create type public.mood as enum ('sad', 'happy');
create table public.people (id integer primary key, mood public.mood);
-- @b
create type public.mood as enum ('sad', 'ok', 'happy');
create table public.people (id integer primary key, mood public.mood);
