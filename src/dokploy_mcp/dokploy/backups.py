"""Backups of a compose's PostgreSQL (and of a Dokploy postgres service), backups of named volumes, the
S3-compatible destinations they are written to, the files in them, and the restore of one of those files.

The restore is not a REST call: it is a WebSocket subscription, in :mod:`dokploy_mcp.dokploy.restore`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from enum import Enum
from typing import Any, Literal

from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.dokploy.models import Backup, BackupFile, Deployment, Destination, VolumeBackup
from dokploy_mcp.dokploy.restore import BackupType, RestoreLimits, RestoreTarget, stream_restore
from dokploy_mcp.dokploy.typed import TypedCalls, without_none
from dokploy_mcp.errors import InputError

__all__ = ["UNCHANGED", "BackupEndpoints", "DeploymentType", "Unchanged", "VolumeBackupType"]

#: What ``deployment.allByType`` lists runs of: a backup's runs are ``backup``, a volume backup's ``volumeBackup``.
DeploymentType = Literal["application", "compose", "server", "schedule", "previewDeployment", "backup", "volumeBackup"]
#: The kind of service a volume backup belongs to (``volumeBackups.list``'s ``volumeBackupType``).
VolumeBackupType = Literal["application", "postgres", "mysql", "mariadb", "mongo", "redis", "compose", "libsql"]


class Unchanged(Enum):
    """The type of :data:`UNCHANGED`."""

    UNCHANGED = "unchanged"


#: "Keep the current value", where None is a value of its own (``keep_latest_count=None`` keeps every file).
UNCHANGED = Unchanged.UNCHANGED


def _destination_body(
    *,
    name: str,
    provider: str | None,
    access_key: str,
    secret_access_key: SecretStr,
    bucket: str,
    region: str,
    endpoint: str,
    additional_flags: Sequence[str] | None,
    server_id: str | None,
) -> dict[str, Any]:
    # The secret is in clear in rclone's command line, which Dokploy echoes in failed commands and restore logs.
    redact.remember(secret_access_key)
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
    return body


class BackupEndpoints(TypedCalls):
    """The ``destination.*``, ``backup.*`` and ``volumeBackups.*`` procedures of
    :class:`~dokploy_mcp.dokploy.client.DokployClient`, with ``deployment.allByType`` for their runs and the restore
    subscription."""

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
        body = _destination_body(
            name=name,
            provider=provider,
            access_key=access_key,
            secret_access_key=secret_access_key,
            bucket=bucket,
            region=region,
            endpoint=endpoint,
            additional_flags=additional_flags,
            server_id=server_id,
        )
        return self._model(Destination, await self.mutate("destination.create", body), "destination.create")

    async def destination_test_connection(
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
    ) -> None:
        """Check that Dokploy's host reaches the bucket with these settings (``rclone ls``), saving nothing.

        Use provider "Minio" or "Other" for self-hosted S3: with "AWS", rclone asks for virtual-host URLs.

        Raises:
            DokployAPIError: rclone failed (400); its error, scrubbed, is the message.
            DokployError: see the class docstring.
        """
        body = _destination_body(
            name=name,
            provider=provider,
            access_key=access_key,
            secret_access_key=secret_access_key,
            bucket=bucket,
            region=region,
            endpoint=endpoint,
            additional_flags=additional_flags,
            server_id=server_id,
        )
        await self.mutate("destination.testConnection", body)

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

    async def backup_manual_backup_postgres(self, backup_id: str) -> bool:
        """Run a backup of a Dokploy postgres service (``backup_type`` "database") now and wait for the upload.

        On failure Dokploy answers 400 with the whole failed shell command as the message, S3 keys included: the
        client scrubs them; rclone's own error is only in the run's log (:meth:`deployment_all_by_type`).

        Raises:
            DokployAPIError: the backup failed.
            DokployError: see the class docstring.
        """
        payload = await self.mutate("backup.manualBackupPostgres", {"backupId": backup_id})
        return self._bool(payload, "backup.manualBackupPostgres")

    async def backup_create_postgres(
        self,
        *,
        postgres_id: str,
        destination_id: str,
        schedule: str,
        prefix: str,
        database: str,
        enabled: bool = True,
        keep_latest_count: int | None = None,
    ) -> None:
        """Schedule a backup of a Dokploy postgres service (``backupType`` "database"). Its files land in
        ``<postgres appName>/<prefix>/``. Dokploy answers with an empty body: the backup is in the service's rows.

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
                "backupType": "database",
                "postgresId": postgres_id,
            }
        )
        await self.mutate("backup.create", body)

    async def backup_update(
        self,
        backup: Backup,
        *,
        schedule: str | None = None,
        enabled: bool | None = None,
        prefix: str | None = None,
        keep_latest_count: int | Unchanged | None = UNCHANGED,
    ) -> None:
        """Change a scheduled backup. ``backup`` is its current state (:meth:`backup_one`): Dokploy requires every
        field, so those not changed are sent as they are. ``keep_latest_count=None`` keeps every file.

        Raises:
            InputError: ``backup`` lacks a field Dokploy requires (it did not come from :meth:`backup_one`).
            DokployError: see the class docstring.
        """
        required = {
            "destination_id": backup.destination_id,
            "database": backup.database,
            "database_type": backup.database_type,
        }
        for field, value in required.items():
            if not value:
                raise InputError(f"the backup has no {field}: pass the answer of backup_one", field="backup")
        body = {
            "backupId": backup.backup_id,
            "schedule": backup.schedule if schedule is None else schedule,
            "enabled": backup.enabled if enabled is None else enabled,
            "prefix": backup.prefix if prefix is None else prefix,
            "destinationId": backup.destination_id,
            "database": backup.database,
            "keepLatestCount": backup.keep_latest_count if keep_latest_count is UNCHANGED else keep_latest_count,
            "serviceName": backup.service_name,
            "metadata": backup.metadata,
            "databaseType": backup.database_type,
        }
        await self.mutate("backup.update", body)

    async def backup_list_backup_files(
        self, destination_id: str, search: str, server_id: str | None = None
    ) -> list[BackupFile]:
        """At most 100 entries of a destination's bucket (``rclone lsjson``), as paths relative to the bucket.

        ``search`` up to its last ``/`` is the folder to list (``"/"`` for the bucket's root); what follows filters
        the names (case-insensitive substring). A database backup's folder is ``<appName>/<prefix>/``, a compose
        backup's ``<compose appName>_<service>/<prefix>/``.

        Raises:
            InputError: ``search`` is empty (Dokploy's REST adapter would take it for a missing field).
            DokployError: see the class docstring.
        """
        if search == "":
            raise InputError("search must not be empty: pass '/' to list the bucket's root", field="search")
        params = {"destinationId": destination_id, "search": search, "serverId": server_id}
        payload = await self.query("backup.listBackupFiles", params)
        return self._models(BackupFile, payload, "backup.listBackupFiles")

    def restore_backup_with_logs(
        self,
        *,
        backup_type: BackupType,
        database_id: str,
        database_name: str,
        backup_file: str,
        destination_id: str,
        service_name: str | None = None,
        database_user: str | None = None,
        limits: RestoreLimits | None = None,
    ) -> AsyncGenerator[str, None]:
        """Restore ``backup_file`` (a path from :meth:`backup_list_backup_files`) into ``database_name`` and yield
        Dokploy's log lines, scrubbed, as they come; see :func:`~dokploy_mcp.dokploy.restore.stream_restore`.

        ``database_id`` is the postgres service's id for a "database" backup, the compose's id for a "compose" one,
        which also needs ``service_name`` (``db`` for Supabase) and ``database_user``. The values are checked now,
        before any connection; the WebSocket opens at the first iteration. This overwrites the database.

        Raises:
            InputError: a value outside the plain characters Dokploy's listings use.
            DokployRestoreError: the restore failed or its outcome is unknown (raised by the iteration).
            DokployError: see :func:`~dokploy_mcp.dokploy.restore.stream_restore`.
        """
        target = RestoreTarget(
            backup_type=backup_type,
            database_id=database_id,
            database_name=database_name,
            backup_file=backup_file,
            destination_id=destination_id,
            service_name=service_name,
            database_user=database_user,
        )
        return stream_restore(
            target, server=self.name, base_url=self.base_url, api_key=self._api_key, scrub=self._scrub, limits=limits
        )

    # -- runs -----------------------------------------------------------------------------------------------------

    async def deployment_all_by_type(self, owner_id: str, deployment_type: DeploymentType) -> list[Deployment]:
        """The runs of a backup (``"backup"``, ``owner_id`` its backupId) or of a volume backup (``"volumeBackup"``),
        newest first; a run's log is :meth:`deployment_read_logs` of its id.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("deployment.allByType", {"id": owner_id, "type": deployment_type})
        return self._models(Deployment, payload, "deployment.allByType")

    # -- volume backups -------------------------------------------------------------------------------------------

    async def volume_backups_create(
        self,
        *,
        compose_id: str,
        service_name: str,
        volume_name: str,
        name: str,
        prefix: str,
        cron_expression: str,
        destination_id: str,
        turn_off: bool = False,
        keep_latest_count: int | None = None,
        enabled: bool = True,
    ) -> VolumeBackup:
        """Schedule a ``tar`` of a compose's named volume to a destination. ``volume_name`` is Docker's full name
        (``<compose appName>_<volume>``); with ``turn_off`` the service is stopped during the copy. Files land in
        ``<compose appName>_<service_name>/<prefix>/<volume_name>-<time>.tar``.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "name": name,
                "volumeName": volume_name,
                "prefix": prefix,
                "serviceType": "compose",
                "serviceName": service_name,
                "turnOff": turn_off,
                "cronExpression": cron_expression,
                "keepLatestCount": keep_latest_count,
                "enabled": enabled,
                "composeId": compose_id,
                "destinationId": destination_id,
            }
        )
        payload = await self.mutate("volumeBackups.create", body)
        return self._model(VolumeBackup, payload, "volumeBackups.create")

    async def volume_backups_list(
        self, service_id: str, volume_backup_type: VolumeBackupType = "compose"
    ) -> list[VolumeBackup]:
        """The volume backups of one service (a compose by default).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("volumeBackups.list", {"id": service_id, "volumeBackupType": volume_backup_type})
        return self._models(VolumeBackup, payload, "volumeBackups.list")

    async def volume_backups_one(self, volume_backup_id: str) -> VolumeBackup:
        """One volume backup (the compose Dokploy nests in the answer, env included, is dropped).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("volumeBackups.one", {"volumeBackupId": volume_backup_id})
        return self._model(VolumeBackup, payload, "volumeBackups.one")

    async def volume_backups_run_manually(self, volume_backup_id: str) -> None:
        """Run a volume backup now; Dokploy answers when the upload is done (or failed: the run's log says, see
        :meth:`deployment_all_by_type` with ``"volumeBackup"``), with an empty body either way.

        Raises:
            DokployError: see the class docstring.
        """
        await self.mutate("volumeBackups.runManually", {"volumeBackupId": volume_backup_id})

    async def volume_backups_delete(self, volume_backup_id: str) -> None:
        """Delete a volume backup (the files already in the bucket stay).

        Raises:
            DokployError: see the class docstring.
        """
        await self.mutate("volumeBackups.delete", {"volumeBackupId": volume_backup_id})
