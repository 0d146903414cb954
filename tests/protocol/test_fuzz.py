"""A bounded fuzz run in CI: about 2,000 calls generated from every tool's own input schema.

See :mod:`tests.protocol.fuzz_harness` for what is generated, how traffic stays on this machine, and what a proper
answer is. ``benchmarks/fuzz.py`` runs the same harness for longer.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.types import CallToolResult, TextContent, Tool

from tests.protocol.fuzz_harness import Stand, arguments, fuzz_tool, problems, stand

pytestmark = pytest.mark.postgres

#: Calls per tool in CI (about 2,000 in all); FUZZ_CALLS_PER_TOOL raises it for a local run.
CALLS_PER_TOOL = int(os.environ.get("FUZZ_CALLS_PER_TOOL", "140"))


@pytest.fixture(scope="module")
def fuzzed(pg_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stand]:
    with stand(pg_database_url, tmp_path_factory.mktemp("fuzz")) as server:
        yield server


def _tool_names() -> list[str]:
    from dokploy_mcp.config import load_settings
    from dokploy_mcp.registry import select_tools
    from dokploy_mcp.tools import all_specs

    return [spec.name for spec in select_tools(all_specs(), load_settings())]


# Hypothesis compares the process-wide random state before and after each draw. The server under fuzz runs in the
# portal's thread, where psycopg_pool draws its connection-lifetime jitter from that state whenever the pool opens a
# connection; a draw that overlaps it is reported as if the strategy used `random`. The strategies here do not
# (test_the_argument_strategies_leave_random_alone holds that), so only this cross-thread report is ignored.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)
@pytest.mark.timeout(1_800)
@pytest.mark.parametrize("name", _tool_names())
def test_every_generated_call_gets_a_proper_answer(fuzzed: Stand, name: str) -> None:
    run = fuzz_tool(fuzzed, name, CALLS_PER_TOOL)
    assert run.problems == []
    assert sum(run.counts.values()) > 0
    assert fuzzed.alive(), "the server stopped answering tools/list"


def _tool() -> Tool:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    return Tool(name="t", input_schema={"type": "object"}, output_schema=schema)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, "no answer within"),
        (CallToolResult(content=[TextContent(type="text", text="Error executing tool t")], is_error=True), "unnamed"),
        (CallToolResult(content=[TextContent(type="text", text="x\nTraceback (most")], is_error=True), "traceback"),
        (
            CallToolResult(content=[TextContent(type="text", text="t failed with an internal error")], is_error=True),
            "bug",
        ),
        (CallToolResult(content=[], structured_content={"n": "one"}), "output schema"),
        (CallToolResult(content=[]), "without structured content"),
    ],
)
def test_the_judge_catches_each_kind_of_bad_answer(result: CallToolResult | None, expected: str) -> None:
    [problem] = problems(_tool(), {}, result)
    assert expected in problem


def test_the_judge_accepts_named_errors_and_valid_results() -> None:
    named = CallToolResult(
        content=[TextContent(type="text", text="Error executing tool t: Invalid stack: ...")], is_error=True
    )
    valid = CallToolResult(content=[], structured_content={"n": 1})
    assert problems(_tool(), {}, named) == problems(_tool(), {}, valid) == []


def test_the_argument_strategies_leave_random_alone(fuzzed: Stand) -> None:
    """Every tool's argument strategy, drawn with no server work in flight, leaves the process-wide random state
    as it found it (the warning the fuzz run ignores would otherwise be a real one)."""

    def check(tool: Tool) -> None:
        @settings(max_examples=5, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def draw(data: st.DataObject) -> None:
            before = random.getstate()
            data.draw(arguments(tool, fuzzed))
            assert random.getstate() == before, tool.name

        draw()

    for tool in fuzzed.tools:
        check(tool)
    assert fuzzed.tools
