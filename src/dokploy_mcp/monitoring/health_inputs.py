"""What :func:`~dokploy_mcp.monitoring.health.stack_health` is given: views of the stack, its containers and a
database check's answer (each a Protocol that another package's type fits), and the checks it may be handed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.monitoring.tls import CertificateReport

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Deployment, Domain

__all__ = ["ContainerView", "DatabaseCheck", "DatabaseView", "StackRefView", "StackView", "TlsCheck"]


class StackRefView(Protocol):
    """Where the stack is (``supabase.stack.StackRef`` fits): the address tools take, and its human path."""

    @property
    def address(self) -> str: ...

    @property
    def path(self) -> str: ...


class StackView(Protocol):
    """The stack checked (``supabase.stack.SupabaseStack`` fits): its compose services, kong domain and public URL,
    last deployment, and env values (the keys the probes need)."""

    @property
    def ref(self) -> StackRefView: ...

    @property
    def services(self) -> Sequence[str]: ...

    @property
    def kong_domain(self) -> Domain | None: ...

    @property
    def public_url(self) -> str | None: ...

    @property
    def last_deployment(self) -> Deployment | None: ...

    def get(self, key: str) -> str | None: ...


class ContainerView(Protocol):
    """A container of the stack (``monitoring.containers.ServiceContainer`` fits): its compose service, Docker's
    state (``running``, ``exited``...) and status text (``Up 2 hours (healthy)``), and seconds since it started."""

    @property
    def service(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def state(self) -> str | None: ...

    @property
    def status(self) -> str | None: ...

    @property
    def uptime_s(self) -> float | None: ...


class DatabaseView(Protocol):
    """What a database check answers (``services.database.ConnectReport`` fits): ``error`` is why it failed, for the
    tool layer to word into ``problem`` (see :meth:`StackHealth.explain_errors`)."""

    @property
    def ok(self) -> bool: ...

    @property
    def route(self) -> str | None: ...

    @property
    def latency_ms(self) -> float | None: ...

    @property
    def problem(self) -> str | None: ...

    @property
    def error(self) -> DokployMCPError | None: ...


TlsCheck = Callable[[str, int], Awaitable[CertificateReport]]
DatabaseCheck = Callable[[], Awaitable[DatabaseView]]
