"""The corpus of the schema differ, part one: schemas, tables, columns, constraints, indexes, views, functions.

Each case is run as: ``base`` then ``a`` in database A, ``base`` then ``b`` in database B; the diff that makes A
equal to B is applied to A. ``forward`` says what the destructive flags of that diff must say ("destructive": at
least one change is; "safe": none is; "any": not judged); ``reverse`` the same for the diff that makes B equal to A,
applied to B (None: the reverse direction is not run).

Roles are cluster-wide, so cases name them by placeholders (``<<reader>>``...) that the test replaces with the
run's own quoted role names. Where pg_dump prints columns in physical order, B adds columns at the end, as an
ALTER TABLE ... ADD COLUMN on A would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Expect = Literal["destructive", "safe", "any"]


@dataclass(frozen=True)
class Case:
    name: str
    base: str
    a: str
    b: str
    forward: Expect
    reverse: Expect | None
    extensions: tuple[str, ...] = ()


ITEMS = "CREATE TABLE public.items (id integer PRIMARY KEY, name text NOT NULL, qty integer);"

CASES_PART_ONE: tuple[Case, ...] = (
    # --- schemas
    Case("schema_create_empty", "", "", "CREATE SCHEMA app;", "safe", "destructive"),
    Case(
        "schema_create_with_objects",
        "",
        "",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text);"
        " CREATE VIEW app.v AS SELECT id, v FROM app.t; CREATE SEQUENCE app.s;",
        "safe",
        "destructive",
    ),
    # --- tables
    Case(
        "table_create",
        ITEMS,
        "",
        "CREATE TABLE public.logs (id bigint, at timestamptz DEFAULT now());",
        "safe",
        "destructive",
    ),
    Case(
        "table_create_unlogged",
        "",
        "",
        "CREATE UNLOGGED TABLE public.cache (k text PRIMARY KEY, v jsonb);",
        "safe",
        "destructive",
    ),
    Case("table_set_unlogged", ITEMS, "", "ALTER TABLE public.items SET UNLOGGED;", "any", "any"),
    Case(
        "table_partitioned_create",
        "",
        "",
        "CREATE TABLE public.events (id bigint NOT NULL, at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);"
        " CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        " CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
        " CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;"
        " CREATE INDEX events_at_idx ON public.events (at);",
        "safe",
        "destructive",
    ),
    Case(
        "table_partition_add",
        "CREATE TABLE public.m (k int NOT NULL, region text NOT NULL, v text) PARTITION BY LIST (region);"
        " CREATE TABLE public.m_eu PARTITION OF public.m FOR VALUES IN ('eu');"
        " ALTER TABLE public.m ADD PRIMARY KEY (k, region);",
        "",
        "CREATE TABLE public.m_us PARTITION OF public.m FOR VALUES IN ('us', 'ca');",
        "safe",
        "destructive",
    ),
    Case(
        "table_hash_partitions",
        "",
        "",
        "CREATE TABLE public.h (id int NOT NULL, v text) PARTITION BY HASH (id);"
        " CREATE TABLE public.h0 PARTITION OF public.h FOR VALUES WITH (MODULUS 2, REMAINDER 0);"
        " CREATE TABLE public.h1 PARTITION OF public.h FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
        "safe",
        "destructive",
    ),
    Case(
        "table_inherits",
        "CREATE TABLE public.base_t (id int, note text);",
        "",
        "CREATE TABLE public.child_t (extra int) INHERITS (public.base_t);",
        "safe",
        "destructive",
    ),
    # --- columns
    Case("column_add", ITEMS, "", "ALTER TABLE public.items ADD COLUMN price numeric(10,2);", "safe", "destructive"),
    Case(
        "column_add_not_null_default",
        ITEMS,
        "",
        "ALTER TABLE public.items ADD COLUMN status text NOT NULL DEFAULT 'new';",
        "safe",
        "destructive",
    ),
    Case("column_add_serial", ITEMS, "", "ALTER TABLE public.items ADD COLUMN seq_no serial;", "safe", "destructive"),
    Case(
        "column_type_int_to_bigint",
        ITEMS,
        "",
        "ALTER TABLE public.items ALTER COLUMN qty TYPE bigint;",
        "destructive",
        "destructive",
    ),
    Case(
        "column_type_text_to_varchar10",
        ITEMS,
        "",
        "ALTER TABLE public.items ALTER COLUMN name TYPE varchar(10);",
        "destructive",
        "any",
    ),
    Case("column_default_set", ITEMS, "", "ALTER TABLE public.items ALTER COLUMN qty SET DEFAULT 0;", "safe", "safe"),
    Case(
        "column_default_change",
        ITEMS + " ALTER TABLE public.items ADD COLUMN at timestamptz;",
        "ALTER TABLE public.items ALTER COLUMN qty SET DEFAULT 1;"
        " ALTER TABLE public.items ALTER COLUMN at SET DEFAULT now();",
        "ALTER TABLE public.items ALTER COLUMN qty SET DEFAULT 42;"
        " ALTER TABLE public.items ALTER COLUMN at SET DEFAULT (now() + interval '1 day');",
        "safe",
        "safe",
    ),
    Case("column_not_null", ITEMS, "", "ALTER TABLE public.items ALTER COLUMN qty SET NOT NULL;", "safe", "safe"),
    Case(
        "column_identity_add",
        "CREATE TABLE public.t (id integer NOT NULL, v text);",
        "",
        "ALTER TABLE public.t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;",
        "safe",
        "any",
    ),
    Case(
        "column_identity_always_vs_by_default",
        "",
        "CREATE TABLE public.t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);",
        "CREATE TABLE public.t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);",
        "safe",
        "safe",
    ),
    Case(
        "column_generated_add",
        "CREATE TABLE public.line (qty int NOT NULL, unit_price numeric NOT NULL);",
        "",
        "ALTER TABLE public.line ADD COLUMN total numeric GENERATED ALWAYS AS (qty * unit_price) STORED;",
        "safe",
        "destructive",
    ),
    Case(
        "column_generated_change",
        "",
        "CREATE TABLE public.line (qty int NOT NULL, unit_price numeric NOT NULL,"
        " total numeric GENERATED ALWAYS AS (qty * unit_price) STORED);",
        "CREATE TABLE public.line (qty int NOT NULL, unit_price numeric NOT NULL,"
        " total numeric GENERATED ALWAYS AS (qty * unit_price * 1.2) STORED);",
        "any",
        "any",
    ),
    # --- constraints
    Case(
        "constraint_pk_add",
        "CREATE TABLE public.t (id int NOT NULL, v text);",
        "",
        "ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
        "safe",
        "safe",
    ),
    Case(
        "constraint_fk_add",
        ITEMS + " CREATE TABLE public.orders (id int PRIMARY KEY, item_id int);",
        "",
        "ALTER TABLE public.orders ADD CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES public.items (id);",
        "safe",
        "safe",
    ),
    Case(
        "constraint_fk_on_delete_change",
        ITEMS + " CREATE TABLE public.orders (id int PRIMARY KEY, item_id int);",
        "ALTER TABLE public.orders ADD CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES public.items (id)"
        " ON DELETE RESTRICT;",
        "ALTER TABLE public.orders ADD CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES public.items (id)"
        " ON DELETE CASCADE ON UPDATE SET NULL;",
        "safe",
        "safe",
    ),
    Case(
        "constraint_unique_add",
        ITEMS,
        "",
        "ALTER TABLE public.items ADD CONSTRAINT items_name_key UNIQUE (name);",
        "safe",
        "safe",
    ),
    Case(
        "constraint_check_add_and_change",
        ITEMS,
        "ALTER TABLE public.items ADD CONSTRAINT qty_positive CHECK (qty > 0);",
        "ALTER TABLE public.items ADD CONSTRAINT qty_positive CHECK (qty >= 0 AND qty < 1000);"
        " ALTER TABLE public.items ADD CONSTRAINT name_not_blank CHECK (length(btrim(name)) > 0);",
        "safe",
        "safe",
    ),
    Case(
        "constraint_exclusion_range",
        "CREATE TABLE public.booking (id int PRIMARY KEY, during tsrange NOT NULL);",
        "",
        "ALTER TABLE public.booking ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);",
        "safe",
        "safe",
    ),
    Case(
        "constraint_exclusion_btree_gist",
        "CREATE EXTENSION btree_gist; CREATE TABLE public.room_booking (room int NOT NULL, during tsrange NOT NULL);",
        "",
        "ALTER TABLE public.room_booking ADD CONSTRAINT room_no_overlap"
        " EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (room > 0);",
        "safe",
        "safe",
        ("btree_gist",),
    ),
    Case(
        "constraint_deferrable",
        ITEMS + " CREATE TABLE public.orders (id int PRIMARY KEY, item_id int, code text);",
        "ALTER TABLE public.orders ADD CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES public.items (id);"
        " ALTER TABLE public.orders ADD CONSTRAINT orders_code_key UNIQUE (code);",
        "ALTER TABLE public.orders ADD CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES public.items (id)"
        " DEFERRABLE INITIALLY DEFERRED;"
        " ALTER TABLE public.orders ADD CONSTRAINT orders_code_key UNIQUE (code) DEFERRABLE;",
        "safe",
        "safe",
    ),
    # --- indexes
    Case(
        "index_btree",
        ITEMS,
        "",
        "CREATE INDEX items_name_qty_idx ON public.items (name, qty DESC NULLS LAST);",
        "safe",
        "safe",
    ),
    Case(
        "index_partial_and_expression",
        ITEMS,
        "",
        "CREATE INDEX items_lower_name_idx ON public.items (lower(name));"
        " CREATE INDEX items_big_qty_idx ON public.items (qty) WHERE qty > 100;",
        "safe",
        "safe",
    ),
    Case(
        "index_unique_include",
        ITEMS,
        "",
        "CREATE UNIQUE INDEX items_name_uidx ON public.items (name) INCLUDE (qty);",
        "safe",
        "safe",
    ),
    Case(
        "index_gin",
        "CREATE TABLE public.docs (id int PRIMARY KEY, body jsonb, tags text[]);",
        "",
        "CREATE INDEX docs_body_idx ON public.docs USING gin (body jsonb_path_ops);"
        " CREATE INDEX docs_tags_idx ON public.docs USING gin (tags);",
        "safe",
        "safe",
    ),
    Case(
        "index_definition_change",
        ITEMS,
        "CREATE INDEX items_lookup_idx ON public.items (name);",
        "CREATE INDEX items_lookup_idx ON public.items (name, qty);",
        "safe",
        "safe",
    ),
    # --- views and materialized views
    Case(
        "view_create",
        ITEMS,
        "",
        "CREATE VIEW public.big_items AS SELECT id, name FROM public.items WHERE qty > 10;",
        "safe",
        "safe",
    ),
    Case(
        "view_change",
        ITEMS,
        "CREATE VIEW public.v AS SELECT id, name FROM public.items;",
        "CREATE VIEW public.v AS SELECT id, upper(name) AS name FROM public.items WHERE qty IS NOT NULL;",
        "safe",
        "safe",
    ),
    Case(
        "view_chain_change",
        ITEMS,
        "CREATE VIEW public.v1 AS SELECT id, name, qty FROM public.items;"
        " CREATE VIEW public.v2 AS SELECT id, name FROM public.v1 WHERE qty > 0;",
        "CREATE VIEW public.v1 AS SELECT id, name, qty FROM public.items WHERE name <> '';"
        " CREATE VIEW public.v2 AS SELECT id, name FROM public.v1 WHERE qty > 0;",
        "safe",
        "safe",
    ),
    Case(
        "view_options",
        ITEMS,
        "CREATE VIEW public.v AS SELECT id, name FROM public.items;",
        "CREATE VIEW public.v WITH (security_invoker = true, security_barrier = true) AS"
        " SELECT id, name FROM public.items;",
        "safe",
        "safe",
    ),
    Case(
        "matview_create_with_index",
        ITEMS,
        "",
        "CREATE MATERIALIZED VIEW public.item_totals AS SELECT name, sum(qty) AS total FROM public.items GROUP BY name;"
        " CREATE UNIQUE INDEX item_totals_name_idx ON public.item_totals (name);",
        "safe",
        "destructive",
    ),
    Case(
        "matview_change_with_index",
        ITEMS,
        "CREATE MATERIALIZED VIEW public.mv AS SELECT name, sum(qty) AS total FROM public.items GROUP BY name;"
        " CREATE UNIQUE INDEX mv_name_idx ON public.mv (name);",
        "CREATE MATERIALIZED VIEW public.mv AS SELECT name, count(*) AS n FROM public.items GROUP BY name WITH NO DATA;"
        " CREATE UNIQUE INDEX mv_name_idx ON public.mv (name);",
        "destructive",
        "destructive",
    ),
)
