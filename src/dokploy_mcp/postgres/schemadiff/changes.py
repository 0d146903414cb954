"""The differ's output (:class:`Change`, :class:`SchemaDiff`) and the plan that orders it while it is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .models import Catalog

__all__ = ["Action", "Change", "Context", "ObjectChanges", "Phase", "Plan", "SchemaDiff"]

Action = Literal["create", "alter", "drop"]


@dataclass(frozen=True)
class Change:
    """One runnable statement and what it does."""

    action: Action
    kind: str
    name: str
    sql: str
    destructive: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class SchemaDiff:
    """The ordered statements that make the target equal to the source."""

    changes: tuple[Change, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def destructive(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.destructive)

    def script(self) -> str:
        return "\n".join(c.sql for c in self.changes) + ("\n" if self.changes else "")


@dataclass(frozen=True)
class ObjectChanges:
    """What a migration creates, alters and drops, each item ``"kind name"``."""

    created: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


class Phase:
    """Where a statement goes in the script: drops of dependents first, creates in dependency order."""

    DROP_POLICY = 10
    DROP_TRIGGER = 11
    DROP_VIEW = 12
    DROP_FK = 13
    DROP_CONSTRAINT = 14
    DROP_INDEX = 15
    DROP_DEFAULT = 16
    DROP_COLUMN = 17
    DROP_TABLE = 18
    RECREATE_DOMAIN = 21
    SCHEMA = 30
    EXTENSION = 31
    ENUM = 32
    DOMAIN = 33
    SEQUENCE = 34
    COMPOSITE = 35
    TABLE = 40
    COLUMN_ADD = 41
    COLUMN_ALTER = 42
    ENUM_DROP_OLD = 43
    # Types, sequences and functions go once no column uses them any more (columns change type at COLUMN_ALTER).
    DROP_FUNCTION = 44
    DROP_SEQUENCE = 45
    DROP_DOMAIN = 46
    DROP_ENUM = 47
    DROP_EXTENSION = 48
    DROP_SCHEMA = 49
    FUNCTION = 50
    DEFAULT_LATE = 51
    SEQUENCE_OWNED = 52
    VIEW = 53
    CONSTRAINT = 55
    FOREIGN_KEY = 56
    INDEX = 57
    TRIGGER = 58
    RLS = 59
    POLICY = 60
    OWNER = 61
    GRANT = 62
    DEFAULT_PRIVILEGES = 63
    COMMENT = 64


@dataclass
class Plan:
    """Changes as they are found, each with its phase; :meth:`diff` orders them."""

    items: list[tuple[int, int, Change]] = field(default_factory=list)

    def add(
        self,
        phase: int,
        action: Action,
        kind: str,
        name: str,
        sql: str,
        *,
        destructive: bool = False,
        reason: str | None = None,
        order: int = 0,
    ) -> None:
        change = Change(action, kind, name, sql if sql.endswith(";") else sql + ";", destructive, reason)
        self.items.append((phase, order, change))

    def diff(self) -> SchemaDiff:
        ranked = sorted(enumerate(self.items), key=lambda item: (item[1][0], item[1][1], item[0]))
        return SchemaDiff(tuple(change for _, (_, _, change) in ranked))


@dataclass
class Context:
    """Both catalogs and what earlier steps decided that later ones need to know."""

    source: Catalog
    target: Catalog
    plan: Plan = field(default_factory=Plan)
    #: Objects (as COMMENT ON / GRANT targets, e.g. ``TABLE public.t``) created or re-created by this diff: they
    #: start with no comment and the default privileges.
    created: set[str] = field(default_factory=set)
    #: Relations dropped or re-created: what hangs on them in the target is gone with them.
    gone: set[tuple[str, str]] = field(default_factory=set)
    #: Tables whose columns change type or are dropped: views, policies and triggers on them are re-created.
    unsettled: set[tuple[str, str]] = field(default_factory=set)
    #: Types re-created (enums whose labels cannot just be added): columns of them are converted.
    retyped: set[tuple[str, str]] = field(default_factory=set)
    #: Functions dropped (also to be re-created with a new signature): views calling them are re-created.
    dropped_functions: set[tuple[str, str, str]] = field(default_factory=set)
