"""The corpus of the schema differ, part two: routines, triggers, RLS, types, sequences, privileges, comments,
Supabase's own schemas, quoted identifiers and one case that mixes kinds with dependencies."""

from __future__ import annotations

from tests.postgres.schemadiff_cases import ITEMS, Case

# A minimal stand-in for what Supabase puts in every database: its schemas, auth.uid() as Supabase defines it,
# and storage.objects. The roles are the run's own (placeholders), since roles are cluster-wide.
SUPABASE = """
CREATE SCHEMA auth; CREATE SCHEMA storage;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean DEFAULT false);
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text REFERENCES storage.buckets (id), name text,
  owner uuid, created_at timestamptz DEFAULT now());
GRANT USAGE ON SCHEMA auth, storage TO <<anon>>, <<authenticated>>, <<service_role>>;
"""

PLPGSQL_TOUCH = """
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.qty := coalesce(NEW.qty, 0); RETURN NEW; END $$;
"""

CASES_PART_TWO: tuple[Case, ...] = (
    # --- functions and procedures
    Case(
        "function_sql_create",
        "",
        "",
        "CREATE FUNCTION public.add(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE"
        " AS $$ select a + b $$;",
        "safe",
        "safe",
    ),
    Case(
        "function_plpgsql_body_change",
        "",
        "CREATE FUNCTION public.grade(score int) RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  IF score > 50 THEN RETURN 'pass'; END IF;\n  RETURN 'fail';\nEND\n$$;",
        "CREATE FUNCTION public.grade(score int) RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  IF score >= 60 THEN RETURN 'pass'; END IF;\n  RETURN 'fail';\nEND\n$$;",
        "safe",
        "safe",
    ),
    Case(
        "function_return_type_change",
        "",
        "CREATE FUNCTION public.answer() RETURNS integer LANGUAGE sql AS $$ select 42 $$;",
        "CREATE FUNCTION public.answer() RETURNS bigint LANGUAGE sql AS $$ select 42::bigint $$;",
        "any",
        "any",
    ),
    Case(
        "function_overloads",
        "CREATE FUNCTION public.show(x integer) RETURNS text LANGUAGE sql AS $$ select 'int ' || x $$;",
        "CREATE FUNCTION public.show(x text) RETURNS text LANGUAGE sql AS $$ select 'text ' || x $$;",
        "CREATE FUNCTION public.show(x text) RETURNS text LANGUAGE sql AS $$ select 'TEXT ' || x $$;"
        " CREATE FUNCTION public.show(x integer, y integer) RETURNS text LANGUAGE sql AS $$ select x || ',' || y $$;",
        "safe",
        "safe",
    ),
    Case(
        "function_security_definer_search_path",
        "",
        "CREATE FUNCTION public.whoami() RETURNS text LANGUAGE sql AS $$ select current_user::text $$;",
        "CREATE FUNCTION public.whoami() RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = ''"
        " AS $$ select current_user::text $$;",
        "safe",
        "safe",
    ),
    Case(
        "function_attributes",
        "",
        "CREATE FUNCTION public.sq(x numeric) RETURNS numeric LANGUAGE sql AS $$ select x * x $$;",
        "CREATE FUNCTION public.sq(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 5"
        " AS $$ select x * x $$;",
        "safe",
        "safe",
    ),
    Case(
        "procedure_create_and_change",
        ITEMS,
        "CREATE PROCEDURE public.restock(n integer) LANGUAGE sql AS $$ update public.items set qty = qty + n $$;",
        "CREATE PROCEDURE public.restock(n integer) LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  UPDATE public.items SET qty = qty + n WHERE qty < 10;\nEND\n$$;"
        " CREATE PROCEDURE public.clear_all() LANGUAGE sql AS $$ delete from public.items $$;",
        "safe",
        "safe",
    ),
    # --- triggers
    Case(
        "trigger_create",
        ITEMS + PLPGSQL_TOUCH,
        "",
        "CREATE TRIGGER items_touch BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch();",
        "safe",
        "safe",
    ),
    Case(
        "trigger_change_timing_and_when",
        ITEMS + PLPGSQL_TOUCH,
        "CREATE TRIGGER items_touch BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch();",
        "CREATE TRIGGER items_touch AFTER INSERT OR UPDATE OF qty ON public.items FOR EACH ROW"
        " WHEN (NEW.qty IS DISTINCT FROM 0) EXECUTE FUNCTION public.touch();",
        "safe",
        "safe",
    ),
    Case(
        "trigger_disabled",
        ITEMS
        + PLPGSQL_TOUCH
        + "CREATE TRIGGER items_touch BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch();",
        "",
        "ALTER TABLE public.items DISABLE TRIGGER items_touch;",
        "safe",
        "safe",
    ),
    # --- row level security and policies
    Case(
        "rls_enable_and_force",
        ITEMS,
        "",
        "ALTER TABLE public.items ENABLE ROW LEVEL SECURITY; ALTER TABLE public.items FORCE ROW LEVEL SECURITY;",
        "safe",
        "any",
    ),
    Case(
        "policy_kinds",
        ITEMS + " ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;",
        "",
        "CREATE POLICY read_all ON public.items FOR SELECT TO <<reader>> USING (true);"
        " CREATE POLICY add_small ON public.items FOR INSERT TO <<writer>> WITH CHECK (qty < 100);"
        " CREATE POLICY edit_own ON public.items AS PERMISSIVE FOR UPDATE TO <<writer>>, <<reader>>"
        " USING (name = current_user) WITH CHECK (qty >= 0);"
        " CREATE POLICY no_delete_big ON public.items AS RESTRICTIVE FOR DELETE USING (qty < 10);"
        " CREATE POLICY everything ON public.items AS RESTRICTIVE FOR ALL TO PUBLIC USING (id > 0);",
        "safe",
        "safe",
    ),
    Case(
        "policy_change",
        ITEMS + " ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;",
        "CREATE POLICY p ON public.items FOR SELECT TO <<reader>> USING (qty > 0);",
        "CREATE POLICY p ON public.items FOR SELECT TO <<reader>>, <<writer>> USING (qty > 10 AND name <> '');",
        "safe",
        "safe",
    ),
    Case(
        "policy_auth_uid",
        SUPABASE + " CREATE TABLE public.profiles (id uuid PRIMARY KEY, bio text);",
        "",
        "ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;"
        " CREATE POLICY own_profile ON public.profiles FOR UPDATE TO <<authenticated>>"
        " USING (auth.uid() = id) WITH CHECK (auth.uid() = id);",
        "safe",
        "any",
    ),
    # --- extensions
    Case(
        "extension_create_with_column",
        "CREATE TABLE public.users (id int PRIMARY KEY);",
        "",
        "CREATE EXTENSION citext; ALTER TABLE public.users ADD COLUMN email public.citext;",
        "safe",
        "destructive",
        ("citext",),
    ),
    Case(
        "extension_in_schema",
        "CREATE SCHEMA extensions;",
        "",
        "CREATE EXTENSION hstore WITH SCHEMA extensions;",
        "safe",
        "any",
        ("hstore",),
    ),
    # --- enums and domains
    Case(
        "enum_create",
        "",
        "",
        "CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');"
        " CREATE TABLE public.person (id int, current_mood public.mood DEFAULT 'ok');",
        "safe",
        "destructive",
    ),
    Case(
        "enum_add_value_in_middle",
        "",
        "CREATE TYPE public.status AS ENUM ('draft', 'done'); CREATE TABLE public.task (id int, s public.status);",
        "CREATE TYPE public.status AS ENUM ('draft', 'review', 'done', 'archived');"
        " CREATE TABLE public.task (id int, s public.status);",
        "safe",
        "destructive",
    ),
    Case(
        "enum_remove_value",
        "",
        "CREATE TYPE public.status AS ENUM ('draft', 'obsolete', 'done');"
        " CREATE TABLE public.task (id int, s public.status DEFAULT 'draft');",
        "CREATE TYPE public.status AS ENUM ('draft', 'done');"
        " CREATE TABLE public.task (id int, s public.status DEFAULT 'draft');",
        "destructive",
        "safe",
    ),
    Case(
        "domain_create_with_check",
        "",
        "",
        "CREATE DOMAIN public.email AS text CONSTRAINT email_has_at CHECK (VALUE ~ '@');"
        " CREATE TABLE public.contact (id int, e public.email);",
        "safe",
        "destructive",
    ),
    Case(
        "domain_change_default_not_null_check",
        "",
        "CREATE DOMAIN public.qty AS integer CONSTRAINT qty_min CHECK (VALUE >= 0);",
        "CREATE DOMAIN public.qty AS integer DEFAULT 1 NOT NULL CONSTRAINT qty_min CHECK (VALUE >= 1);",
        "safe",
        "safe",
    ),
    # --- sequences
    Case(
        "sequence_create",
        "",
        "",
        "CREATE SEQUENCE public.ticket_no AS integer START 1000 INCREMENT 5;",
        "safe",
        "destructive",
    ),
    Case(
        "sequence_change_parameters",
        "",
        "CREATE SEQUENCE public.s;",
        "CREATE SEQUENCE public.s AS bigint INCREMENT BY 10 MINVALUE 5 MAXVALUE 100000 START WITH 50 CACHE 20 CYCLE;",
        "safe",
        "safe",
    ),
    Case(
        "sequence_owned_by",
        ITEMS + " CREATE SEQUENCE public.item_ids;",
        "",
        "ALTER SEQUENCE public.item_ids OWNED BY public.items.id;",
        "safe",
        "safe",
    ),
    # --- grants
    Case(
        "grant_table",
        ITEMS,
        "",
        "GRANT SELECT, INSERT ON public.items TO <<reader>>; GRANT ALL ON public.items TO <<writer>>;"
        " GRANT UPDATE ON public.items TO <<reader>> WITH GRANT OPTION;",
        "safe",
        "safe",
    ),
    Case(
        "grant_column",
        ITEMS,
        "",
        "GRANT SELECT (id, name) ON public.items TO <<reader>>; GRANT UPDATE (qty) ON public.items TO <<writer>>;",
        "safe",
        "safe",
    ),
    Case(
        "grant_schema_usage",
        "CREATE SCHEMA app;",
        "",
        "GRANT USAGE ON SCHEMA app TO <<reader>>; GRANT USAGE, CREATE ON SCHEMA app TO <<writer>>;",
        "safe",
        "safe",
    ),
    Case(
        "grant_function_execute_revoke_public",
        "CREATE FUNCTION public.secret() RETURNS int LANGUAGE sql AS $$ select 1 $$;",
        "",
        "REVOKE EXECUTE ON FUNCTION public.secret() FROM PUBLIC;"
        " GRANT EXECUTE ON FUNCTION public.secret() TO <<writer>>;",
        "safe",
        "safe",
    ),
    Case(
        "grant_sequence_usage",
        "CREATE SEQUENCE public.s;",
        "",
        "GRANT USAGE, SELECT ON SEQUENCE public.s TO <<writer>>; GRANT UPDATE ON SEQUENCE public.s TO <<reader>>;",
        "safe",
        "safe",
    ),
    Case(
        "grant_revoke",
        ITEMS + " GRANT SELECT, INSERT, UPDATE ON public.items TO <<reader>>;"
        " GRANT SELECT ON public.items TO <<writer>>;",
        "",
        "REVOKE INSERT, UPDATE ON public.items FROM <<reader>>; REVOKE ALL ON public.items FROM <<writer>>;",
        "safe",
        "safe",
    ),
    Case(
        "grant_to_a_second_role",
        ITEMS + " CREATE SCHEMA app;",
        "GRANT SELECT ON public.items TO <<writer>>;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO <<writer>>;",
        "GRANT SELECT ON public.items TO <<reader>>; GRANT SELECT ON public.items TO <<writer>>;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO <<reader>>;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO <<writer>>;",
        "safe",
        "safe",
    ),
    # --- default privileges
    Case(
        "default_privileges_grant",
        "CREATE SCHEMA app;",
        "",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO <<reader>>;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT USAGE ON SEQUENCES TO <<writer>>;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO <<writer>>;",
        "safe",
        "safe",
    ),
    Case(
        "default_privileges_revoke",
        "CREATE SCHEMA app; ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT, INSERT ON TABLES TO <<reader>>;",
        "",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA app REVOKE INSERT ON TABLES FROM <<reader>>;"
        " ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
        "safe",
        "safe",
    ),
    # --- comments
    Case(
        "comments",
        "CREATE SCHEMA app;" + ITEMS + " CREATE VIEW public.v AS SELECT id FROM public.items;"
        " CREATE FUNCTION public.f(x int) RETURNS int LANGUAGE sql AS $$ select x $$;"
        " ALTER TABLE public.items ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.items USING (true);"
        " COMMENT ON TABLE public.items IS 'old';",
        "",
        "COMMENT ON SCHEMA app IS 'the app''s schema'; COMMENT ON TABLE public.items IS 'things we sell';"
        " COMMENT ON COLUMN public.items.qty IS 'how many'; COMMENT ON FUNCTION public.f(integer) IS 'identity';"
        " COMMENT ON VIEW public.v IS 'ids only'; COMMENT ON POLICY p ON public.items IS 'open';"
        " COMMENT ON INDEX public.items_pkey IS 'pk';",
        "safe",
        "safe",
    ),
    # --- Supabase's own schemas
    Case(
        "supabase_storage_policy",
        SUPABASE,
        "",
        "ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;"
        " CREATE POLICY avatars_owner ON storage.objects FOR ALL TO <<authenticated>>"
        " USING (bucket_id = 'avatars' AND auth.uid() = owner)"
        " WITH CHECK (bucket_id = 'avatars' AND auth.uid() = owner);"
        " CREATE POLICY avatars_public ON storage.objects FOR SELECT TO <<anon>> USING (bucket_id = 'avatars');"
        " GRANT SELECT ON storage.objects TO <<anon>>;"
        " GRANT ALL ON storage.objects TO <<authenticated>>, <<service_role>>;",
        "safe",
        "any",
    ),
    Case(
        "supabase_profiles_on_signup",
        SUPABASE,
        "",
        "CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,"
        " username text UNIQUE, updated_at timestamptz);"
        " ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;"
        " CREATE POLICY read_profiles ON public.profiles FOR SELECT TO <<anon>>, <<authenticated>> USING (true);"
        " CREATE POLICY own_profile ON public.profiles FOR UPDATE TO <<authenticated>>"
        " USING ((SELECT auth.uid()) = id);"
        " CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
        " SET search_path = '' AS $$ BEGIN INSERT INTO public.profiles (id) VALUES (NEW.id); RETURN NEW; END $$;"
        " CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW"
        " EXECUTE FUNCTION public.handle_new_user();"
        " GRANT SELECT ON public.profiles TO <<anon>>; GRANT SELECT, UPDATE ON public.profiles TO <<authenticated>>;",
        "safe",
        "destructive",
    ),
    # --- identifiers that need quotes
    Case(
        "quoted_identifiers",
        "",
        "",
        'CREATE SCHEMA "My App"; CREATE TABLE "My App"."Mixed Case" ("Id" int PRIMARY KEY, "first name" text,'
        ' "say ""hi""" text, "select" int);'
        ' CREATE INDEX "Mixed Case first name idx" ON "My App"."Mixed Case" ("first name");'
        ' CREATE VIEW "My App"."View ""Q""" AS SELECT "Id", "say ""hi""" FROM "My App"."Mixed Case";'
        ' CREATE FUNCTION "My App"."Do It"("Arg One" int) RETURNS int LANGUAGE sql AS $$ select 1 $$;'
        " CREATE TYPE \"My App\".\"Colour\" AS ENUM ('Red', 'it''s \"green\"');"
        ' ALTER TABLE "My App"."Mixed Case" ENABLE ROW LEVEL SECURITY;'
        ' CREATE POLICY "Only ""mine""" ON "My App"."Mixed Case" FOR SELECT TO <<writer>> USING ("Id" > 0);'
        ' GRANT SELECT ("first name") ON "My App"."Mixed Case" TO <<writer>>;'
        ' COMMENT ON COLUMN "My App"."Mixed Case"."say ""hi""" IS \'quoted "comment"\';',
        "safe",
        "destructive",
    ),
    # --- many kinds at once, with dependencies between them
    Case(
        "many_changes_with_dependencies",
        "CREATE TABLE public.accounts (id int PRIMARY KEY, owner_name text);",
        "CREATE TABLE public.ledger (id int PRIMARY KEY, account_id int, amount int);"
        " CREATE VIEW public.ledger_totals AS SELECT account_id, sum(amount) AS total, max(amount) AS biggest"
        " FROM public.ledger GROUP BY account_id;",
        "CREATE TABLE public.currencies (code char(3) PRIMARY KEY);"
        " CREATE TABLE public.ledger (id int PRIMARY KEY, account_id int REFERENCES public.accounts (id),"
        " amount bigint NOT NULL, currency char(3) REFERENCES public.currencies (code));"
        " CREATE VIEW public.ledger_totals AS SELECT account_id, sum(amount) AS total, max(amount) AS biggest"
        " FROM public.ledger GROUP BY account_id;"
        " CREATE FUNCTION public.is_owner(acc int) RETURNS boolean LANGUAGE sql STABLE"
        " AS $$ select exists (select 1 from public.accounts where id = acc and owner_name = current_user) $$;"
        " ALTER TABLE public.ledger ENABLE ROW LEVEL SECURITY;"
        " CREATE POLICY own_rows ON public.ledger FOR SELECT TO <<reader>> USING (public.is_owner(account_id));"
        " CREATE INDEX ledger_account_idx ON public.ledger (account_id);"
        " GRANT SELECT ON public.ledger_totals TO <<reader>>;",
        "destructive",
        "destructive",
    ),
)
