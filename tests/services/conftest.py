"""Fixtures of the service tests: the stateful Dokploy double and one deployed Supabase stack on it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_dokploy import FakeDokploy


@pytest.fixture
def fake() -> FakeDokploy:
    return FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)


@pytest.fixture
def stack(fake: FakeDokploy) -> dict[str, Any]:
    return fake.add_supabase_stack("shop", "supabase", deployed=True)
