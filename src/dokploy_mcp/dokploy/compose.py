"""What a compose service is: its file, env and type, the template it is made from, its file mounts.

Running it (deploy, stop, start, its deployments, containers and logs) is :mod:`dokploy_mcp.dokploy.lifecycle`.
"""

from __future__ import annotations

import base64
import json
from typing import Literal

from dokploy_mcp.dokploy.models import Compose, ImportResult, ProcessedTemplate, Template
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["ComposeEndpoints", "ComposeType", "SourceType", "encode_template"]

ComposeType = Literal["docker-compose", "stack"]
SourceType = Literal["git", "github", "gitlab", "bitbucket", "gitea", "raw"]


def encode_template(compose_yaml: str, template_toml: str) -> str:
    """The ``base64`` input of ``compose.import`` / ``compose.processTemplate``.

    Dokploy expects base64 of the UTF-8 JSON ``{"compose": <docker-compose.yml>, "config": <template.toml>}`` and
    parses the TOML itself (leniently: the Supabase template is not strict TOML).
    """
    payload = json.dumps({"compose": compose_yaml, "config": template_toml}, ensure_ascii=False)
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")


class ComposeEndpoints(TypedCalls):
    """The ``compose.*`` procedures that define a compose, and ``mounts.create``, of
    :class:`~dokploy_mcp.dokploy.client.DokployClient`.
    """

    async def compose_create(
        self,
        name: str,
        environment_id: str,
        *,
        description: str | None = None,
        compose_type: ComposeType = "docker-compose",
        app_name: str | None = None,
        server_id: str | None = None,
        compose_file: str | None = None,
        source_type: SourceType = "raw",
    ) -> Compose:
        """Create a compose service (not deployed). ``source_type`` defaults to raw, not Dokploy's github default.

        Dokploy appends a random suffix to ``app_name``, or invents one when it is None.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "name": name,
                "environmentId": environment_id,
                "description": description,
                "composeType": compose_type,
                "appName": app_name,
                "serverId": server_id,
                "composeFile": compose_file,
                "sourceType": source_type,
            }
        )
        return self._model(Compose, await self.mutate("compose.create", body), "compose.create")

    async def compose_one(self, compose_id: str) -> Compose:
        """A compose with env, compose file, status, environment and project, deployments, domains, mounts, backups.

        Raises:
            DokployNotFoundError: no such compose.
            DokployError: see the class docstring.
        """
        return self._model(Compose, await self.query("compose.one", {"composeId": compose_id}), "compose.one")

    async def compose_update(
        self,
        compose_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        env: str | None = None,
        compose_file: str | None = None,
        source_type: SourceType | None = None,
        compose_type: ComposeType | None = None,
        command: str | None = None,
        app_name: str | None = None,
        compose_path: str | None = None,
        auto_deploy: bool | None = None,
    ) -> Compose:
        """Change fields of a compose; None leaves a field as it is. Takes effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none(
            {
                "composeId": compose_id,
                "name": name,
                "description": description,
                "env": env,
                "composeFile": compose_file,
                "sourceType": source_type,
                "composeType": compose_type,
                "command": command,
                "appName": app_name,
                "composePath": compose_path,
                "autoDeploy": auto_deploy,
            }
        )
        return self._model(Compose, await self.mutate("compose.update", body), "compose.update")

    async def compose_import_template(self, compose_id: str, compose_yaml: str, template_toml: str) -> ImportResult:
        """Replace a compose's file, env, mounts and domains by a processed template (the offline path).

        Existing mounts and domains of the compose are deleted first.

        Raises:
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "base64": encode_template(compose_yaml, template_toml)}
        return self._model(ImportResult, await self.mutate("compose.import", body), "compose.import")

    async def compose_process_template(
        self, compose_id: str, compose_yaml: str, template_toml: str
    ) -> ProcessedTemplate:
        """Dry run of :meth:`compose_import_template`: what the template would produce; nothing is saved.

        Raises:
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "base64": encode_template(compose_yaml, template_toml)}
        payload = await self.mutate("compose.processTemplate", body)
        return self._model(ProcessedTemplate, payload, "compose.processTemplate")

    async def compose_deploy_template(
        self,
        environment_id: str,
        template_id: str,
        *,
        server_id: str | None = None,
        base_url: str | None = None,
    ) -> Compose:
        """Create a compose from the template catalogue (e.g. ``"supabase"``). It does not deploy.

        The Dokploy host fetches the template from ``base_url`` (default templates.dokploy.com), so it needs
        internet access or a mirror; offline it answers 500 "fetch failed".

        Raises:
            DokployAPIError: the template could not be fetched.
            DokployError: see the class docstring.
        """
        body = without_none(
            {"environmentId": environment_id, "id": template_id, "serverId": server_id, "baseUrl": base_url}
        )
        return self._model(Compose, await self.mutate("compose.deployTemplate", body), "compose.deployTemplate")

    async def compose_templates(self, base_url: str | None = None) -> list[Template]:
        """The template catalogue. Dokploy answers ``[]`` when it cannot fetch it, e.g. offline.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("compose.templates", {"baseUrl": base_url})
        return self._models(Template, payload, "compose.templates")

    async def compose_delete(self, compose_id: str, *, delete_volumes: bool) -> Compose:
        """Remove the compose, its containers and its folder on the host (bind-mounted data under ``files/``).

        ``delete_volumes`` has no default on purpose: True also removes the named volumes, i.e. the data.

        Raises:
            DokployNotFoundError: no such compose.
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "deleteVolumes": delete_volumes}
        return self._model(Compose, await self.mutate("compose.delete", body), "compose.delete")

    async def compose_save_environment(self, compose_id: str, env: str, *, create_env_file: bool | None = None) -> bool:
        """Replace the whole env text of a compose (``KEY=VALUE`` lines). Takes effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none({"composeId": compose_id, "env": env, "createEnvFile": create_env_file})
        payload = await self.mutate("compose.saveEnvironment", body)
        return self._bool(payload, "compose.saveEnvironment")

    async def compose_load_services(self, compose_id: str, source: Literal["fetch", "cache"] = "cache") -> list[str]:
        """Service names of the compose file. ``"cache"`` answers 404 until the compose was deployed once.

        Raises:
            DokployNotFoundError: no cached service list yet (with ``source="cache"``).
            DokployError: see the class docstring.
        """
        payload = await self.query("compose.loadServices", {"composeId": compose_id, "type": source})
        if not isinstance(payload, list) or not all(isinstance(item, str) for item in payload):
            raise self._wrong_type("a list of service names", payload, "compose.loadServices")
        names: list[str] = payload
        return names

    async def mounts_create(self, compose_id: str, *, file_path: str, content: str, mount_path: str = "/") -> bool:
        """Add a file mount to a compose: Dokploy writes ``content`` to ``files/<file_path>`` next to the compose
        file, where the compose file can bind-mount it (``../files/...``).

        ``mount_path`` is unused for compose file mounts, but the schema requires it; Dokploy's UI sends ``/``.

        Raises:
            DokployError: see the class docstring.
        """
        body = {
            "type": "file",
            "serviceType": "compose",
            "serviceId": compose_id,
            "filePath": file_path,
            "content": content,
            "mountPath": mount_path,
        }
        return self._bool(await self.mutate("mounts.create", body), "mounts.create")
