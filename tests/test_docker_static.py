"""Static checks of the Docker pieces: compose.e2e.yml, the Dockerfiles under docker/ and every shell script.

No Docker engine runs where these tests run, so nothing here builds an image or starts a container. What can be
checked without one is checked: the compose file parses and every service, volume, build context and file it
names exists; each Dockerfile's bases are pinned, its COPY sources exist and reach the build context, and its
entrypoint, command and health check name something the image really has; every shell script passes ``bash -n``
and shellcheck. The checkers take paths and return problems, so that the tests below can also show them failing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION
from tests.conftest import require_real_part

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.e2e.yml"
DOKPLOY_DEV = ROOT / "docker" / "dokploy-dev"
MCP_DOCKERFILE = ROOT / "docker" / "mcp" / "Dockerfile"
E2E_DOCKERFILE = ROOT / "docker" / "e2e" / "Dockerfile"
DOCKERFILES = [DOKPLOY_DEV / "Dockerfile", MCP_DOCKERFILE, E2E_DOCKERFILE]
#: Host paths compose.e2e.yml may bind: they live on the developer's host, so only the documented ones are allowed.
HOST_BINDS = {"/var/run/docker.sock", "/etc/dokploy"}
#: Commands an image has without a COPY: from its base image, or console scripts of an installed project.
BASE_COMMANDS = {"python", "python3", "pip", "sh", "bash"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SKIP_DIRS = {".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}


# ---------------------------------------------------------------------------------------------------------------
# Dockerfile reading


@dataclass
class Stage:
    base: str
    name: str | None
    #: Image path -> repository path, for what COPY brings in from the build context.
    files: dict[str, Path] = field(default_factory=dict)
    #: Image paths that COPY --from brings in from another stage or image.
    copied_from_elsewhere: set[str] = field(default_factory=set)
    #: Names of the stages (or images) that COPY --from reads.
    copies_from: set[str] = field(default_factory=set)
    installs_project: bool = False


@dataclass
class Dockerfile:
    path: Path
    context: Path
    stages: list[Stage]
    instructions: list[tuple[str, str]]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def last(self, keyword: str) -> str | None:
        found = [args for kw, args in self.instructions if kw == keyword]
        return found[-1] if found else None

    def runs(self, fragment: str) -> bool:
        return any(kw == "RUN" and fragment in args for kw, args in self.instructions)

    @property
    def has_project(self) -> bool:
        """Whether the final image has this project installed, itself or copied from a stage that installed it."""
        installed = {stage.name for stage in self.stages if stage.installs_project and stage.name}
        return self.final.installs_project or bool(self.final.copies_from & installed)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, args = text.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def exec_form(args: str) -> list[str]:
    """The words of an exec-form (JSON array) argument, or of a shell-form one split like a shell would."""
    if args.startswith("["):
        words = json.loads(args)
        assert isinstance(words, list)
        return [str(word) for word in words]
    return shlex.split(args)


def split_flags(words: list[str]) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    rest: list[str] = []
    for word in words:
        if word.startswith("--") and not rest:
            key, _, value = word[2:].partition("=")
            flags[key] = value
        else:
            rest.append(word)
    return flags, rest


def image_path(workdir: str, dest: str) -> str:
    return str(PurePosixPath(workdir) / dest) if not dest.startswith("/") else dest


def parse_dockerfile(path: Path, context: Path) -> Dockerfile:
    items = instructions(path)
    stages: list[Stage] = []
    workdir = "/"
    for keyword, args in items:
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(base=words[0], name=name))
            workdir = "/"
        elif keyword == "WORKDIR":
            workdir = image_path(workdir, args)
        elif keyword in {"COPY", "ADD"} and stages:
            flags, words = split_flags(exec_form(args))
            *sources, dest = words
            into_dir = dest.endswith("/") or len(sources) > 1
            target = image_path(workdir, dest)
            for source in sources:
                where = target.rstrip("/") + "/" + PurePosixPath(source).name if into_dir else target
                if "from" in flags:
                    stages[-1].copied_from_elsewhere.add(where)
                    stages[-1].copies_from.add(flags["from"])
                else:
                    stages[-1].files[where] = context / source
        elif keyword == "RUN" and stages and PIP_INSTALLS_PROJECT.search(args):
            stages[-1].installs_project = True
    return Dockerfile(path=path, context=context, stages=stages, instructions=items)


def dockerignore_patterns(context: Path) -> list[str]:
    ignore = context / ".dockerignore"
    if not ignore.is_file():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line.lstrip("/") for line in lines if line and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``relative`` out (Docker's rules: a match on the path or a parent)."""
    result = False
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            result = not negate
    return result


def console_scripts() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["project"]["scripts"])


def provided(docker: Dockerfile, command: str) -> bool:
    """Whether ``command`` (the first word of an entrypoint, command or health check) exists in the final image."""
    stage = docker.final
    if command.startswith("/"):
        return command in stage.files or command in stage.copied_from_elsewhere
    if command in BASE_COMMANDS:
        return stage.base.startswith("python:")
    return command in console_scripts() and docker.has_project


def dockerfile_problems(path: Path, context: Path) -> list[str]:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    docker = parse_dockerfile(path, context)
    if not docker.stages:
        return [f"{where}: no FROM line"]
    found = [
        *_unpinned_bases(docker),
        *_copy_problems(docker, context),
        *_command_problems(docker),
        *_executable_problems(docker, context),
    ]
    return [f"{where}: {problem}" for problem in found]


def _stage_names(docker: Dockerfile) -> set[str]:
    return {stage.name for stage in docker.stages if stage.name}


def _unpinned_bases(docker: Dockerfile) -> list[str]:
    names = _stage_names(docker)
    return [
        f"FROM {stage.base} is not pinned to a tag"
        for stage in docker.stages
        if stage.base not in names and (":" not in stage.base or stage.base.endswith(":latest"))
    ]


def _copy_problems(docker: Dockerfile, context: Path) -> list[str]:
    problems: list[str] = []
    patterns = dockerignore_patterns(context)
    for stage in docker.stages:
        for source in stage.files.values():
            relative = source.relative_to(context).as_posix()
            if not source.exists():
                problems.append(f"COPY source {relative} does not exist in the build context")
            elif ignored(relative, patterns):
                problems.append(f"COPY source {relative} is excluded by the context's .dockerignore")
    names = _stage_names(docker)
    for keyword, args in docker.instructions:
        if keyword == "COPY":
            flags, _ = split_flags(exec_form(args))
            source_stage = flags.get("from")
            if source_stage is not None and source_stage not in names and ":" not in source_stage:
                problems.append(f"COPY --from={source_stage} names no stage and no pinned image")
    return problems


def _command_problems(docker: Dockerfile) -> list[str]:
    problems: list[str] = []
    for keyword in ("ENTRYPOINT", "CMD", "HEALTHCHECK"):
        command = docker.last(keyword)
        if command is None or (keyword == "CMD" and docker.last("ENTRYPOINT") is not None):
            continue  # a CMD after an ENTRYPOINT holds arguments to it, not a command
        if keyword == "HEALTHCHECK":
            command = command[command.index("CMD ") + 4 :] if "CMD " in command else ""
        words = exec_form(command)
        if words and not provided(docker, words[0]):
            problems.append(f"{keyword} runs {words[0]}, which the image does not have")
    return problems


def _executable_problems(docker: Dockerfile, context: Path) -> list[str]:
    return [
        f"{source.relative_to(context)} is copied as a command but is not executable"
        for image_file, source in docker.final.files.items()
        if image_file.startswith("/usr/local/bin/") and source.is_file() and not os.access(source, os.X_OK)
    ]


# ---------------------------------------------------------------------------------------------------------------
# compose file reading


def build_of(service: dict[str, Any], base: Path) -> tuple[Path, Path] | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return base / build, base / build / "Dockerfile"
    context = base / build.get("context", ".")
    return context, context / build.get("dockerfile", "Dockerfile")


def volume_source(entry: str | dict[str, Any]) -> str:
    return entry.split(":", 1)[0] if isinstance(entry, str) else str(entry.get("source", ""))


def compose_problems(compose_file: Path) -> list[str]:
    base = compose_file.parent
    data = yaml.safe_load(compose_file.read_text())
    services: dict[str, dict[str, Any]] = data.get("services") or {}
    if not services:
        return ["no services"]
    problems, images = _build_problems(services, base)
    declared_volumes = set(data.get("volumes") or {})
    for name, service in services.items():
        found = [
            *_volume_problems(service, base, declared_volumes),
            *_dependency_problems(service, services, images),
            *_service_file_problems(service, base, images.get(name)),
        ]
        problems += [f"{name}: {problem}" for problem in found]
    return problems


def _build_problems(services: dict[str, dict[str, Any]], base: Path) -> tuple[list[str], dict[str, Dockerfile]]:
    """Problems of each service's image source, and the parsed Dockerfile of every service built here."""
    problems: list[str] = []
    images: dict[str, Dockerfile] = {}
    for name, service in services.items():
        build = build_of(service, base)
        if build is None:
            if "image" not in service:
                problems.append(f"{name}: neither build nor image")
            continue
        context, dockerfile = build
        if not context.is_dir():
            problems.append(f"{name}: build context {context.relative_to(base)} does not exist")
        elif not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile.relative_to(base)} does not exist")
        else:
            problems += [f"{name}: {problem}" for problem in dockerfile_problems(dockerfile, context)]
            images[name] = parse_dockerfile(dockerfile, context)
    return problems, images


def _volume_problems(service: dict[str, Any], base: Path, declared: set[str]) -> list[str]:
    problems: list[str] = []
    for entry in service.get("volumes", []):
        source = volume_source(entry)
        if source.startswith("/"):
            if source not in HOST_BINDS:
                problems.append(f"binds host path {source}, which is not one of {sorted(HOST_BINDS)}")
        elif source.startswith("."):
            if not (base / source).exists():
                problems.append(f"binds {source}, which does not exist")
        elif source not in declared:
            problems.append(f"uses volume {source}, which is not declared under volumes")
    return problems


def _dependency_problems(
    service: dict[str, Any], services: dict[str, dict[str, Any]], images: dict[str, Dockerfile]
) -> list[str]:
    problems: list[str] = []
    depends = service.get("depends_on") or {}
    for dependency, spec in depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends):
        if dependency not in services:
            problems.append(f"depends on {dependency}, which is not a service")
        condition = (spec or {}).get("condition", "service_started")
        if condition not in CONDITIONS:
            problems.append(f"unknown depends_on condition {condition}")
        if condition == "service_healthy" and not has_healthcheck(services.get(dependency, {}), images.get(dependency)):
            problems.append(f"waits for {dependency} to be healthy, which has no health check")
    return problems


def _service_file_problems(service: dict[str, Any], base: Path, image: Dockerfile | None) -> list[str]:
    env_files = service.get("env_file")
    problems = [
        f"env_file {env_file} does not exist"
        for env_file in (env_files if isinstance(env_files, list) else [])
        if not (base / env_file).is_file()
    ]
    entrypoint = service.get("entrypoint")
    if entrypoint and image is not None:
        words = entrypoint if isinstance(entrypoint, list) else shlex.split(entrypoint)
        if not provided(image, words[0]):
            problems.append(f"entrypoint {words[0]} is not in its image")
    return problems


def has_healthcheck(service: dict[str, Any], image: Dockerfile | None) -> bool:
    if "healthcheck" in service:
        return not service["healthcheck"].get("disable", False)
    return image is not None and image.last("HEALTHCHECK") not in {None, "NONE"}


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


PIP_INSTALLS_PROJECT = re.compile(r'pip install\b[^&;|]*\s"?\.(\[[\w,-]+\])?"?(\s|$)')
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


# ---------------------------------------------------------------------------------------------------------------
# shell scripts


def shell_scripts() -> list[Path]:
    """Every shell script of the repository: *.sh files and files whose first line is a sh or bash shebang."""
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.suffix == ".sh":
                found.append(path)
                continue
            try:
                with path.open("rb") as handle:
                    first = handle.readline(100)
            except OSError:
                continue
            if re.match(rb"#!\s*(/usr/bin/env\s+)?(/bin/|/usr/bin/)?(ba)?sh\b", first):
                found.append(path)
    return sorted(found)


def bash_n_problems(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            problems.append(f"{path.name}: {result.stderr.strip()}")
    return problems


#: Options that take a value: of `docker compose` itself, and of its subcommands (where `-f` means --follow).
GLOBAL_VALUE_OPTIONS = {"-f", "--file", "-p", "--project-name", "--profile", "--env-file"}
COMMAND_VALUE_OPTIONS = {"--entrypoint", "-e", "--env", "--rmi", "-u", "--user", "-w", "--workdir", "--tail"}


def services_named(line: str) -> list[str]:
    """The services a documented `docker compose ...` line names (for `run`, the one it runs)."""
    found: list[str] = []
    for segment in line.split("&&"):
        words = shlex.split(segment.split(" #", 1)[0])
        while words and "=" in words[0]:
            words.pop(0)
        if words[:2] != ["docker", "compose"]:
            continue
        rest = words[2:]
        operands = []
        subcommand = None
        index = 0
        while index < len(rest):
            word = rest[index]
            if word in (GLOBAL_VALUE_OPTIONS if subcommand is None else COMMAND_VALUE_OPTIONS):
                index += 2
                continue
            if word.startswith("-"):
                index += 1
                continue
            if subcommand is None:
                subcommand = word
            else:
                operands.append(word)
                if subcommand == "run":
                    break  # what follows is the command run in the service
            index += 1
        found += operands
    return found


def documented_commands(markdown: str) -> list[str]:
    """The lines of its bash blocks and its inline code spans: what a reader would paste into a shell."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return lines + re.findall(r"`([^`\n]+)`", prose)


def readme_sections() -> str:
    """The README, which holds the sections "End-to-end environment" and "Run the server in Docker"."""
    readme = (ROOT / "README.md").read_text()
    assert "## End-to-end environment" in readme and "## Run the server in Docker" in readme
    return readme


# ---------------------------------------------------------------------------------------------------------------
# the compose file


def test_compose_file_parses_and_every_service_volume_context_and_file_it_names_exists() -> None:
    assert compose_problems(COMPOSE) == []
    assert set(compose()["services"]) == {"dokploy-dev", "bootstrap", "e2e", "mcp"}


def write_fixture_project(root: Path, service: dict[str, Any], volumes: dict[str, Any] | None = None) -> Path:
    (root / "ctx").mkdir()
    (root / "ctx" / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCOPY app.sh /usr/local/bin/app\nENTRYPOINT ["/usr/local/bin/app"]\n'
    )
    script = root / "ctx" / "app.sh"
    script.write_text("#!/usr/bin/env bash\necho hi\n")
    script.chmod(0o755)
    document = {"services": {"app": service, "db": {"image": "postgres:16"}}, "volumes": volumes or {"data": {}}}
    path = root / "compose.yml"
    path.write_text(yaml.safe_dump(document))
    return path


GOOD_SERVICE: dict[str, Any] = {"build": {"context": "ctx"}, "volumes": ["data:/data"], "depends_on": ["db"]}


def test_the_checker_accepts_a_well_formed_fixture_project(tmp_path: Path) -> None:
    assert compose_problems(write_fixture_project(tmp_path, GOOD_SERVICE)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"build": {"context": "missing"}}, "build context missing does not exist"),
        ({"build": {"context": "ctx", "dockerfile": "Nope"}}, "Dockerfile ctx/Nope does not exist"),
        ({"volumes": ["other:/data"]}, "uses volume other, which is not declared"),
        ({"volumes": ["./nowhere:/data"]}, "binds ./nowhere, which does not exist"),
        ({"volumes": ["/home/me:/data"]}, "binds host path /home/me"),
        ({"depends_on": ["ghost"]}, "depends on ghost, which is not a service"),
        ({"depends_on": {"db": {"condition": "service_healthy"}}}, "waits for db to be healthy, which has no health"),
        ({"entrypoint": ["/usr/local/bin/absent"]}, "entrypoint /usr/local/bin/absent is not in its image"),
    ],
)
def test_a_compose_service_naming_something_missing_is_reported(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    problems = compose_problems(write_fixture_project(tmp_path, {**GOOD_SERVICE, **change}))
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        ("FROM python:3.11-slim\nCOPY gone.sh /usr/local/bin/gone\n", "COPY source gone.sh does not exist"),
        ("FROM python\nCOPY app.sh /usr/local/bin/app\n", "FROM python is not pinned"),
        ('FROM python:3.11-slim\nENTRYPOINT ["/usr/local/bin/app"]\n', "ENTRYPOINT runs /usr/local/bin/app"),
        ("FROM python:3.11-slim\nCOPY --from=nowhere /x /x\n", "COPY --from=nowhere names no stage"),
        ("FROM python:3.11-slim\nCOPY secret.key /k\n", "excluded by the context's .dockerignore"),
    ],
)
def test_a_dockerfile_naming_something_missing_is_reported(tmp_path: Path, dockerfile: str, expected: str) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "app.sh").write_text("#!/bin/sh\n")
    (tmp_path / "secret.key").write_text("x\n")
    (tmp_path / ".dockerignore").write_text("*.key\n")
    problems = dockerfile_problems(tmp_path / "Dockerfile", tmp_path)
    assert any(expected in problem for problem in problems), problems


def test_every_compose_variable_has_a_default_so_no_command_fails_for_an_unset_one() -> None:
    # Compose interpolates the whole file for every command, even `down` and services in other profiles, so a
    # required variable (`${X:?}`) would break the teardown too.
    variables = dict(match for text in strings_in(compose()) for match in INTERPOLATION.findall(text))
    assert variables, "compose.e2e.yml reads no settings from the environment"
    assert {name for name, modifier in variables.items() if not modifier.startswith(("-", ":-"))} == set()


def test_the_settings_the_issue_names_are_configurable_by_environment() -> None:
    services = compose()["services"]
    configurable = {
        name
        for service in services.values()
        for text in strings_in(service.get("environment", {}))
        for name, _ in INTERPOLATION.findall(text)
    }
    wanted = {
        "DOKPLOY_ADMIN_EMAIL",
        "DOKPLOY_ADMIN_PASSWORD",
        "DOKPLOY_E2E_IMAGE",
        "DOKPLOY_E2E_FULL",
        "DOKPLOY_MCP_PORT",
    }
    assert wanted <= configurable


def test_dokploy_dev_shares_the_hosts_network_socket_and_etc_dokploy() -> None:
    service = compose()["services"]["dokploy-dev"]
    assert service["network_mode"] == "host"
    assert "/var/run/docker.sock:/var/run/docker.sock" in service["volumes"]
    assert "/etc/dokploy:/etc/dokploy" in service["volumes"]
    # Dokploy's own ports come from the install script on the host; nothing here publishes or remaps them.
    assert all("ports" not in svc for svc in compose()["services"].values())


def test_the_one_shot_chain_waits_for_a_healthy_dokploy_then_a_successful_bootstrap() -> None:
    services = compose()["services"]
    assert services["bootstrap"]["depends_on"] == {"dokploy-dev": {"condition": "service_healthy"}}
    assert services["e2e"]["depends_on"] == {"bootstrap": {"condition": "service_completed_successfully"}}
    assert services["mcp"]["depends_on"] == {"bootstrap": {"condition": "service_completed_successfully"}}
    dokploy_dev = parse_dockerfile(DOKPLOY_DEV / "Dockerfile", DOKPLOY_DEV)
    assert exec_form((dokploy_dev.last("HEALTHCHECK") or "").split("CMD ", 1)[1]) == [
        "/usr/local/bin/dokploy-dev",
        "health",
    ]
    assert "http://localhost:3000/api/health" in (DOKPLOY_DEV / "dokploy-dev.sh").read_text()


def test_the_key_travels_through_one_volume_written_by_bootstrap_and_read_by_the_others() -> None:
    services = compose()["services"]
    assert services["bootstrap"]["volumes"] == ["keys:/keys"]
    assert services["e2e"]["volumes"] == ["keys:/keys:ro"]
    assert services["mcp"]["volumes"] == ["keys:/keys:ro"]
    assert services["mcp"]["environment"]["DOKPLOY_API_KEY_FILE"] == "/keys/api-key"
    assert "/keys" in (ROOT / "docker" / "e2e" / "bootstrap.sh").read_text()
    assert "/keys/api-key" in (ROOT / "docker" / "e2e" / "run-e2e.sh").read_text()
    # The key is written with mode 600, so every image that reads it runs as the uid that wrote it.
    for dockerfile in (MCP_DOCKERFILE, E2E_DOCKERFILE):
        docker = parse_dockerfile(dockerfile, ROOT)
        assert docker.last("USER") == "10001"
        assert docker.runs("--uid 10001")


def test_the_mcp_service_is_optional_and_cannot_serve_without_a_token() -> None:
    service = compose()["services"]["mcp"]
    assert service["profiles"] == ["mcp"]
    env = service["environment"]
    # Binding 0.0.0.0 makes the server itself refuse to start without DOKPLOY_MCP_AUTH_TOKEN.
    assert env["DOKPLOY_MCP_HOST"] == "${DOKPLOY_MCP_HOST:-0.0.0.0}"
    assert env["DOKPLOY_MCP_AUTH_TOKEN"] == "${DOKPLOY_MCP_AUTH_TOKEN:-}"


def test_the_e2e_image_installs_the_test_extras_and_runs_the_e2e_suite_with_the_repos_template() -> None:
    docker = parse_dockerfile(E2E_DOCKERFILE, ROOT)
    assert docker.runs('".[test]"')
    assert "test" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert docker.final.files["/app/tests"] == ROOT / "tests"
    assert exec_form(docker.last("CMD") or "") == ["-v", "tests/e2e"]
    template = compose()["services"]["e2e"]["environment"]["DOKPLOY_E2E_TEMPLATE_DIR"]
    assert template == "${DOKPLOY_E2E_TEMPLATE_DIR-/app/tests/fixtures/supabase/dokploy-template}"
    assert (ROOT / "tests" / "fixtures" / "supabase" / "dokploy-template" / "template.toml").is_file()


# ---------------------------------------------------------------------------------------------------------------
# the Dockerfiles


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_dockerfile_copies_existing_files_and_runs_what_the_image_has(dockerfile: Path) -> None:
    context = DOKPLOY_DEV if dockerfile.parent == DOKPLOY_DEV else ROOT
    assert dockerfile_problems(dockerfile, context) == []


def test_the_images_build_from_the_bases_the_issue_names() -> None:
    assert parse_dockerfile(DOKPLOY_DEV / "Dockerfile", DOKPLOY_DEV).final.base == "ubuntu:22.04"
    assert parse_dockerfile(MCP_DOCKERFILE, ROOT).final.base == "python:3.11-slim"
    assert parse_dockerfile(E2E_DOCKERFILE, ROOT).final.base == "python:3.11-slim"


def test_dokploy_dev_carries_the_docker_cli_and_the_tools_the_install_script_calls() -> None:
    docker = parse_dockerfile(DOKPLOY_DEV / "Dockerfile", DOKPLOY_DEV)
    assert "/usr/local/bin/docker" in docker.final.copied_from_elsewhere
    installs = " ".join(args for kw, args in docker.instructions if kw == "RUN")
    for package in ("curl", "iproute2", "openssl", "ca-certificates"):
        assert re.search(rf"\b{package}\b", installs), package


def test_the_dokploy_version_is_the_supported_one_everywhere() -> None:
    dockerfile_env = parse_dockerfile(DOKPLOY_DEV / "Dockerfile", DOKPLOY_DEV).last("ENV") or ""
    assert f"DOKPLOY_VERSION={SUPPORTED_DOKPLOY_VERSION}" in dockerfile_env
    assert compose()["services"]["dokploy-dev"]["environment"]["DOKPLOY_VERSION"] == (
        f"${{DOKPLOY_VERSION:-{SUPPORTED_DOKPLOY_VERSION}}}"
    )
    assert (
        f'DOKPLOY_VERSION="${{DOKPLOY_VERSION:-{SUPPORTED_DOKPLOY_VERSION}}}"'
        in (DOKPLOY_DEV / "dokploy-dev.sh").read_text()
    )


def test_the_mcp_image_serves_http_unprivileged_with_explicit_hosts_and_no_baked_token() -> None:
    docker = parse_dockerfile(MCP_DOCKERFILE, ROOT)
    assert docker.last("USER") not in {None, "0", "root"}
    assert exec_form(docker.last("ENTRYPOINT") or "") == ["dokploy-mcp"]
    env = " ".join(args for kw, args in docker.instructions if kw in {"ENV", "ARG"})
    assert "DOKPLOY_MCP_TRANSPORT=streamable-http" in env
    assert "DOKPLOY_MCP_HOST=0.0.0.0" in env
    assert "DOKPLOY_MCP_ALLOWED_HOSTS=" in env
    assert "DOKPLOY_MCP_AUTH_TOKEN" not in env


def test_no_docker_piece_mentions_an_api_port_3001() -> None:
    # Dokploy serves its UI and its API on 3000; older notes that say 3001 are wrong.
    files = [COMPOSE, *DOCKERFILES, *shell_scripts()]
    assert [path.name for path in files if re.search(r"\b3001\b", path.read_text())] == []


def test_the_build_context_keeps_local_secrets_and_environments_out() -> None:
    patterns = dockerignore_patterns(ROOT)
    for path in (".env", ".venv/bin/python", ".git/config", "src/dokploy_mcp/__pycache__/x.pyc"):
        assert ignored(path, patterns), path
    for path in ("pyproject.toml", "README.md", "src/dokploy_mcp/cli.py", "tests/e2e/conftest.py"):
        assert not ignored(path, patterns), path


# ---------------------------------------------------------------------------------------------------------------
# shell scripts


def test_the_repository_has_the_shell_scripts_the_images_run() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in shell_scripts()}
    assert {"docker/dokploy-dev/dokploy-dev.sh", "docker/e2e/bootstrap.sh", "docker/e2e/run-e2e.sh"} <= names


def test_every_shell_script_parses_with_bash_n() -> None:
    assert bash_n_problems(shell_scripts()) == []


def test_a_script_with_a_syntax_error_fails_bash_n(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text("#!/usr/bin/env bash\nif true; then\n  echo unclosed\n")
    assert bash_n_problems([broken]) != []


def test_every_shell_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    require_real_part(shellcheck is not None, "shellcheck", "not on PATH; apt-get install shellcheck (.ci/run does)")
    assert shellcheck is not None
    scripts = [str(path) for path in shell_scripts()]
    result = subprocess.run([shellcheck, "--format=gcc", *scripts], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_installs_shellcheck_so_the_check_above_runs_there() -> None:
    assert "apt-get install -y -qq shellcheck" in (ROOT / ".ci" / "run").read_text()


# ---------------------------------------------------------------------------------------------------------------
# the README sections


def test_the_readme_documents_the_one_liner_the_teardown_and_the_docker_run_line() -> None:
    text = readme_sections()
    assert "## End-to-end environment" in text
    assert "## Run the server in Docker" in text
    assert "docker compose -f compose.e2e.yml run --rm e2e" in text
    assert "docker compose -f compose.e2e.yml run --rm dokploy-dev uninstall" in text
    assert "down --volumes" in text
    assert "docker build -f docker/mcp/Dockerfile" in text
    # `--exit-code-from` implies `--abort-on-container-exit`, which stops everything when bootstrap exits.
    for line in text.splitlines():
        if line.strip().startswith("docker compose"):
            assert "--exit-code-from" not in line
            assert "--abort-on-container-exit" not in line


def test_every_documented_compose_command_names_existing_services() -> None:
    services = set(compose()["services"])
    named = [
        (command, service)
        for command in documented_commands(readme_sections())
        if "docker compose -f compose.e2e.yml" in command
        for service in services_named(command)
    ]
    assert {service for _, service in named} >= {"e2e", "dokploy-dev"}
    assert [(line, service) for line, service in named if service not in services] == []


def test_the_readme_maps_the_seed_volumes_onto_the_real_installation() -> None:
    text = readme_sections()
    for name in ("dokploy-data", "dokploy-apps", "dokploy-postgres", "/etc/dokploy"):
        assert name in text, name
