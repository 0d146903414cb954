"""A Supabase stack = one Dokploy compose made from the Supabase template; how tools address and read one.

Addressing (DESIGN §2): every stack-scoped tool takes ``stack``: a compose id, or a path ``project/compose`` or
``project/environment/compose``, optionally prefixed with ``server:`` (a name from the instances file). A bare
word that is no compose id is looked up as a compose name. Names compare case-insensitively. Ambiguity is an error
that lists the candidates, so the caller can pick one.

``project.all`` lists composes with only id, name and status, so recognising a Supabase stack needs ``compose.one``
(its compose file and env); lists fetch those concurrently with a bound.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

import anyio

from dokploy_mcp import redact
from dokploy_mcp.config import DokployServers
from dokploy_mcp.dokploy.errors import DokployNotFoundError
from dokploy_mcp.dokploy.models import Compose, Deployment, Domain, Project
from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import NotASupabaseStackError, StackNotFoundError
from dokploy_mcp.supabase.secrets import is_secret

if TYPE_CHECKING:
    # Annotations only: these modules are imported at start-up, and the clients pull in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

#: Services whose presence (with the env keys below) marks a compose as a Supabase stack.
SUPABASE_SERVICES = frozenset({"kong", "auth", "db"})
SUPABASE_ENV_KEYS = ("JWT_SECRET", "ANON_KEY")
KONG_SERVICE = "kong"
KONG_PORT = 8000
#: How many compose.one calls run at once when listing stacks.
FETCH_CONCURRENCY = 8

_COMPOSE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class StackAddress:
    server: str | None
    path: tuple[str, ...]
    raw: str


@dataclass(frozen=True)
class StackRef:
    """A resolved stack: which server, which compose, and its human path."""

    server: str
    compose_id: str
    project: str
    environment: str
    name: str

    @property
    def path(self) -> str:
        return f"{self.project}/{self.environment}/{self.name}"

    @property
    def address(self) -> str:
        """The address a tool call can use to name this stack again (always unambiguous)."""
        return f"{self.server}:{self.compose_id}"


def parse_address(stack: str, servers: DokployServers) -> StackAddress:
    text = stack.strip()
    if not text:
        raise InputError("give a compose id or a path such as myproject/supabase", field="stack")
    server: str | None = None
    if ":" in text:
        prefix, _, rest = text.partition(":")
        prefix = prefix.strip()
        if prefix not in servers.servers:
            known = ", ".join(sorted(servers.servers))
            raise InputError(f"no Dokploy server named {prefix!r} (configured: {known})", field="stack")
        server, text = prefix, rest.strip()
    parts = tuple(part.strip() for part in text.split("/"))
    if not 1 <= len(parts) <= 3 or any(not part for part in parts):
        raise InputError(
            f"{stack!r} is not a stack address: use a compose id, project/compose or project/environment/compose, "
            "optionally prefixed with server:",
            field="stack",
        )
    return StackAddress(server=server, path=parts, raw=stack)


@dataclass(frozen=True)
class ComposeListing:
    """A compose as ``project.all`` shows it, with where it lives."""

    server: str
    project: Project
    environment: str
    compose_id: str
    name: str
    status: str | None

    def ref(self) -> StackRef:
        return StackRef(self.server, self.compose_id, self.project.name, self.environment, self.name)


def list_composes(server: str, projects: Sequence[Project]) -> list[ComposeListing]:
    return [
        ComposeListing(server, project, environment.name, compose.compose_id, compose.name, compose.compose_status)
        for project in projects
        for environment in project.environments
        for compose in environment.compose
    ]


def _matches(listing: ComposeListing, path: tuple[str, ...]) -> bool:
    def same(a: str, b: str) -> bool:
        return a.casefold() == b.casefold()

    if len(path) == 1:
        return same(listing.name, path[0])
    if len(path) == 2:
        return same(listing.project.name, path[0]) and same(listing.name, path[1])
    return same(listing.project.name, path[0]) and same(listing.environment, path[1]) and same(listing.name, path[2])


async def resolve(
    address: StackAddress, servers: DokployServers, client_for: Callable[[str], Awaitable[DokployClient]]
) -> StackRef:
    """The one compose ``address`` names; raises StackNotFoundError or InputError (ambiguous)."""
    server = address.server or servers.default
    client = await client_for(server)
    projects = await client.project_all()
    listings = list_composes(server, projects)
    if len(address.path) == 1 and _COMPOSE_ID.match(address.path[0]):
        by_id = [item for item in listings if item.compose_id == address.path[0]]
        if by_id:
            return by_id[0].ref()
    candidates = [item for item in listings if _matches(item, address.path)]
    if len(candidates) == 1:
        return candidates[0].ref()
    if len(candidates) > 1:
        paths = ", ".join(f"{c.ref().path} (id {c.compose_id})" for c in candidates)
        raise InputError(
            f"{address.raw!r} matches several stacks: {paths}; name one by its full path or its id", field="stack"
        )
    known = ", ".join(sorted(f"{c.ref().path} (id {c.compose_id})" for c in listings)[:20]) or "none"
    raise StackNotFoundError(
        f"no compose {address.raw!r} on Dokploy server {server!r}; composes there: {known}. "
        "dokploy_list_instances lists the Supabase stacks"
    )


def compose_services(compose: Compose) -> list[str]:
    """The service names of the compose file (empty when it does not parse)."""
    return sorted(compose.service_specs())


def is_supabase(compose: Compose) -> bool:
    """The compose file has the kong, auth and db services, and JWT_SECRET or ANON_KEY shows up in its env or its
    compose file. A value is not needed: a stack whose JWT_SECRET or ANON_KEY is missing or empty is still a
    Supabase stack (a broken one), and the tools that repair it (dokploy_regenerate_keys) must be able to open it."""
    if not set(compose_services(compose)) >= SUPABASE_SERVICES:
        return False
    env = EnvFile.parse(compose.env or "")
    if any(key in env for key in SUPABASE_ENV_KEYS):
        return True
    return any(re.search(rf"\$\{{?{key}\b", compose.compose_file or "") for key in SUPABASE_ENV_KEYS)


def kong_domains(domains: Sequence[Domain]) -> list[Domain]:
    return [d for d in domains if d.service_name == KONG_SERVICE]


def domain_url(domain: Domain) -> str:
    scheme = "https" if domain.https else "http"
    path = (domain.path or "/").rstrip("/")
    return f"{scheme}://{domain.host}{path}"


@dataclass
class SupabaseStack:
    """A resolved Supabase stack with its compose, env and kong domain: what every stack tool reads."""

    ref: StackRef
    compose: Compose
    env: EnvFile
    services: list[str] = field(default_factory=list)

    @classmethod
    def from_compose(cls, ref: StackRef, compose: Compose) -> SupabaseStack:
        env = EnvFile.parse(compose.env or "")
        stack = cls(ref, compose, env, compose_services(compose))
        # The stack's secrets are secrets this process now knows: no error or log line may carry them from here on.
        names = env.keys()
        redact.remember(*(env.get(name) for name in names if is_secret(name)))
        if not is_supabase(compose):
            raise NotASupabaseStackError(
                f"{ref.path} (id {ref.compose_id}) is a compose but not a Supabase stack (it needs the kong, auth "
                "and db services and JWT_SECRET / ANON_KEY in its env or compose file); dokploy_list_instances lists "
                "the stacks"
            )
        return stack

    @property
    def kong_domain(self) -> Domain | None:
        found = kong_domains(self.compose.domains)
        return found[0] if found else None

    @property
    def public_url(self) -> str | None:
        """The stack's API URL: its kong domain with the scheme it is served with."""
        domain = self.kong_domain
        return domain_url(domain) if domain else None

    @property
    def last_deployment(self) -> Deployment | None:
        return max(self.compose.deployments, key=lambda d: d.created_at or "", default=None)

    def get(self, key: str) -> str | None:
        return self.env.get(key)


async def load_stack(ref: StackRef, client: DokployClient) -> SupabaseStack:
    try:
        compose = await client.compose_one(ref.compose_id)
    except DokployNotFoundError:
        raise StackNotFoundError(f"compose {ref.compose_id} of {ref.path} no longer exists") from None
    return SupabaseStack.from_compose(ref, compose)


async def gather_bounded(items: Sequence[T], worker: Callable[[T], Awaitable[U]], limit: int) -> list[U]:
    """``worker`` over ``items`` with at most ``limit`` at once, results in input order.

    ``worker`` should not raise: a failure of one item would cancel the others (anyio task-group semantics).
    """
    results: list[U | None] = [None] * len(items)
    semaphore = anyio.Semaphore(limit)

    async def run(index: int, item: T) -> None:
        async with semaphore:
            results[index] = await worker(item)

    async with anyio.create_task_group() as group:
        for index, item in enumerate(items):
            group.start_soon(run, index, item)
    return cast(list[U], results)


async def open_stack(
    stack: str, servers: DokployServers, client_for: Callable[[str], Awaitable[DokployClient]]
) -> tuple[DokployClient, SupabaseStack]:
    """Resolve ``stack`` and load it: the client of its server and the Supabase stack."""
    ref = await resolve(parse_address(stack, servers), servers, client_for)
    client = await client_for(ref.server)
    return client, await load_stack(ref, client)
