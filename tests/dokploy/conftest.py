"""Fixtures of the Dokploy client tests: a respx router on a fake server, clients whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY

ClientFactory = Callable[..., DokployClient]


class SleepRecorder:
    """Stands in for ``anyio.sleep``: remembers each requested wait and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    # assert_all_mocked: a request the test did not expect fails instead of reaching the network.
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def make_client(router: respx.MockRouter, sleeps: SleepRecorder) -> AsyncIterator[ClientFactory]:
    """Build clients on the fake server (``api_key=None`` for none); all are closed at the end of the test."""
    made: list[DokployClient] = []

    def factory(api_key: str | None = TEST_API_KEY, **options: Any) -> DokployClient:
        options.setdefault("sleep", sleeps)
        key = None if api_key is None else SecretStr(api_key)
        dokploy = DokployClient(base_url=BASE_URL, api_key=key, **options)
        made.append(dokploy)
        return dokploy

    yield factory
    for dokploy in made:
        await dokploy.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> DokployClient:
    return make_client()
