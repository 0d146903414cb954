"""Running a compose: deploy, redeploy, stop and start it, its deployments with their build logs, its containers and
their logs.

Deploying and waiting for the outcome is :func:`dokploy_mcp.dokploy.deployments.deploy_and_wait`.
"""

from __future__ import annotations

from dokploy_mcp.dokploy.compose import ComposeType
from dokploy_mcp.dokploy.models import Container, Deployment, DeployResult
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["LifecycleEndpoints"]


class LifecycleEndpoints(TypedCalls):
    """The procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient` that run a compose and watch it run."""

    async def compose_deploy(
        self, compose_id: str, title: str | None = None, description: str | None = None
    ) -> DeployResult:
        """Queue a deploy and return at once; poll :meth:`deployment_all_by_compose` for the outcome.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none({"composeId": compose_id, "title": title, "description": description})
        return self._model(DeployResult, await self.mutate("compose.deploy", body), "compose.deploy")

    async def compose_redeploy(
        self, compose_id: str, title: str | None = None, description: str | None = None
    ) -> DeployResult:
        """Queue a redeploy and return at once; poll :meth:`deployment_all_by_compose` for the outcome.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none({"composeId": compose_id, "title": title, "description": description})
        return self._model(DeployResult, await self.mutate("compose.redeploy", body), "compose.redeploy")

    async def compose_stop(self, compose_id: str) -> bool:
        """Stop the compose's containers (they stay, with their volumes).

        Raises:
            DokployError: see the class docstring.
        """
        return self._bool(await self.mutate("compose.stop", {"composeId": compose_id}), "compose.stop")

    async def compose_start(self, compose_id: str) -> bool:
        """Start the compose's containers again.

        Raises:
            DokployError: see the class docstring.
        """
        return self._bool(await self.mutate("compose.start", {"composeId": compose_id}), "compose.start")

    async def compose_read_logs(
        self,
        compose_id: str,
        container_id: str,
        *,
        tail: int | None = 100,
        since: str | None = None,
        search: str | None = None,
    ) -> str:
        """Recent log lines of one container, with timestamps.

        ``since`` is ``"all"`` (Dokploy's default when None) or ``<n>[smhd]``; ``search`` plain words only. Get
        ``container_id`` from :meth:`docker_get_containers_by_app_name_match`.

        Raises:
            DokployValidationError: a malformed argument.
            DokployError: see the class docstring.
        """
        params = {"composeId": compose_id, "containerId": container_id, "tail": tail, "since": since, "search": search}
        payload = await self.query("compose.readLogs", params)
        return "" if payload is None else self._scrub(self._str(payload, "compose.readLogs"))

    async def deployment_all_by_compose(self, compose_id: str) -> list[Deployment]:
        """The deployments of a compose, newest first.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("deployment.allByCompose", {"composeId": compose_id})
        return self._models(Deployment, payload, "deployment.allByCompose")

    async def deployment_read_logs(self, deployment_id: str, tail: int | None = 100) -> str:
        """The last ``tail`` lines of a deployment's build log (None: Dokploy's default, 100).

        Raises:
            DokployNotFoundError: no such deployment.
            DokployError: see the class docstring.
        """
        payload = await self.query("deployment.readLogs", {"deploymentId": deployment_id, "tail": tail})
        return "" if payload is None else self._scrub(self._str(payload, "deployment.readLogs"))

    async def docker_get_containers_by_app_name_match(
        self,
        app_name: str,
        *,
        app_type: ComposeType | None = "docker-compose",
        server_id: str | None = None,
    ) -> list[Container]:
        """The containers of an app, running or not. With ``app_type`` None, Dokploy greps names instead of
        matching the compose project label.

        Raises:
            DokployError: see the class docstring.
        """
        params = {"appName": app_name, "appType": app_type, "serverId": server_id}
        payload = await self.query("docker.getContainersByAppNameMatch", params)
        return self._models(Container, payload, "docker.getContainersByAppNameMatch")
