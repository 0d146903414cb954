"""Dokploy's server-wide settings: health, release, the server IP behind sslip.io hosts, Let's Encrypt."""

from __future__ import annotations

from dokploy_mcp.dokploy.models import WebServerSettings
from dokploy_mcp.dokploy.typed import TypedCalls

__all__ = ["SettingsEndpoints"]


class SettingsEndpoints(TypedCalls):
    """The ``settings.*`` procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient`."""

    async def settings_health(self) -> bool:
        """Whether Dokploy and its database answer (``settings.health``). Unlike :meth:`health` it needs the key.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.health")
        return isinstance(payload, dict) and payload.get("status") == "ok"

    async def settings_get_dokploy_version(self) -> str:
        """The Dokploy release, e.g. ``"v0.30.2"`` (``settings.getDokployVersion``).

        Raises:
            DokployError: see the class docstring.
        """
        return self._str(await self.query("settings.getDokployVersion"), "settings.getDokployVersion")

    async def settings_get_ip(self) -> str:
        """The server IP Dokploy uses for sslip.io hosts, or ``""`` when none was ever detected or set.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.getIp")
        return "" if payload is None else self._str(payload, "settings.getIp")

    async def settings_update_server_ip(self, server_ip: str) -> WebServerSettings | None:
        """Set the server IP that template domains and generated sslip.io hosts derive from.

        Returns the updated settings (None on Dokploy Cloud, which answers ``true``).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("settings.updateServerIp", {"serverIp": server_ip})
        if payload is True:
            return None
        return self._model(WebServerSettings, payload, "settings.updateServerIp")

    async def settings_get_web_server_settings(self) -> WebServerSettings:
        """Server-wide settings: server IP, Dokploy's own host and https, the Let's Encrypt e-mail.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.getWebServerSettings")
        return self._model(WebServerSettings, payload, "settings.getWebServerSettings")
