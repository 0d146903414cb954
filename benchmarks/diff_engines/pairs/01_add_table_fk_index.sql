-- Sanity pair: a new table with a foreign key and an index.
-- @common
create table public.users (id bigint primary key, email text not null);
-- @a
-- @b
create table public.posts (
    id bigint primary key,
    user_id bigint not null references public.users (id) on delete cascade,
    title text not null
);
create index posts_user_id_idx on public.posts (user_id);
