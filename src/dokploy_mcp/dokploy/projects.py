"""Projects and their environments, where services go."""

from __future__ import annotations

from dokploy_mcp.dokploy.models import Environment, Project, ProjectCreated
from dokploy_mcp.dokploy.typed import TypedCalls, without_none

__all__ = ["ProjectEndpoints"]


class ProjectEndpoints(TypedCalls):
    """The ``project.*`` and ``environment.*`` procedures of :class:`~dokploy_mcp.dokploy.client.DokployClient`."""

    async def project_all(self) -> list[Project]:
        """Every project visible to the key, with environments and their composes (id, name, status only).

        Raises:
            DokployError: see the class docstring.
        """
        return self._models(Project, await self.query("project.all"), "project.all")

    async def project_one(self, project_id: str) -> Project:
        """One project with its environments and services.

        Raises:
            DokployNotFoundError: no such project.
            DokployError: see the class docstring.
        """
        return self._model(Project, await self.query("project.one", {"projectId": project_id}), "project.one")

    async def project_create(
        self, name: str, description: str | None = None, *, env: str | None = None
    ) -> ProjectCreated:
        """Create a project; Dokploy also creates its ``production`` environment, where services go.

        Raises:
            DokployValidationError: the name is empty.
            DokployError: see the class docstring.
        """
        body = without_none({"name": name, "description": description, "env": env})
        return self._model(ProjectCreated, await self.mutate("project.create", body), "project.create")

    async def project_update(
        self,
        project_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        env: str | None = None,
    ) -> Project:
        """Change a project's name, description or project-level env; None leaves a field as it is.

        Raises:
            DokployError: see the class docstring.
        """
        body = without_none({"projectId": project_id, "name": name, "description": description, "env": env})
        return self._model(Project, await self.mutate("project.update", body), "project.update")

    async def project_remove(self, project_id: str) -> Project:
        """Delete a project's rows. Its containers keep running: delete the services first.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("project.remove", {"projectId": project_id})
        return self._model(Project, payload, "project.remove")

    async def environment_one(self, environment_id: str) -> Environment:
        """One environment with its composes (id, name, status, description, serverId) and its project.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("environment.one", {"environmentId": environment_id})
        return self._model(Environment, payload, "environment.one")

    async def environment_by_project_id(self, project_id: str) -> list[Environment]:
        """The environments of a project.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("environment.byProjectId", {"projectId": project_id})
        return self._models(Environment, payload, "environment.byProjectId")
