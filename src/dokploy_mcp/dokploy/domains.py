"""The domains Traefik routes to the services of a compose."""

from __future__ import annotations

from typing import Literal

from dokploy_mcp.dokploy.models import Domain
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["CertificateType", "DomainEndpoints"]

CertificateType = Literal["letsencrypt", "none", "custom"]


class DomainEndpoints(TypedCalls):
    """The ``domain.*`` procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient`."""

    async def domain_create(
        self,
        *,
        host: str,
        compose_id: str,
        service_name: str,
        port: int,
        https: bool = False,
        certificate_type: CertificateType = "none",
        path: str | None = None,
        internal_path: str | None = None,
        strip_path: bool | None = None,
        custom_cert_resolver: str | None = None,
    ) -> Domain:
        """Route ``host`` to ``service_name:port`` of a compose. It takes effect on the next deploy.

        Raises:
            DokployValidationError: a missing or malformed field.
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "host": host,
                "path": path,
                "port": port,
                "https": https,
                "certificateType": certificate_type,
                "composeId": compose_id,
                "serviceName": service_name,
                "domainType": "compose",
                "internalPath": internal_path,
                "stripPath": strip_path,
                "customCertResolver": custom_cert_resolver,
            }
        )
        return self._model(Domain, await self.mutate("domain.create", body), "domain.create")

    async def domain_by_compose_id(self, compose_id: str) -> list[Domain]:
        """The domains of a compose.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("domain.byComposeId", {"composeId": compose_id})
        return self._models(Domain, payload, "domain.byComposeId")

    async def domain_one(self, domain_id: str) -> Domain:
        """One domain.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Domain, await self.query("domain.one", {"domainId": domain_id}), "domain.one")

    async def domain_update(
        self,
        domain_id: str,
        *,
        host: str,
        https: bool,
        certificate_type: CertificateType,
        service_name: str | None = None,
        port: int | None = None,
        path: str | None = None,
        internal_path: str | None = None,
        strip_path: bool | None = None,
        custom_cert_resolver: str | None = None,
        enabled: bool | None = None,
    ) -> Domain:
        """Change a compose domain. ``https`` and ``certificate_type`` are required so they are never reset by
        omission. Compose domains take effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "domainId": domain_id,
                "host": host,
                "path": path,
                "port": port,
                "https": https,
                "certificateType": certificate_type,
                "serviceName": service_name,
                "domainType": "compose",
                "internalPath": internal_path,
                "stripPath": strip_path,
                "customCertResolver": custom_cert_resolver,
                "enabled": enabled,
            }
        )
        return self._model(Domain, await self.mutate("domain.update", body), "domain.update")

    async def domain_delete(self, domain_id: str) -> Domain:
        """Delete a domain; for a compose, Traefik drops it on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Domain, await self.mutate("domain.delete", {"domainId": domain_id}), "domain.delete")

    async def domain_generate_domain(self, app_name: str, server_id: str | None = None) -> str:
        """A fresh ``<appName>-<hex>-<ip>.sslip.io`` host; the IP is the server IP (127.0.0.1 when unset).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("domain.generateDomain", without_none({"appName": app_name, "serverId": server_id}))
        return self._str(payload, "domain.generateDomain")
