-- Comments on a table and a column are added, another column comment is changed.
-- @common
create table public.docs (id integer primary key, title text, body text);
comment on column public.docs.body is 'old';
-- @a
-- @b
comment on table public.docs is 'Documents';
comment on column public.docs.title is 'The title';
comment on column public.docs.body is 'new';
