"""The trimmed models keep secrets out of repr() and tolerate what Dokploy adds or leaves out."""

from __future__ import annotations

from dokploy_mcp.dokploy.models import Compose, Destination, Environment, ProcessedTemplate
from tests.dokploy.recordings import load


def test_compose_repr_hides_env_and_compose_file() -> None:
    raw = load("compose.one--supabase-imported").response_body
    compose = Compose.model_validate(raw)

    assert compose.env == raw["env"]
    text = repr(compose)
    assert raw["env"] not in text
    assert "JWT_SECRET" not in text
    assert "composeFile" not in text
    assert all(mount.content not in text for mount in compose.mounts if mount.content)
    assert compose.app_name in text


def test_destination_keeps_the_secret_key_secret() -> None:
    raw = load("destination.one").response_body
    destination = Destination.model_validate(raw)

    assert destination.secret_access_key is not None
    assert destination.secret_access_key.get_secret_value() == raw["secretAccessKey"]
    assert raw["secretAccessKey"] not in repr(destination)
    assert raw["secretAccessKey"] not in str(destination.model_dump())


def test_processed_template_hides_the_generated_envs() -> None:
    raw = load("compose.processTemplate--supabase").response_body
    processed = ProcessedTemplate.model_validate(raw)

    assert processed.template.envs == raw["template"]["envs"]
    secret_line = next(line for line in raw["template"]["envs"] if line.startswith("JWT_SECRET="))
    assert secret_line not in repr(processed)


def test_models_ignore_fields_they_do_not_know_and_accept_snake_case() -> None:
    environment = Environment.model_validate({"environmentId": "e", "name": "production", "brandNew": 1})
    by_name = Environment(environment_id="e", name="production")

    assert environment == by_name
    assert environment.other_service_count == 0
