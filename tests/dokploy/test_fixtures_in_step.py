"""The recordings and the OpenAPI document under tests/fixtures are copies of the shared originals; keep them equal.

The originals live in ``../shared/dokploy`` next to the repository root, which CI has and users' clones do not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dokploy.recordings import FIXTURES

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared" / "dokploy"


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/dokploy next to the repository: nothing to compare with")
def test_fixtures_are_byte_identical_copies_of_the_shared_originals() -> None:
    copies = _files(FIXTURES / "recordings")
    originals = _files(SHARED / "recordings")

    assert sorted(copies) == sorted(originals)
    assert [name for name in originals if copies[name] != originals[name]] == []
    assert (FIXTURES / "openapi.json").read_bytes() == (SHARED / "openapi.json").read_bytes()


SHARED_TEMPLATE = REPO_ROOT.parent / "shared" / "supabase" / "dokploy-template"
TEMPLATE = REPO_ROOT / "tests" / "fixtures" / "supabase" / "dokploy-template"


@pytest.mark.skipif(not SHARED_TEMPLATE.is_dir(), reason="no ../shared/supabase next to the repository")
def test_supabase_template_fixture_is_a_byte_identical_copy() -> None:
    assert _files(TEMPLATE) == _files(SHARED_TEMPLATE)
