-- A policy whose USING clause calls an auth.uid()-style function (Supabase pattern).
-- @common
create schema auth;
create function auth.uid() returns uuid language sql stable
    as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create table public.profiles (id uuid primary key, owner_id uuid not null, bio text);
alter table public.profiles enable row level security;
-- @a
create policy "own rows" on public.profiles for select to e_eval_authenticated using (owner_id = auth.uid());
-- @b
create policy "own rows" on public.profiles for select to e_eval_authenticated using (owner_id = (select auth.uid()));
create policy "own insert" on public.profiles for insert to e_eval_authenticated with check (owner_id = auth.uid());
