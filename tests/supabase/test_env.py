"""The env text editor: lossless round trip and minimal edits."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvChange, EnvFile, diff
from dokploy_mcp.supabase.envquote import quote_value

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RECORDING = FIXTURES / "dokploy" / "recordings" / "compose.one--supabase-imported.json"
TEMPLATE = FIXTURES / "supabase" / "dokploy-template" / "template.toml"


def imported_env_text() -> str:
    body = json.loads(RECORDING.read_text(encoding="utf-8"))["response"]["body"]
    text = body["env"]
    assert isinstance(text, str)
    return text


def template_env_entries() -> list[str]:
    """The ``config.env`` array of the template (the file is not strict TOML, so read the array by hand)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    block = text[text.index("env = [") : text.index("]\n", text.index("env = ["))]
    return [m.group(1) for m in re.finditer(r"^'(.*)',?$", block, flags=re.MULTILINE)]


def changed_line_numbers(before: str, after: str) -> list[int]:
    """1-based numbers of the lines of ``before`` that differ in ``after`` (same line count required)."""
    old, new = before.split("\n"), after.split("\n")
    assert len(old) == len(new)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    changed: list[int] = []
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            changed.extend(range(i1 + 1, i2 + 1))
    return changed


# -- strategies ---------------------------------------------------------------------------------------------------

# What an env value may hold when written: no control character but tab, no Unicode line separator (check_value).
no_line_break = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="\u2028\u2029", include_characters="\t")
)
env_tokens = st.sampled_from([*"AZaz_09 \t=:#'\"\\$`{}.-[]xé\r\n\ufeff\u2028\x85\xa0", "export ", "\r\n"])
env_syntax = st.lists(env_tokens, max_size=60).map("".join)
keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@st.composite
def env_like_text(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["assignment", "assignment", "comment", "blank", "junk"]))
        if kind == "assignment":
            prefix = draw(st.sampled_from(["", "export ", "  "]))
            key = draw(st.sampled_from(["A", "B", "JWT_SECRET", "SITE_URL", "x.y", "K-1", "1X"]))
            separator = draw(st.sampled_from(["=", " = ", ": ", "= "]))
            quote = draw(st.sampled_from(["", "'", '"']))
            value = draw(st.text(st.sampled_from(list("ab #$'\"\\=é\t{}")), max_size=8))
            comment = draw(st.sampled_from(["", " # note", "#x", "  "]))
            lines.append(f"{prefix}{key}{separator}{quote}{value}{quote}{comment}")
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# c", "  # JWT_SECRET=old", "#"])))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
        else:
            lines.append(draw(st.lists(env_tokens, max_size=6).map("".join)))
    endings = [draw(st.sampled_from(["\n", "\r\n"])) for _ in lines]
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=True))
    without_final_newline = draw(st.booleans())
    if lines and without_final_newline:
        text = text.removesuffix(endings[-1])
    return text


@st.composite
def well_formed_env(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Env text of unique, valid assignments (any quoting), comments and blank lines; returns (text, keys)."""
    names = draw(st.lists(keys, min_size=1, max_size=8, unique=True))
    lines: list[str] = []
    for name in names:
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# comment", "  # indented comment"])))
        value = draw(no_line_break)
        spelled = draw(st.sampled_from(["quote_value", "single", "double"]))
        if spelled == "single" and "'" not in value and not value.endswith("\\"):
            lines.append(f"{name}='{value}'")
        elif spelled == "double":
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
            lines.append(f'{name}="{escaped}"')
        else:
            lines.append(f"{name}={quote_value(value)}")
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    return text, names


# -- round trip ---------------------------------------------------------------------------------------------------


@given(st.text())
def test_parse_then_render_gives_back_any_text(text: str) -> None:
    assert EnvFile.parse(text).render() == text


@given(env_syntax)
def test_parse_then_render_gives_back_text_made_of_env_syntax(text: str) -> None:
    assert EnvFile.parse(text).render() == text


@given(env_like_text())
def test_parse_then_render_gives_back_generated_env_text(text: str) -> None:
    env = EnvFile.parse(text)
    assert env.render() == text
    assert [line.number for line in env.lines] == sorted({line.number for line in env.lines})


def test_parse_then_render_gives_back_the_imported_supabase_env() -> None:
    text = imported_env_text()
    assert EnvFile.parse(text).render() == text


# -- the real Supabase env ----------------------------------------------------------------------------------------


def test_every_variable_of_the_template_is_read_from_the_imported_env() -> None:
    entries = template_env_entries()
    template_keys = [entry.split("=", 1)[0] for entry in entries if "=" in entry and not entry.startswith("#")]
    assert len(template_keys) > 60
    env = EnvFile.parse(imported_env_text())
    assert env.keys() == template_keys
    assert env.problems() == []


def test_the_template_env_itself_parses_without_problems() -> None:
    env = EnvFile.parse("\n".join(template_env_entries()))
    # Only the ${...} placeholders Dokploy fills in when it processes the template.
    assert {problem.code for problem in env.problems()} == {"interpolation"}
    assert env.get("MAILER_URLPATHS_INVITE") == "/auth/v1/verify"
    assert env.get("ANON_KEY") == "${jwt:jwt_secret:anon_key_payload}"


def test_get_returns_the_jwt_secret_written_in_the_imported_env() -> None:
    text = imported_env_text()
    written = next(line for line in text.split("\n") if line.startswith("JWT_SECRET="))
    env = EnvFile.parse(text)
    assert env.get("JWT_SECRET") == written.removeprefix("JWT_SECRET=")
    assert env.get("STUDIO_DEFAULT_ORGANIZATION") == "Default Organization"
    assert env.get("OPENAI_API_KEY") == ""
    assert env.get("MAILER_URLPATHS_CONFIRMATION") == "/auth/v1/verify"
    assert env.get("NOT_THERE") is None


def test_setting_site_url_changes_exactly_one_line_of_the_imported_env() -> None:
    text = imported_env_text()
    env = EnvFile.parse(text)
    after = env.set("SITE_URL", "https://app.example.com").render()
    site_line = next(line.number for line in env.lines if line.key == "SITE_URL")
    assert changed_line_numbers(text, after) == [site_line]
    assert after.split("\n")[site_line - 1] == "SITE_URL=https://app.example.com"


def test_appending_to_the_imported_env_keeps_it_without_a_final_newline() -> None:
    text = imported_env_text()
    assert not text.endswith("\n")
    after = EnvFile.parse(text).set("SMTP_SECURE", "true").render()
    assert after == text + "\nSMTP_SECURE=true"


# -- set / get ----------------------------------------------------------------------------------------------------


@given(keys, no_line_break)
def test_a_set_value_is_read_back_exactly_from_the_rendered_text(key: str, value: str) -> None:
    env = EnvFile.parse(imported_env_text())
    assert EnvFile.parse(env.set(key, value).render()).get(key) == value


@given(
    st.sampled_from(["K=old", "K='old'", 'K="old"', "export K = old # note", "K: old", "  K='old' # c"]), no_line_break
)
def test_a_set_value_is_read_back_exactly_whatever_the_line_looked_like(line: str, value: str) -> None:
    text = f"# head\n{line}\nOTHER=1\n"
    after = EnvFile.parse(text).set("K", value).render()
    env = EnvFile.parse(after)
    assert env.get("K") == value
    assert env.get("OTHER") == "1"
    assert changed_line_numbers(text, after) in ([], [2])


@given(well_formed_env(), st.data())
def test_set_on_an_existing_key_changes_only_its_line(env_and_keys: tuple[str, list[str]], data: st.DataObject) -> None:
    text, names = env_and_keys
    env = EnvFile.parse(text)
    assert env.problems() == [] or all(p.code in {"interpolation", "hash_in_value"} for p in env.problems())
    key = data.draw(st.sampled_from(names))
    value = data.draw(no_line_break)
    after = env.set(key, value).render()
    line = next(line.number for line in env.lines if line.key == key)
    assert set(changed_line_numbers(text.replace("\r\n", "\n"), after.replace("\r\n", "\n"))) <= {line}
    assert EnvFile.parse(after).get(key) == value
    assert {k: v for k, v in EnvFile.parse(after).as_dict().items() if k != key} == {
        k: v for k, v in env.as_dict().items() if k != key
    }


@pytest.mark.parametrize(
    ("line", "value", "expected"),
    [
        ("export K=old # note", "new", "export K=new # note"),
        ("K = old", "new", "K = new"),
        ("K='old'", "a b$", "K='a b$'"),
        ("K='old'", "it's", 'K="it\'s"'),
        ('K="old"', "plain", 'K="plain"'),
        ('K="old"', 'say "$x"', 'K="say \\"$$x\\""'),
        ("K=old", "a b", "K=a b"),
        ("K=old", "a#b", "K='a#b'"),
        ("K=old", "$HOME", "K='$HOME'"),
        ("K=old # note", "", "K='' # note"),
        ("K=old", "", "K="),
    ],
)
def test_set_keeps_the_line_shape_and_its_quote_style_when_it_still_fits(line: str, value: str, expected: str) -> None:
    env = EnvFile.parse(line).set("K", value)
    assert env.render() == expected
    assert env.get("K") == value


def test_setting_the_current_value_leaves_the_text_untouched() -> None:
    text = "K=$$x\n"
    assert EnvFile.parse(text).set("K", "$x").render() == text


def test_set_appends_a_new_key_in_the_file_line_ending_style() -> None:
    assert EnvFile.parse("A=1\r\nB=2\r\n").set("C", "3").render() == "A=1\r\nB=2\r\nC=3\r\n"
    assert EnvFile.parse("A=1\r\nB=2").set("C", "3").render() == "A=1\r\nB=2\r\nC=3"
    assert EnvFile.parse("A=1\n").set("C", "x y").render() == "A=1\nC='x y'\n"
    assert EnvFile.parse("").set("C", "3").render() == "C=3"


def test_crlf_line_endings_survive_edits() -> None:
    text = "# head\r\nA=1\r\n\r\nB='two'\r\n"
    after = EnvFile.parse(text).set("A", "9").set("B", "it's").set("NEW", "x").unset("A").render()
    assert after == '# head\r\n\r\nB="it\'s"\r\nNEW=x\r\n'
    assert "\n" not in after.replace("\r\n", "")


def test_duplicates_are_reported_and_the_last_assignment_wins() -> None:
    env = EnvFile.parse("A=first\nB=1\nA=second\n")
    assert env.get("A") == "second"
    assert env.keys() == ["A", "B"]
    assert env.as_dict() == {"A": "second", "B": "1"}
    [problem] = env.problems()
    assert (problem.line, problem.key, problem.code) == (3, "A", "duplicate_key")
    assert "line 1" in problem.message
    # set rewrites the effective (last) assignment; unset removes both.
    assert env.set("A", "third").render() == "A=first\nB=1\nA=third\n"
    assert env.unset("A").render() == "B=1\n"


def test_set_refuses_a_bad_key_or_a_value_with_a_line_break() -> None:
    env = EnvFile.parse("A=1\n")
    with pytest.raises(InputError) as bad_key:
        env.set("1A", "x")
    assert bad_key.value.field == "key"
    for value in ("a\nb", "a\rb", "a\0b"):
        with pytest.raises(InputError) as bad_value:
            env.set("SITE_URL", value)
        assert bad_value.value.field == "SITE_URL"
        assert value not in str(bad_value.value)


def test_unset_removes_every_assignment_of_the_key_and_nothing_else() -> None:
    text = "# A=commented stays\nA=1\nexport A='2'\nAB=3\nA\nA='broken\n"
    after = EnvFile.parse(text).unset("A").render()
    assert after == "# A=commented stays\nAB=3\n"
    assert EnvFile.parse("B=1").unset("NOPE").render() == "B=1"
    assert EnvFile.parse("B=1\nA=2").unset("A").render() == "B=1"


def test_apply_sets_and_unsets_together_or_refuses_a_conflict() -> None:
    env = EnvFile.parse("A=1\nB=2\n")
    assert env.apply(set={"A": "x", "C": "3"}, unset=["B"]).render() == "A=x\nC=3\n"
    with pytest.raises(InputError) as conflict:
        env.apply(set={"A": "x"}, unset=["A"])
    assert conflict.value.field == "A"
    # Nothing is half-applied when one of the values is invalid.
    with pytest.raises(InputError):
        env.apply(set={"A": "fine", "B": "bad\n"})


def test_an_edit_that_an_unclosed_quote_would_swallow_is_refused() -> None:
    env = EnvFile.parse("A='never closed\nB=1\n")
    assert [p.code for p in env.problems()] == ["unterminated_quote"]
    with pytest.raises(InputError) as refused:
        env.set("C", "it's")
    assert "line 1" in str(refused.value)


def test_diff_lists_changes_of_effective_values() -> None:
    old = EnvFile.parse("A=1\nB=2\nC=3\n# comment\n")
    new = old.apply(set={"A": "1", "B": "two", "D": "4"}, unset=["C"])
    assert diff(old, new) == [
        EnvChange("B", "changed", "2", "two"),
        EnvChange("C", "removed", "3", None),
        EnvChange("D", "added", None, "4"),
    ]
    assert diff(old, old) == []


def test_representations_never_leak_values() -> None:
    env = EnvFile.parse("JWT_SECRET=very-secret-value-1234567890\n")
    assert "very-secret" not in repr(env)
    assert "very-secret" not in repr(env.lines)
    change = diff(env, env.set("JWT_SECRET", "another-secret-value-0987654321"))
    assert "secret-value" not in repr(change)
