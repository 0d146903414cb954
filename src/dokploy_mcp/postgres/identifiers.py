"""Names in SQL text: table names as users write them, schema names checked, literals quoted, names shown.

PostgreSQL's rules: a double-quoted part is taken literally (``""`` is a quote inside it), an unquoted part may match
case-insensitively, and a name holds at most 63 bytes and no NUL.
"""

from __future__ import annotations

from collections.abc import Iterable

from dokploy_mcp.errors import InputError

__all__ = ["display_name", "parse_table_name", "quote_literal", "validate_schema_names"]

_NAMEDATALEN = 63
_SAFE_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz_")
_SAFE_REST = _SAFE_FIRST | frozenset("0123456789")


def quote_literal(value: str) -> str:
    """``value`` as a SQL string literal, safe whatever ``standard_conforming_strings`` says."""
    if "\x00" in value:
        raise InputError("a name cannot contain a NUL character", field="name")
    from psycopg import sql  # here: tool modules import this one at start-up, psycopg is not needed until a call

    return sql.Literal(value).as_string()


def parse_table_name(text: str) -> tuple[str, str, bool, bool]:
    """Split ``schema.table`` (or ``table``, meaning ``public``) into its parts.

    Double-quoted parts are taken literally (``"My.Table"``), unquoted ones may match case-insensitively.
    Returns ``(schema, table, schema_quoted, table_quoted)``.
    """
    name = text.strip()
    if not name:
        raise InputError("a table name is empty", field="tables")
    parts = _split_name(name, text)
    if len(parts) > 2:
        raise InputError(f"table name {text!r} has more than two parts: use schema.table", field="tables")
    for part, _ in parts:
        _check_part(part, text)
    if len(parts) == 1:
        return "public", parts[0][0], False, parts[0][1]
    (schema, schema_quoted), (table, table_quoted) = parts
    return schema, table, schema_quoted, table_quoted


def _split_name(name: str, text: str) -> list[tuple[str, bool]]:
    """The dot-separated parts of ``name`` (``text`` stripped), each with whether it was quoted."""
    parts: list[tuple[str, bool]] = []
    i = 0
    while True:
        part, i = _quoted_part(name, i, text) if i < len(name) and name[i] == '"' else _plain_part(name, i, text)
        parts.append(part)
        i = _skip_spaces(name, i)
        if i >= len(name):
            return parts
        if name[i] != ".":
            raise InputError(f"cannot read table name {text!r}: expected schema.table", field="tables")
        i = _skip_spaces(name, i + 1)


def _quoted_part(name: str, start: int, text: str) -> tuple[tuple[str, bool], int]:
    """The quoted part opening at ``start``, and where it ends."""
    j, chars = start + 1, []
    while True:
        if j >= len(name):
            raise InputError(f"unclosed quote in table name {text!r}", field="tables")
        if name[j] == '"':
            if j + 1 < len(name) and name[j + 1] == '"':
                chars.append('"')
                j += 2
                continue
            break
        chars.append(name[j])
        j += 1
    return ("".join(chars), True), j + 1


def _plain_part(name: str, start: int, text: str) -> tuple[tuple[str, bool], int]:
    """The unquoted part starting at ``start`` (up to the next dot), and where it ends."""
    dot = name.find(".", start)
    end = len(name) if dot < 0 else dot
    part = name[start:end].strip()
    if '"' in part:
        raise InputError(f"misplaced quote in table name {text!r}", field="tables")
    return (part, False), end


def _skip_spaces(name: str, i: int) -> int:
    while i < len(name) and name[i] == " ":
        i += 1
    return i


def _check_part(part: str, text: str) -> None:
    if not part:
        raise InputError(f"table name {text!r} has an empty part", field="tables")
    if "\x00" in part:
        raise InputError("a table name cannot contain a NUL character", field="tables")
    if len(part.encode()) > _NAMEDATALEN:
        raise InputError(f"{part[:20]!r}... is longer than PostgreSQL's 63-byte names", field="tables")


def validate_schema_names(schemas: Iterable[str]) -> list[str]:
    """``schemas`` as a list, each checked to be a possible schema name."""
    names = []
    for name in schemas:
        if not name or "\x00" in name or len(name.encode()) > _NAMEDATALEN:
            raise InputError(f"{name[:70]!r} is not a schema name (1 to 63 bytes, no NUL)", field="schemas")
        names.append(name)
    return names


def display_name(schema: str, table: str) -> str:
    """``schema.table`` with each part quoted where it needs to be."""
    return f"{_ident(schema)}.{_ident(table)}"


def _ident(name: str) -> str:
    # Like PostgreSQL's quote_ident, minus its keyword check: enough to show a name unambiguously.
    if name and name[0] in _SAFE_FIRST and all(c in _SAFE_REST for c in name):
        return name
    return '"' + name.replace('"', '""') + '"'
