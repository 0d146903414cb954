"""A Supabase-like database for tests: the roles, auth and storage schemas, RLS policies, realtime publication.

Modelled on what supabase/postgres and GoTrue/Storage migrations create, reduced to what tools look at:

* cluster-wide roles ``anon``, ``authenticated``, ``service_role`` (NOLOGIN; service_role BYPASSRLS) and
  ``authenticator`` (LOGIN NOINHERIT, member of the three), created idempotently and concurrency-safe. They are
  never dropped: roles are shared by every database of the cluster, another test run may be using them, and they
  are harmless;
* schema ``auth``: ``auth.users`` and ``auth.uid()``/``auth.role()`` reading ``request.jwt.claims`` as PostgREST
  sets it;
* schema ``storage``: ``storage.buckets`` and ``storage.objects`` (RLS on, a policy on the owner);
* schema ``public``: ``profiles`` (FK to ``auth.users``, a CHECK, a unique expression index, an ``updated_at``
  trigger, RLS with three policies using ``auth.uid()``), the view ``profile_names``;
* publication ``supabase_realtime`` with ``public.profiles``.

:func:`create_supabase_schema` is idempotent, so several tests (or modules) may apply it to the same database.
:func:`create_filler_tables` pads a database with ordinary tables; :func:`pg_meta_like` is an executor that runs a
query the way pg-meta does, to prove a query works over both routes.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from dokploy_mcp.postgres.introspect import Executor

SUPABASE_ROLES = ("anon", "authenticated", "service_role", "authenticator")

_ROLES_SQL = """
DO $roles$
DECLARE
  spec record;
BEGIN
  FOR spec IN SELECT * FROM (VALUES
      ('anon', 'NOLOGIN NOINHERIT'),
      ('authenticated', 'NOLOGIN NOINHERIT'),
      ('service_role', 'NOLOGIN NOINHERIT BYPASSRLS'),
      ('authenticator', 'LOGIN NOINHERIT')) AS r(name, options)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = spec.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', spec.name, spec.options);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another session created it between the check and the CREATE
      END;
    END IF;
  END LOOP;
END
$roles$
"""

_GRANTS_SQL = """
DO $grants$
BEGIN
  IF NOT pg_catalog.pg_has_role('authenticator', 'anon', 'MEMBER') THEN GRANT anon TO authenticator; END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'authenticated', 'MEMBER') THEN
    GRANT authenticated TO authenticator;
  END IF;
  IF NOT pg_catalog.pg_has_role('authenticator', 'service_role', 'MEMBER') THEN
    GRANT service_role TO authenticator;
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
  NULL;  -- a concurrent run granted it first
END
$grants$
"""

_SCHEMA_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    # -- auth ------------------------------------------------------------------------------------------------
    "CREATE SCHEMA IF NOT EXISTS auth",
    """CREATE TABLE IF NOT EXISTS auth.users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text,
        encrypted_password text,
        role text,
        raw_user_meta_data jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON auth.users (email)",
    """CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
        id bigserial PRIMARY KEY,
        token text UNIQUE,
        user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
        revoked boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                               (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')), '')::uuid
    $$""",
    """CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT nullif(coalesce(current_setting('request.jwt.claim.role', true),
                               (current_setting('request.jwt.claims', true)::jsonb ->> 'role')), '')::text
    $$""",
    "ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY",
    # -- storage ---------------------------------------------------------------------------------------------
    "CREATE SCHEMA IF NOT EXISTS storage",
    """CREATE TABLE IF NOT EXISTS storage.buckets (
        id text PRIMARY KEY,
        name text NOT NULL,
        owner uuid REFERENCES auth.users (id),
        public boolean DEFAULT false,
        created_at timestamptz DEFAULT now()
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS bname ON storage.buckets (name)",
    """CREATE TABLE IF NOT EXISTS storage.objects (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bucket_id text REFERENCES storage.buckets (id),
        name text,
        owner uuid,
        metadata jsonb,
        created_at timestamptz DEFAULT now()
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS bucketid_objname ON storage.objects (bucket_id, name)",
    "ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY",
    'DROP POLICY IF EXISTS "Owners read their objects" ON storage.objects',
    """CREATE POLICY "Owners read their objects" ON storage.objects FOR SELECT TO authenticated
        USING (owner = auth.uid())""",
    # -- public ----------------------------------------------------------------------------------------------
    """CREATE TABLE IF NOT EXISTS public.profiles (
        id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
        username text,
        full_name text,
        website text,
        updated_at timestamptz,
        CONSTRAINT username_length CHECK (char_length(username) >= 3)
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS profiles_username_key ON public.profiles (lower(username))",
    """CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.updated_at := now();
          RETURN NEW;
        END
    $$""",
    "DROP TRIGGER IF EXISTS profiles_set_updated_at ON public.profiles",
    """CREATE TRIGGER profiles_set_updated_at BEFORE UPDATE ON public.profiles
        FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()""",
    """CREATE OR REPLACE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = '' AS $$
        BEGIN
          INSERT INTO public.profiles (id, full_name) VALUES (NEW.id, NEW.raw_user_meta_data ->> 'full_name');
          RETURN NEW;
        END
    $$""",
    "DROP TRIGGER IF EXISTS on_auth_user_created ON auth.users",
    """CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
        FOR EACH ROW EXECUTE FUNCTION public.handle_new_user()""",
    "ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY",
    'DROP POLICY IF EXISTS "Public profiles are viewable by everyone" ON public.profiles',
    'CREATE POLICY "Public profiles are viewable by everyone" ON public.profiles FOR SELECT USING (true)',
    'DROP POLICY IF EXISTS "Users can insert their own profile" ON public.profiles',
    """CREATE POLICY "Users can insert their own profile" ON public.profiles FOR INSERT TO authenticated
        WITH CHECK (auth.uid() = id)""",
    'DROP POLICY IF EXISTS "Users can update own profile" ON public.profiles',
    """CREATE POLICY "Users can update own profile" ON public.profiles FOR UPDATE TO authenticated
        USING (auth.uid() = id) WITH CHECK (auth.uid() = id)""",
    """CREATE OR REPLACE VIEW public.profile_names WITH (security_invoker = true) AS
        SELECT id, username FROM public.profiles""",
    # -- grants as Supabase has them ------------------------------------------------------------------------
    "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role",
    "GRANT USAGE ON SCHEMA auth, storage TO authenticated, service_role",
    "GRANT SELECT ON public.profiles, public.profile_names TO anon, authenticated",
    "GRANT INSERT, UPDATE ON public.profiles TO authenticated",
    "GRANT ALL ON ALL TABLES IN SCHEMA public, storage TO service_role",
    "GRANT SELECT ON storage.objects, storage.buckets TO authenticated",
    "GRANT EXECUTE ON FUNCTION auth.uid(), auth.role() TO anon, authenticated, service_role",
    # -- realtime --------------------------------------------------------------------------------------------
    """DO $pub$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') THEN
        CREATE PUBLICATION supabase_realtime;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables
                     WHERE pubname = 'supabase_realtime' AND schemaname = 'public' AND tablename = 'profiles') THEN
        ALTER PUBLICATION supabase_realtime ADD TABLE public.profiles;
      END IF;
    END
    $pub$""",
]

# The public tables, RLS flags and policies the fixture creates (tests compare against these).
SUPABASE_TABLES = {
    "auth.users": True,
    "auth.refresh_tokens": False,
    "storage.buckets": True,
    "storage.objects": True,
    "public.profiles": True,
}


def ensure_supabase_roles(server_url: str) -> None:
    """Create the four Supabase roles if missing (idempotent, safe against a concurrent run)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(_ROLES_SQL)
        conn.execute(_GRANTS_SQL)


def create_supabase_schema(database_url: str) -> None:
    """Create the Supabase-like schema in the database at ``database_url`` (idempotent).

    Needs a superuser (or a role that can create roles, extensions, schemas and publications).
    """
    ensure_supabase_roles(database_url)
    with psycopg.connect(database_url) as conn:
        # One transaction: a half-built fixture never stays behind, and concurrent appliers serialize on it.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('dokploy-mcp supabase fixture'))")
        for statement in _SCHEMA_SQL:
            conn.execute(statement)


def create_filler_tables(database_url: str, count: int, *, schema: str = "public", prefix: str = "t") -> list[str]:
    """Add ``count`` ordinary tables (id, a FK to the previous one, a few columns); returns ``schema.table`` names."""
    names = [f"{prefix}_{i:03d}" for i in range(count)]
    ident = sql.Identifier
    with psycopg.connect(database_url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident(schema)))
        for index, name in enumerate(names):
            reference = (
                sql.SQL(", parent_id bigint REFERENCES {}.{} (id)").format(ident(schema), ident(names[index - 1]))
                if index
                else sql.SQL("")
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.{} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    " title text NOT NULL, body text, created_at timestamptz NOT NULL DEFAULT now(){})"
                ).format(ident(schema), ident(name), reference)
            )
    return [f"{schema}.{name}" for name in names]


def pg_meta_like(url: str) -> Executor:
    """What pg-meta does: the query text as is (simple protocol, no parameters), rows as JSON objects.

    json columns come back as text here, so the code's decoding of either form is exercised.
    """

    async def run(statement: str) -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            conn.adapters.register_loader("json", TextLoader)
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            await cursor.execute(statement.encode())  # bytes: never treated as a template with placeholders
            rows = await cursor.fetchall()
        decoded: list[dict[str, Any]] = json.loads(json.dumps(rows, default=str))
        return decoded

    return run
