"""The package's own facts: which Dokploy releases count as supported."""

from __future__ import annotations

import pytest

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION, is_supported_dokploy


@pytest.mark.parametrize("version", [SUPPORTED_DOKPLOY_VERSION, "v0.30.0", "0.30.9", " v0.30.2 "])
def test_patch_releases_of_the_supported_minor_are_supported(version: str) -> None:
    assert is_supported_dokploy(version)


@pytest.mark.parametrize("version", ["v0.29.9", "v0.31.0", "v1.30.2", "", "canary"])
def test_other_minors_and_unparsable_versions_are_not(version: str) -> None:
    assert not is_supported_dokploy(version)
