"""The corpus of the schema differ, part three: changes whose DDL only works in the right order, or that must
bring back what PostgreSQL drops on the way (grants and comments on a re-created view or function, an index on a
re-created table). Cases named ``extra_`` cover what pg_dump prints but the issue does not list."""

from __future__ import annotations

from tests.postgres.schemadiff_cases import ITEMS, Case
from tests.postgres.schemadiff_cases_more import PLPGSQL_TOUCH

UNDER_POLICY = (
    " ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;"
    " CREATE POLICY small ON public.items FOR SELECT USING (qty < 100);"
    " CREATE INDEX items_qty_idx ON public.items (qty) WHERE qty > 0;"
    " ALTER TABLE public.items ADD CONSTRAINT qty_ok CHECK (qty >= 0);"
)

CASES_HARD: tuple[Case, ...] = (
    Case(
        "hard_view_recreated_keeps_grants_and_comment",
        ITEMS,
        "CREATE VIEW public.v AS SELECT id, qty FROM public.items;"
        " GRANT SELECT ON public.v TO <<reader>>; COMMENT ON VIEW public.v IS 'stock';"
        " COMMENT ON COLUMN public.v.qty IS 'units';",
        "ALTER TABLE public.items ALTER COLUMN qty TYPE bigint;"
        " CREATE VIEW public.v AS SELECT id, qty FROM public.items;"
        " GRANT SELECT ON public.v TO <<reader>>; COMMENT ON VIEW public.v IS 'stock';"
        " COMMENT ON COLUMN public.v.qty IS 'units';",
        "destructive",
        "destructive",
    ),
    Case(
        "hard_function_recreated_keeps_acl",
        "",
        "CREATE FUNCTION public.price(id int) RETURNS integer LANGUAGE sql AS $$ select id * 2 $$;"
        " REVOKE EXECUTE ON FUNCTION public.price(int) FROM PUBLIC;"
        " GRANT EXECUTE ON FUNCTION public.price(int) TO <<reader>>; COMMENT ON FUNCTION public.price(int) IS 'p';",
        "CREATE FUNCTION public.price(id int) RETURNS numeric LANGUAGE sql AS $$ select id * 2.5 $$;"
        " REVOKE EXECUTE ON FUNCTION public.price(int) FROM PUBLIC;"
        " GRANT EXECUTE ON FUNCTION public.price(int) TO <<reader>>; COMMENT ON FUNCTION public.price(int) IS 'p';",
        "any",
        "any",
    ),
    Case(
        "hard_view_on_function_with_new_return_type",
        ITEMS,
        "CREATE FUNCTION public.label(n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$ select 'n' || n $$;"
        " CREATE VIEW public.labels AS SELECT id, public.label(qty) AS l FROM public.items;",
        "CREATE FUNCTION public.label(n int) RETURNS varchar LANGUAGE sql IMMUTABLE"
        " AS $$ select ('n' || n)::varchar $$;"
        " CREATE VIEW public.labels AS SELECT id, public.label(qty) AS l FROM public.items;",
        "any",
        "any",
    ),
    # PostgreSQL refuses ALTER COLUMN TYPE under a policy, so B is built with the new type from the start.
    Case(
        "hard_type_change_under_policy_index_and_check",
        "",
        ITEMS + UNDER_POLICY,
        ITEMS.replace("qty integer", "qty bigint") + UNDER_POLICY,
        "destructive",
        "destructive",
    ),
    Case(
        "hard_drop_column_under_index_view_and_constraint",
        "CREATE TABLE public.items (id integer PRIMARY KEY, name text NOT NULL);",
        "ALTER TABLE public.items ADD COLUMN code text CONSTRAINT code_key UNIQUE CHECK (code <> '');"
        " CREATE INDEX items_code_lower_idx ON public.items (lower(code));"
        " CREATE VIEW public.codes AS SELECT id, code FROM public.items;",
        "CREATE VIEW public.codes AS SELECT id, name AS code FROM public.items;",
        "destructive",
        "safe",
    ),
    Case(
        "hard_drop_table_with_dependents",
        ITEMS,
        "CREATE TABLE public.orders (id int PRIMARY KEY, item_id int REFERENCES public.items (id));"
        " CREATE VIEW public.order_items AS SELECT o.id, i.name FROM public.orders o JOIN public.items i"
        " ON i.id = o.item_id;"
        " ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.orders USING (id > 0);"
        " CREATE SEQUENCE public.order_no OWNED BY public.orders.id;",
        "",
        "destructive",
        "safe",
    ),
    Case(
        "hard_enum_recreated_under_view_default_and_array",
        "",
        "CREATE TYPE public.level AS ENUM ('low', 'mid', 'high', 'legacy');"
        " CREATE TABLE public.alert (id int, lvl public.level NOT NULL DEFAULT 'low', history public.level[]);"
        " CREATE VIEW public.loud AS SELECT id FROM public.alert WHERE lvl = 'high';"
        " CREATE INDEX alert_lvl_idx ON public.alert (lvl);",
        "CREATE TYPE public.level AS ENUM ('low', 'mid', 'high');"
        " CREATE TABLE public.alert (id int, lvl public.level NOT NULL DEFAULT 'low', history public.level[]);"
        " CREATE VIEW public.loud AS SELECT id FROM public.alert WHERE lvl = 'high';"
        " CREATE INDEX alert_lvl_idx ON public.alert (lvl);",
        "destructive",
        "safe",
    ),
    Case(
        "hard_new_sequence_used_by_new_default",
        ITEMS,
        "",
        "CREATE SCHEMA ids; CREATE SEQUENCE ids.item_codes START 100;"
        " ALTER TABLE public.items ADD COLUMN code bigint NOT NULL DEFAULT nextval('ids.item_codes');",
        "safe",
        "destructive",
    ),
    Case(
        "hard_new_function_used_by_default_check_and_index",
        ITEMS,
        "",
        "CREATE SCHEMA util;"
        " CREATE FUNCTION util.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ select lower(btrim(t)) $$;"
        " ALTER TABLE public.items ADD CONSTRAINT name_normal CHECK (util.norm(name) <> '');"
        " ALTER TABLE public.items ALTER COLUMN name SET DEFAULT util.norm('  New ');"
        " CREATE UNIQUE INDEX items_norm_name_idx ON public.items (util.norm(name));",
        "safe",
        "destructive",  # the reverse drops schema util
    ),
    Case(
        "hard_partitioned_add_column_and_index",
        "CREATE TABLE public.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);"
        " CREATE TABLE public.ev_1 PARTITION OF public.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        " CREATE TABLE public.ev_2 PARTITION OF public.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "",
        "ALTER TABLE public.ev ADD COLUMN kind text DEFAULT 'x';"
        " CREATE INDEX ev_kind_idx ON public.ev (kind); ALTER TABLE public.ev ADD PRIMARY KEY (id, at);",
        "safe",
        "destructive",
    ),
    Case(
        "hard_identity_options",
        "",
        "CREATE TABLE public.t (id int GENERATED BY DEFAULT AS IDENTITY, v text);",
        "CREATE TABLE public.t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 100 INCREMENT BY 10 CACHE 5),"
        " v text);",
        "safe",
        "safe",
    ),
    Case(
        "hard_routine_signatures",
        "",
        "",
        "CREATE FUNCTION public.stats(VARIADIC xs int[], OUT lo int, OUT hi int) LANGUAGE sql"
        " AS $$ select min(x), max(x) from unnest(xs) x $$;"
        " CREATE FUNCTION public.rows_of(n int DEFAULT 3) RETURNS TABLE (i int, sq int) LANGUAGE sql"
        " AS $$ select g, g * g from generate_series(1, n) g $$;"
        " CREATE FUNCTION public.ids() RETURNS SETOF int LANGUAGE sql STABLE ROWS 10 AS $$ select 1 $$;"
        " CREATE PROCEDURE public.bump(INOUT n int, step int DEFAULT 1) LANGUAGE plpgsql"
        " AS $$ BEGIN n := n + step; END $$;",
        "safe",
        "safe",
    ),
    Case(
        "hard_constraint_variants",
        "CREATE TABLE public.p (a int, b int, UNIQUE (a, b)); CREATE TABLE public.c (a int, b int, n int);",
        "",
        "ALTER TABLE public.c ADD CONSTRAINT c_ab_fk FOREIGN KEY (a, b) REFERENCES public.p (a, b) MATCH FULL"
        " ON DELETE SET NULL;"
        " ALTER TABLE public.c ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID;"
        " ALTER TABLE public.c ADD CONSTRAINT c_n_key UNIQUE NULLS NOT DISTINCT (n);"
        " ALTER TABLE public.c ADD CONSTRAINT n_small CHECK (n < 10) NO INHERIT;",
        "safe",
        "safe",
    ),
    Case(
        "hard_column_collation_and_index_opclass",
        ITEMS,
        "",
        'ALTER TABLE public.items ALTER COLUMN name TYPE text COLLATE "C";'
        " CREATE INDEX items_name_pattern_idx ON public.items (name text_pattern_ops);",
        "any",
        "any",
    ),
    Case(
        "hard_quoted_enum_value_added",
        'CREATE SCHEMA "Odd"; CREATE TABLE "Odd"."T" (c int);',
        "CREATE TYPE \"Odd\".\"Kind\" AS ENUM ('a b', 'z');",
        "CREATE TYPE \"Odd\".\"Kind\" AS ENUM ('a b', 'it''s', 'z', '\"q\"');",
        "safe",
        "destructive",
    ),
    Case(
        "extra_replica_identity_and_storage_parameters",
        ITEMS,
        "",
        "ALTER TABLE public.items REPLICA IDENTITY FULL; ALTER TABLE public.items SET (fillfactor = 70);",
        "safe",
        "safe",
    ),
    Case(
        "extra_composite_type",
        "",
        "",
        "CREATE TYPE public.money_amount AS (value numeric, currency char(3));"
        " CREATE TABLE public.price (id int, amount public.money_amount);",
        "safe",
        "destructive",
    ),
    Case(
        "hard_policy_on_function_with_new_return_type",
        ITEMS + " ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;",
        "CREATE FUNCTION public.cap() RETURNS integer LANGUAGE sql STABLE AS $$ select 100 $$;"
        " CREATE POLICY capped ON public.items FOR SELECT USING (qty < public.cap());"
        " ALTER TABLE public.items ADD CONSTRAINT under_cap CHECK (qty <= public.cap() * 10);",
        "CREATE FUNCTION public.cap() RETURNS bigint LANGUAGE sql STABLE AS $$ select 100::bigint $$;"
        " CREATE POLICY capped ON public.items FOR SELECT USING (qty < public.cap());"
        " ALTER TABLE public.items ADD CONSTRAINT under_cap CHECK (qty <= public.cap() * 10);",
        "any",
        "any",
    ),
    Case(
        "hard_column_type_text_to_integer_needs_using",
        "CREATE TABLE public.t (id int PRIMARY KEY, code text DEFAULT '0');",
        "",
        "ALTER TABLE public.t ALTER COLUMN code DROP DEFAULT;"
        " ALTER TABLE public.t ALTER COLUMN code TYPE integer USING code::integer;"
        " ALTER TABLE public.t ALTER COLUMN code SET DEFAULT 0;",
        "destructive",
        "destructive",
    ),
    Case(
        "hard_view_gains_a_column_under_a_dependent_view",
        ITEMS,
        "CREATE VIEW public.v1 AS SELECT id, name FROM public.items;"
        " CREATE VIEW public.v2 AS SELECT id FROM public.v1; GRANT SELECT ON public.v2 TO <<reader>>;",
        "CREATE VIEW public.v1 AS SELECT id, name, qty FROM public.items;"
        " CREATE VIEW public.v2 AS SELECT id FROM public.v1; GRANT SELECT ON public.v2 TO <<reader>>;",
        "safe",
        "safe",
    ),
    Case(
        "hard_changed_view_keeps_its_instead_of_trigger",
        ITEMS + " CREATE FUNCTION public.v_ins() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN INSERT INTO public.items (id, name) VALUES (NEW.id, NEW.name); RETURN NEW; END $$;",
        "CREATE VIEW public.v AS SELECT id, name FROM public.items;"
        " CREATE TRIGGER v_ins INSTEAD OF INSERT ON public.v FOR EACH ROW EXECUTE FUNCTION public.v_ins();",
        "CREATE VIEW public.v AS SELECT id, name FROM public.items WHERE qty IS NULL;"
        " CREATE TRIGGER v_ins INSTEAD OF INSERT ON public.v FOR EACH ROW EXECUTE FUNCTION public.v_ins();",
        "safe",
        "safe",
    ),
    Case(
        "hard_default_privileges_then_table",
        "CREATE SCHEMA app;",
        "",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO <<reader>>;"
        " CREATE TABLE app.t (id int); CREATE TABLE app.u (id int); REVOKE SELECT ON app.u FROM <<reader>>;",
        "safe",
        "destructive",
    ),
    Case(
        "hard_comments_on_more_kinds",
        ITEMS + PLPGSQL_TOUCH + " CREATE TRIGGER items_touch BEFORE INSERT ON public.items FOR EACH ROW"
        " EXECUTE FUNCTION public.touch();"
        " ALTER TABLE public.items ADD CONSTRAINT qty_ok CHECK (qty >= 0); CREATE SEQUENCE public.s;"
        " CREATE TYPE public.e AS ENUM ('x'); CREATE DOMAIN public.d AS int;"
        " CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.items;"
        " CREATE PROCEDURE public.pr() LANGUAGE sql AS $$ select 1 $$;",
        "COMMENT ON SEQUENCE public.s IS 'old';",
        "COMMENT ON CONSTRAINT qty_ok ON public.items IS 'c'; COMMENT ON TRIGGER items_touch ON public.items IS 't';"
        " COMMENT ON TYPE public.e IS 'e'; COMMENT ON DOMAIN public.d IS 'd'; COMMENT ON SEQUENCE public.s IS 'new';"
        " COMMENT ON MATERIALIZED VIEW public.mv IS 'mv'; COMMENT ON PROCEDURE public.pr() IS 'pr';"
        " COMMENT ON COLUMN public.mv.id IS 'mv id';",
        "safe",
        "safe",
    ),
    Case(
        "hard_named_not_null",
        "",
        "CREATE TABLE public.t (id int, qty int);",
        "CREATE TABLE public.t (id int, qty int CONSTRAINT qty_required NOT NULL);",
        "safe",
        "safe",
    ),
    Case(
        "extra_owner",
        ITEMS,
        "",
        "ALTER TABLE public.items OWNER TO <<writer>>; CREATE SCHEMA app AUTHORIZATION <<reader>>;",
        "safe",
        "any",
    ),
    Case(
        "hard_drop_column_used_by_a_changed_policy",
        "CREATE TABLE public.notes (id int PRIMARY KEY, body text);"
        " ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;",
        "ALTER TABLE public.notes ADD COLUMN author text;"
        " CREATE POLICY mine ON public.notes FOR SELECT USING (author = current_user);",
        "CREATE POLICY mine ON public.notes FOR SELECT USING (body IS NOT NULL);",
        "destructive",
        "safe",
    ),
)
