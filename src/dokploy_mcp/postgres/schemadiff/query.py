"""The one catalog query: everything the differ needs about some schemas, as one row with one JSON column.

It has no bind parameters (schema names come in as quoted literals), so it runs unchanged over the direct route,
through pg-meta (simple protocol) and as the last statement of a longer transaction. It first empties search_path
for its own transaction (``set_config(..., true)``), so the deparsers (pg_get_viewdef, pg_get_expr, format_type, ...)
qualify every name outside pg_catalog: the DDL built from them means the same whatever search_path runs it.
Numbers that may pass 2^53 (sequence bounds) travel as text, since pg-meta parses JSON in JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence

from dokploy_mcp.postgres.identifiers import validate_schema_names

from .quoting import literal

__all__ = ["catalog_query"]

_DEFAULT_FILTER = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations', 'dokploy_mcp')"
    " AND n.nspname !~ '^pg_temp_' AND n.nspname !~ '^pg_toast_temp_'"
)


def _not_member(catalog: str, oid: str) -> str:
    """True when the object is not part of an extension."""
    return (
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = "
        f"'pg_catalog.{catalog}'::pg_catalog.regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )


def _role(oid: str) -> str:
    return f"CASE WHEN {oid} = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid({oid}) END"


def _acl(acl: str, kind: str | None, owner: str | None) -> str:
    """The privileges in ``acl`` (or the built-in default when it is NULL and ``kind`` is given), one per item.

    In the array's order: pg_dump prints grants in that order, so the differ grants in it too.
    """
    source = acl if kind is None else f"coalesce({acl}, pg_catalog.acldefault('{kind}', {owner}))"
    return (
        "(SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object("
        f"'grantee', {_role('a.grantee')}, 'privilege', a.privilege_type, 'grantable', a.is_grantable)"
        "), '[]') FROM pg_catalog.aclexplode("
        f"{source}) a)"
    )


def _list(select: str) -> str:
    return f"(SELECT coalesce(pg_catalog.json_agg(x.o ORDER BY x.k), '[]') FROM ({select}) x)"


_SCHEMAS = f"""SELECT n.nspname AS k, pg_catalog.json_build_object('name', n.nspname,
  'owner', pg_catalog.pg_get_userbyid(n.nspowner), 'comment', pg_catalog.obj_description(n.oid, 'pg_namespace'),
  'acl', {_acl("n.nspacl", "n", "n.nspowner")}) AS o FROM ns n"""

_EXTENSIONS = """SELECT x.extname AS k, pg_catalog.json_build_object('name', x.extname, 'schema', n.nspname,
  'version', x.extversion, 'comment', pg_catalog.obj_description(x.oid, 'pg_extension')) AS o
  FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
  WHERE {ext_filter}"""

_TYPE_COMMON = f"""'schema', n.nspname, 'name', t.typname, 'owner', pg_catalog.pg_get_userbyid(t.typowner),
  'comment', pg_catalog.obj_description(t.oid, 'pg_type'), 'acl', {_acl("t.typacl", "T", "t.typowner")}"""

_ENUMS = f"""SELECT n.nspname || '.' || t.typname AS k, pg_catalog.json_build_object({_TYPE_COMMON},
  'labels', (SELECT pg_catalog.json_agg(v.enumlabel ORDER BY v.enumsortorder) FROM pg_catalog.pg_enum v
    WHERE v.enumtypid = t.oid)) AS o
  FROM pg_catalog.pg_type t JOIN ns n ON n.oid = t.typnamespace
  WHERE t.typtype = 'e' AND {_not_member("pg_type", "t.oid")}"""

_DOMAINS = f"""SELECT n.nspname || '.' || t.typname AS k, pg_catalog.json_build_object({_TYPE_COMMON},
  'base', pg_catalog.format_type(t.typbasetype, t.typtypmod), 'default', t.typdefault, 'not_null', t.typnotnull,
  'collation', CASE WHEN t.typcollation <> 0 AND t.typcollation <> b.typcollation THEN
    (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
     FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
     WHERE co.oid = t.typcollation) END,
  'checks', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', c.conname,
      'definition', pg_catalog.pg_get_constraintdef(c.oid),
      'comment', pg_catalog.obj_description(c.oid, 'pg_constraint')) ORDER BY c.conname), '[]')
    FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c')) AS o
  FROM pg_catalog.pg_type t JOIN ns n ON n.oid = t.typnamespace
  JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
  WHERE t.typtype = 'd' AND {_not_member("pg_type", "t.oid")}"""

_COMPOSITES = f"""SELECT n.nspname || '.' || t.typname AS k, pg_catalog.json_build_object({_TYPE_COMMON},
  'attributes', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', a.attname,
      'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
      'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation THEN
        (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
         FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
         WHERE co.oid = a.attcollation) END,
      'comment', pg_catalog.col_description(t.typrelid, a.attnum)) ORDER BY a.attnum), '[]')
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
    WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)) AS o
  FROM pg_catalog.pg_type t JOIN ns n ON n.oid = t.typnamespace
  JOIN pg_catalog.pg_class r ON r.oid = t.typrelid AND r.relkind = 'c'
  WHERE t.typtype = 'c' AND {_not_member("pg_type", "t.oid")}"""

_SEQ_PARAMS = """'type', pg_catalog.format_type(s.seqtypid, NULL), 'start', s.seqstart::text,
  'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', s.seqmax::text, 'cache', s.seqcache::text,
  'cycle', s.seqcycle"""

_SEQUENCES = f"""SELECT n.nspname || '.' || c.relname AS k, pg_catalog.json_build_object('schema', n.nspname,
  'name', c.relname, 'owner', pg_catalog.pg_get_userbyid(c.relowner), {_SEQ_PARAMS},
  'persistence', c.relpersistence, 'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
  'last_value', CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
    THEN pg_catalog.pg_sequence_last_value(c.oid)::text END,
  'acl', {_acl("c.relacl", "s", "c.relowner")},
  'owned_by', (SELECT pg_catalog.json_build_array(tn.nspname, tc.relname, a.attname)
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = tc.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a' AND d.refobjsubid > 0
    LIMIT 1)) AS o
  FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
  WHERE c.relkind = 'S' AND {_not_member("pg_class", "c.oid")} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')"""

_IDENTITY = f"""(SELECT pg_catalog.json_build_object('schema', sn.nspname, 'name', sc.relname, {_SEQ_PARAMS})
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class sc ON sc.oid = d.objid
    JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
    JOIN pg_catalog.pg_sequence s ON s.seqrelid = sc.oid
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = c.oid
      AND d.refobjsubid = a.attnum AND d.deptype = 'i' LIMIT 1)"""


def _calls(catalog: str, oid: str) -> str:
    """The functions of the listed schemas that an object's expressions call: (schema, name, argument types)."""
    return (
        "(SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_array(zn.nspname, zp.proname,"
        " pg_catalog.oidvectortypes(zp.proargtypes)) ORDER BY zn.nspname, zp.proname), '[]')"
        " FROM pg_catalog.pg_depend zd JOIN pg_catalog.pg_proc zp ON zp.oid = zd.refobjid"
        " JOIN pg_catalog.pg_namespace zn ON zn.oid = zp.pronamespace"
        f" WHERE zd.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass AND zd.objid = {oid}"
        " AND zd.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND zp.pronamespace IN (SELECT oid FROM ns))"
    )


_COLUMNS = f"""(SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', a.attname,
    'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
    'type_schema', tn.nspname, 'type_name', tt.typname,
    'default', CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END,
    'default_calls', CASE WHEN ad.oid IS NOT NULL THEN {_calls("pg_attrdef", "ad.oid")} ELSE '[]' END,
    'not_null_name', (SELECT k.conname FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid
      AND k.contype = 'n' AND k.conkey[1] = a.attnum LIMIT 1),
    'generated', CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END,
    'generated_kind', a.attgenerated, 'identity', a.attidentity,
    'identity_sequence', CASE WHEN a.attidentity <> '' THEN {_IDENTITY} END,
    'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation THEN
      (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
       WHERE co.oid = a.attcollation) END,
    'local', a.attislocal, 'comment', pg_catalog.col_description(c.oid, a.attnum),
    'acl', {_acl("a.attacl", None, None)}) ORDER BY a.attnum), '[]')
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
  JOIN pg_catalog.pg_type tt ON tt.oid = CASE WHEN ty.typelem <> 0 AND ty.typlen = -1 THEN ty.typelem ELSE ty.oid END
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tt.typnamespace
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)"""

_RELATION_COMMON = f"""'schema', n.nspname, 'name', c.relname, 'kind', c.relkind,
  'owner', pg_catalog.pg_get_userbyid(c.relowner), 'options', c.reloptions,
  'comment', pg_catalog.obj_description(c.oid, 'pg_class'), 'acl', {_acl("c.relacl", "r", "c.relowner")},
  'columns', {_COLUMNS}"""

_TABLES = f"""SELECT n.nspname || '.' || c.relname AS k, pg_catalog.json_build_object({_RELATION_COMMON},
  'persistence', c.relpersistence, 'rls', c.relrowsecurity, 'force_rls', c.relforcerowsecurity,
  'replica_identity', c.relreplident, 'replica_index', (SELECT ri.relname FROM pg_catalog.pg_index x
    JOIN pg_catalog.pg_class ri ON ri.oid = x.indexrelid WHERE x.indrelid = c.oid AND x.indisreplident LIMIT 1),
  'partition_key', CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
  'partition_bound', CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
  'parents', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_array(pn.nspname, pc.relname)
      ORDER BY i.inhseqno), '[]')
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
    JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid)) AS o
  FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND {_not_member("pg_class", "c.oid")}"""

_VIEWS = f"""SELECT n.nspname || '.' || c.relname AS k, pg_catalog.json_build_object({_RELATION_COMMON},
  'definition', pg_catalog.pg_get_viewdef(c.oid),
  'depends_on', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_array(y.s, y.r) ORDER BY y.s, y.r), '[]')
    FROM (SELECT DISTINCT dn.nspname AS s, dc.relname AS r FROM pg_catalog.pg_rewrite w
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
      WHERE w.ev_class = c.oid AND d.refobjid <> c.oid) y),
  'calls', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_array(y.s, y.n, y.t) ORDER BY y.s, y.n, y.t),
      '[]')
    FROM (SELECT DISTINCT pn.nspname AS s, p.proname AS n, pg_catalog.oidvectortypes(p.proargtypes) AS t
      FROM pg_catalog.pg_rewrite w
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid
        AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
      WHERE w.ev_class = c.oid AND p.pronamespace IN (SELECT oid FROM ns)) y)) AS o
  FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND {_not_member("pg_class", "c.oid")}"""

_CONSTRAINTS = f"""SELECT n.nspname || '.' || c.relname || '.' || k.conname AS k, pg_catalog.json_build_object(
  'schema', n.nspname, 'table', c.relname, 'name', k.conname, 'type', k.contype,
  'definition', pg_catalog.pg_get_constraintdef(k.oid),
  'index', CASE WHEN k.contype IN ('p', 'u', 'x') THEN
    (SELECT i.relname FROM pg_catalog.pg_class i WHERE i.oid = k.conindid) END,
  'calls', {_calls("pg_constraint", "k.oid")},
  'index_comment', CASE WHEN k.contype IN ('p', 'u', 'x') THEN pg_catalog.obj_description(k.conindid, 'pg_class') END,
  'comment', pg_catalog.obj_description(k.oid, 'pg_constraint')) AS o
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN ns n ON n.oid = c.relnamespace
  WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conislocal AND k.conparentid = 0"""

_INDEXES = f"""SELECT n.nspname || '.' || ic.relname AS k, pg_catalog.json_build_object('schema', n.nspname,
  'table', c.relname, 'name', ic.relname, 'definition', pg_catalog.pg_get_indexdef(i.indexrelid),
  'calls', {_calls("pg_class", "ic.oid")},
  'comment', pg_catalog.obj_description(ic.oid, 'pg_class')) AS o
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN ns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND {_not_member("pg_class", "ic.oid")}
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid
      AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)"""

_FUNCTIONS = f"""SELECT n.nspname || '.' || p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS k,
  pg_catalog.json_build_object('schema', n.nspname, 'name', p.proname, 'kind', p.prokind,
  'types', pg_catalog.oidvectortypes(p.proargtypes),
  'identity', pg_catalog.pg_get_function_identity_arguments(p.oid),
  'arguments', pg_catalog.pg_get_function_arguments(p.oid),
  'result', pg_catalog.pg_get_function_result(p.oid), 'language', l.lanname,
  'definition', pg_catalog.pg_get_functiondef(p.oid), 'owner', pg_catalog.pg_get_userbyid(p.proowner),
  'comment', pg_catalog.obj_description(p.oid, 'pg_proc'), 'acl', {_acl("p.proacl", "f", "p.proowner")}) AS o
  FROM pg_catalog.pg_proc p JOIN ns n ON n.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  WHERE p.prokind IN ('f', 'p', 'w') AND {_not_member("pg_proc", "p.oid")}"""

_TRIGGERS = """SELECT n.nspname || '.' || c.relname || '.' || t.tgname AS k, pg_catalog.json_build_object(
  'schema', n.nspname, 'table', c.relname, 'name', t.tgname, 'definition', pg_catalog.pg_get_triggerdef(t.oid),
  'enabled', t.tgenabled, 'comment', pg_catalog.obj_description(t.oid, 'pg_trigger')) AS o
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN ns n ON n.oid = c.relnamespace
  WHERE NOT t.tgisinternal AND t.tgparentid = 0"""

_POLICIES = f"""SELECT n.nspname || '.' || c.relname || '.' || p.polname AS k, pg_catalog.json_build_object(
  'schema', n.nspname, 'table', c.relname, 'name', p.polname, 'permissive', p.polpermissive,
  'command', p.polcmd, 'roles', (SELECT pg_catalog.json_agg(CASE WHEN r.r = 0 THEN 'PUBLIC'
      ELSE pg_catalog.pg_get_userbyid(r.r) END ORDER BY r.i)
    FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY r(r, i)),
  'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
  'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), 'calls', {_calls("pg_policy", "p.oid")},
  'comment', pg_catalog.obj_description(p.oid, 'pg_policy')) AS o
  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN ns n ON n.oid = c.relnamespace"""

_DEFAULT_ACLS = f"""SELECT pg_catalog.pg_get_userbyid(d.defaclrole) || '.' || coalesce(n.nspname, '') || '.'
    || d.defaclobjtype::text AS k, pg_catalog.json_build_object('role', pg_catalog.pg_get_userbyid(d.defaclrole),
  'schema', n.nspname, 'objtype', d.defaclobjtype, 'acl', {_acl("d.defaclacl", None, None)}) AS o
  FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
  WHERE d.defaclnamespace = 0 OR n.oid IN (SELECT oid FROM ns)"""


def catalog_query(schemas: Sequence[str] | None = None) -> str:
    """One SELECT answering one row, one json column ``catalog``: the given schemas (None: every user schema)."""
    if schemas is None:
        schema_filter = _DEFAULT_FILTER
    else:
        names = validate_schema_names(schemas)
        schema_filter = "n.nspname IN (" + (", ".join(literal(s) for s in names) or "NULL") + ")"
    ns = f"SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n WHERE {schema_filter}"
    ns += f" AND {_not_member('pg_namespace', 'n.oid')}"
    ext_filter = "true" if schemas is None else schema_filter
    parts = {
        "schemas": _SCHEMAS,
        "extensions": _EXTENSIONS.format(ext_filter=ext_filter),
        "enums": _ENUMS,
        "domains": _DOMAINS,
        "composites": _COMPOSITES,
        "sequences": _SEQUENCES,
        "tables": _TABLES,
        "views": _VIEWS,
        "constraints": _CONSTRAINTS,
        "indexes": _INDEXES,
        "functions": _FUNCTIONS,
        "triggers": _TRIGGERS,
        "policies": _POLICIES,
        "default_acls": _DEFAULT_ACLS,
    }
    fields = ",\n".join(f"'{key}', {_list(select)}" for key, select in parts.items())
    # The CTE runs first and once: its set_config empties search_path before any deparser runs.
    return (
        "WITH cfg AS MATERIALIZED (SELECT pg_catalog.set_config('search_path', '', true) AS path),\n"
        f"ns AS MATERIALIZED ({ns})\n"
        "SELECT pg_catalog.json_build_object('version', pg_catalog.current_setting('server_version_num')::int,\n"
        f"'search_path', cfg.path, 'user', current_user::text,\n{fields}) AS catalog FROM cfg"
    )
