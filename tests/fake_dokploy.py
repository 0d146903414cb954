"""A stateful in-process double of the Dokploy v0.30.2 REST API, for testing multi-step tools.

Respx replays of single recordings cannot follow a wizard (project → compose → import → env → domain → deploy →
wait) or a repair (write env → redeploy → verify → restore): each step must see what the previous ones wrote, and a
test must be able to break any step. :class:`FakeDokploy` keeps projects, environments, composes, mounts, domains
and deployments in dicts, answers through an ``httpx.MockTransport`` (so the real :class:`DokployClient` runs
unchanged on top), and fails any request on demand (:meth:`FakeDokploy.fail`, :meth:`FakeDokploy.fail_nth_request`).

Every answer is built from a real recording in ``tests/fixtures/dokploy/recordings``: rows are copies of recorded
rows with fresh ids and values, so their key sets are the real ones. Where Dokploy's behaviour cannot be reproduced
(the template processor, docker) the double takes the recorded outcome; ``SIMPLIFICATIONS`` lists every such shortcut.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import yaml
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, DokployServers
from dokploy_mcp.dokploy.client import DokployClient
from tests.dokploy.openapi_contract import operation
from tests.dokploy.recordings import BASE_URL, load

__all__ = ["SERVERS", "SIMPLIFICATIONS", "FakeDokploy", "new_id"]

#: One configured Dokploy server, named "default", at the address the double answers for.
SERVERS = DokployServers(
    default="default",
    servers={
        "default": DokployServerConfig(
            name="default", url="http://dokploy.test:3000", api_key=SecretStr("test-api-key"), api_key_source="test"
        )
    },
)

SIMPLIFICATIONS = """\
* compose.import cannot run Dokploy's template processor: it stores the given compose text as composeFile, but
  env, mounts and domains are those of the recorded import of the real Supabase template
  (compose.one--supabase-imported), whatever template.toml says. The kong domain gets a fresh
  `<appName[:40]>-<6 hex>-<server ip>.sslip.io` host and that host replaces the recorded one in the env.
  compose.deployTemplate does the same for the id "supabase" (composeFile from the same recording); other ids
  answer 500.
* Deployments are rows appearing at once (Dokploy adds them from its queue a moment later). A deployment stays
  "running" for `deploy_polls` reads of deployment.allByCompose or compose.one of its compose, then ends with the
  outcome set by deploy_result() (default: "done", or "error" when the compose file names no service).
  Several running deployments of one compose progress side by side instead of queueing.
* Build logs are the recorded ones (deployment.readLogs / deployment.readLogs--failed-deploy, compose v1 wording)
  with the app name replaced; a running deployment shows the lines before docker compose ran.
* Containers: after a successful deploy, one container per service of the deployed compose file, named
  `<appName>-<service>-1` (compose v2 naming; the recordings show v1's `_web_1` because of the recording host).
  project.remove leaves them running, as the real server does; compose.delete removes them.
* compose.loadServices "cache" answers the recorded 404 until the compose was deployed once, then the services of
  the last deployed file; "fetch" parses the current composeFile.
* Input validation follows the OpenAPI document: missing required fields, wrong JSON types, minLength, enum,
  pattern and number bounds give the recorded 400 shape. A missing required boolean counts as false (the REST
  adapter coerces it, see compose.delete--without-delete-volumes), so compose.delete without deleteVolumes works.
* Unrecorded answers follow Dokploy's source: 404 "<Thing> not found" for unknown ids of environment, domain,
  compose and deployment; project.one lists composes with the columns of findProjectById; environment.byProjectId
  lists composes like environment.one; settings.updateServerIp answers the settings row; a POST on a query answers
  the same 404 as a GET on a mutation; compose.import of undecodable input answers 400 "Error importing template".
* No organizations, members, permissions, git providers, servers, backups or applications: every list of those
  is empty and the single API key sees everything. There is no rate limit.
* Containers get new ids on each successful deploy; their docker status texts are the recorded constants
  ("Up 13 seconds", "Exited (137) Less than a second ago"). compose.stop sets composeStatus "idle" (recorded),
  compose.start "done".
* Timestamps come from a clock that starts at the real time and moves 1 ms per row written, so createdAt orders
  rows by creation. `requests` holds GET parameters as the strings sent on the wire.
"""

_NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
_APP_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_APP_WORDS = (
    ("connect", "calculate", "hack", "index", "parse", "bypass", "compress", "navigate", "override", "program"),
    ("auxiliary", "solid-state", "haptic", "virtual", "digital", "primary", "neural", "optical", "wireless"),
    ("monitor", "application", "system", "transmitter", "protocol", "bus", "circuit", "firewall", "matrix"),
)
_TRPC_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_SUPPORTED",
    408: "TIMEOUT",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_CONTENT",
    429: "TOO_MANY_REQUESTS",
    499: "CLIENT_CLOSED_REQUEST",
    501: "NOT_IMPLEMENTED",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
# The REST handler's own 401 and /api/health carry a charset; tRPC answers do not (recordings' README).
_CHARSET_JSON = "application/json; charset=utf-8"
_JSON = "application/json"
_EMPTY = object()
_SERVICE_LISTS = ("applications", "mariadb", "mongo", "mysql", "postgres", "redis")

# The real Supabase import; its generated host is replaced in the env by each fake import's own.
_SUPABASE = load("compose.one--supabase-imported").response_body
_SUPABASE_HOST: str = _SUPABASE["domains"][0]["host"]
_RECORDED_APP_NAME = load("compose.create--raw").response_body["appName"]
_SUCCESS_LOG: str = load("deployment.readLogs").response_body
_FAILED_LOG: str = load("deployment.readLogs--failed-deploy").response_body


def new_id() -> str:
    """A nanoid like Dokploy's ids: 21 characters of ``A-Za-z0-9_-``."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(21))


def _recorded(name: str, *path: str | int) -> Any:
    node = load(name).response_body
    for part in path:
        node = node[part]
    return copy.deepcopy(node)


def _app_suffix() -> str:
    return "".join(secrets.choice(_APP_SUFFIX_ALPHABET) for _ in range(6))


def _slugify(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "", text.lower().replace(" ", "-"))).strip("-")


def _services(compose_file: str | None) -> list[str]:
    try:
        parsed = yaml.safe_load(compose_file or "")
    except yaml.YAMLError:
        return []
    services = parsed.get("services") if isinstance(parsed, dict) else None
    return [str(name) for name in services] if isinstance(services, dict) else []


class _TRPCError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _not_found(thing: str) -> _TRPCError:
    return _TRPCError(404, f"{thing} not found")


@dataclass
class _Failure:
    procedure: str
    status: int
    message: str
    times: int | None
    when: Callable[[dict[str, Any]], bool] | None
    applied: bool
    error: httpx.HTTPError | None


@dataclass
class _Pending:
    """A deployment that is still running: what it deploys and how it will end."""

    remaining_reads: int
    outcome: Literal["done", "error"]
    env: str | None
    compose_file: str
    services: list[str]


@dataclass
class _Outcome:
    status: Literal["done", "error"]
    times: int | None


def _request_params(request: httpx.Request) -> dict[str, Any]:
    """A tRPC call's input: the query of a GET, the JSON body of a POST (text kept as is when it is not JSON)."""
    if request.method == "GET":
        params: dict[str, Any] = {}
        for key in request.url.params:
            values = request.url.params.get_list(key)
            params[key] = values[0] if len(values) == 1 else values
        return params
    if not request.content:
        return {}
    try:
        decoded = json.loads(request.content)
    except ValueError:
        decoded = request.content.decode("utf-8", "replace")
    return decoded if isinstance(decoded, dict) else {"<body>": decoded}


class FakeDokploy:
    """Dokploy v0.30.2 in memory, reached through :attr:`transport` (see the module docstring)."""

    def __init__(
        self,
        *,
        api_key: str = "test-api-key",
        version: str = "v0.30.2",
        server_ip: str = "",
        lets_encrypt_email: str | None = None,
        template_internet: bool = True,
        deploy_polls: int = 2,
    ) -> None:
        self.api_key = api_key
        self.version = version
        self.template_internet = template_internet
        self.deploy_polls = deploy_polls
        self.organization_id = new_id()
        self.projects: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.composes: dict[str, dict[str, Any]] = {}
        self.mounts: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        #: What docker runs, by appName: composeId, services, state, and the env/compose file it was deployed with.
        self.running: dict[str, dict[str, Any]] = {}
        #: Every request that reached the double, in order: (method, procedure, query or JSON body as sent).
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._clock = datetime.now(UTC).replace(microsecond=0)
        self.settings: dict[str, Any] = _recorded("settings.getWebServerSettings")
        self.settings.update(
            {
                "id": str(uuid.uuid4()),
                "serverIp": server_ip or None,
                "letsEncryptEmail": lets_encrypt_email,
                "createdAt": self._now(),
                "updatedAt": self._now(),
            }
        )
        self._failures: list[_Failure] = []
        self._fail_at: dict[int, int] = {}
        self._outcomes: dict[str | None, _Outcome] = {}
        self._pending: dict[str, _Pending] = {}
        self._deployed_files: dict[str, str] = {}
        self._unique_config_key = 0
        self.transport = httpx.MockTransport(self._handle)
        self._routes: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            "settings.getDokployVersion": ("GET", lambda _: self.version),
            "settings.getIp": ("GET", lambda _: self.settings["serverIp"] or _EMPTY),
            "settings.getWebServerSettings": ("GET", lambda _: copy.deepcopy(self.settings)),
            "settings.updateServerIp": ("POST", self._settings_update_server_ip),
            "settings.health": ("GET", lambda _: {"status": "ok"}),
            "project.all": ("GET", self._project_all),
            "project.one": ("GET", self._project_one),
            "project.create": ("POST", self._project_create),
            "project.remove": ("POST", self._project_remove),
            "environment.one": ("GET", self._environment_one),
            "environment.byProjectId": ("GET", self._environment_by_project_id),
            "compose.create": ("POST", self._compose_create),
            "compose.one": ("GET", self._compose_one),
            "compose.update": ("POST", self._compose_update),
            "compose.saveEnvironment": ("POST", self._compose_save_environment),
            "compose.import": ("POST", self._compose_import),
            "compose.deployTemplate": ("POST", self._compose_deploy_template),
            "compose.deploy": ("POST", lambda body: self._compose_deploy(body, redeploy=False)),
            "compose.redeploy": ("POST", lambda body: self._compose_deploy(body, redeploy=True)),
            "compose.stop": ("POST", lambda body: self._compose_stop_start(body, state="exited")),
            "compose.start": ("POST", lambda body: self._compose_stop_start(body, state="running")),
            "compose.delete": ("POST", self._compose_delete),
            "compose.loadServices": ("GET", self._compose_load_services),
            "deployment.allByCompose": ("GET", self._deployment_all_by_compose),
            "deployment.readLogs": ("GET", self._deployment_read_logs),
            "domain.create": ("POST", self._domain_create),
            "domain.one": ("GET", self._domain_one),
            "domain.update": ("POST", self._domain_update),
            "domain.delete": ("POST", self._domain_delete),
            "domain.byComposeId": ("GET", self._domain_by_compose_id),
            "domain.generateDomain": ("POST", lambda body: self._generate_host(body["appName"])),
            "docker.getContainersByAppNameMatch": ("GET", self._docker_containers),
        }

    # -- test API ---------------------------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> DokployClient:
        """A real DokployClient wired to this double; its retries do not sleep. ``kwargs`` override anything."""

        async def no_sleep(_: float) -> None:
            return None

        options: dict[str, Any] = {
            "base_url": BASE_URL,
            "api_key": SecretStr(self.api_key),
            "transport": self.transport,
            "sleep": no_sleep,
        }
        options.update(kwargs)
        return DokployClient(**options)

    def fail(
        self,
        procedure: str,
        *,
        status: int = 500,
        message: str = "injected failure",
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
        applied: bool = False,
        error: httpx.HTTPError | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``procedure`` (None: every call) for which ``when(params)`` holds fail.

        By default the call changes nothing and answers ``status`` in Dokploy's error shape. ``applied=True`` runs
        the call first, then fails the answer: the write landed but the caller never learns it. ``error`` raises
        that httpx exception (a timeout, a reset connection) instead of answering.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        self._failures.append(_Failure(procedure, status, message, times, when, applied, error))

    def fail_nth_request(self, n: int, status: int = 500) -> None:
        """The ``n``-th request from now (1-based, retries included) fails with ``status``, whatever it is."""
        if n < 1:
            raise ValueError("n is 1-based")
        self._fail_at[len(self.requests) + n] = status

    def deploy_result(
        self, compose_id: str | None, status: Literal["done", "error"], *, times: int | None = None
    ) -> None:
        """How the next deployments of ``compose_id`` (None: of every compose without its own setting) end.

        ``times`` None keeps the setting until it is changed; otherwise it applies to that many deployments.
        """
        if status not in ("done", "error"):
            raise ValueError(f"a deployment ends in 'done' or 'error', not {status!r}")
        self._outcomes[compose_id] = _Outcome(status, times)

    def add_supabase_stack(
        self,
        project_name: str = "shop",
        compose_name: str = "supabase",
        *,
        env: str | None = None,
        domains: list[dict[str, Any]] | None = None,
        deployed: bool = False,
    ) -> dict[str, Any]:
        """A Supabase compose as compose.import of the real template leaves it, without going through HTTP.

        ``env`` replaces the generated env text; ``domains`` (domain.create-style fields) replace the kong domain.
        ``deployed`` adds a finished deployment and running containers. Returns the compose as compose.one shows it.
        """
        environment = self._environment_for(project_name)
        compose = self._new_compose(
            environment["environmentId"],
            name=compose_name,
            source_type="raw",
            description=None,
            compose_file=_SUPABASE["composeFile"],
        )
        self._apply_supabase_template(compose, _SUPABASE["composeFile"], host_prefix=compose["appName"])
        if env is not None:
            compose["env"] = env
        if domains is not None:
            self._drop_domains(compose["composeId"])
            for fields in domains:
                self._insert_domain({"composeId": compose["composeId"], "domainType": "compose", **fields})
        if deployed:
            self._deployed_now(compose)
        return self._compose_view(compose["composeId"])

    def add_compose(self, project_name: str, compose_name: str, compose_file: str, env: str = "") -> dict[str, Any]:
        """A never-deployed raw compose, created without going through HTTP. Returns it as compose.one shows it."""
        environment = self._environment_for(project_name)
        compose = self._new_compose(
            environment["environmentId"],
            name=compose_name,
            source_type="raw",
            description=None,
            compose_file=compose_file,
        )
        compose["env"] = env
        return self._compose_view(compose["composeId"])

    # -- HTTP -------------------------------------------------------------------------------------------------------

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        procedure = path.removeprefix("/api/") if path.startswith("/api/") else path
        content_type = request.headers.get("content-type", "")
        params = _request_params(request)
        self.requests.append((request.method, procedure, params))
        number = len(self.requests)

        nth_status = self._fail_at.pop(number, None)
        if nth_status is not None:
            return self._error(nth_status, "injected failure", procedure)
        if path == "/api/health" and request.method == "GET":
            return self._json({"ok": True}, content_type=_CHARSET_JSON)
        if request.headers.get("x-api-key") != self.api_key:
            return self._json(_recorded("project.all--bad-api-key"), status=401, content_type=_CHARSET_JSON)
        route = self._routes.get(procedure)
        if not path.startswith("/api/") or route is None or route[0] != request.method:
            return self._json(_recorded("project.create--wrong-method-get"), status=404)

        failure = self._take_failure(procedure, params)
        if failure is not None and not failure.applied:
            return self._fail_with(failure, procedure)
        if request.method == "POST" and content_type.split(";")[0].strip() != "application/json":
            message = f'Unsupported content-type "{content_type}'
            return self._error(415, message, procedure)

        method, handler = route
        try:
            data = self._validated(method, procedure, params)
            result = handler(data)
        except _TRPCError as exc:
            zod = exc.zod if isinstance(exc, _ValidationError) else None
            response = self._error(exc.status, exc.message, procedure, zod)
        else:
            response = self._answer(result)
        if failure is not None:
            return self._fail_with(failure, procedure)
        return response

    def _take_failure(self, procedure: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self._failures:
            if failure.procedure != procedure:
                continue
            if failure.when is not None and not failure.when(params):
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times == 0:
                    self._failures.remove(failure)
            return failure
        return None

    def _fail_with(self, failure: _Failure, procedure: str) -> httpx.Response:
        if failure.error is not None:
            raise failure.error
        return self._error(failure.status, failure.message, procedure)

    @staticmethod
    def _json(payload: Any, *, status: int = 200, content_type: str = _JSON) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(payload).encode(), headers={"content-type": content_type})

    def _answer(self, result: Any) -> httpx.Response:
        if result is _EMPTY:
            return httpx.Response(200, content=b"", headers={"content-type": _JSON})
        return self._json(result)

    def _error(self, status: int, message: str, procedure: str, zod: dict[str, Any] | None = None) -> httpx.Response:
        if status == 401:
            # Dokploy's REST handler refuses keys before tRPC runs, with its own bare shape.
            return self._json({"message": message}, status=401, content_type=_CHARSET_JSON)
        code = _TRPC_CODES.get(status, "INTERNAL_SERVER_ERROR")
        body: dict[str, Any] = {
            "message": message,
            "code": code,
            "data": {"code": code, "httpStatus": status, "path": procedure, "zodError": None},
        }
        if zod is not None:
            body["data"]["zodError"] = zod["zodError"]
            body["issues"] = zod["issues"]
        return self._json(body, status=status)

    # -- input validation -------------------------------------------------------------------------------------------

    def _validated(self, method: str, procedure: str, params: dict[str, Any]) -> dict[str, Any]:
        """The input as the handler sees it, or the recorded 400 when the OpenAPI schema refuses it."""
        op = operation(method, f"/api/{procedure}")
        if op is None:
            return dict(params)
        if method == "GET":
            fields = {p["name"]: (p.get("schema", {}), bool(p.get("required"))) for p in op.get("parameters", [])}
        else:
            schema = op.get("requestBody", {}).get("content", {}).get(_JSON, {}).get("schema", {})
            required_names = set(schema.get("required", []))
            fields = {name: (sub, name in required_names) for name, sub in schema.get("properties", {}).items()}
        data: dict[str, Any] = {}
        issues: list[dict[str, Any]] = []
        for name, (schema, required) in fields.items():
            types = _schema_types(schema)
            if name not in params:
                if "default" in schema:
                    data[name] = schema["default"]
                elif required and types == ["boolean"]:
                    data[name] = False
                elif required:
                    expected = types[0] if types else "string"
                    issues.append(_issue_missing(name, expected))
                continue
            value = params[name]
            if method == "GET":
                value = _coerce_query(value, types)
            problem = _value_problem(name, value, schema, types)
            if problem is not None:
                issues.append(problem)
            else:
                data[name] = value
        if issues:
            field_errors: dict[str, list[str]] = {}
            for issue in issues:
                field_errors.setdefault(str(issue["path"][0]), []).append(issue["message"])
            zod = {"zodError": {"formErrors": [], "fieldErrors": field_errors}, "issues": issues}
            raise _ValidationError(zod)
        return data

    # -- state helpers ----------------------------------------------------------------------------------------------

    def _now(self) -> str:
        # Strictly increasing, so ordering by createdAt is the order of creation as on the real server.
        self._clock += timedelta(milliseconds=1)
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _generate_host(self, name: str) -> str:
        ip = (self.settings["serverIp"] or "127.0.0.1").replace(".", "-").replace(":", "-")
        # 40 characters of the name keep the DNS label under 63 (domain.generateDomain cuts there too).
        return f"{name[:40]}-{secrets.token_hex(3)}-{ip}.sslip.io"

    def _new_app_name(self, given: str | None) -> str:
        suffix = _app_suffix()
        if given:
            return f"{given}-{suffix}"
        words = "-".join(secrets.choice(choices) for choices in _APP_WORDS)
        return f"compose-{words}-{suffix}"

    def _project(self, project_id: str) -> dict[str, Any]:
        project = self.projects.get(project_id)
        if project is None:
            raise _not_found("Project")
        return project

    def _environment(self, environment_id: str) -> dict[str, Any]:
        environment = self.environments.get(environment_id)
        if environment is None:
            raise _not_found("Environment")
        return environment

    def _compose(self, compose_id: str) -> dict[str, Any]:
        compose = self.composes.get(compose_id)
        if compose is None:
            raise _not_found("Compose")
        return compose

    def _domain(self, domain_id: str) -> dict[str, Any]:
        domain = self.domains.get(domain_id)
        if domain is None:
            raise _not_found("Domain")
        return domain

    def _new_project(self, name: str, description: str | None, env: str | None) -> dict[str, Any]:
        project: dict[str, Any] = _recorded("project.create", "project")
        project.update(
            {
                "projectId": new_id(),
                "name": name,
                "description": description,
                "createdAt": self._now(),
                "organizationId": self.organization_id,
                "env": env if env is not None else "",
            }
        )
        self.projects[project["projectId"]] = project
        environment: dict[str, Any] = _recorded("project.create", "environment")
        environment.update({"environmentId": new_id(), "createdAt": self._now(), "projectId": project["projectId"]})
        self.environments[environment["environmentId"]] = environment
        return project

    def _environment_for(self, project_name: str) -> dict[str, Any]:
        project = next((p for p in self.projects.values() if p["name"] == project_name), None)
        if project is None:
            project = self._new_project(project_name, None, None)
        return next(e for e in self.environments.values() if e["projectId"] == project["projectId"] and e["isDefault"])

    def _new_compose(
        self,
        environment_id: str,
        *,
        name: str,
        source_type: str,
        description: str | None,
        compose_file: str,
        app_name: str | None = None,
        compose_type: str = "docker-compose",
        server_id: str | None = None,
    ) -> dict[str, Any]:
        compose: dict[str, Any] = _recorded("compose.create--supabase")
        compose.update(
            {
                "composeId": new_id(),
                "name": name,
                "appName": app_name or self._new_app_name(None),
                "description": description,
                "env": None,
                "composeFile": compose_file,
                "refreshToken": new_id(),
                "sourceType": source_type,
                "composeType": compose_type,
                "composeStatus": "idle",
                "environmentId": environment_id,
                "createdAt": self._now(),
                "serverId": server_id,
            }
        )
        self.composes[compose["composeId"]] = compose
        return compose

    def _insert_domain(self, fields: dict[str, Any]) -> dict[str, Any]:
        domain: dict[str, Any] = _recorded("domain.create")
        self._unique_config_key += 1
        domain.update(
            {
                "domainId": new_id(),
                "host": fields["host"],
                "https": False,
                "port": None,
                "customEntrypoint": None,
                "path": "/",
                "serviceName": None,
                "domainType": "application",
                "uniqueConfigKey": self._unique_config_key,
                "createdAt": self._now(),
                "composeId": None,
                "customCertResolver": None,
                "applicationId": None,
                "previewDeploymentId": None,
                "certificateType": "none",
                "internalPath": "/",
                "stripPath": False,
                "middlewares": [],
                "forwardAuthEnabled": False,
                "enabled": True,
            }
        )
        for key, value in fields.items():
            if key in domain and key not in {"domainId", "uniqueConfigKey", "createdAt"} and value is not None:
                domain[key] = value
        self.domains[domain["domainId"]] = domain
        return domain

    def _drop_domains(self, compose_id: str) -> None:
        for domain_id in [d for d, row in self.domains.items() if row["composeId"] == compose_id]:
            del self.domains[domain_id]

    def _apply_supabase_template(self, compose: dict[str, Any], compose_file: str, *, host_prefix: str) -> None:
        """What compose.import of the Supabase template leaves: its env, mounts and kong domain, fresh ids."""
        compose_id = compose["composeId"]
        for mount_id in [m for m, row in self.mounts.items() if row["composeId"] == compose_id]:
            del self.mounts[mount_id]
        self._drop_domains(compose_id)
        host = self._generate_host(host_prefix)
        compose["composeFile"] = compose_file
        compose["sourceType"] = "raw"
        compose["env"] = _SUPABASE["env"].replace(_SUPABASE_HOST, host)
        for recorded_mount in _SUPABASE["mounts"]:
            mount = copy.deepcopy(recorded_mount)
            mount.update({"mountId": new_id(), "composeId": compose_id})
            self.mounts[mount["mountId"]] = mount
        for recorded_domain in _SUPABASE["domains"]:
            fields = {k: v for k, v in recorded_domain.items() if k not in {"domainId", "uniqueConfigKey", "createdAt"}}
            self._insert_domain({**fields, "host": host, "composeId": compose_id})

    def _compose_mounts(self, compose_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(m) for m in self.mounts.values() if m["composeId"] == compose_id]

    def _compose_domains(self, compose_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.domains.values() if d["composeId"] == compose_id]

    def _compose_deployments(self, compose_id: str) -> list[dict[str, Any]]:
        """Oldest first, as compose.one lists them."""
        return [copy.deepcopy(d) for d in self.deployments.values() if d["composeId"] == compose_id]

    def _compose_view(self, compose_id: str, *, for_delete: bool = False) -> dict[str, Any]:
        compose = self._compose(compose_id)
        environment = self.environments[compose["environmentId"]]
        view = copy.deepcopy(compose)
        view["environment"] = {
            **copy.deepcopy(environment),
            "project": copy.deepcopy(self.projects[environment["projectId"]]),
        }
        view["deployments"] = self._compose_deployments(compose_id)
        view["mounts"] = self._compose_mounts(compose_id)
        view["domains"] = self._compose_domains(compose_id)
        view.update({"github": None, "gitlab": None, "bitbucket": None, "gitea": None, "server": None, "backups": []})
        if not for_delete:
            view.update({"hasGitProviderAccess": True, "unauthorizedProvider": None})
        return view

    def _environment_composes(self, environment_id: str) -> list[dict[str, Any]]:
        return [c for c in self.composes.values() if c["environmentId"] == environment_id]

    # -- deployments ------------------------------------------------------------------------------------------------

    def _take_outcome(self, compose_id: str, default: Literal["done", "error"]) -> Literal["done", "error"]:
        key: str | None = compose_id if compose_id in self._outcomes else None
        outcome = self._outcomes.get(key)
        if outcome is None:
            return default
        if outcome.times is not None:
            outcome.times -= 1
            if outcome.times == 0:
                del self._outcomes[key]
        return outcome.status

    def _queue_deployment(self, compose: dict[str, Any], title: str, description: str) -> dict[str, Any]:
        deployment: dict[str, Any] = _recorded("deployment.allByCompose--first-deploy-running", 0)
        created = self._now()
        stamp = self._clock.strftime("%Y-%m-%d:%H:%M:%S")
        app_name = compose["appName"]
        deployment.update(
            {
                "deploymentId": new_id(),
                "title": title,
                "description": description,
                "status": "running",
                "logPath": f"/etc/dokploy/logs/{app_name}/{app_name}-{stamp}.log",
                "composeId": compose["composeId"],
                "createdAt": created,
                "startedAt": created,
                "finishedAt": None,
            }
        )
        self.deployments[deployment["deploymentId"]] = deployment
        services = _services(compose["composeFile"])
        self._pending[deployment["deploymentId"]] = _Pending(
            remaining_reads=self.deploy_polls,
            outcome=self._take_outcome(compose["composeId"], "done" if services else "error"),
            env=compose["env"],
            compose_file=compose["composeFile"],
            services=services,
        )
        # Dokploy writes the compose file into the app folder at the start of a deploy; loadServices "cache" reads it.
        self._deployed_files[compose["composeId"]] = compose["composeFile"]
        compose["composeStatus"] = "running"
        return deployment

    def _advance(self, compose_id: str) -> None:
        """One status read of a compose: its running deployments come one read closer to their end."""
        for deployment_id, pending in list(self._pending.items()):
            deployment = self.deployments.get(deployment_id)
            if deployment is None:
                del self._pending[deployment_id]
                continue
            if deployment["composeId"] != compose_id:
                continue
            if pending.remaining_reads > 0:
                pending.remaining_reads -= 1
                continue
            self._finish(deployment_id)

    def _finish(self, deployment_id: str) -> None:
        pending = self._pending.pop(deployment_id)
        deployment = self.deployments[deployment_id]
        deployment["status"] = pending.outcome
        deployment["finishedAt"] = self._now()
        compose = self.composes.get(deployment["composeId"])
        if compose is None:
            return
        if pending.outcome == "done":
            self._start_containers(compose, pending.services, pending.env, pending.compose_file)
        if not any(self.deployments[d]["composeId"] == compose["composeId"] for d in self._pending):
            compose["composeStatus"] = pending.outcome

    def _start_containers(
        self, compose: dict[str, Any], services: list[str], env: str | None, compose_file: str
    ) -> None:
        self.running[compose["appName"]] = {
            "composeId": compose["composeId"],
            "services": {service: secrets.token_hex(6) for service in services},
            "state": "running",
            "env": env,
            "composeFile": compose_file,
        }

    def _deployed_now(self, compose: dict[str, Any]) -> None:
        deployment = self._queue_deployment(compose, "Manual deployment", "")
        pending = self._pending[deployment["deploymentId"]]
        pending.outcome = "done"
        self._finish(deployment["deploymentId"])

    def _log_text(self, deployment: dict[str, Any]) -> str:
        compose = self.composes.get(deployment["composeId"] or "")
        app_name = compose["appName"] if compose else _RECORDED_APP_NAME
        mounts = len(self._compose_mounts(compose["composeId"])) if compose else 0
        base = _FAILED_LOG if deployment["status"] == "error" else _SUCCESS_LOG
        services = _services(self._deployed_files.get(compose["composeId"])) if compose else []
        lines: list[str] = []
        for line in base.split("\n"):
            if "_web_1" in line:
                lines.extend(line.replace("_web_1", f"_{service}_1") for service in services or ["web"])
                continue
            changed = line.replace(_RECORDED_APP_NAME, app_name).replace(
                "Detected: 0 mounts", f"Detected: {mounts} mounts"
            )
            if changed != line and changed.startswith("║ ") and changed.endswith("║"):
                # Keep the banner's right border where the recorded line had it (Dokploy pads emoji lines by
                # their UTF-16 length, so the recorded line's own length is the target, not a fixed width).
                changed = f"║{changed[1:-1].rstrip().ljust(len(line) - 2)}║"
            lines.append(changed)
        text = "\n".join(lines).replace(_RECORDED_APP_NAME, app_name)
        if deployment["status"] == "running":
            text = text.split("Creating network", 1)[0]
        return text

    # -- settings ---------------------------------------------------------------------------------------------------

    def _settings_update_server_ip(self, body: dict[str, Any]) -> dict[str, Any]:
        self.settings["serverIp"] = body["serverIp"]
        self.settings["updatedAt"] = self._now()
        return copy.deepcopy(self.settings)

    # -- project and environment ------------------------------------------------------------------------------------

    def _project_all(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        answer = []
        for project in self.projects.values():
            environments = []
            for environment in self.environments.values():
                if environment["projectId"] != project["projectId"]:
                    continue
                entry: dict[str, Any] = {
                    "name": environment["name"],
                    "environmentId": environment["environmentId"],
                    "isDefault": environment["isDefault"],
                }
                entry.update({key: [] for key in _SERVICE_LISTS})
                entry["compose"] = [
                    {"composeId": c["composeId"], "name": c["name"], "composeStatus": c["composeStatus"]}
                    for c in self._environment_composes(environment["environmentId"])
                ]
                entry["libsql"] = []
                environments.append(entry)
            answer.append({**copy.deepcopy(project), "environments": environments, "projectTags": []})
        return answer

    def _project_one(self, query: dict[str, Any]) -> dict[str, Any]:
        project = self._project(query["projectId"])
        environments = []
        for environment in self.environments.values():
            if environment["projectId"] != project["projectId"]:
                continue
            composes = [
                {
                    "composeId": c["composeId"],
                    "name": c["name"],
                    "appName": c["appName"],
                    "description": c["description"],
                    "composeStatus": c["composeStatus"],
                    "createdAt": c["createdAt"],
                    "serverId": c["serverId"],
                    "server": None,
                }
                for c in self._environment_composes(environment["environmentId"])
            ]
            environments.append(
                {
                    **copy.deepcopy(environment),
                    "applications": [],
                    "compose": composes,
                    "libsql": [],
                    "mariadb": [],
                    "mongo": [],
                    "mysql": [],
                    "postgres": [],
                    "redis": [],
                }
            )
        return {**copy.deepcopy(project), "environments": environments, "projectTags": []}

    def _project_create(self, body: dict[str, Any]) -> dict[str, Any]:
        project = self._new_project(body["name"], body.get("description"), body.get("env"))
        environment = next(e for e in self.environments.values() if e["projectId"] == project["projectId"])
        return {"project": copy.deepcopy(project), "environment": copy.deepcopy(environment)}

    def _project_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        project = self._project(body["projectId"])
        # Rows cascade in the database; containers stay up (self.running is left alone), as on the real server.
        for environment_id in [e for e, row in self.environments.items() if row["projectId"] == project["projectId"]]:
            for compose in self._environment_composes(environment_id):
                self._delete_compose_rows(compose["composeId"])
            del self.environments[environment_id]
        del self.projects[project["projectId"]]
        return copy.deepcopy(project)

    def _environment_view(self, environment: dict[str, Any], *, with_ids: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "name": environment["name"],
            "description": environment["description"],
            "environmentId": environment["environmentId"],
            "isDefault": environment["isDefault"],
        }
        if with_ids:
            view.update({"projectId": environment["projectId"], "env": environment["env"]})
        view.update({key: [] for key in _SERVICE_LISTS})
        view["compose"] = [
            {
                "composeId": c["composeId"],
                "name": c["name"],
                "createdAt": c["createdAt"],
                "composeStatus": c["composeStatus"],
                "description": c["description"],
                "serverId": c["serverId"],
                "icon": c["icon"],
                "server": None,
            }
            for c in self._environment_composes(environment["environmentId"])
        ]
        view["libsql"] = []
        view["project"] = copy.deepcopy(self.projects[environment["projectId"]])
        return view

    def _environment_one(self, query: dict[str, Any]) -> dict[str, Any]:
        return self._environment_view(self._environment(query["environmentId"]), with_ids=True)

    def _environment_by_project_id(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            self._environment_view(e, with_ids=False)
            for e in self.environments.values()
            if e["projectId"] == query["projectId"]
        ]

    # -- compose ----------------------------------------------------------------------------------------------------

    def _compose_create(self, body: dict[str, Any]) -> dict[str, Any]:
        environment = self._environment(body["environmentId"])
        compose = self._new_compose(
            environment["environmentId"],
            name=body["name"],
            # Dokploy's column default; the client always sends raw.
            source_type=body.get("sourceType", "github"),
            description=body.get("description"),
            compose_file=body.get("composeFile", ""),
            app_name=self._new_app_name(body.get("appName")),
            compose_type=body.get("composeType", "docker-compose"),
            server_id=body.get("serverId"),
        )
        return copy.deepcopy(compose)

    def _compose_one(self, query: dict[str, Any]) -> dict[str, Any]:
        self._compose(query["composeId"])
        self._advance(query["composeId"])
        return self._compose_view(query["composeId"])

    def _compose_update(self, body: dict[str, Any]) -> dict[str, Any]:
        compose = self._compose(body["composeId"])
        for key, value in body.items():
            if key in compose and key not in {"composeId", "createdAt"}:
                compose[key] = value
        return copy.deepcopy(compose)

    def _compose_save_environment(self, body: dict[str, Any]) -> bool:
        compose = self._compose(body["composeId"])
        compose["env"] = body["env"]
        if "createEnvFile" in body:
            compose["createEnvFile"] = body["createEnvFile"]
        return True

    def _compose_import(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            compose = self._compose(body["composeId"])
            try:
                decoded = json.loads(base64.b64decode(body["base64"], validate=True).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
                raise _TRPCError(400, str(exc)) from None
            if not isinstance(decoded, dict) or not decoded.get("compose") or not decoded.get("config"):
                raise _TRPCError(400, "Invalid template format. Must contain compose and config fields")
        except _TRPCError as exc:
            # Dokploy wraps everything that fails inside import, a missing compose included, in one 400.
            raise _TRPCError(400, f"Error importing template: {exc.message}") from None
        self._apply_supabase_template(compose, str(decoded["compose"]), host_prefix=compose["appName"])
        return {"success": True, "message": "Template imported successfully"}

    def _compose_deploy_template(self, body: dict[str, Any]) -> dict[str, Any]:
        environment = self._environment(body["environmentId"])
        if not self.template_internet:
            raise _TRPCError(500, _recorded("compose.deployTemplate--supabase-offline")["message"])
        if body["id"] != "supabase":
            raise _TRPCError(500, f"the fake knows only the 'supabase' template, not {body['id']!r}")
        project = self.projects[environment["projectId"]]
        project_name = _slugify(f"{project['name']} {body['id']}")
        compose = self._new_compose(
            environment["environmentId"],
            name=body["id"],
            source_type="raw",
            description=None,
            compose_file=_SUPABASE["composeFile"],
            server_id=body.get("serverId"),
        )
        compose["appName"] = f"{project_name}-{_app_suffix()}"
        compose["isolatedDeployment"] = True
        self._apply_supabase_template(compose, _SUPABASE["composeFile"], host_prefix=project_name)
        return copy.deepcopy(compose)

    def _compose_deploy(self, body: dict[str, Any], *, redeploy: bool) -> dict[str, Any]:
        compose = self._compose(body["composeId"])
        default_title = "Rebuild deployment" if redeploy else "Manual deployment"
        self._queue_deployment(compose, body.get("title") or default_title, body.get("description") or "")
        message = "Redeployment queued" if redeploy else "Deployment queued"
        return {"success": True, "message": message, "composeId": compose["composeId"]}

    def _compose_stop_start(self, body: dict[str, Any], *, state: str) -> bool:
        compose = self._compose(body["composeId"])
        containers = self.running.get(compose["appName"])
        if containers is not None:
            containers["state"] = state
        compose["composeStatus"] = "idle" if state == "exited" else "done"
        return True

    def _delete_compose_rows(self, compose_id: str) -> None:
        for table in (self.mounts, self.domains, self.deployments):
            for key in [k for k, row in table.items() if row["composeId"] == compose_id]:
                del table[key]
        for deployment_id in [d for d in self._pending if d not in self.deployments]:
            del self._pending[deployment_id]
        self._deployed_files.pop(compose_id, None)
        del self.composes[compose_id]

    def _compose_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        compose = self._compose(body["composeId"])
        answer = self._compose_view(compose["composeId"], for_delete=True)
        self.running.pop(compose["appName"], None)
        self._delete_compose_rows(compose["composeId"])
        return answer

    def _compose_load_services(self, query: dict[str, Any]) -> list[str]:
        compose = self._compose(query["composeId"])
        if query.get("type") == "fetch":
            return _services(compose["composeFile"])
        deployed = self._deployed_files.get(compose["composeId"])
        if deployed is None:
            raise _not_found("Services")
        return _services(deployed)

    # -- deployment -------------------------------------------------------------------------------------------------

    def _deployment_all_by_compose(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        self._compose(query["composeId"])
        self._advance(query["composeId"])
        return list(reversed(self._compose_deployments(query["composeId"])))

    def _deployment_read_logs(self, query: dict[str, Any]) -> str:
        deployment = self.deployments.get(query["deploymentId"])
        if deployment is None:
            raise _not_found("Deployment")
        lines = self._log_text(deployment).splitlines(keepends=True)
        return "".join(lines[-int(query.get("tail", 100)) :])

    # -- domain -----------------------------------------------------------------------------------------------------

    def _domain_create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("composeId"):
            self._compose(body["composeId"])
        return copy.deepcopy(self._insert_domain(body))

    def _domain_one(self, query: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(self._domain(query["domainId"])), "application": None}

    def _domain_update(self, body: dict[str, Any]) -> dict[str, Any]:
        domain = self._domain(body["domainId"])
        for key, value in body.items():
            if key in domain and key not in {"domainId", "uniqueConfigKey", "createdAt", "composeId"}:
                domain[key] = value
        return copy.deepcopy(domain)

    def _domain_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        domain = self._domain(body["domainId"])
        del self.domains[domain["domainId"]]
        return copy.deepcopy(domain)

    def _domain_by_compose_id(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        compose = self._compose(query["composeId"])
        summary = {"composeId": compose["composeId"], "appName": compose["appName"], "name": compose["name"]}
        return [{**domain, "compose": dict(summary)} for domain in self._compose_domains(compose["composeId"])]

    # -- docker -----------------------------------------------------------------------------------------------------

    def _docker_containers(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        app_name = query["appName"]
        containers = self.running.get(app_name)
        if containers is None:
            return []
        running = containers["state"] == "running"
        return [
            {
                "containerId": container_id,
                "name": f"{app_name}-{service}-1",
                "state": containers["state"],
                "status": "Up 13 seconds" if running else "Exited (137) Less than a second ago",
            }
            for service, container_id in containers["services"].items()
        ]


class _ValidationError(_TRPCError):
    def __init__(self, zod: dict[str, Any]) -> None:
        super().__init__(400, "Input validation failed")
        self.zod = zod


def _schema_types(schema: dict[str, Any]) -> list[str]:
    types = [schema["type"]] if "type" in schema else []
    types += [option["type"] for option in schema.get("anyOf", []) if "type" in option]
    return [t for t in types if t != "null"] + [t for t in types if t == "null"]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _coerce_query(value: Any, types: list[str]) -> Any:
    if isinstance(value, str):
        if "integer" in types or "number" in types:
            try:
                return int(value) if "integer" in types else float(value)
            except ValueError:
                return value
        if "boolean" in types and value in {"true", "false"}:
            return value == "true"
    return value


def _issue_missing(name: str, expected: str) -> dict[str, Any]:
    return {
        "expected": expected,
        "code": "invalid_type",
        "path": [name],
        "message": f"Invalid input: expected {expected}, received undefined",
    }


def _value_problem(name: str, value: Any, schema: dict[str, Any], types: list[str]) -> dict[str, Any] | None:
    actual = _json_type(value)
    allowed = set(types) | ({"number"} if "integer" in types else set())
    if types and actual not in allowed:
        expected = types[0]
        return {
            "expected": expected,
            "code": "invalid_type",
            "path": [name],
            "message": f"Invalid input: expected {expected}, received {actual}",
        }
    options = [schema, *schema.get("anyOf", [])]
    sub = next((option for option in options if option.get("type") == actual), schema)
    if actual == "string":
        minimum = sub.get("minLength")
        if minimum is not None and len(value) < minimum:
            return {
                "origin": "string",
                "code": "too_small",
                "minimum": minimum,
                "inclusive": True,
                "path": [name],
                "message": f"Too small: expected string to have >={minimum} characters",
            }
        if "enum" in sub and value not in sub["enum"]:
            listed = "|".join(json.dumps(option) for option in sub["enum"])
            return {
                "code": "invalid_value",
                "values": sub["enum"],
                "path": [name],
                "message": f"Invalid option: expected one of {listed}",
            }
        pattern = sub.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            return {
                "origin": "string",
                "code": "invalid_format",
                "format": "regex",
                "pattern": f"/{pattern}/",
                "path": [name],
                "message": f"Invalid string: must match pattern /{pattern}/",
            }
    if actual == "number":
        if "minimum" in sub and value < sub["minimum"]:
            return {
                "origin": "number",
                "code": "too_small",
                "minimum": sub["minimum"],
                "inclusive": True,
                "path": [name],
                "message": f"Too small: expected number to be >={sub['minimum']}",
            }
        if "maximum" in sub and value > sub["maximum"]:
            return {
                "origin": "number",
                "code": "too_big",
                "maximum": sub["maximum"],
                "inclusive": True,
                "path": [name],
                "message": f"Too big: expected number to be <={sub['maximum']}",
            }
    return None
