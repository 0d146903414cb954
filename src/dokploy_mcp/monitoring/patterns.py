"""The caller's ``pattern`` (``aggregate_logs``): a case-insensitive regular expression, run by RE2 in time
linear in the text (:func:`compile_pattern`).
"""

from __future__ import annotations

from collections.abc import Callable

from dokploy_mcp.errors import InputError

__all__ = ["MAX_PATTERN_CHARS", "PATTERN_SYNTAX", "compile_pattern"]

#: Longest caller ``pattern``; the tools' schemas declare the same bound.
MAX_PATTERN_CHARS = 1_000
PATTERN_SYNTAX = "RE2 syntax is accepted: Python's re without backreferences or lookaround"


def compile_pattern(pattern: str | None) -> Callable[[str], bool] | None:
    """A case-insensitive search for the caller's ``pattern`` (None when there is none), run by RE2.

    RE2 matches in time linear in the text: Python's ``re`` backtracks, and ``(a+)+$`` over one long line would
    hold the event loop (every other request, and SIGTERM under uvicorn) for ever.

    Raises:
        InputError: (field ``pattern``) longer than :data:`MAX_PATTERN_CHARS`, or not RE2 syntax.
    """
    if pattern is None or not pattern.strip():
        return None
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InputError(f"pattern is longer than {MAX_PATTERN_CHARS} characters", field="pattern")
    # Imported here: this module is loaded at start-up, and most calls never filter by pattern.
    import re2

    options = re2.Options()
    options.case_sensitive = False
    # Otherwise the library writes every refused pattern to stderr, which is the log stream.
    options.log_errors = False
    try:
        regex = re2.compile(pattern.encode("utf-8"), options)
    except UnicodeEncodeError:
        raise InputError("pattern is not valid Unicode (it holds a lone surrogate)", field="pattern") from None
    except re2.error as exc:
        # The library's message is bytes, e.g. b"invalid perl operator: (?<".
        reason = b" ".join(a if isinstance(a, bytes) else str(a).encode() for a in exc.args).decode("utf-8", "replace")
        raise InputError(
            f"pattern is not a valid regular expression ({reason}); {PATTERN_SYNTAX}", field="pattern"
        ) from None
    # Lines are searched as UTF-8 bytes: a lone surrogate in a line (JSON allows one) becomes U+FFFD, not a crash.
    return lambda text: regex.search(text.encode("utf-8", "replace")) is not None
