"""Toolsets offered are toolsets built: a selection naming a toolset without tools is refused at start-up."""

from __future__ import annotations

import pytest

from dokploy_mcp.cli import main
from dokploy_mcp.config import TOOLSETS, load_settings
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.registry import built_toolsets, check_toolsets
from dokploy_mcp.tools import all_specs

BUILT = built_toolsets(all_specs())
NOT_BUILT = [name for name in TOOLSETS if name not in BUILT]


def test_the_built_toolsets_are_those_with_tools() -> None:
    assert [name for name in TOOLSETS if any(spec.toolset == name for spec in all_specs())] == BUILT
    assert {"core", "deploy", "database", "monitoring"} <= set(BUILT)


@pytest.mark.skipif(not NOT_BUILT, reason="every toolset of the catalogue has tools")
@pytest.mark.parametrize("command", ["tools", "doctor", "serve"])
def test_a_toolset_without_tools_is_refused_in_one_line(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, `--toolsets migrations` printed "0 tool(s)" and exited 0."""
    assert main([command, "--toolsets", f"core,{NOT_BUILT[0]}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "DOKPLOY_MCP_TOOLSETS" in err and NOT_BUILT[0] in err and "choose from: all, " + ", ".join(BUILT) in err


def test_all_and_the_built_toolsets_are_accepted() -> None:
    check_toolsets(load_settings(), all_specs())
    check_toolsets(load_settings(toolsets=",".join(BUILT)), all_specs())


def test_a_toolset_is_refused_once_it_has_no_tools() -> None:
    without_core = [spec for spec in all_specs() if spec.toolset != "core"]
    with pytest.raises(ConfigurationError, match="core has no tools yet"):
        check_toolsets(load_settings(toolsets="core,deploy"), without_core)
