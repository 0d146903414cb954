"""The catalog queries behind schema introspection: each one ``SELECT`` that answers one row with one JSON column.

They read ``pg_catalog`` only, without bind parameters (names come in as quoted literals), so they run unchanged over
both routes to a database, and they pass :func:`dokploy_mcp.postgres.sqlguard.require_read_only`. Every list is
capped with ``LIMIT`` and aggregated with ``json_agg``. :mod:`dokploy_mcp.postgres.introspect` runs them and reads
their answers; its docstring says why locked tables are read differently.
"""

from __future__ import annotations

from dokploy_mcp.postgres.identifiers import quote_literal

__all__ = ["MAX_DETAIL_TABLES", "details_query", "names_query", "overview_query"]

MAX_DETAIL_TABLES = 20
"""At most this many tables per :func:`~dokploy_mcp.postgres.introspect.table_details` call."""

_MAX_SCHEMAS = 200
_MAX_EXTENSIONS = 200
_MAX_PUBLICATIONS = 50
_MAX_PUBLICATION_TABLES = 500
_MAX_REFERENCED_BY = 50
_MAX_VIEW_DEFINITION = 4000
_MAX_NAMES_FOR_SUGGESTIONS = 5000

# Schemas that are PostgreSQL's own: pg_catalog, pg_toast, pg_temp_N... (users cannot create pg_* schemas).
_USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
# ACCESS EXCLUSIVE locks held or queued in this database (a migration's ALTER TABLE, a REINDEX, a LOCK TABLE).
# Size functions and the pg_get_*def deparsers take ACCESS SHARE on the table, so they would wait behind such a
# lock until the statement times out: for a locked table they are skipped and the answer says so.
_XLOCKS = """xl AS (
  SELECT l.relation, l.pid FROM pg_catalog.pg_locks l
  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.database =
        (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
)"""


def _lockers(oid: str) -> str:
    """xl rows of the relation ``oid`` or of one of its indexes."""
    return (
        f"SELECT xl.pid FROM xl WHERE xl.relation = {oid}"
        f" OR xl.relation IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = {oid})"
    )


def _locked(oid: str, kind: str) -> str:
    """True when ``oid`` (or for a partitioned table, any member of its tree) is under an ACCESS EXCLUSIVE lock."""
    return (
        f"CASE WHEN {kind} = 'p' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree({oid}) pt"
        f" WHERE EXISTS ({_lockers('pt.relid')})) ELSE EXISTS ({_lockers(oid)}) END"
    )


_NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = {catalog}::regclass"
    " AND d.objid = {oid} AND d.deptype = 'e')"
)
_NOT_REL_EXT = _NOT_EXTENSION_MEMBER.format(catalog="'pg_catalog.pg_class'", oid="c.oid")
_NOT_PROC_EXT = _NOT_EXTENSION_MEMBER.format(catalog="'pg_catalog.pg_proc'", oid="p.oid")


# -- overview --------------------------------------------------------------------------------------------------

# What the overview answers about the objects its CTEs chose (ns, rel, fn and the capped tbl, vw, fnl).
_OVERVIEW_ANSWER = f"""SELECT pg_catalog.json_build_object(
  'database', pg_catalog.current_database(),
  'server_version', pg_catalog.current_setting('server_version'),
  'all_schemas', (SELECT pg_catalog.json_agg(n.nspname ORDER BY n.nspname)
                  FROM (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE {_USER_SCHEMA}
                        ORDER BY 1 LIMIT {_MAX_NAMES_FOR_SUGGESTIONS}) n),
  'schemas_total', (SELECT count(*) FROM ns),
  'schemas', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', s.nspname, 'owner', s.owner,
      'tables', (SELECT count(*) FROM rel WHERE rel.nspname = s.nspname AND rel.relkind IN ('r', 'p', 'f')),
      'views', (SELECT count(*) FROM rel WHERE rel.nspname = s.nspname AND rel.relkind IN ('v', 'm')),
      'functions', (SELECT count(*) FROM fn WHERE fn.nspname = s.nspname)) ORDER BY s.nspname)
    FROM (SELECT * FROM ns ORDER BY nspname LIMIT {_MAX_SCHEMAS}) s),
  'tables_total', (SELECT count(*) FROM rel WHERE relkind IN ('r', 'p', 'f')),
  'tables', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', t.qname, 'kind', t.relkind,
      'rows', CASE WHEN t.relkind = 'p' THEN
                (SELECT sum(pc.reltuples)::bigint FROM pg_catalog.pg_partition_tree(t.oid) pt
                 JOIN pg_catalog.pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf AND pc.reltuples >= 0)
              WHEN t.reltuples < 0 THEN NULL ELSE t.reltuples::bigint END,
      'size', CASE WHEN t.locked THEN NULL WHEN t.relkind = 'f' THEN 0 WHEN t.relkind = 'p' THEN
                (SELECT sum(pg_catalog.pg_total_relation_size(pt.relid))::bigint
                 FROM pg_catalog.pg_partition_tree(t.oid) pt)
              ELSE pg_catalog.pg_total_relation_size(t.oid) END,
      'parts', CASE WHEN t.relkind = 'p' THEN
                 (SELECT count(*) FROM pg_catalog.pg_partition_tree(t.oid) pt WHERE pt.isleaf) END,
      'locked', t.locked, 'rls', t.relrowsecurity, 'force', t.relforcerowsecurity,
      'pol', (SELECT count(*) FROM pg_catalog.pg_policy po WHERE po.polrelid = t.oid),
      'cols', (SELECT count(*) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'fk', (SELECT pg_catalog.json_agg(DISTINCT pg_catalog.format('%I.%I', fn2.nspname, fc.relname))
             FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid
             JOIN pg_catalog.pg_namespace fn2 ON fn2.oid = fc.relnamespace
             WHERE k.conrelid = t.oid AND k.contype = 'f')
    ) ORDER BY t.nspname, t.relname) FROM tbl t),
  'views_total', (SELECT count(*) FROM rel WHERE relkind IN ('v', 'm')),
  'views', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', v.qname, 'kind', v.relkind, 'options', v.reloptions,
      'rows', CASE WHEN v.reltuples < 0 THEN NULL ELSE v.reltuples::bigint END,
      'locked', v.locked,
      'size', CASE WHEN v.relkind = 'm' AND NOT v.locked THEN pg_catalog.pg_total_relation_size(v.oid) END,
      'cols', (SELECT count(*) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped)
    ) ORDER BY v.nspname, v.relname) FROM vw v),
  'functions_total', (SELECT count(*) FROM fn),
  'functions', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', pg_catalog.format('%I.%I', f.nspname, f.proname), 'kind', f.prokind,
      'args', pg_catalog.pg_get_function_identity_arguments(f.oid),
      'result', pg_catalog.pg_get_function_result(f.oid), 'lang', f.lanname, 'secdef', f.prosecdef
    ) ORDER BY f.nspname, f.proname, f.oid) FROM fnl f),
  'extensions', (SELECT pg_catalog.json_agg(e.line ORDER BY e.line)
    FROM (SELECT e.extname || ' ' || e.extversion || ' @' || en.nspname AS line
          FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
          ORDER BY e.extname LIMIT {_MAX_EXTENSIONS}) e),
  'publications', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', p.pubname, 'all_tables', p.puballtables,
      'operations', pg_catalog.json_build_array(
          CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
          CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END),
      'tables', CASE WHEN p.puballtables THEN NULL ELSE
          (SELECT pg_catalog.json_agg(x.t ORDER BY x.t)
           FROM (SELECT pg_catalog.format('%I.%I', pt.schemaname, pt.tablename) AS t
                 FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname
                 ORDER BY 1 LIMIT {_MAX_PUBLICATION_TABLES}) x) END,
      'tables_total', (SELECT count(*) FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname)
    ) ORDER BY p.pubname)
    FROM (SELECT * FROM pg_catalog.pg_publication ORDER BY pubname LIMIT {_MAX_PUBLICATIONS}) p)
) AS overview
"""


def overview_query(schemas: list[str] | None, *, max_tables: int, max_functions: int) -> str:
    """The single SELECT behind :func:`~dokploy_mcp.postgres.introspect.overview` (one row, one json column
    ``overview``)."""
    schema_filter = ""
    if schemas is not None:
        schema_filter = " AND n.nspname IN (" + ", ".join(quote_literal(s) for s in schemas) + ")"
    return f"""
WITH {_XLOCKS}, ns AS (
  SELECT n.oid, n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) AS owner
  FROM pg_catalog.pg_namespace n
  WHERE {_USER_SCHEMA}{schema_filter}
), rel AS (
  SELECT c.oid, ns.nspname, c.relname, c.relkind, c.reltuples, c.relrowsecurity, c.relforcerowsecurity,
         c.reloptions, pg_catalog.format('%I.%I', ns.nspname, c.relname) AS qname
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition AND {_NOT_REL_EXT}
), fn AS (
  SELECT p.oid, ns.nspname, p.proname, p.prokind, p.prosecdef, l.lanname
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  WHERE p.prokind IN ('f', 'p') AND {_NOT_PROC_EXT}
), tbl AS (
  SELECT r.*, {_locked("r.oid", "r.relkind")} AS locked
  FROM (SELECT * FROM rel WHERE relkind IN ('r', 'p', 'f') ORDER BY nspname, relname LIMIT {int(max_tables)}) r
), vw AS (
  SELECT r.*, {_locked("r.oid", "r.relkind")} AS locked
  FROM (SELECT * FROM rel WHERE relkind IN ('v', 'm') ORDER BY nspname, relname LIMIT {int(max_tables)}) r
), fnl AS (
  SELECT * FROM fn ORDER BY nspname, proname, oid LIMIT {int(max_functions)}
)
{_OVERVIEW_ANSWER}"""


# -- table details ---------------------------------------------------------------------------------------------

# Everything about the requested tables (req), found case-insensitively.
_DETAILS_ANSWER = f"""found AS (
  SELECT DISTINCT c.oid, n.nspname, c.relname, c.relkind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN req ON lower(n.nspname) = lower(req.s) AND lower(c.relname) = lower(req.t)
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
  ORDER BY n.nspname, c.relname LIMIT {4 * MAX_DETAIL_TABLES}
), rel AS (
  SELECT f.*, {_locked("f.oid", "f.relkind")} AS locked FROM found f
)
SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
  'schema', rel.nspname, 'table', rel.relname, 'name', pg_catalog.format('%I.%I', rel.nspname, rel.relname),
  'kind', c.relkind, 'owner', pg_catalog.pg_get_userbyid(c.relowner),
  'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
  'rows', CASE WHEN c.relkind = 'p' THEN
            (SELECT sum(pc.reltuples)::bigint FROM pg_catalog.pg_partition_tree(c.oid) pt
             JOIN pg_catalog.pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf AND pc.reltuples >= 0)
          WHEN c.reltuples < 0 OR c.relkind IN ('v', 'f') THEN NULL ELSE c.reltuples::bigint END,
  'locked_by', CASE WHEN rel.locked THEN (SELECT pg_catalog.json_agg(DISTINCT x.pid) FROM (
      SELECT pid FROM ({_lockers("c.oid")}) l
      UNION ALL SELECT xl.pid FROM pg_catalog.pg_partition_tree(c.oid) pt JOIN xl ON xl.relation = pt.relid) x) END,
  'size', CASE WHEN rel.locked THEN NULL WHEN c.relkind IN ('v', 'f') THEN 0 WHEN c.relkind = 'p' THEN
            (SELECT sum(pg_catalog.pg_total_relation_size(pt.relid))::bigint
             FROM pg_catalog.pg_partition_tree(c.oid) pt)
          ELSE pg_catalog.pg_total_relation_size(c.oid) END,
  'rls', c.relrowsecurity, 'force', c.relforcerowsecurity,
  'columns', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'notnull', a.attnotnull,
      'default', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
      'identity', a.attidentity,
      'generated', a.attgenerated, 'comment', pg_catalog.col_description(c.oid, a.attnum)) ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'constraints', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', k.conname, 'type', k.contype,
      'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_constraintdef(k.oid) END)
      ORDER BY k.contype = 'p' DESC, k.conname)
    FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid),
  'indexes', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', ic.relname, 'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_indexdef(i.indexrelid) END,
      'primary', i.indisprimary, 'unique', i.indisunique, 'valid', i.indisvalid,
      'size_bytes', CASE WHEN NOT rel.locked THEN pg_catalog.pg_relation_size(i.indexrelid) END)
      ORDER BY i.indisprimary DESC, ic.relname)
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),
  'triggers', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', tg.tgname, 'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_triggerdef(tg.oid) END,
      'enabled', tg.tgenabled <> 'D')
      ORDER BY tg.tgname)
    FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal),
  'policies', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', po.polname, 'command', po.polcmd, 'permissive', po.polpermissive,
      'roles', (SELECT pg_catalog.json_agg(CASE WHEN r.oid = 0 THEN 'public'
                                             ELSE coalesce(ro.rolname::text, r.oid::text) END ORDER BY r.ord)
                FROM unnest(po.polroles) WITH ORDINALITY AS r(oid, ord)
                LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = r.oid),
      'using', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(po.polqual, po.polrelid) END,
      'with_check', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) END)
      ORDER BY po.polname)
    FROM pg_catalog.pg_policy po WHERE po.polrelid = c.oid),
  'publications', (SELECT pg_catalog.json_agg(pt.pubname ORDER BY pt.pubname)
    FROM pg_catalog.pg_publication_tables pt WHERE pt.schemaname = rel.nspname AND pt.tablename = rel.relname),
  'referenced_by', (SELECT pg_catalog.json_agg(x.ref ORDER BY x.ref)
    FROM (SELECT pg_catalog.format('%I.%I', rn.nspname, rc.relname) || ' (' || k.conname || ')' AS ref
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class rc ON rc.oid = k.conrelid
          JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE k.confrelid = c.oid AND k.contype = 'f'
          ORDER BY 1 LIMIT {_MAX_REFERENCED_BY}) x),
  'view_definition', CASE WHEN c.relkind IN ('v', 'm') AND NOT rel.locked
                     THEN left(pg_catalog.pg_get_viewdef(c.oid), {_MAX_VIEW_DEFINITION}) END
) ORDER BY rel.nspname, rel.relname) AS details
FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid
"""


def details_query(names: list[tuple[str, str]]) -> str:
    """The single SELECT behind :func:`~dokploy_mcp.postgres.introspect.table_details` (one row, one json column
    ``details``).

    It matches names case-insensitively; :func:`~dokploy_mcp.postgres.introspect.table_details` then keeps the exact
    matches where they exist.
    """
    values = ", ".join(f"({quote_literal(s)}, {quote_literal(t)})" for s, t in names)
    return f"""
WITH {_XLOCKS}, req(s, t) AS (VALUES {values}),
{_DETAILS_ANSWER}"""


def names_query() -> str:
    """Every table and view name outside PostgreSQL's schemas (bounded), for suggestions."""
    return f"""
SELECT pg_catalog.json_agg(x.name ORDER BY x.name) AS names
FROM (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_SCHEMA}
      ORDER BY 1 LIMIT {_MAX_NAMES_FOR_SUGGESTIONS}) x
"""
