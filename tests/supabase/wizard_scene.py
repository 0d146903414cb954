"""The scene of the setup wizard's tests: a Dokploy double with its options, a run as the tool makes it, and what to
look at afterwards (the stack, its kong domains, everything else left untouched)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dokploy_mcp.explain import explain
from dokploy_mcp.supabase import wizard
from dokploy_mcp.supabase.wizard import WizardResult, run_wizard
from dokploy_mcp.supabase.wizard_input import WizardInput
from tests.fake_dokploy import FakeDokploy
from tests.supabase.test_regenerate import DeployedKong, StepRecorder

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "supabase" / "dokploy-template"
IP = "203.0.113.10"
BUSYBOX = "services:\n  web:\n    image: busybox\n"
GENERATED_HOST = re.compile(r"[a-z0-9-]*-[0-9a-f]{6}-\d+-\d+-\d+-\d+\.sslip\.io")


def new_fake(**options: Any) -> FakeDokploy:
    options.setdefault("server_ip", IP)
    options.setdefault("lets_encrypt_email", "ops@example.com")
    options.setdefault("deploy_polls", 0)
    return FakeDokploy(**options)


async def wizard_run(
    fake: FakeDokploy,
    kong: DeployedKong,
    spec: WizardInput,
    recorder: StepRecorder | None = None,
    messages: list[str] | None = None,
) -> WizardResult:
    async def progress(message: str) -> None:
        if messages is not None:
            messages.append(message)
        if recorder is not None and message.startswith("step "):
            recorder.mark(message.split(": ", 1)[1])

    async with fake.client() as client:
        result = await run_wizard(client, "main", spec, progress=progress, gateway_factory=kong.factory)
    if recorder is not None:
        recorder.finish()
    # As the tool does: the wizard keeps its errors, and the boundary's explain words them.
    result.explain_errors(explain)
    return result


def projects_named(fake: FakeDokploy, name: str) -> list[dict[str, Any]]:
    return [p for p in fake.projects.values() if p["name"] == name]


def composes_in(fake: FakeDokploy, project: str, name: str | None = None) -> list[dict[str, Any]]:
    project_ids = {p["projectId"] for p in projects_named(fake, project)}
    environments = {e for e, row in fake.environments.items() if row["projectId"] in project_ids}
    return [
        c for c in fake.composes.values() if c["environmentId"] in environments and (name is None or c["name"] == name)
    ]


def the_stack(fake: FakeDokploy, project: str = "shop", name: str = "supabase") -> dict[str, Any] | None:
    found = composes_in(fake, project, name)
    assert len(found) <= 1, f"{len(found)} composes named {name!r} in project {project!r}"
    return found[0] if found else None


def kong_domains(fake: FakeDokploy, compose_id: str) -> list[dict[str, Any]]:
    return [d for d in fake.domains.values() if d["composeId"] == compose_id and d["serviceName"] == "kong"]


def normalised(env: str) -> str:
    """The env without the host Dokploy generated (random per import)."""
    return GENERATED_HOST.sub("<generated>", env)


def snapshot(fake: FakeDokploy) -> dict[str, Any]:
    return copy.deepcopy(
        {
            "projects": fake.projects,
            "environments": fake.environments,
            "composes": fake.composes,
            "domains": fake.domains,
            "mounts": fake.mounts,
            "deployments": fake.deployments,
            "running": fake.running,
        }
    )


def untouched(fake: FakeDokploy, before: dict[str, Any], project: str = "shop", name: str = "supabase") -> None:
    """Everything that existed in ``before`` (a snapshot) is as it was, except the stack the wizard works on."""
    now = snapshot(fake)
    stack = the_stack(fake, project, name)
    ids = {stack["composeId"]} if stack else set()
    apps = {stack["appName"]} if stack else set()

    def outside(state: dict[str, Any]) -> dict[str, Any]:
        return {
            "projects": {k: v for k, v in state["projects"].items() if k in before["projects"]},
            "environments": {k: v for k, v in state["environments"].items() if k in before["environments"]},
            "composes": {k: v for k, v in state["composes"].items() if k not in ids},
            "domains": {k: v for k, v in state["domains"].items() if v["composeId"] not in ids},
            "mounts": {k: v for k, v in state["mounts"].items() if v["composeId"] not in ids},
            "deployments": {k: v for k, v in state["deployments"].items() if v["composeId"] not in ids},
            "running": {k: v for k, v in state["running"].items() if k not in apps},
        }

    assert outside(now) == outside(before)
    # What is new is only the stack and, when there was none, the project with its environment.
    new_projects = set(now["projects"]) - set(before["projects"])
    assert {now["projects"][p]["name"] for p in new_projects} <= {project}
    new_environments = set(now["environments"]) - set(before["environments"])
    assert all(now["environments"][e]["projectId"] in new_projects for e in new_environments)
    assert set(now["composes"]) - set(before["composes"]) <= ids


def spec(**options: Any) -> WizardInput:
    options.setdefault("project", "shop")
    options.setdefault("wait_seconds", 30)
    return WizardInput(**options)


# -- the scenarios a failure is injected into -------------------------------------------------------------------------


def new_project(fake: FakeDokploy) -> None:
    """A new project, next to another project's stack."""
    fake.add_supabase_stack("other", "supabase", deployed=True)


def existing_project(fake: FakeDokploy) -> None:
    """The project exists with another service in it, which the wizard must leave alone."""
    new_project(fake)
    fake.add_compose("shop", "worker", BUSYBOX, env="TOKEN=worker-token-value-0123")


SCENARIOS: dict[str, Callable[[FakeDokploy], None]] = {"new-project": new_project, "existing-project": existing_project}
FULL = {"domain": "api.example.com", "https": True, "site_url": "https://app.example.com"}


@dataclass
class Baseline:
    """A successful run of a scenario: where each step starts, and the stack's env before and after fix_env."""

    recorder: StepRecorder
    env_before: str
    env_after: str


async def baseline(scenario: str) -> Baseline:
    fake = new_fake()
    SCENARIOS[scenario](fake)
    kong = DeployedKong(fake)
    recorder = StepRecorder(fake, kong)
    env_before: list[str] = []

    async def progress(message: str) -> None:
        if message.startswith("step "):
            recorder.mark(message.split(": ", 1)[1])
            if message.endswith(": fix_env"):
                stack = the_stack(fake)
                assert stack is not None
                env_before.append(normalised(stack["env"]))

    async with fake.client() as client:
        done = await run_wizard(client, "main", spec(**FULL), progress=progress, gateway_factory=kong.factory)
    recorder.finish()
    assert done.status == "ready", (done.failed_step, done.problem, done.probe)
    assert list(recorder.starts) == list(wizard.STEPS)
    ready_stack = the_stack(fake)
    assert ready_stack is not None
    env_after = normalised(ready_stack["env"])
    assert env_before and env_before[0] != env_after
    return Baseline(recorder, env_before[0], env_after)
