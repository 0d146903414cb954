"""Fixtures of the monitoring tests: a respx router that replays the Dokploy recordings, and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def recorded_client(router: respx.MockRouter) -> AsyncIterator[DokployClient]:
    async with DokployClient(base_url=BASE_URL, api_key=SecretStr(TEST_API_KEY), max_retries=0) as made:
        yield made
