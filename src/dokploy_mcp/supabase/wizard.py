"""The setup wizard: from nothing to a deployed, checked Supabase stack on Dokploy, resumable.

Steps (``STEPS``, in order): check Dokploy's version and server IP; create or reuse the project; create or reuse the
stack from the template (Dokploy's catalogue, a mirror, or a local folder imported offline); read its env; fix the
env (public URLs for the domain, SITE_URL, SMTP, broken keys); point the template's kong domain at the chosen host
(update it, never add a second); deploy and wait; probe the stack through kong; report what remains.

Running it again with the same project and stack name resumes: the project and stack are found by name and reused,
and nothing else in the project is touched. A step that fails stops the run; the result says which step, what
exists, and how to resume. The env is written in one call, so it is wholly old or wholly new. Errors are kept as
errors: the tool layer words them (:meth:`WizardResult.explain_errors`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio
from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION, is_supported_dokploy
from dokploy_mcp.dokploy.deployments import DeployReport
from dokploy_mcp.dokploy.errors import DokployAPIError
from dokploy_mcp.dokploy.models import Compose, Project
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.kong import GatewayFactory
from dokploy_mcp.progress import Progress
from dokploy_mcp.supabase.domains import certificate_note, put_domain, validate_host
from dokploy_mcp.supabase.envquote import control_character
from dokploy_mcp.supabase.errors import DeployFailedError, EnvWriteError, TemplateUnavailableError
from dokploy_mcp.supabase.keys import check_keys, new_keys
from dokploy_mcp.supabase.operations import deploy_stack, write_env
from dokploy_mcp.supabase.secrets import shown
from dokploy_mcp.supabase.stack import (
    StackRef,
    SupabaseStack,
    is_supabase,
    kong_domains,
)
from dokploy_mcp.supabase.validate import ValidationReport, validate_stack
from dokploy_mcp.supabase.wizard_input import WizardInput

if TYPE_CHECKING:
    # Annotations only: these modules are imported at start-up, and the clients pull in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

logger = logging.getLogger(__name__)

STEPS = ("check_dokploy", "project", "stack", "read_env", "fix_env", "domain", "deploy", "probe", "report")
TEMPLATE_ID = "supabase"


def dns_safe(name: str) -> str:
    """The project name Dokploy paths match: lower-case letters, digits and hyphens, at most 63 characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    if not slug:
        raise InputError(f"{name!r} gives no usable project name: use letters or digits", field="project")
    return slug


class Credentials(BaseModel):
    api_url: str | None
    studio_url: str | None = Field(description="Supabase Studio, behind the dashboard user and password")
    anon_key: str | None = Field(description="public by design: goes into client apps")
    service_role_key: str | None = Field(description="full access: masked unless reveal")
    dashboard_username: str | None
    dashboard_password: str | None = Field(description="masked unless reveal")
    postgres_password: str | None = Field(description="masked unless reveal")


class WizardResult(BaseModel):
    status: Literal["ready", "deployed_unverified", "failed", "confirm"]
    project: str
    project_id: str | None = None
    stack: str | None = Field(default=None, description="the stack's address for the other tools")
    compose_id: str | None = None
    steps_done: list[str]
    failed_step: str | None = None
    problem: str | None = None
    warnings: list[str] = Field(default_factory=list)
    deploy: DeployReport | None = None
    probe: list[str] = Field(default_factory=list, description="what the kong probe saw")
    findings: ValidationReport | None = Field(default=None, description="what dokploy_validate_config still finds")
    credentials: Credentials | None = None
    resume: str | None = Field(default=None, description="how to resume or remove what exists after a failure")
    confirm_token: str | None = Field(default=None, description="to adopt a deployed stack: call again with it")
    # The errors behind ``problem`` and the probe's failure (its URL too), worded by the tool layer (private: not
    # in the schema).
    _error: DokployMCPError | None = PrivateAttr(default=None)
    _probe_error: tuple[str, DokployMCPError] | None = PrivateAttr(default=None)

    @property
    def error(self) -> DokployMCPError | None:
        """Why the failed step failed; ``problem`` stays empty until the tool words it."""
        return self._error

    def explain_errors(self, explain: Callable[[DokployMCPError], str]) -> None:
        """Put the errors into words with the tool layer's ``explain``: ``problem``, and the line of a probe that
        got no answer."""
        if self._error is not None:
            self.problem = explain(self._error)
        if self._probe_error is not None:
            url, exc = self._probe_error
            self.probe.append(
                f"{url} did not answer ({explain(exc)}); DNS or the certificate may not be ready yet: check again "
                "later with dokploy_validate_config"
            )
            self._probe_error = None


@dataclass
class _Run:
    result: WizardResult
    progress: Progress | None
    current: str = ""
    project: Project | None = None
    environment_id: str | None = None
    stack: SupabaseStack | None = None
    already_deployed: bool = False
    reveal: bool = False

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        self.current = name
        if self.progress is not None:
            await self.progress(f"step {STEPS.index(name) + 1}/{len(STEPS)}: {name}")
        yield
        self.result.steps_done.append(name)


async def stack_to_adopt(client: DokployClient, spec: WizardInput) -> Compose | None:
    """The existing, deployed Supabase stack of that project and name that this wizard did not create, if any: what
    ``adopt`` would take over (and what must be confirmed first)."""
    project = _find_project(await client.project_all(), dns_safe(spec.project))
    if project is None:
        return None
    for environment in project.environments:
        for summary in environment.compose:
            if summary.name.casefold() == spec.stack_name.casefold():
                compose = await client.compose_one(summary.compose_id)
                theirs = is_supabase(compose) and compose.description != WIZARD_DESCRIPTION
                return compose if theirs and compose.deployments else None
    return None


def _find_project(projects: list[Project], slug: str) -> Project | None:
    return next((p for p in projects if p.name.casefold() == slug), None)


async def run_wizard(
    client: DokployClient,
    server: str,
    spec: WizardInput,
    *,
    progress: Progress | None = None,
    gateway_factory: GatewayFactory,
) -> WizardResult:
    _refuse_control_characters(spec)
    slug = dns_safe(spec.project)
    domain = validate_host(spec.domain, field="domain") if spec.domain else None
    if spec.template_dir and spec.template_mirror:
        raise InputError("give template_dir or template_mirror, not both", field="template")
    run = _Run(WizardResult(status="failed", project=slug, steps_done=[]), progress, reveal=spec.reveal)
    try:
        await _check_dokploy(client, run, domain)
        await _project(client, run, slug, spec.project)
        await _stack(client, run, server, spec)
        await _read_env(client, run)
        await _fix_env(client, run, spec, domain)
        await _domain(client, run, spec, domain)
        await _deploy(client, run, spec)
        await _probe(run, spec, gateway_factory)
        await _report(client, run)
    except DokployMCPError as exc:
        # A step after the probe may fail too (report): the run did not finish, whatever the probe saw.
        run.result.status = "failed"
        run.result.failed_step = run.current
        run.result._error = exc
        run.result.resume = _resume_hint(run, spec)
        return run.result
    return run.result


def _refuse_control_characters(spec: WizardInput) -> None:
    """Refuse text arguments holding control characters before anything is created: a NUL in a path stops the
    file API with a bare ValueError, and the others would reach Dokploy's names or the env. SMTP values end up
    in the env, where a tab is legal."""
    texts = {
        "project": spec.project,
        "stack_name": spec.stack_name,
        "domain": spec.domain,
        "site_url": spec.site_url,
        "server_id": spec.server_id,
        "template": spec.template_mirror or spec.template_dir,
    }
    env_texts: dict[str, str | None] = {}
    if spec.smtp is not None:
        smtp = spec.smtp
        texts.update({"smtp.host": smtp.host, "smtp.user": smtp.user, "smtp.admin_email": smtp.admin_email})
        env_texts = {"smtp.password": smtp.password.get_secret_value(), "smtp.sender_name": smtp.sender_name}
    for fields, allow_tab in ((texts, False), (env_texts, True)):
        for field, text in fields.items():
            found = control_character(text, allow_tab=allow_tab) if text else None
            if found is not None:
                raise InputError(f"{field} holds {found}: give printable text", field=field)


def _resume_hint(run: _Run, spec: WizardInput) -> str:
    if run.project is None:
        return "nothing was created; fix the problem and call dokploy_setup_wizard again"
    where = f"project {run.project.name!r}"
    if run.stack is not None:
        where += f" with stack {run.stack.ref.path} (address {run.stack.ref.address})"
    return (
        f"{where} exists. Call dokploy_setup_wizard again with project {spec.project!r} and stack_name "
        f"{spec.stack_name!r} to resume: existing parts are reused, not duplicated. To remove it instead, delete the "
        "stack in Dokploy with its volumes, then the project"
    )


async def _check_dokploy(client: DokployClient, run: _Run, domain: str | None) -> None:
    async with run.step("check_dokploy"):
        version = await client.settings_get_dokploy_version()
        if not is_supported_dokploy(version):
            run.result.warnings.append(f"Dokploy {version} is not the supported {SUPPORTED_DOKPLOY_VERSION}")
        ip = await client.settings_get_ip()
        if ip in {"", "127.0.0.1"} and domain is None:
            run.result.warnings.append(
                "Dokploy's server IP is unset (or 127.0.0.1), so the domain it generates for the stack "
                "(…-127-0-0-1.sslip.io) is reachable only from the Dokploy host itself; give a domain, or set the "
                "server's public IP in Dokploy (Settings, Server) first"
            )


async def _project(client: DokployClient, run: _Run, slug: str, display: str) -> None:
    async with run.step("project"):
        project = _find_project(await client.project_all(), slug)
        if project is None:
            created = await client.project_create(slug, description=display)
            project = created.project
            project.environments = [created.environment]
        run.project = project
        run.result.project_id = project.project_id
        default = next((e for e in project.environments if e.is_default), None) or next(
            (e for e in project.environments if e.name == "production"), None
        )
        if default is None:
            environments = await client.environment_by_project_id(project.project_id)
            default = environments[0] if environments else None
        if default is None:
            raise InputError(f"project {slug!r} has no environment to put the stack in", field="project")
        run.environment_id = default.environment_id
        if not any(e.environment_id == default.environment_id for e in project.environments):
            project.environments.append(default)


async def _stack(client: DokployClient, run: _Run, server: str, spec: WizardInput) -> None:
    assert run.project is not None and run.environment_id is not None
    async with run.step("stack"):
        existing = next(
            (
                c
                for e in run.project.environments
                if e.environment_id == run.environment_id
                for c in e.compose
                if c.name.casefold() == spec.stack_name.casefold()
            ),
            None,
        )
        if existing is not None:
            compose = await _reuse_stack(client, run, spec, existing.compose_id)
        elif spec.template_dir:
            compose = await _import_offline(client, run.environment_id, spec, spec.template_dir)
        else:
            compose = await _deploy_template(client, run.environment_id, spec)
        ref = StackRef(server, compose.compose_id, run.project.name, _environment_name(run), compose.name)
        run.stack = SupabaseStack.from_compose(ref, compose)
        run.result.compose_id = compose.compose_id
        run.result.stack = ref.address


async def _reuse_stack(client: DokployClient, run: _Run, spec: WizardInput, compose_id: str) -> Compose:
    """The project's compose of that name, reused: an import an earlier run left unfinished is completed, and a
    compose that is not a Supabase stack is refused."""
    assert run.project is not None
    compose = await client.compose_one(compose_id)
    if not is_supabase(compose) and _unfinished_import(compose):
        # An earlier run created the compose but the import did not complete: finish it.
        if not spec.template_dir:
            raise InputError(
                f"project {run.project.name!r} has an empty compose {compose.name!r} left by an earlier run "
                "whose template import did not complete: call again with the same template folder to finish "
                "it, or delete that compose in Dokploy",
                field="template",
            )
        await _import_template(client, compose.compose_id, spec.template_dir)
        compose = await client.compose_one(compose.compose_id)
    elif not is_supabase(compose):
        raise InputError(
            f"project {run.project.name!r} already has a compose named {spec.stack_name!r} that is not a "
            "Supabase stack; choose another stack_name",
            field="stack_name",
        )
    elif compose.description != WIZARD_DESCRIPTION and not spec.adopt:
        # Never taken over silently: its keys, secrets, domain and deployment may be someone's production.
        raise InputError(
            f"project {run.project.name!r} already has a Supabase stack {spec.stack_name!r} that this wizard did not "
            "create: call again with adopt=true to take it over (confirmed first when it is deployed), or choose "
            "another stack_name",
            field="adopt",
        )
    run.already_deployed = bool(compose.deployments)
    return compose


async def _import_offline(client: DokployClient, environment_id: str, spec: WizardInput, template_dir: str) -> Compose:
    """A new raw compose with the template imported from ``template_dir`` (no internet needed)."""
    compose_yaml, template_toml = await _read_template_dir(template_dir)
    created = await client.compose_create(
        spec.stack_name,
        environment_id,
        server_id=spec.server_id,
        source_type="raw",
        description=WIZARD_DESCRIPTION,
    )
    await client.compose_import_template(created.compose_id, compose_yaml, template_toml)
    return await client.compose_one(created.compose_id)


async def _deploy_template(client: DokployClient, environment_id: str, spec: WizardInput) -> Compose:
    """A new compose from the Supabase template of Dokploy's catalogue (or a mirror), named ``spec.stack_name``."""
    try:
        created = await client.compose_deploy_template(
            environment_id, TEMPLATE_ID, server_id=spec.server_id, base_url=spec.template_mirror
        )
    except DokployAPIError as exc:
        if exc.status < 500:
            raise
        source = f"the mirror {spec.template_mirror}" if spec.template_mirror else "Dokploy's catalogue"
        raise TemplateUnavailableError(source, exc) from exc
    if created.name != spec.stack_name or created.description != WIZARD_DESCRIPTION:
        try:
            # The description marks the stack as this wizard's: only such a stack is resumed without adopt.
            await client.compose_update(created.compose_id, name=spec.stack_name, description=WIZARD_DESCRIPTION)
        except DokployMCPError:
            # Under the template's name the compose would not be found on resume, and a second one would be
            # made: remove this new, never deployed one before reporting the failure.
            await _delete_quietly(client, created.compose_id)
            raise
    return await client.compose_one(created.compose_id)


WIZARD_DESCRIPTION = "Supabase (dokploy-mcp setup wizard)"


def _unfinished_import(compose: Compose) -> bool:
    """A compose this wizard created for an offline import that never completed: empty and never deployed."""
    return (
        compose.description == WIZARD_DESCRIPTION
        and not (compose.compose_file or "").strip()
        and not (compose.env or "").strip()
        and not compose.deployments
    )


async def _read_template_dir(template_dir: str) -> tuple[str, str]:
    folder = await anyio.Path(template_dir).expanduser()
    try:
        compose_yaml = await (folder / "docker-compose.yml").read_text(encoding="utf-8")
        template_toml = await (folder / "template.toml").read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"the template folder {str(folder)!r} must hold docker-compose.yml and template.toml ({exc.strerror})",
            field="template",
        ) from None
    return compose_yaml, template_toml


async def _import_template(client: DokployClient, compose_id: str, template_dir: str) -> None:
    compose_yaml, template_toml = await _read_template_dir(template_dir)
    await client.compose_import_template(compose_id, compose_yaml, template_toml)


async def _delete_quietly(client: DokployClient, compose_id: str) -> None:
    try:
        await client.compose_delete(compose_id, delete_volumes=True)
    except DokployMCPError as exc:
        logger.warning("could not delete the compose %s the wizard had just created: %s", compose_id, exc)


def _environment_name(run: _Run) -> str:
    assert run.project is not None
    return next((e.name for e in run.project.environments if e.environment_id == run.environment_id), "production")


async def _read_env(client: DokployClient, run: _Run) -> None:
    assert run.stack is not None
    async with run.step("read_env"):
        compose = await client.compose_one(run.stack.ref.compose_id)
        run.stack = SupabaseStack.from_compose(run.stack.ref, compose)


def _target_url(run: _Run, domain: str | None, https: bool) -> str | None:
    assert run.stack is not None
    if domain is not None:
        return f"{'https' if https else 'http'}://{domain}"
    current = run.stack.kong_domain
    if current is None:
        return None
    # Without a domain of the user's, the template's generated one stays, on the scheme it is served with.
    return f"{'https' if current.https else 'http'}://{current.host}"


async def _fix_env(client: DokployClient, run: _Run, spec: WizardInput, domain: str | None) -> None:
    assert run.stack is not None
    async with run.step("fix_env"):
        env = run.stack.env
        values: dict[str, str] = {}
        url = _target_url(run, domain, spec.https)
        if url is not None:
            host = url.split("://", 1)[1]
            values |= {"API_EXTERNAL_URL": url, "SUPABASE_PUBLIC_URL": url, "SUPABASE_HOST": host}
        if spec.site_url:
            values["SITE_URL"] = spec.site_url.rstrip("/")
            values["ADDITIONAL_REDIRECT_URLS"] = f"{spec.site_url.rstrip('/')}/*"
        if spec.smtp is not None:
            values |= {
                "SMTP_HOST": spec.smtp.host,
                "SMTP_PORT": str(spec.smtp.port),
                "SMTP_USER": spec.smtp.user,
                "SMTP_PASS": spec.smtp.password.get_secret_value(),
                "SMTP_ADMIN_EMAIL": spec.smtp.admin_email,
                "SMTP_SENDER_NAME": spec.smtp.sender_name,
            }
        key_problems = [f for f in check_keys(env.as_dict()) if f.severity == "critical"]
        if key_problems:
            secret_bad = any(f.variable == "JWT_SECRET" for f in key_problems)
            values |= new_keys(env.get("JWT_SECRET"), rotate=secret_bad)
            run.result.warnings.append(
                "the stack's keys were broken (" + ", ".join(sorted({f.code for f in key_problems})) + "): new keys "
                "were signed" + (" with a new JWT_SECRET" if secret_bad else "")
            )
        new_env = env.apply(set=values)
        if new_env.render() != env.render():
            try:
                await write_env(client, run.stack, new_env)
            except EnvWriteError as exc:
                # Dokploy kept something that is neither env: put the one it had back, so the stack is never
                # left on a half-written env.
                if exc.stored.rstrip("\r\n") != env.render().rstrip("\r\n"):
                    await client.compose_save_environment(run.stack.ref.compose_id, env.render())
                raise
            run.stack = SupabaseStack(
                run.stack.ref,
                run.stack.compose.model_copy(update={"env": new_env.render()}),
                new_env,
                run.stack.services,
            )


async def _domain(client: DokployClient, run: _Run, spec: WizardInput, domain: str | None) -> None:
    assert run.stack is not None
    async with run.step("domain"):
        if domain is None:
            return
        existing = kong_domains(run.stack.compose.domains)
        current = existing[0] if existing else None
        wanted = (domain, spec.https, "letsencrypt" if spec.https else "none")
        # The template's kong domain is pointed at the host (never a second one), and left alone when it already is.
        if current is None or (current.host, current.https, current.certificate_type) != wanted:
            await put_domain(client, run.stack.ref.compose_id, current, domain, spec.https)
        note = await certificate_note(client, spec.https)
        if note is not None:
            run.result.warnings.append(note)
        compose = await client.compose_one(run.stack.ref.compose_id)
        run.stack = SupabaseStack.from_compose(run.stack.ref, compose)


async def _deploy(client: DokployClient, run: _Run, spec: WizardInput) -> None:
    assert run.stack is not None
    async with run.step("deploy"):
        run.result.deploy = await deploy_stack(
            client,
            run.stack,
            redeploy=run.already_deployed,
            title="dokploy-mcp: setup wizard",
            wait_seconds=spec.wait_seconds,
            progress=run.progress,
        )
        if run.result.deploy.status != "done":
            raise DeployFailedError(
                f"the deploy ended {run.result.deploy.status}; its log tail is in `deploy.log_tail`",
                status=run.result.deploy.status,
            )


async def _probe(run: _Run, spec: WizardInput, gateway_factory: GatewayFactory) -> None:
    assert run.stack is not None
    async with run.step("probe"):
        url = run.stack.public_url
        anon, service = run.stack.get("ANON_KEY"), run.stack.get("SERVICE_ROLE_KEY")
        if not spec.probe or url is None or not anon or not service:
            run.result.status = "deployed_unverified"
            run.result.probe.append("not probed" if not spec.probe else "no public URL or keys to probe with")
            return
        try:
            async with gateway_factory(url, SecretStr(anon), SecretStr(service)) as gateway:
                check = await gateway.verify_keys()
        except DokployMCPError as exc:
            run.result.status = "deployed_unverified"
            run.result._probe_error = (url, exc)
            return
        run.result.probe.extend(check.details)
        run.result.status = "ready" if check.ok else "deployed_unverified"


async def _report(client: DokployClient, run: _Run) -> None:
    assert run.stack is not None
    async with run.step("report"):
        settings = await client.settings_get_web_server_settings()
        run.result.findings = validate_stack(run.stack, settings)
        run.result.credentials = credentials(run.stack, run.reveal)


def credentials(stack: SupabaseStack, reveal: bool) -> Credentials:
    url = stack.public_url
    return Credentials(
        api_url=url,
        studio_url=url,
        anon_key=stack.get("ANON_KEY"),
        service_role_key=shown("SERVICE_ROLE_KEY", stack.get("SERVICE_ROLE_KEY"), reveal),
        dashboard_username=stack.get("DASHBOARD_USERNAME"),
        dashboard_password=shown("DASHBOARD_PASSWORD", stack.get("DASHBOARD_PASSWORD"), reveal),
        postgres_password=shown("POSTGRES_PASSWORD", stack.get("POSTGRES_PASSWORD"), reveal),
    )
