"""Plan a change of a Supabase stack's env: merge, dependency rules, generated secrets, a masked diff.

Rules (DESIGN §2, issue #5):
- ANON_KEY / SERVICE_ROLE_KEY may only be set to keys signed by the stack's JWT_SECRET with the right role claim,
  and JWT_SECRET is never changed here: both are the job of dokploy_regenerate_keys, which re-signs, redeploys and
  verifies as one step.
- POSTGRES_PASSWORD is not changed here: after the first start the database's internal roles keep the old one.
- The three URL variables (SUPABASE_HOST, API_EXTERNAL_URL, SUPABASE_PUBLIC_URL) move together: changing one sets
  the others to match, and the plan says so; several given at once must agree.
- Required variables cannot be unset or set to nothing. Unknown variables and comments are left untouched.
- A variable both set and unset is replaced: its duplicate lines go and it is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvChange, EnvFile, diff
from dokploy_mcp.supabase.envparse import KEY_PATTERN
from dokploy_mcp.supabase.envquote import check_value, control_character
from dokploy_mcp.supabase.keys import KEY_ROLES, decode_key, generate_secret
from dokploy_mcp.supabase.variables import GENERATABLE, REQUIRED

URL_TRIO = ("SUPABASE_HOST", "API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL")
#: Which of the trio the others are derived from when several are given: a URL carries the scheme, a host does not.
URL_SOURCES = ("API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL", "SUPABASE_HOST")


@dataclass
class EnvPlan:
    before: EnvFile
    after: EnvFile
    changes: list[EnvChange]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        # Dropping duplicate lines changes the text but no effective value: it still has to be written.
        return bool(self.changes) or self.before.render() != self.after.render()


def _split_url(variable: str, value: str) -> tuple[str, str]:
    """(host[:port], url without a trailing slash) of an http(s) URL, or InputError naming ``variable``."""
    problem = InputError(f"{variable} must be an http(s) URL such as https://api.example.com", field=variable)
    try:
        parts = urlsplit(value.strip())
        hostname = parts.hostname
    except ValueError:
        raise problem from None
    if parts.scheme not in {"http", "https"} or not hostname:
        raise problem
    # The host as the URL writes it, without any user:password@ part.
    return parts.netloc.rpartition("@")[2], value.strip().rstrip("/")


def _url_trio_from(variable: str, value: str, current: Mapping[str, str]) -> dict[str, str]:
    if variable == "SUPABASE_HOST":
        host = value.strip()
        scheme = "https"
        for name in ("API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL"):
            known = urlsplit(current.get(name) or "").scheme
            if known in {"http", "https"}:
                scheme = known
                break
        if not host or "://" in host or any(c in host for c in "/?#@ \t"):
            raise InputError(
                "SUPABASE_HOST is the bare host name of the stack's API, such as api.example.com (no scheme or path)",
                field=variable,
            )
        _, url = _split_url(variable, f"{scheme}://{host}")
        return {"SUPABASE_HOST": host, "API_EXTERNAL_URL": url, "SUPABASE_PUBLIC_URL": url}
    host, url = _split_url(variable, value)
    return {"SUPABASE_HOST": host, "API_EXTERNAL_URL": url, "SUPABASE_PUBLIC_URL": url}


def _check_key(name: str, role: str, token: str, secret: str) -> None:
    """Refuse a new ANON_KEY / SERVICE_ROLE_KEY that the stack's services would reject (never quotes the key)."""
    decoded = decode_key(token, secret, name)
    if not decoded.is_jwt:
        problem = "is not a JWT"
    elif not decoded.signature_valid:
        problem = "is not signed by this stack's JWT_SECRET"
    elif decoded.alg != "HS256":
        problem = f"is signed with {decoded.alg}, and the services expect HS256"
    elif decoded.role != role:
        problem = f"does not carry role {role!r}"
    elif decoded.exp is not None and decoded.exp <= datetime.now(UTC).timestamp():
        problem = "has already expired"
    else:
        return
    raise InputError(
        f"the new {name} {problem}; it must be an HS256 key signed by this stack's JWT_SECRET with role {role!r}. "
        "Use dokploy_regenerate_keys to make consistent keys",
        field=name,
    )


def _keep_only_effective(env: EnvFile, names: Sequence[str]) -> tuple[EnvFile, dict[str, int]]:
    """``env`` without the lines of ``names`` other than each one's effective (last) assignment; lines removed."""
    wanted = set(names)
    effective: dict[str, int] = {}
    for index, line in enumerate(env.lines):
        if line.kind == "assignment" and line.key in wanted:
            effective[line.key] = index
    removed: dict[str, int] = {}
    kept: list[tuple[str, str]] = []
    for index, line in enumerate(env.lines):
        if line.key in wanted and effective.get(line.key) != index:
            removed[line.key] = removed.get(line.key, 0) + 1
            continue
        kept.append((line.raw, line.ending))
    if not removed:
        return env, removed
    # Keep a text without a final line break without one (as EnvFile.unset does).
    if kept and env.lines and env.lines[-1].ending == "":
        kept[-1] = (kept[-1][0], "")
    result = EnvFile.parse("".join(raw + ending for raw, ending in kept))
    if result.as_dict() != env.as_dict():
        key = sorted(removed)[0]
        raise InputError(f"the env text has a line docker compose cannot read; fix it before changing {key}", field=key)
    return result, removed


def _check_name(name: object, argument: str) -> None:
    """Refuse a name that is not a variable, or one this tool must not change (InputError naming it)."""
    if not isinstance(name, str) or not KEY_PATTERN.match(name):
        # A name with control characters in it is named by the argument: the field goes into the answer as it is.
        field = name if isinstance(name, str) and control_character(name) is None else argument
        raise InputError(
            f"{name!r} is not a variable name: use letters, digits and underscores, not starting with a digit "
            "(e.g. SITE_URL)",
            field=field,
        )
    if name == "JWT_SECRET":
        raise InputError(
            "JWT_SECRET is not changed by dokploy_update_env: every key is signed with it. Use "
            "dokploy_regenerate_keys with mode 'rotate' (new secret, new keys, redeploy, verification)",
            field="JWT_SECRET",
        )
    if name == "POSTGRES_PASSWORD":
        raise InputError(
            "POSTGRES_PASSWORD is not changed by dokploy_update_env: after the first start the database's roles "
            "keep the old password, so changing the variable alone breaks every service. Change it with ALTER "
            "USER inside the database for each role first (see the template's instructions)",
            field="POSTGRES_PASSWORD",
        )


def plan_env_update(
    env: EnvFile,
    *,
    set_values: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    generate: Sequence[str] = (),
) -> EnvPlan:
    """The env after the change, or InputError naming the variable and the tool to use instead.

    A variable both in ``set_values`` and in ``unset`` is replaced: every line of it goes, and it is written once
    (how duplicated lines are cleaned up).
    """
    wanted = dict(set_values or {})
    unset = list(dict.fromkeys(unset))
    generate = list(dict.fromkeys(generate))
    current = env.as_dict()
    _check_request(wanted, unset, generate)
    replaced = [name for name in unset if name in wanted]
    removed_only = [name for name in unset if name not in wanted]
    _check_required(wanted, removed_only)
    notes = _generate(generate, current, wanted)
    secret = current.get("JWT_SECRET") or ""
    for name, role in KEY_ROLES.items():
        if name in wanted:
            _check_key(name, role, wanted[name], secret)
    notes += _follow_urls(wanted, current, removed_only)
    base, removed = _keep_only_effective(env, replaced)
    notes.extend(f"{name}: {count} other line(s) removed; it is written once" for name, count in removed.items())
    after = base.apply(set=wanted, unset=removed_only)
    return EnvPlan(before=env, after=after, changes=diff(env, after), notes=notes)


def _check_request(wanted: Mapping[str, str], unset: Sequence[str], generate: Sequence[str]) -> None:
    """Refuse names this tool must not touch, values no env line can carry, and what cannot be generated."""
    for argument, names in (("set", list(wanted)), ("unset", unset), ("generate", generate)):
        for name in names:
            _check_name(name, argument)
    for name, value in wanted.items():
        # Before any rule derives other values from it (the URL trio): the error then names the variable given.
        check_value(name, value)
    for name in generate:
        if name not in GENERATABLE:
            raise InputError(
                f"{name} cannot be generated; generate works for {', '.join(sorted(GENERATABLE))}", field=name
            )
        if name in wanted:
            raise InputError(f"{name} is both set and generated; keep one", field=name)


def _check_required(wanted: Mapping[str, str], removed_only: Sequence[str]) -> None:
    """Refuse to unset, or set to nothing, a variable the stack cannot do without."""
    for name in removed_only:
        if name in REQUIRED or name in KEY_ROLES:
            raise InputError(f"{name} is required by the Supabase stack and cannot be unset", field=name)
    for name, value in wanted.items():
        if name in REQUIRED and not value.strip():
            raise InputError(f"{name} is required by the Supabase stack and cannot be set to nothing", field=name)


def _generate(generate: Sequence[str], current: Mapping[str, str], wanted: dict[str, str]) -> list[str]:
    """Put a fresh secret (never the current value) for each name to generate into ``wanted``; the notes."""
    notes: list[str] = []
    for name in generate:
        length = GENERATABLE[name]
        value = generate_secret(length)
        while value == current.get(name):
            value = generate_secret(length)
        wanted[name] = value
        notes.append(f"{name} set to a new random value ({length} characters)")
    return notes


def _follow_urls(wanted: dict[str, str], current: Mapping[str, str], removed_only: Sequence[str]) -> list[str]:
    """Make the URL trio follow the first of them given (several given must agree), in ``wanted``; the notes."""
    touched_urls = [name for name in URL_SOURCES if name in wanted]
    if not touched_urls:
        return []
    first = touched_urls[0]
    trio = _url_trio_from(first, wanted[first], current)
    for name in touched_urls[1:]:
        given, expected = wanted[name].strip().rstrip("/"), trio[name]
        if name == "SUPABASE_HOST":
            # Host names compare without case.
            given, expected = given.casefold(), expected.casefold()
        if given != expected:
            raise InputError(
                f"{name} ({wanted[name]}) disagrees with {first} ({wanted[first]}); set one of them and the "
                "others follow",
                field=name,
            )
    notes: list[str] = []
    for name, value in trio.items():
        if name in removed_only:
            # Asked to go: leave it gone rather than write it back.
            continue
        if name not in wanted and current.get(name) != value:
            notes.append(f"{name} set to match {first}")
        wanted[name] = value
    return notes
