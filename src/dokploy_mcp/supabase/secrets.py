"""Which env variables are secret, and how their values are shown (DESIGN §2, "Disclosure of secrets").

Rules:

- Secret: the service-role key, the JWT secret, every password and token, the encryption keys and anything whose
  name says it is one: a name containing PASSWORD, PASSWD, SECRET, TOKEN, PRIVATE or CREDENTIAL, or ending in
  ``_KEY``, ``_PASS`` or ``_PWD`` (case does not matter). The well-known Supabase ones are also listed by name so
  that a change of the patterns cannot expose them.
- Public by design, shown in clear: the anon key (ANON_KEY, its copy SUPABASE_ANON_KEY, ANON_KEY_ASYMMETRIC) and
  the publishable key (SUPABASE_PUBLISHABLE_KEY). Browsers receive them; they grant nothing Row Level Security
  does not allow.
- A masked value shows only its length ("•••• (32 chars)", :func:`dokploy_mcp.redact.mask`): never a character
  of it, not even the first few, because a prefix narrows a search and several masks of one value must not add up
  to the value.
- Non-secret values are shown as they are, except the password inside a URL (``scheme://user:password@host``),
  which is replaced by "••••" wherever it appears.
- ``reveal=True`` shows everything in clear: the caller asked for it explicitly.
- Text that is not env (logs, error messages, deploy output) is cleaned with :func:`dokploy_mcp.redact.mask_in_text`,
  which replaces every occurrence of each known secret value. Values shorter than 8 characters are left alone: they
  would match ordinary words and numbers everywhere and are too short to be worth protecting that way.

The masking itself lives in :mod:`dokploy_mcp.redact`, below the domain packages, because container and deploy
logs are masked the same way; this module decides which variables are secret and how an env is shown.
"""

from __future__ import annotations

from dokploy_mcp.redact import mask, mask_in_text, mask_url_credentials
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envparse import EnvLine

PUBLIC_KEYS = frozenset({"ANON_KEY", "SUPABASE_ANON_KEY", "SUPABASE_PUBLISHABLE_KEY", "ANON_KEY_ASYMMETRIC"})
SECRET_KEYS = frozenset(
    {
        "SERVICE_ROLE_KEY",
        "SERVICE_ROLE_KEY_ASYMMETRIC",
        "SUPABASE_SECRET_KEY",
        "JWT_SECRET",
        "JWT_KEYS",
        "POSTGRES_PASSWORD",
        "DASHBOARD_PASSWORD",
        "SECRET_KEY_BASE",
        "VAULT_ENC_KEY",
        "PG_META_CRYPTO_KEY",
        "LOGFLARE_PUBLIC_ACCESS_TOKEN",
        "LOGFLARE_PRIVATE_ACCESS_TOKEN",
        "LOGFLARE_API_KEY",
        "S3_PROTOCOL_ACCESS_KEY_SECRET",
        "SMTP_PASS",
        "OPENAI_API_KEY",
    }
)
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE", "CREDENTIAL")
_SECRET_SUFFIXES = ("_KEY", "_PASS", "_PWD")


def is_secret(key: str) -> bool:
    name = key.upper()
    if name in PUBLIC_KEYS:
        return False
    if name in SECRET_KEYS:
        return True
    return any(word in name for word in _SECRET_WORDS) or name.endswith(_SECRET_SUFFIXES)


def shown(key: str, value: str | None, reveal: bool) -> str | None:
    """How the value of env variable ``key`` may appear in a tool result."""
    if value is None or reveal:
        return value
    if is_secret(key):
        return mask(value)
    return mask_url_credentials(value)


def _masked_value(line: EnvLine) -> str:
    """``line.raw`` with its value masked; the quotes, the key and whatever follows the value stay."""
    assert line.value_span is not None
    start, end = line.value_span
    if line.quote is not None:
        start += 1
        if line.kind == "assignment":
            end -= 1
    written = line.raw[start:end]
    return line.raw[:start] + (mask(line.value if line.kind == "assignment" else written) or "") + line.raw[end:]


def _mask_line(line: EnvLine) -> tuple[str, list[str]]:
    """The line as shown with secrets masked, and the secret values it held."""
    if line.kind in ("assignment", "invalid") and line.key is not None and is_secret(line.key):
        if line.value_span is None:
            return line.raw, []
        if line.kind == "assignment":
            held = [line.value] if line.value else []
        else:
            held = [line.raw[line.value_span[0] + 1 : line.value_span[1]]]
        return _masked_value(line), held
    if line.kind == "comment":
        # A commented-out assignment often keeps an old secret: "# JWT_SECRET=previous-value".
        hash_at = line.raw.index("#")
        body = line.raw[hash_at + 1 :]
        inner = EnvFile.parse(body).lines
        if inner and inner[0].kind == "assignment" and inner[0].key and is_secret(inner[0].key):
            return line.raw[: hash_at + 1] + _masked_value(inner[0]), [inner[0].value or ""]
        return line.raw, []
    if line.kind == "invalid" and line.key is None and "=" in line.raw:
        # A broken assignment such as "JWT SECRET=value" still carries a secret after its "=".
        name, _, _ = line.raw.partition("=")
        if is_secret("_".join(name.split())):
            equals = line.raw.index("=")
            written = line.raw[equals + 1 :]
            return line.raw[: equals + 1] + (mask(written) or ""), [written.strip()]
    return line.raw, []


def mask_env_text(text: str, reveal: bool = False) -> str:
    """The env text with every secret value masked; lines, comments and order stay where they are."""
    if reveal:
        return text
    held: list[str] = []
    parts: list[str] = []
    for line in EnvFile.parse(text).lines:
        shown_line, values = _mask_line(line)
        held.extend(values)
        parts.append(shown_line + line.ending)
    # A secret may also be copied into another variable or a comment (a database URL built from the password).
    return mask_url_credentials(mask_in_text("".join(parts), held))
