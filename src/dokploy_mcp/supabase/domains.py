"""The public domain of a Supabase stack: kong (port 8000) is its only routed service.

Importing the template already creates one kong domain, so ``add`` refuses when one exists (update it instead):
two domains for the same stack would leave the URL variables right for only one of them. Every change keeps
SUPABASE_HOST, API_EXTERNAL_URL and SUPABASE_PUBLIC_URL in step with the domain. Domains of a compose become Traefik
labels, so they take effect on the next deploy. Let's Encrypt's ACME e-mail is a server-wide Dokploy setting that we
check and explain, never write.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from dokploy_mcp.dokploy.models import LETS_ENCRYPT_EMAIL_MISSING, Domain
from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envupdate import EnvPlan, plan_env_update
from dokploy_mcp.supabase.stack import KONG_PORT, KONG_SERVICE, SupabaseStack, domain_url, kong_domains

if TYPE_CHECKING:
    # Annotations only: these modules are imported at start-up, and the clients pull in httpx.
    from dokploy_mcp.dokploy.client import DokployClient
    from dokploy_mcp.dokploy.domains import CertificateType

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_host(host: str, *, field: str = "host") -> str:
    """A DNS host name Traefik can route and Let's Encrypt can certify; lower-cased. ``field`` names the argument
    in the error."""
    value = host.strip().lower().rstrip(".")
    if "://" in value or "/" in value or ":" in value:
        raise InputError(
            f"{host!r} is not a host name: give only the name, such as api.example.com (no scheme, port or path)",
            field=field,
        )
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        raise InputError(
            f"{host!r} is an IP address; a domain needs a host name (Let's Encrypt does not certify IPs). Without a "
            "name of your own, an sslip.io name such as api.203-0-113-10.sslip.io works",
            field=field,
        )
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InputError(
            f"{host!r} is not a valid host name: use letters, digits and hyphens in dot-separated labels, such as "
            "api.example.com",
            field=field,
        )
    return value


@dataclass
class DomainChange:
    """What a domain action will do: the domain before and after, and the env change that keeps URLs in step."""

    action: str
    before: Domain | None
    host: str | None
    https: bool | None
    env_plan: EnvPlan | None
    notes: list[str]

    @property
    def url(self) -> str | None:
        if self.host is None:
            return None
        return f"{'https' if self.https else 'http'}://{self.host}"


def target_domain(stack: SupabaseStack, domain_id: str | None) -> Domain:
    domains = kong_domains(stack.compose.domains)
    if domain_id is not None:
        for domain in stack.compose.domains:
            if domain.domain_id == domain_id:
                return domain
        ids = ", ".join(f"{d.domain_id} ({d.host})" for d in stack.compose.domains) or "none"
        raise InputError(f"the stack has no domain {domain_id!r}; its domains: {ids}", field="domain_id")
    if not domains:
        raise InputError("the stack has no kong domain yet: use action 'add'", field="action")
    if len(domains) > 1:
        ids = ", ".join(f"{d.domain_id} ({d.host})" for d in domains)
        raise InputError(f"the stack has several kong domains ({ids}); name one with domain_id", field="domain_id")
    return domains[0]


def _url_plan(env: EnvFile, url: str) -> EnvPlan:
    return plan_env_update(env, set_values={"API_EXTERNAL_URL": url})


def plan_add(stack: SupabaseStack, host: str, https: bool) -> DomainChange:
    existing = kong_domains(stack.compose.domains)
    if existing:
        raise InputError(
            f"the stack already has a kong domain ({existing[0].host}, id {existing[0].domain_id}); use action "
            "'update' to change it (a second domain would leave the URL variables right for only one of them)",
            field="action",
        )
    host = validate_host(host)
    url = f"{'https' if https else 'http'}://{host}"
    return DomainChange("add", None, host, https, _url_plan(stack.env, url), [])


def plan_update(stack: SupabaseStack, domain_id: str | None, host: str | None, https: bool | None) -> DomainChange:
    before = target_domain(stack, domain_id)
    new_host = validate_host(host) if host is not None else before.host
    new_https = before.https if https is None else https
    if new_host == before.host and new_https == before.https:
        notes = ["the domain already has this host and scheme"]
    else:
        notes = []
    url = f"{'https' if new_https else 'http'}://{new_host}"
    plan = _url_plan(stack.env, url) if before.service_name == KONG_SERVICE else None
    return DomainChange("update", before, new_host, new_https, plan, notes)


def plan_remove(stack: SupabaseStack, domain_id: str | None) -> DomainChange:
    before = target_domain(stack, domain_id)
    notes = [
        f"the stack's API will no longer be served at {domain_url(before)} after the next deploy; the URL variables "
        "are left as they are until a new domain is added"
    ]
    return DomainChange("remove", before, None, None, None, notes)


async def apply_domain(client: DokployClient, stack: SupabaseStack, change: DomainChange) -> Domain | None:
    """Create, update or delete the domain in Dokploy; returns the domain as it now is (None after remove)."""
    if change.action in ("add", "update"):
        assert change.host is not None and change.https is not None
        now = await put_domain(client, stack.ref.compose_id, change.before, change.host, change.https)
        return now if change.before is None else await client.domain_one(change.before.domain_id)
    assert change.before is not None
    await client.domain_delete(change.before.domain_id)
    return None


async def put_domain(client: DokployClient, compose_id: str, before: Domain | None, host: str, https: bool) -> Domain:
    """Create the stack's kong domain (port 8000) when ``before`` is None, or point ``before`` at ``host``, keeping
    its route (service, port, path); either way with a Let's Encrypt certificate when ``https``. What Dokploy
    answers."""
    certificate: CertificateType = "letsencrypt" if https else "none"
    if before is None:
        return await client.domain_create(
            host=host,
            compose_id=compose_id,
            service_name=KONG_SERVICE,
            port=KONG_PORT,
            https=https,
            certificate_type=certificate,
        )
    return await client.domain_update(
        before.domain_id,
        host=host,
        https=https,
        certificate_type=certificate,
        service_name=before.service_name or KONG_SERVICE,
        port=before.port or KONG_PORT,
        path=before.path,
    )


async def certificate_note(client: DokployClient, https: bool) -> str | None:
    """Why Let's Encrypt cannot certify an https domain of this server (Dokploy has no ACME e-mail); None when it
    can, or when the domain is not served over https."""
    if not https:
        return None
    settings = await client.settings_get_web_server_settings()
    return None if settings.can_issue_certificates else LETS_ENCRYPT_EMAIL_MISSING


async def restore_domain(client: DokployClient, stack: SupabaseStack, change: DomainChange, now: Domain | None) -> None:
    """Undo :func:`apply_domain` after a later step failed (a removed domain comes back under a new id).

    ``now`` is None when the apply was interrupted before Dokploy answered: what it did is then read from Dokploy,
    so that an added domain is found and a removed one is not created twice."""
    if change.action == "add":
        added = now if now is not None else await _added_domain(client, stack, change)
        if added is not None:
            await client.domain_delete(added.domain_id)
    elif change.action == "remove" and change.before is not None:
        before = change.before
        current = await client.compose_one(stack.ref.compose_id)
        if any(domain.domain_id == before.domain_id for domain in current.domains):
            return  # the delete never landed
        await client.domain_create(
            host=before.host,
            compose_id=stack.ref.compose_id,
            service_name=before.service_name or KONG_SERVICE,
            port=before.port or KONG_PORT,
            https=before.https,
            certificate_type=cast("CertificateType", before.certificate_type or "none"),
            path=before.path,
            internal_path=before.internal_path,
            strip_path=before.strip_path,
            custom_cert_resolver=before.custom_cert_resolver,
        )
    elif change.action == "update" and change.before is not None:
        before = change.before
        await client.domain_update(
            before.domain_id,
            host=before.host,
            https=before.https,
            certificate_type=cast("CertificateType", before.certificate_type or "none"),
            service_name=before.service_name or KONG_SERVICE,
            port=before.port or KONG_PORT,
            path=before.path,
        )


async def _added_domain(client: DokployClient, stack: SupabaseStack, change: DomainChange) -> Domain | None:
    """The domain an interrupted add created, if it did: the stack's domain with the new host that was not there."""
    known = {domain.domain_id for domain in stack.compose.domains}
    current = await client.compose_one(stack.ref.compose_id)
    added = [d for d in current.domains if d.domain_id not in known and d.host == change.host]
    return added[0] if added else None
