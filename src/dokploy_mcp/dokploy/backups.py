"""Scheduled backups of a compose's PostgreSQL, and the S3-compatible destinations they are written to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from dokploy_mcp.dokploy.models import Backup, Destination
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["BackupEndpoints"]


class BackupEndpoints(TypedCalls):
    """The ``destination.*`` and ``backup.*`` procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient`."""

    # -- destination ----------------------------------------------------------------------------------------------

    async def destination_create(
        self,
        *,
        name: str,
        provider: str | None,
        access_key: str,
        secret_access_key: SecretStr,
        bucket: str,
        region: str,
        endpoint: str,
        additional_flags: Sequence[str] | None = None,
        server_id: str | None = None,
    ) -> Destination:
        """Add an S3-compatible backup destination (``provider`` is rclone's, e.g. "AWS", "Minio", "Cloudflare").

        Raises:
            DokployError: see the class docstring.
        """
        body: dict[str, Any] = {
            "name": name,
            "provider": provider,
            "accessKey": access_key,
            "secretAccessKey": secret_access_key.get_secret_value(),
            "bucket": bucket,
            "region": region,
            "endpoint": endpoint,
            # The schema requires the key even when there are no flags.
            "additionalFlags": list(additional_flags or ()),
        }
        if server_id is not None:
            body["serverId"] = server_id
        return self._model(Destination, await self.mutate("destination.create", body), "destination.create")

    async def destination_all(self) -> list[Destination]:
        """Every backup destination of the organization.

        Raises:
            DokployError: see the class docstring.
        """
        return self._models(Destination, await self.query("destination.all"), "destination.all")

    async def destination_one(self, destination_id: str) -> Destination:
        """One backup destination.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("destination.one", {"destinationId": destination_id})
        return self._model(Destination, payload, "destination.one")

    async def destination_remove(self, destination_id: str) -> Destination:
        """Delete a backup destination (no backup may still use it).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("destination.remove", {"destinationId": destination_id})
        return self._model(Destination, payload, "destination.remove")

    # -- backup ---------------------------------------------------------------------------------------------------

    async def backup_create(
        self,
        *,
        compose_id: str,
        service_name: str,
        destination_id: str,
        schedule: str,
        prefix: str,
        database: str = "postgres",
        database_user: str = "postgres",
        enabled: bool = True,
        keep_latest_count: int | None = None,
    ) -> None:
        """Schedule a backup of the PostgreSQL service ``service_name`` inside a compose (``db`` for Supabase).

        ``schedule`` is a cron expression. Dokploy answers with an empty body: find the new backup's id in
        :meth:`compose_one` (``backups``).

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "schedule": schedule,
                "prefix": prefix,
                "destinationId": destination_id,
                "database": database,
                "databaseType": "postgres",
                "enabled": enabled,
                "keepLatestCount": keep_latest_count,
                "backupType": "compose",
                "composeId": compose_id,
                "serviceName": service_name,
                "metadata": {"postgres": {"databaseUser": database_user}},
            }
        )
        await self.mutate("backup.create", body)

    async def backup_one(self, backup_id: str) -> Backup:
        """One backup with its destination.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Backup, await self.query("backup.one", {"backupId": backup_id}), "backup.one")

    async def backup_remove(self, backup_id: str) -> Backup:
        """Delete a scheduled backup (the files already in the bucket stay).

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Backup, await self.mutate("backup.remove", {"backupId": backup_id}), "backup.remove")

    async def backup_manual_backup_compose(self, backup_id: str) -> bool:
        """Run a compose backup now and wait for it.

        On failure Dokploy answers 400 with a generic message; the cause is in the run's log (the newest
        deployment of the backup, see :meth:`compose_one` and :meth:`deployment_read_logs`).

        Raises:
            DokployAPIError: the backup failed.
            DokployError: see the class docstring.
        """
        payload = await self.mutate("backup.manualBackupCompose", {"backupId": backup_id})
        return self._bool(payload, "backup.manualBackupCompose")
