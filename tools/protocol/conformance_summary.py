"""Sum up the MCP conformance suite's server results for .ci/protocol, and decide whether the step fails.

Usage: ``conformance_summary.py RESULTS_DIR LABEL=EXPECTED_LIST ...``. Each ``LABEL`` (a protocol version, or
``extension``) has ``RESULTS_DIR/LABEL/server-<scenario>-<timestamp>/checks.json`` files written by
``conformance server -o`` and a file listing the scenarios the suite has for it (``conformance list --server``
output). A scenario fails when any of its checks is a FAILURE; warnings and skipped checks do not fail it.

Exit status 1 when a must-pass scenario failed or did not run, or when any listed scenario left no result.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

#: Must pass on every protocol version the suite has them for (issue 13, item 6).
MUST_PASS = ("server-initialize", "ping", "tools-list", "dns-rebinding-protection")
MUST_PASS_PREFIX = "server-sse-"
#: Must be present in the pinned suite: a suite that silently dropped them would pass vacuously.
REQUIRED = {
    "2025-11-25": (*MUST_PASS, "server-sse-polling", "server-sse-multiple-streams"),
    "2026-07-28": ("tools-list", "dns-rebinding-protection", "server-sse-multiple-streams"),
}

#: Scenarios written against the suite's own fixture server: tools, prompts and resources named ``test_*`` (or
#: ``greet``, ``slow_compute``, ``json_schema_2020_12_tool``...) that this server does not have. Their result says
#: nothing about this server, so they are counted apart, whatever their result.
FIXTURE_PREFIXES = ("tools-call-", "prompts-", "resources-", "elicitation-", "input-required-result-", "tasks-")
FIXTURE_NAMES = frozenset(
    {"completion-complete", "json-schema-2020-12", "server-stateless", "http-custom-header-server-validation"}
)
#: Under a fixture prefix, but probes only tools/list and prompts/list.
NO_FIXTURE_NAMES = frozenset({"input-required-result-unsupported-methods"})

_SCENARIO_LINE = re.compile(r"^\s*-\s+(\S+)\s+\[")
_RESULT_DIR = re.compile(r"^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


def needs_fixtures(scenario: str) -> bool:
    if scenario in NO_FIXTURE_NAMES:
        return False
    return scenario in FIXTURE_NAMES or scenario.startswith(FIXTURE_PREFIXES)


def must_pass(scenario: str) -> bool:
    return scenario in MUST_PASS or scenario.startswith(MUST_PASS_PREFIX)


def listed(path: Path) -> list[str]:
    return [m.group(1) for line in path.read_text().splitlines() if (m := _SCENARIO_LINE.match(line))]


def results(directory: Path) -> dict[str, str]:
    """``scenario -> "pass" | "fail"`` from the checks the suite wrote."""
    found: dict[str, str] = {}
    for checks in sorted(directory.glob("server-*/checks.json")):
        match = _RESULT_DIR.match(checks.parent.name)
        if match is None:
            raise SystemExit(f"unexpected result directory {checks.parent}")
        statuses = {check["status"] for check in json.loads(checks.read_text())}
        found[match.group(1)] = "fail" if "FAILURE" in statuses else "pass"
    return found


def summarize(root: Path, label: str, expected: list[str]) -> tuple[Counter[str], list[str]]:
    got = results(root / label)
    counts: Counter[str] = Counter()
    problems: list[str] = []
    missing = [name for name in REQUIRED.get(label, ()) if name not in expected]
    problems += [f"{label}: the suite has no scenario {name}" for name in missing]
    for scenario in expected:
        result = got.get(scenario, "no result")
        if must_pass(scenario):
            kind = "must pass"
            counts["passed" if result == "pass" else "failed"] += 1
            if result != "pass":
                problems.append(f"{label}: must-pass scenario {scenario}: {result}")
        elif needs_fixtures(scenario):
            kind = "needs fixtures"
            counts["needs fixtures"] += 1
        else:
            kind = "counted"
            counts["passed" if result == "pass" else "failed"] += 1
        if result == "no result":
            problems.append(f"{label}: {scenario} left no result")
        print(f"  {label:<11} {scenario:<48} {result:<10} {kind}")
    return counts, problems


def main(argv: list[str]) -> int:
    root = Path(argv[1])
    problems: list[str] = []
    for spec in argv[2:]:
        label, _, listing = spec.partition("=")
        counts, found = summarize(root, label, listed(Path(listing)))
        problems += found
        print(
            f"conformance {label}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['needs fixtures']} need the suite's own fixtures"
        )
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
