"""The setup wizard on the Dokploy double: a full run, a failure injected at every step, resuming, the options.

Each step's first request is found in a successful run (the progress messages "step i/n: name" mark where steps
start, in the Dokploy and gateway request logs), then a fresh run of the same scenario fails exactly that request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from dokploy_mcp.dokploy.errors import DokployAPIError
from dokploy_mcp.errors import InputError
from dokploy_mcp.explain import explain
from dokploy_mcp.redact import SHOWN_MASK
from dokploy_mcp.supabase import wizard
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import TemplateUnavailableError
from dokploy_mcp.supabase.keys import check_keys
from dokploy_mcp.supabase.wizard import WizardResult, dns_safe, run_wizard
from dokploy_mcp.supabase.wizard_input import SmtpSettings
from tests.fake_dokploy import FakeDokploy
from tests.supabase.kong_double import make_key
from tests.supabase.test_regenerate import DeployedKong, StepRecorder, assert_keys_consistent, inject
from tests.supabase.wizard_scene import (
    BUSYBOX,
    FULL,
    SCENARIOS,
    TEMPLATE_DIR,
    Baseline,
    baseline,
    composes_in,
    kong_domains,
    new_fake,
    normalised,
    projects_named,
    snapshot,
    spec,
    the_stack,
    untouched,
    wizard_run,
)

pytestmark = pytest.mark.anyio

#: Steps that make no request of their own in the failure scenarios (``FULL``), with the reason (none: with a domain,
#: a site URL and a probe, every step talks to Dokploy or to the stack's gateway).
REQUEST_FREE: dict[str, str] = {}


# -- a failure at every step ------------------------------------------------------------------------------------------


def test_the_failure_scenario_covers_every_step_in_order() -> None:
    assert wizard.STEPS[0] == "check_dokploy"
    assert wizard.STEPS[-1] == "report"
    assert len(set(wizard.STEPS)) == len(wizard.STEPS)
    assert set(REQUEST_FREE) <= set(wizard.STEPS)


def assert_stopped_cleanly(failed: WizardResult, step: str) -> None:
    """The run stops at ``step`` and says how to resume; a failed probe only leaves the stack unverified."""
    if step == "probe":
        # The stack is deployed; only the check through kong did not happen.
        assert failed.status == "deployed_unverified"
        assert failed.failed_step is None
        assert any("did not answer" in line for line in failed.probe)
        assert failed.steps_done == list(wizard.STEPS)
        return
    assert failed.status == "failed"
    assert failed.failed_step == step
    assert failed.problem
    assert failed.steps_done == list(wizard.STEPS[: wizard.STEPS.index(step)])
    assert failed.resume
    if failed.project_id is None:
        assert "nothing was created" in failed.resume
    else:
        assert "again with project 'shop'" in failed.resume


def assert_env_wholly_old_or_new(fake: FakeDokploy, step: str, base: Baseline) -> list[str]:
    """The stack's env is the template's before fix_env and the fixed one after, never in between; it has one kong
    domain. Returns that domain's id (none without a stack)."""
    stack = the_stack(fake)
    if stack is None:
        return []
    env = normalised(stack["env"])
    assert env in (base.env_before, base.env_after), "the env is neither the template's nor the fixed one"
    fixed = wizard.STEPS.index(step) > wizard.STEPS.index("fix_env")
    assert env == (base.env_after if fixed else base.env_before)
    domains = kong_domains(fake, stack["composeId"])
    assert len(domains) == 1
    return [d["domainId"] for d in domains]


def assert_resumed(resumed: WizardResult, failed: WizardResult, fake: FakeDokploy, base: Baseline) -> None:
    """The second call reuses the project and the stack and ends where a successful run ends."""
    assert resumed.status == "ready", (resumed.failed_step, resumed.problem, resumed.probe)
    assert len(projects_named(fake, "shop")) == 1
    final = the_stack(fake)
    assert final is not None
    if failed.project_id is not None:
        assert resumed.project_id == failed.project_id
    if failed.compose_id is not None:
        assert resumed.compose_id == failed.compose_id
    assert resumed.compose_id == final["composeId"]
    assert normalised(final["env"]) == base.env_after


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("step", wizard.STEPS)
async def test_a_failure_at_each_step_stops_cleanly_and_a_second_call_resumes(step: str, scenario: str) -> None:
    # A successful run shows where each step starts and what the env is before and after the wizard fixes it.
    base = await baseline(scenario)
    where = base.recorder.first_request(step, wizard.STEPS)
    if where is None:
        assert step in REQUEST_FREE, (
            f"step {step!r} makes no request in a successful run: give it a failure case, or list it in "
            "REQUEST_FREE with the reason"
        )
        return
    assert step not in REQUEST_FREE, (
        f"step {step!r} is listed as request-free but sends {base.recorder.procedure(where)}"
    )

    # The same scenario on a fresh Dokploy, with that request failing.
    fake = new_fake()
    SCENARIOS[scenario](fake)
    kong = DeployedKong(fake)
    state = snapshot(fake)
    inject(fake, kong, where)
    failed = await wizard_run(fake, kong, spec(**FULL))
    assert StepRecorder(fake, kong).procedure(where) == base.recorder.procedure(where)
    assert_stopped_cleanly(failed, step)
    domain_ids = assert_env_wholly_old_or_new(fake, step, base)
    untouched(fake, state)

    # A second call, without the failure, resumes: the same project and stack, nothing doubled.
    resumed = await wizard_run(fake, kong, spec(**FULL))
    assert_resumed(resumed, failed, fake, base)
    [domain] = kong_domains(fake, resumed.compose_id or "")
    assert (domain["host"], domain["https"], domain["certificateType"]) == ("api.example.com", True, "letsencrypt")
    if domain_ids:
        assert domain_ids == [domain["domainId"]]  # the template's domain, updated, never a second one
    expected = {"supabase", "worker"} if scenario == "existing-project" else {"supabase"}
    assert {c["name"] for c in composes_in(fake, "shop")} == expected
    assert len(composes_in(fake, "shop")) == len(expected)
    untouched(fake, state)


# -- a full run -------------------------------------------------------------------------------------------------------


async def test_a_fresh_run_from_the_catalogue_ends_ready_with_masked_credentials() -> None:
    fake = new_fake(template_internet=True)
    kong = DeployedKong(fake)
    messages: list[str] = []
    result = await wizard_run(fake, kong, spec(), messages=messages)
    assert result.status == "ready", (result.failed_step, result.problem, result.probe)
    assert result.failed_step is None and result.problem is None and result.resume is None
    assert result.steps_done == list(wizard.STEPS)
    steps = [m for m in messages if m.startswith("step ")]
    assert steps == [f"step {i}/{len(wizard.STEPS)}: {name}" for i, name in enumerate(wizard.STEPS, 1)]

    [project] = projects_named(fake, "shop")
    stack = the_stack(fake)
    assert stack is not None
    assert result.project_id == project["projectId"]
    assert result.compose_id == stack["composeId"]
    assert result.stack == f"main:{stack['composeId']}"
    # The template's generated domain stays, on the scheme it is served with, and the URLs follow it.
    [domain] = kong_domains(fake, stack["composeId"])
    assert domain["https"] is False
    env = EnvFile.parse(stack["env"])
    url = f"http://{domain['host']}"
    assert (env.get("API_EXTERNAL_URL"), env.get("SUPABASE_PUBLIC_URL"), env.get("SUPABASE_HOST")) == (
        url,
        url,
        domain["host"],
    )
    # Deployed once (a first deploy, not a redeploy), with the env now stored, and checked through its kong.
    assert [p for _, p, _ in fake.requests].count("compose.deploy") == 1
    assert "compose.redeploy" not in [p for _, p, _ in fake.requests]
    assert fake.running[stack["appName"]]["env"] == stack["env"]
    assert kong.urls == [url]
    assert result.deploy is not None and result.deploy.status == "done"
    assert result.findings is not None

    credentials = result.credentials
    assert credentials is not None
    assert credentials.api_url == url
    assert credentials.anon_key == env.get("ANON_KEY")
    for shown, key in (
        (credentials.service_role_key, "SERVICE_ROLE_KEY"),
        (credentials.dashboard_password, "DASHBOARD_PASSWORD"),
        (credentials.postgres_password, "POSTGRES_PASSWORD"),
    ):
        assert shown == f"{SHOWN_MASK} ({len(env.get(key) or '')} chars)"
    dumped = result.model_dump_json()
    for key in ("SERVICE_ROLE_KEY", "DASHBOARD_PASSWORD", "POSTGRES_PASSWORD", "JWT_SECRET", "SMTP_PASS"):
        assert (env.get(key) or "<unset>") not in dumped


async def test_reveal_shows_the_credentials_in_clear() -> None:
    fake = new_fake()
    result = await wizard_run(fake, DeployedKong(fake), spec(reveal=True))
    assert result.status == "ready"
    stack = the_stack(fake)
    assert stack is not None
    env = EnvFile.parse(stack["env"])
    credentials = result.credentials
    assert credentials is not None
    assert credentials.service_role_key == env.get("SERVICE_ROLE_KEY")
    assert credentials.dashboard_password == env.get("DASHBOARD_PASSWORD")
    assert credentials.postgres_password == env.get("POSTGRES_PASSWORD")
    assert credentials.dashboard_username == env.get("DASHBOARD_USERNAME")


async def test_site_url_and_smtp_go_into_the_env_and_the_smtp_password_is_never_shown() -> None:
    fake = new_fake()
    smtp = SmtpSettings(
        host="smtp.example.com", user="mailer", password="smtp-password-value-0123", admin_email="no-reply@ex.com"
    )
    result = await wizard_run(fake, DeployedKong(fake), spec(site_url="https://app.example.com/", smtp=smtp))
    assert result.status == "ready"
    stack = the_stack(fake)
    assert stack is not None
    env = EnvFile.parse(stack["env"])
    assert env.get("SITE_URL") == "https://app.example.com"
    assert env.get("ADDITIONAL_REDIRECT_URLS") == "https://app.example.com/*"
    assert (env.get("SMTP_HOST"), env.get("SMTP_PORT"), env.get("SMTP_USER")) == ("smtp.example.com", "587", "mailer")
    assert env.get("SMTP_PASS") == "smtp-password-value-0123"
    assert env.get("SMTP_ADMIN_EMAIL") == "no-reply@ex.com"
    assert "smtp-password-value-0123" not in result.model_dump_json()


# -- the template's source --------------------------------------------------------------------------------------------


async def test_the_wizard_keeps_its_errors_for_the_tool_to_word() -> None:
    fake = new_fake(template_internet=False)
    async with fake.client() as client:
        result = await run_wizard(client, "main", spec(), gateway_factory=DeployedKong(fake).factory)
    assert result.status == "failed" and result.problem is None
    error = result.error
    assert isinstance(error, TemplateUnavailableError)
    assert error.source == "Dokploy's catalogue"
    assert isinstance(error.cause, DokployAPIError) and error.cause.status >= 500
    result.explain_errors(explain)
    assert result.problem == explain(error)
    assert explain(error).startswith("Dokploy could not get the Supabase template from Dokploy's catalogue (")
    assert set(result.model_dump()) == set(WizardResult.model_fields)  # the error is private: not in the output


async def test_a_probe_without_an_answer_is_worded_by_the_tool() -> None:
    fake = new_fake()
    refused = InputError("no route to the gateway", field="stack")

    def unreachable(*args: Any) -> Any:
        raise refused

    async with fake.client() as client:
        result = await run_wizard(client, "main", spec(), gateway_factory=unreachable)
    assert result.status == "deployed_unverified" and result.probe == []
    result.explain_errors(explain)
    url = result.credentials.api_url if result.credentials is not None else None
    assert result.probe == [
        f"{url} did not answer ({explain(refused)}); DNS or the certificate may not be ready yet: check again "
        "later with dokploy_validate_config"
    ]
    result.explain_errors(explain)
    assert len(result.probe) == 1


async def test_an_offline_catalogue_fails_at_stack_and_suggests_a_template_folder() -> None:
    fake = new_fake(template_internet=False)
    result = await wizard_run(fake, DeployedKong(fake), spec())
    assert result.status == "failed"
    assert result.failed_step == "stack"
    assert result.problem is not None
    assert "call again with template: a folder" in result.problem
    assert "fetch failed" in result.problem
    assert result.steps_done == ["check_dokploy", "project"]
    assert result.resume is not None and "project 'shop' exists" in result.resume
    assert composes_in(fake, "shop") == []


async def test_template_dir_imports_offline_and_ends_ready() -> None:
    fake = new_fake(template_internet=False)
    result = await wizard_run(fake, DeployedKong(fake), spec(template_dir=str(TEMPLATE_DIR), stack_name="backend"))
    assert result.status == "ready", (result.failed_step, result.problem, result.probe)
    stack = the_stack(fake, "shop", "backend")
    assert stack is not None
    assert stack["composeFile"] == (TEMPLATE_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    assert stack["description"] == wizard.WIZARD_DESCRIPTION
    assert "compose.deployTemplate" not in [p for _, p, _ in fake.requests]
    [imported] = [body for _, p, body in fake.requests if p == "compose.import"]
    assert imported["composeId"] == stack["composeId"]


async def test_a_template_dir_without_the_files_is_an_input_error_at_stack(tmp_path: Path) -> None:
    fake = new_fake(template_internet=False)
    result = await wizard_run(fake, DeployedKong(fake), spec(template_dir=str(tmp_path)))
    assert result.status == "failed"
    assert result.failed_step == "stack"
    assert result.problem is not None and "docker-compose.yml and template.toml" in result.problem
    assert composes_in(fake, "shop") == []


async def test_an_import_that_failed_midway_is_finished_on_resume() -> None:
    fake = new_fake(template_internet=False)
    kong = DeployedKong(fake)
    fake.fail("compose.import")
    failed = await wizard_run(fake, kong, spec(template_dir=str(TEMPLATE_DIR)))
    assert failed.status == "failed"
    assert failed.failed_step == "stack"
    [shell] = composes_in(fake, "shop")
    assert not shell["composeFile"]

    # Without template_dir the wizard cannot finish it, and says how.
    refused = await wizard_run(fake, kong, spec())
    assert refused.failed_step == "stack"
    assert (
        refused.problem is not None
        and "Invalid template: " in refused.problem
        and "same template folder" in refused.problem
    )
    assert len(composes_in(fake, "shop")) == 1

    resumed = await wizard_run(fake, kong, spec(template_dir=str(TEMPLATE_DIR)))
    assert resumed.status == "ready", (resumed.failed_step, resumed.problem)
    [stack] = composes_in(fake, "shop")
    assert stack["composeId"] == shell["composeId"] == resumed.compose_id


async def test_a_failed_rename_of_the_catalogue_stack_leaves_no_stray_compose() -> None:
    fake = new_fake()
    kong = DeployedKong(fake)
    fake.fail("compose.update")
    failed = await wizard_run(fake, kong, spec(stack_name="backend"))
    assert failed.status == "failed"
    assert failed.failed_step == "stack"
    # The compose made under the template's name is gone, so the resume cannot make a second one.
    assert composes_in(fake, "shop") == []
    resumed = await wizard_run(fake, kong, spec(stack_name="backend"))
    assert resumed.status == "ready", (resumed.failed_step, resumed.problem)
    assert [c["name"] for c in composes_in(fake, "shop")] == ["backend"]


async def test_a_compose_of_the_same_name_that_is_not_supabase_is_left_alone() -> None:
    fake = new_fake()
    theirs = fake.add_compose("shop", "supabase", BUSYBOX, env="A=1")
    state = snapshot(fake)
    result = await wizard_run(fake, DeployedKong(fake), spec())
    assert result.status == "failed"
    assert result.failed_step == "stack"
    assert result.problem is not None and "choose another stack_name" in result.problem
    assert snapshot(fake)["composes"] == state["composes"]
    assert fake.composes[theirs["composeId"]]["env"] == "A=1"


# -- domain and warnings ----------------------------------------------------------------------------------------------


async def test_a_domain_updates_the_template_kong_domain_and_the_urls() -> None:
    fake = new_fake()
    kong = DeployedKong(fake)
    created: list[str] = []

    async def progress(message: str) -> None:
        if message.endswith(": fix_env"):
            stack = the_stack(fake)
            assert stack is not None
            created.extend(d["domainId"] for d in kong_domains(fake, stack["composeId"]))

    async with fake.client() as client:
        result = await run_wizard(
            client, "main", spec(domain="API.Example.com"), progress=progress, gateway_factory=kong.factory
        )
    assert result.status == "ready", (result.failed_step, result.problem, result.probe)
    stack = the_stack(fake)
    assert stack is not None
    [domain] = [d for d in fake.domains.values() if d["composeId"] == stack["composeId"]]
    assert [domain["domainId"]] == created  # the template's domain, updated, not a second one
    assert (domain["host"], domain["https"], domain["certificateType"]) == ("api.example.com", True, "letsencrypt")
    assert (domain["serviceName"], domain["port"]) == ("kong", 8000)
    assert "domain.create" not in [p for _, p, _ in fake.requests]
    env = EnvFile.parse(stack["env"])
    assert env.get("API_EXTERNAL_URL") == "https://api.example.com"
    assert env.get("SUPABASE_PUBLIC_URL") == "https://api.example.com"
    assert env.get("SUPABASE_HOST") == "api.example.com"
    assert kong.urls == ["https://api.example.com"]
    assert result.credentials is not None and result.credentials.api_url == "https://api.example.com"


async def test_a_domain_over_http_gets_no_certificate() -> None:
    fake = new_fake(lets_encrypt_email=None)
    result = await wizard_run(fake, DeployedKong(fake), spec(domain="api.example.com", https=False))
    assert result.status == "ready"
    stack = the_stack(fake)
    assert stack is not None
    [domain] = kong_domains(fake, stack["composeId"])
    assert (domain["host"], domain["https"], domain["certificateType"]) == ("api.example.com", False, "none")
    assert EnvFile.parse(stack["env"]).get("API_EXTERNAL_URL") == "http://api.example.com"
    assert not any("Let's Encrypt" in w for w in result.warnings)


async def test_a_stack_without_kong_domain_gets_one_created() -> None:
    fake = new_fake()
    compose = fake.add_supabase_stack("shop", "supabase", domains=[])
    result = await wizard_run(fake, DeployedKong(fake), spec(domain="api.example.com", adopt=True))
    assert result.status == "ready", (result.failed_step, result.problem)
    [domain] = kong_domains(fake, compose["composeId"])
    assert (domain["host"], domain["https"], domain["port"]) == ("api.example.com", True, 8000)


async def test_an_unset_server_ip_without_a_domain_is_a_warning() -> None:
    fake = new_fake(server_ip="")
    result = await wizard_run(fake, DeployedKong(fake), spec())
    assert any("server IP is unset" in w for w in result.warnings)
    with_domain = await wizard_run(fake, DeployedKong(fake), spec(domain="api.example.com"))
    assert not any("server IP is unset" in w for w in with_domain.warnings)


async def test_a_set_server_ip_gives_no_warning() -> None:
    fake = new_fake()
    result = await wizard_run(fake, DeployedKong(fake), spec())
    assert result.status == "ready"
    assert result.warnings == []


async def test_an_unset_lets_encrypt_email_with_https_is_a_warning() -> None:
    fake = new_fake(lets_encrypt_email=None)
    result = await wizard_run(fake, DeployedKong(fake), spec(domain="api.example.com"))
    assert result.status == "ready"
    assert any("Let's Encrypt e-mail is not set" in w for w in result.warnings)


# -- keys, deploy, names ----------------------------------------------------------------------------------------------


async def test_keys_signed_with_another_secret_are_resigned_with_the_stack_secret() -> None:
    fake = new_fake()
    template = fake.add_supabase_stack("elsewhere", "supabase")
    env = EnvFile.parse(template["env"])
    other = "another-jwt-secret-with-at-least-32-characters"
    broken = env.apply(set={"ANON_KEY": make_key(other, "anon"), "SERVICE_ROLE_KEY": make_key(other, "service_role")})
    compose = fake.add_supabase_stack("shop", "supabase", env=broken.render())
    # Not this wizard's stack: never taken over silently (its keys stay as they are) ...
    refused = await wizard_run(fake, DeployedKong(fake), spec())
    assert (refused.status, refused.failed_step) == ("failed", "stack")
    assert refused.problem is not None and "adopt=true" in refused.problem
    assert fake.composes[compose["composeId"]]["env"] == broken.render()
    # ... only when the caller names it with adopt (the service confirms first when it is deployed).
    result = await wizard_run(fake, DeployedKong(fake), spec(adopt=True))
    assert result.status == "ready", (result.failed_step, result.problem, result.probe)
    assert any("keys were broken" in w and "new JWT_SECRET" not in w for w in result.warnings)
    stored = EnvFile.parse(fake.composes[compose["composeId"]]["env"])
    assert stored.get("JWT_SECRET") == env.get("JWT_SECRET")
    assert stored.get("ANON_KEY") != broken.get("ANON_KEY")
    assert_keys_consistent(fake.composes[compose["composeId"]]["env"])
    assert result.compose_id == compose["composeId"]


async def test_a_short_jwt_secret_is_replaced_and_the_keys_signed_with_the_new_one() -> None:
    fake = new_fake()
    template = fake.add_supabase_stack("elsewhere", "supabase")
    env = EnvFile.parse(template["env"]).apply(set={"JWT_SECRET": "short"})
    assert any(f.severity == "critical" for f in check_keys(env.as_dict()))
    compose = fake.add_supabase_stack("shop", "supabase", env=env.render())
    refused = await wizard_run(fake, DeployedKong(fake), spec())
    assert (refused.status, refused.failed_step) == ("failed", "stack")
    assert EnvFile.parse(fake.composes[compose["composeId"]]["env"]).get("JWT_SECRET") == "short"
    result = await wizard_run(fake, DeployedKong(fake), spec(adopt=True))
    assert result.status == "ready", (result.failed_step, result.problem, result.probe)
    assert any("with a new JWT_SECRET" in w for w in result.warnings)
    stored = fake.composes[compose["composeId"]]["env"]
    assert EnvFile.parse(stored).get("JWT_SECRET") != "short"
    assert_keys_consistent(stored)
    assert (EnvFile.parse(stored).get("JWT_SECRET") or "<unset>") not in result.model_dump_json()


async def test_a_deploy_ending_in_error_fails_at_deploy_with_its_log_tail_and_resumes() -> None:
    fake = new_fake()
    fake.deploy_result(None, "error", times=1)
    kong = DeployedKong(fake)
    result = await wizard_run(fake, kong, spec())
    assert result.status == "failed"
    assert result.failed_step == "deploy"
    assert result.problem is not None and "ended error" in result.problem and "log_tail" in result.problem
    assert result.deploy is not None and result.deploy.status == "error"
    assert result.deploy.log_tail
    assert result.resume is not None and "to resume" in result.resume
    assert kong.requests == []
    stack = the_stack(fake)
    assert stack is not None
    for key in ("JWT_SECRET", "SERVICE_ROLE_KEY", "POSTGRES_PASSWORD"):
        assert (EnvFile.parse(stack["env"]).get(key) or "<unset>") not in result.deploy.log_tail

    resumed = await wizard_run(fake, kong, spec())
    assert resumed.status == "ready"
    assert resumed.compose_id == result.compose_id
    # The stack had a deployment already: the resume redeploys it.
    assert [p for _, p, _ in fake.requests].count("compose.redeploy") == 1


async def test_keys_the_gateway_refuses_leave_the_stack_deployed_unverified() -> None:
    fake = new_fake()
    kong = DeployedKong(fake, frozen_env="JWT_SECRET=x\nANON_KEY=a\nSERVICE_ROLE_KEY=b\n")
    result = await wizard_run(fake, kong, spec())
    assert result.status == "deployed_unverified"
    assert result.failed_step is None
    assert result.probe and any("anon" in line for line in result.probe)
    assert result.credentials is not None


async def test_probe_false_skips_the_gateway() -> None:
    fake = new_fake()
    kong = DeployedKong(fake)
    result = await wizard_run(fake, kong, spec(probe=False))
    assert result.status == "deployed_unverified"
    assert result.probe == ["not probed"]
    assert kong.requests == []


async def test_the_project_name_is_made_dns_safe_and_the_original_kept_as_description() -> None:
    fake = new_fake()
    result = await wizard_run(fake, DeployedKong(fake), spec(project="Mon Projet Été"))
    assert result.status == "ready"
    assert result.project == "mon-projet-ete"
    [project] = projects_named(fake, "mon-projet-ete")
    assert project["description"] == "Mon Projet Été"
    # Another spelling of the same name resumes the same project.
    again = await wizard_run(fake, DeployedKong(fake), spec(project="MON projet ete"))
    assert again.project_id == result.project_id
    assert len(fake.projects) == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Mon Projet Été", "mon-projet-ete"), ("  shop  ", "shop"), ("a__b--c", "a-b-c"), ("x" * 80, "x" * 63)],
)
def test_dns_safe(given: str, expected: str) -> None:
    assert dns_safe(given) == expected


@pytest.mark.parametrize("given", ["!!!", "   ", "日本"])
def test_dns_safe_refuses_names_without_letters_or_digits(given: str) -> None:
    with pytest.raises(InputError):
        dns_safe(given)


def no_gateway(*args: Any) -> Any:
    raise AssertionError("the wizard refused its input: it must not reach a gateway")


async def test_a_bad_domain_or_both_template_sources_are_refused_before_any_request() -> None:
    fake = new_fake()
    async with fake.client() as client:
        with pytest.raises(InputError):
            await run_wizard(client, "main", spec(domain="https://api.example.com"), gateway_factory=no_gateway)
        with pytest.raises(InputError, match="not both"):
            both = spec(template_dir=str(TEMPLATE_DIR), template_mirror="https://m.ex")
            await run_wizard(client, "main", both, gateway_factory=no_gateway)
    assert fake.requests == []


async def test_an_env_dokploy_stores_differently_is_put_back_before_the_run_stops() -> None:
    fake = new_fake()
    stack = fake.add_supabase_stack("shop", "supabase")
    before = stack["env"]
    original = fake.transport

    def handle(request: httpx.Request) -> httpx.Response:
        response = original.handle_request(request)
        stored = fake.composes[stack["composeId"]]["env"]
        if request.url.path == "/api/compose.saveEnvironment" and stored != before:
            # Dokploy keeps only half of the new env; the previous one it would store whole.
            fake.composes[stack["composeId"]]["env"] = stored[: len(stored) // 2]
        return response

    async with fake.client(transport=httpx.MockTransport(handle)) as client:
        result = await run_wizard(client, "main", spec(**FULL, adopt=True), gateway_factory=DeployedKong(fake).factory)

    assert result.status == "failed" and result.failed_step == "fix_env"
    assert fake.composes[stack["composeId"]]["env"] == before
