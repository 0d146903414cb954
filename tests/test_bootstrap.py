"""``dokploy-mcp bootstrap`` against replays of a real fresh Dokploy v0.30.2 (the recorded bootstrap exchanges)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.bootstrap import BootstrapError, BootstrapResult, bootstrap, client_config_snippet, write_key_file
from dokploy_mcp.errors import ConfigurationError, InputError
from dokploy_mcp.redact import scrub
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY, load, replay
from tests.protocol.replay_dokploy import replay_app
from tests.protocol.servers import serve_in_thread

pytestmark = pytest.mark.anyio

ADMIN = load("auth.sign-up.email").body
PASSWORD = SecretStr(ADMIN["password"])


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def run(
    key_file: Path, *, email: str | None = ADMIN["email"], password: SecretStr | None = PASSWORD
) -> BootstrapResult:
    return await bootstrap(url=BASE_URL, email=email, password=password, key_file=key_file, key_name="mcp")


async def test_fresh_install_gets_an_admin_and_an_unlimited_key_in_a_private_file(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    replay(router, "health--fresh")
    sign_up = replay(router, "auth.sign-up.email")
    member = replay(router, "user.get--session")
    create_key = replay(router, "user.createApiKey")
    version = replay(router, "settings.getDokployVersion")
    key_file = tmp_path / "conf" / "api-key"

    result = await bootstrap(
        url=BASE_URL, email=ADMIN["email"], password=PASSWORD, key_file=key_file, name=ADMIN["name"], key_name="mcp"
    )

    # The first sign-up carries no cookie, origin or key (better-auth would check the origin otherwise).
    for header in ("cookie", "origin", "x-api-key"):
        assert header not in sign_up.request.headers
    assert json.loads(sign_up.request.content) == {k: v for k, v in sign_up.recording.body.items() if k != "lastName"}
    # The session cookie set by the sign-up authenticates the next calls.
    assert member.request.headers["cookie"] == member.recording.headers["cookie"]
    create_key.assert_request_matches()
    assert create_key.request.headers["cookie"] == create_key.recording.headers["cookie"]
    assert json.loads(create_key.request.content)["rateLimitEnabled"] is False
    # The new key is checked with the key itself before it is written.
    assert version.request.headers["x-api-key"] == TEST_API_KEY
    assert key_file.read_text() == TEST_API_KEY + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert result.admin_created and result.key_created
    assert result.version == version.recording.response_body
    assert result.organization_id == member.recording.response_body["organizationId"]


async def test_a_rerun_with_the_owners_own_credentials_signs_in_and_creates_a_key(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    replay(router, "health--fresh")
    # better-auth refuses the owner's own e-mail with 422 before Dokploy's "Admin is already created" check.
    refused = replay(router, "auth.sign-up.email--same-email-exists")
    sign_in = replay(router, "auth.sign-in.email")
    member = replay(router, "user.get--session")
    create_key = replay(router, "user.createApiKey")
    replay(router, "settings.getDokployVersion")
    key_file = tmp_path / "api-key"

    result = await run(key_file)

    assert json.loads(refused.request.content)["email"] == refused.recording.body["email"]
    sign_in.assert_request_matches()
    # The session of the sign-in, not of the refused sign-up, creates the key.
    assert member.request.headers["cookie"] == member.recording.headers["cookie"]
    create_key.assert_request_matches()
    assert result.admin_created is False and result.key_created is True
    assert result.organization_id == member.recording.response_body["organizationId"]
    assert key_file.read_text() == TEST_API_KEY + "\n"


async def test_a_sign_up_with_another_email_is_followed_by_a_sign_in_with_the_same_credentials(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    other = load("auth.sign-up.email--admin-exists").body
    replay(router, "health--fresh")
    refused = replay(router, "auth.sign-up.email--admin-exists")
    # An e-mail that reaches Dokploy's 400 has no account (a taken one gets better-auth's 422 first), so the real
    # sign-in answer is better-auth's 401 for unknown credentials.
    sign_in = replay(router, "auth.sign-in.email--wrong-password")
    member = router.get("/api/user.get")
    key_file = tmp_path / "api-key"

    with pytest.raises(BootstrapError) as info:
        await run(key_file, email=other["email"], password=SecretStr(other["password"]))

    assert json.loads(refused.request.content)["email"] == other["email"]
    assert json.loads(sign_in.request.content) == {"email": other["email"], "password": other["password"]}
    message = str(info.value)
    assert "an admin already exists on this Dokploy and these credentials do not sign in" in message
    assert "pass the existing admin's e-mail and password (DOKPLOY_ADMIN_EMAIL / DOKPLOY_ADMIN_PASSWORD)" in message
    assert other["password"] not in message
    assert not member.called
    assert not key_file.exists()


async def test_a_wrong_password_after_the_owners_email_is_refused_gets_the_clear_answer(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    wrong = load("auth.sign-in.email--wrong-password").body
    replay(router, "health--fresh")
    replay(router, "auth.sign-up.email--same-email-exists")
    sign_in = replay(router, "auth.sign-in.email--wrong-password")
    member = router.get("/api/user.get")
    key_file = tmp_path / "api-key"

    with pytest.raises(BootstrapError) as info:
        await run(key_file, email=wrong["email"], password=SecretStr(wrong["password"]))

    sign_in.assert_request_matches()
    message = str(info.value)
    # The e-mail is known to Dokploy here, so the answer points at the password.
    assert message.startswith("an admin already exists on this Dokploy and this e-mail has an account but the password")
    assert "401 INVALID_EMAIL_OR_PASSWORD" in message
    assert "pass the existing admin's e-mail and password (DOKPLOY_ADMIN_EMAIL / DOKPLOY_ADMIN_PASSWORD)" in message
    assert wrong["password"] not in message
    assert not member.called
    assert not key_file.exists()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"message": "Password is too short", "code": "PASSWORD_TOO_SHORT"}, "(422 PASSWORD_TOO_SHORT: Password is"),
        ({"message": "User already exists. Use another email."}, "(422: User already exists. Use another email.)"),
        ("not json", "(422: Unprocessable Entity)"),
    ],
)
async def test_an_unexpected_422_to_the_sign_up_stops_with_a_clear_error(
    router: respx.MockRouter, tmp_path: Path, body: object, said: str
) -> None:
    recorded = load("auth.sign-up.email--same-email-exists")
    replay(router, "health--fresh")
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    router.post(recorded.path).mock(
        return_value=httpx.Response(422, content=content, headers={"content-type": recorded.content_type})
    )
    sign_in = router.post("/api/auth/sign-in/email")
    key_file = tmp_path / "api-key"

    with pytest.raises(BootstrapError) as info:
        await run(key_file)

    assert str(info.value).startswith(f"Dokploy refused to create the admin {said}")
    assert not sign_in.called
    assert not key_file.exists()


async def test_a_working_key_file_makes_bootstrap_a_no_op(router: respx.MockRouter, tmp_path: Path) -> None:
    replay(router, "health--fresh")
    version = replay(router, "settings.getDokployVersion")
    sign_up = router.post("/api/auth/sign-up/email")
    key_file = tmp_path / "api-key"
    write_key_file(key_file, SecretStr(TEST_API_KEY))

    result = await run(key_file, email=None, password=None)

    assert result.key_created is False
    assert version.request.headers["x-api-key"] == TEST_API_KEY
    assert not sign_up.called
    assert key_file.read_text() == TEST_API_KEY + "\n"


async def test_a_key_file_that_is_not_text_stops_bootstrap_with_a_clear_error(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    replay(router, "health--fresh")
    sign_up = router.post("/api/auth/sign-up/email")
    key_file = tmp_path / "api-key"
    key_file.write_bytes(b"\xff\xfe not a key")

    with pytest.raises(ConfigurationError, match="not UTF-8"):
        await run(key_file)
    assert not sign_up.called
    assert key_file.read_bytes() == b"\xff\xfe not a key"


async def test_the_key_bootstrap_reads_or_creates_is_masked_from_then_on(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    replay(router, "health--fresh")
    replay(router, "settings.getDokployVersion")
    key_file = tmp_path / "api-key"
    write_key_file(key_file, SecretStr(TEST_API_KEY))

    await run(key_file, email=None, password=None)

    assert TEST_API_KEY not in scrub(f"Dokploy said: {TEST_API_KEY}")


async def test_a_rate_limited_key_in_the_file_is_replaced(router: respx.MockRouter, tmp_path: Path) -> None:
    exhausted = load("project.all--rate-limited-key")
    replay(router, "health--fresh")
    # Dokploy answers every call of an exhausted key with this 401; the new key gets the recorded version.
    router.get("/api/settings.getDokployVersion", headers={"x-api-key": exhausted.headers["x-api-key"]}).mock(
        return_value=exhausted.response()
    )
    replay(router, "settings.getDokployVersion")
    replay(router, "auth.sign-up.email--same-email-exists")
    replay(router, "auth.sign-in.email")
    replay(router, "user.get--session")
    replay(router, "user.createApiKey")
    key_file = tmp_path / "api-key"
    write_key_file(key_file, SecretStr(exhausted.headers["x-api-key"]))

    result = await run(key_file)

    assert result.key_created is True
    assert key_file.read_text() == TEST_API_KEY + "\n"


async def test_an_unhealthy_dokploy_is_waited_for_then_reported(router: respx.MockRouter, tmp_path: Path) -> None:
    router.get("/api/health").mock(side_effect=httpx.ConnectError("connection refused"))
    fake = FakeTime()

    with pytest.raises(BootstrapError, match="was not healthy within 10 s"):
        await bootstrap(
            url=BASE_URL,
            email=ADMIN["email"],
            password=PASSWORD,
            key_file=tmp_path / "k",
            wait_seconds=10,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert fake.sleeps and all(s == 2.0 for s in fake.sleeps)


async def test_dokploy_that_becomes_healthy_later_is_bootstrapped(router: respx.MockRouter, tmp_path: Path) -> None:
    healthy = load("health--fresh").response()
    router.get("/api/health").mock(side_effect=[httpx.ConnectError("starting"), httpx.Response(502), healthy])
    for name in ("auth.sign-up.email", "user.get--session", "user.createApiKey", "settings.getDokployVersion"):
        replay(router, name)
    fake = FakeTime()

    result = await bootstrap(
        url=BASE_URL,
        email=ADMIN["email"],
        password=PASSWORD,
        key_file=tmp_path / "k",
        key_name="mcp",
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert result.key_created


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        (None, PASSWORD, "email"),
        ("admin@example.com", None, "password"),
        ("admin@example.com", SecretStr("short"), "password"),
    ],
)
async def test_missing_or_bad_credentials_are_refused_before_anything_is_sent_past_health(
    router: respx.MockRouter, tmp_path: Path, email: str | None, password: SecretStr | None, field: str
) -> None:
    replay(router, "health--fresh")
    sign_up = router.post("/api/auth/sign-up/email")
    with pytest.raises(InputError) as info:
        await run(tmp_path / "k", email=email, password=password)
    assert info.value.field == field
    assert not sign_up.called


def test_the_config_snippet_points_at_the_key_file_not_the_key(tmp_path: Path) -> None:
    from dokploy_mcp.bootstrap import BootstrapResult

    result = BootstrapResult(BASE_URL, tmp_path / "k", "v0.30.2", True, True, "org")
    env = client_config_snippet(result)["mcpServers"]["dokploy"]["env"]  # type: ignore[index]
    assert env == {"DOKPLOY_URL": BASE_URL, "DOKPLOY_API_KEY_FILE": str((tmp_path / "k").resolve())}


@pytest.mark.parametrize(
    ("sign_in", "said"),
    [
        (["auth.sign-up.email"], "created the first admin"),
        (["auth.sign-up.email--same-email-exists", "auth.sign-in.email"], "signed in as the existing admin"),
    ],
    ids=["fresh", "rerun-with-the-owners-credentials"],
)
def test_bootstrap_command_against_a_replayed_dokploy(tmp_path: Path, sign_in: list[str], said: str) -> None:
    names = ["health--fresh", *sign_in, "user.get--session", "user.createApiKey", "settings.getDokployVersion"]
    key_file = tmp_path / "api-key"
    with serve_in_thread(replay_app(names)) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
        env |= {"DOKPLOY_ADMIN_EMAIL": ADMIN["email"], "DOKPLOY_ADMIN_PASSWORD": ADMIN["password"]}
        args = ["--url", url, "--key-file", str(key_file), "--key-name", "mcp", "--wait", "10"]
        result = subprocess.run(
            [sys.executable, "-m", "dokploy_mcp", "bootstrap", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 0, result.stderr
    assert said in result.stderr
    snippet = json.loads(result.stdout)
    assert snippet["mcpServers"]["dokploy"]["env"]["DOKPLOY_API_KEY_FILE"] == str(key_file.resolve())
    assert key_file.read_text() == TEST_API_KEY + "\n"
    assert ADMIN["password"] not in result.stdout + result.stderr
    assert TEST_API_KEY not in result.stdout + result.stderr


def test_bootstrap_command_without_a_url_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "dokploy_mcp", "bootstrap"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--url" in result.stderr
