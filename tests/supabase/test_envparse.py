"""Reading env text as docker compose does (compose-go's dotenv rules): values, line kinds and problems."""

from __future__ import annotations

import pytest

from dokploy_mcp.supabase.env import EnvFile


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("K=abc # inline comment", "abc"),
        ("K=abc#not-a-comment", "abc#not-a-comment"),
        ("K=  spaced out  ", "spaced out"),
        ("K='a b' # c", "a b"),
        ("K='$HOME \\n'", "$HOME \\n"),
        ("K='it\\'s'", "it's"),
        ('K="a\\nb"', "a\nb"),
        ('K="tab\\there"', "tab\there"),
        ('K="say \\"hi\\""', 'say "hi"'),
        ('K="back\\\\slash"', "back\\slash"),
        ('K="ends with \\\\"', "ends with \\"),
        ('K="\\$HOME"', "$HOME"),
        ('K="$$HOME"', "$HOME"),
        ('K="\\0101"', "A"),
        ('K="\\q"', "\\q"),
        ("K=$$HOME", "$HOME"),
        ("K=${OTHER}", "${OTHER}"),
        ("K=", ""),
        ("K=a=b=c", "a=b=c"),
        ("export K=1", "1"),
        ("K: yaml", "yaml"),
        ("\ufeffK=bom", "bom"),
        ('K="multi\nline"', "multi\nline"),
        ("K=value\r", "value"),
    ],
)
def test_values_are_decoded_as_docker_compose_reads_them(text: str, value: str) -> None:
    assert EnvFile.parse(text).get("K") == value


def test_export_and_line_kinds_are_recorded() -> None:
    env = EnvFile.parse("# c\n\nexport A=1\nB=2\nbroken line\n")
    kinds = [(line.number, line.kind, line.key, line.exported) for line in env.lines]
    assert kinds == [
        (1, "comment", None, False),
        (2, "blank", None, False),
        (3, "assignment", "A", True),
        (4, "assignment", "B", False),
        (5, "invalid", None, False),
    ]


def test_a_quoted_value_over_several_lines_is_one_entry() -> None:
    env = EnvFile.parse('A="one\ntwo"\nB=3\n')
    assert [(line.number, line.key) for line in env.lines] == [(1, "A"), (3, "B")]
    assert env.get("A") == "one\ntwo"
    assert env.set("A", "single").render() == 'A="single"\nB=3\n'


def test_problems_name_the_line_and_the_variable() -> None:
    text = "\n".join(
        [
            "# broken on purpose",  # 1
            "GOOD=1",  # 2
            "SPACED = 2",  # 3
            "LONELY",  # 4
            "BAD KEY=3",  # 5
            "=nokey",  # 6
            "HASH=abc#def",  # 7
            "DOLLAR=pa$word",  # 8
            "AFTER='x' Y=1",  # 9
            "YAML: 1",  # 10
            "weird.key=1",  # 11
            "GOOD=again",  # 12
            "what is this",  # 13
            "BAD$=1",  # 14
            "OPEN='unclosed-secret",  # 15
        ]
    )
    env = EnvFile.parse(text)
    found = [(p.line, p.key, p.code) for p in env.problems()]
    assert found == [
        (3, "SPACED", "space_around_equals"),
        (4, "LONELY", "missing_equals"),
        (5, None, "invalid_key"),
        (6, None, "invalid_line"),
        (7, "HASH", "hash_in_value"),
        (8, "DOLLAR", "interpolation"),
        (9, "AFTER", "text_after_quote"),
        (10, "YAML", "colon_separator"),
        (11, "weird.key", "nonstandard_key"),
        (12, "GOOD", "duplicate_key"),
        (13, None, "invalid_line"),
        (14, None, "invalid_key"),
        (15, "OPEN", "unterminated_quote"),
    ]
    assert env.render() == text
    for problem in env.problems():
        for secretish in ("pa$word", "abc#def", "unclosed-secret"):
            assert secretish not in problem.message
