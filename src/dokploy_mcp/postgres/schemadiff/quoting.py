"""Names and literals in the DDL we write, quoted the way PostgreSQL reads them back.

Written here rather than borrowed from psycopg: the pg-meta route builds the catalog query without loading it.
"""

from __future__ import annotations

import re

from dokploy_mcp.errors import InputError

__all__ = ["ident", "literal", "qualified", "remap_schema"]

# Words that quote_ident quotes (every keyword not UNRESERVED) in PostgreSQL 15 to 18; quoting one more word than
# needed is harmless, one fewer breaks the statement.
_KEYWORDS = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "greatest",
        "group",
        "grouping",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "json",
        "json_array",
        "json_arrayagg",
        "json_exists",
        "json_object",
        "json_objectagg",
        "json_query",
        "json_scalar",
        "json_serialize",
        "json_table",
        "json_value",
        "lateral",
        "leading",
        "least",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "merge_action",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "placing",
        "position",
        "precision",
        "primary",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "session_user",
        "setof",
        "similar",
        "smallint",
        "some",
        "substring",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ]
)
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


def ident(name: str) -> str:
    """``name`` as an identifier: bare when PostgreSQL would read it back unchanged, else double-quoted."""
    if "\x00" in name:
        raise InputError("a name cannot contain a NUL character", field="name")
    if _PLAIN.fullmatch(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(value: str) -> str:
    """``value`` as a string literal that reads the same whatever ``standard_conforming_strings`` says."""
    if "\x00" in value:
        raise InputError("a value cannot contain a NUL character", field="value")
    quoted = value.replace("'", "''")
    if "\\" in quoted:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def remap_schema(text: str, old: str, new: str) -> str:
    """``text`` with names qualified by schema ``old`` qualified by ``new`` instead (two-schema mode).

    The catalog is read with an empty search_path, so every reference to a user schema is written qualified.
    """
    if old == new:
        return text
    pattern = re.compile(r"(?<![A-Za-z0-9_$\"])" + re.escape(ident(old)) + r"(?=\.)")
    return pattern.sub(lambda _m: ident(new), text)
