-- Column-level grants and a table-level grant.
-- @common
create table public.accounts (id integer primary key, name text, secret text);
-- @a
grant select on public.accounts to e_eval_authenticated;
-- @b
grant select (id, name) on public.accounts to e_eval_anon;
grant update (name) on public.accounts to e_eval_authenticated;
