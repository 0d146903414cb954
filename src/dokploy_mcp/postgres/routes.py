"""Open the route to a database tool's ``target``: direct psycopg, or pg-meta behind a stack's kong gateway.

A connection string (or ``DATABASE_URL``) is reached directly. A Supabase stack's PostgreSQL listens only inside
its Docker network, so a stack is reached through pg-meta at ``<public url>/pg/`` with the service-role key. There,
pg-meta would run everything as its superuser ``supabase_admin``; the route asks it instead (through pg-meta's
encrypted connection header, keyed by the stack's ``PG_META_CRYPTO_KEY``) to connect as the stack's ``postgres``
login, which Supabase's images make a non-superuser: the stronger guard, as DESIGN §6 asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import SecretStr

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.targets import Route, is_connection_string

if TYPE_CHECKING:
    from dokploy_mcp.kong.gateway import KongGateway
    from dokploy_mcp.postgres.introspect import StatementRunner
    from dokploy_mcp.runtime import Runtime


@dataclass
class OpenRoute:
    route: Route
    #: The target with its password masked.
    display: str
    runner: StatementRunner
    notes: list[str] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()


def stack_login_url(env: Any) -> str | None:
    """The stack's ``postgres`` login as pg-meta (inside the stack) reaches it, from the stack's env."""
    password = env.get("POSTGRES_PASSWORD")
    if not password:
        return None
    user = env.get("POSTGRES_USER") or "postgres"
    host = env.get("POSTGRES_HOST") or "db"
    port = env.get("POSTGRES_PORT") or "5432"
    database = env.get("POSTGRES_DB") or "postgres"
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"


async def open_route(runtime: Runtime, target: str | None) -> OpenRoute:
    """The route for ``target``; the caller closes it (a direct route's pool belongs to the runtime and stays)."""
    if target is None or is_connection_string(target):
        database = await runtime.database(target)
        return OpenRoute("direct", database.target, database)
    from dokploy_mcp.postgres.pgmeta import PgMetaRoute
    from dokploy_mcp.supabase.stack import open_stack

    _, stack = await open_stack(target, runtime.servers, runtime.dokploy)
    url = stack.public_url
    anon, service = stack.get("ANON_KEY"), stack.get("SERVICE_ROLE_KEY")
    if url is None or not anon or not service:
        raise InputError(
            f"{stack.ref.path} has no kong domain or no keys, so its database cannot be reached through pg-meta; "
            "add a domain with manage_domain, or pass a connection string as target",
            field="target",
        )
    gateway: KongGateway = runtime.gateway_factory(url, SecretStr(anon), SecretStr(service))
    notes = [
        f"{stack.ref.path}'s PostgreSQL is reachable only inside the stack (POSTGRES_HOST="
        f"{stack.get('POSTGRES_HOST') or 'db'}), so this goes through pg-meta behind its kong gateway"
    ]
    login = stack_login_url(stack)
    crypto_key = stack.get("PG_META_CRYPTO_KEY")
    if login and crypto_key:
        route = PgMetaRoute.via_gateway(gateway, connect_as=SecretStr(login), crypto_key=SecretStr(crypto_key))
        notes.append("connected as the stack's postgres login (not pg-meta's superuser)")
    else:
        route = PgMetaRoute.via_gateway(gateway)
        notes.append(
            "PG_META_CRYPTO_KEY or POSTGRES_PASSWORD is missing from the stack's env, so pg-meta runs this as its "
            "superuser supabase_admin"
        )
    return OpenRoute("pg-meta via kong", f"pg-meta via {url}/pg/", route, notes, [route.aclose, gateway.aclose])
