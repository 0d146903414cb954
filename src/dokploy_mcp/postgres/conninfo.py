"""Connection targets: parse every form users paste, show them without their password.

Accepted forms (see :func:`parse_target`):

- URL: ``postgresql://user:password@host:5432/dbname?sslmode=require`` (also ``postgres://`` and
  SQLAlchemy's ``postgresql+driver://``), including Supabase's pooler form whose user is
  ``postgres.<tenant>``;
- libpq ``key=value`` strings: ``host=db port=5432 dbname=postgres user=postgres password='a b'``;
- JDBC: ``jdbc:postgresql://host:5432/dbname?user=u&password=p&sslmode=require``.

Passwords pasted without percent-encoding (``p@ss/word``) are common; libpq would silently misread them (and
then echo a piece of the password in its "could not translate host name" error), so such URLs are repaired
before libpq sees them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, quote, unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dokploy_mcp import redact
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.postgres.errors import ConnectionStringError

__all__ = ["ConnInfo", "parse_target"]

logger = logging.getLogger(__name__)

# libpq keys whose values are secrets; everything else may be shown.
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_CORE_KEYS = frozenset({"host", "port", "dbname", "user", "password", "sslmode"})

_URL_PREFIX = re.compile(r"^postgres(?:ql)?(?:\+[A-Za-z0-9_]+)?://", re.IGNORECASE)
_JDBC_PREFIX = re.compile(r"^jdbc:postgresql:", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

# What may follow the '@' that ends the userinfo: host list, optional /dbname, optional ?query.
_AFTER_USERINFO = re.compile(r"[^/?@\s]*(?:/[^?@]*)?(?:\?.*)?", re.DOTALL)

# Templates in docs and dashboards: Supabase's [YOUR-PASSWORD], <password>, an unexpanded ${POSTGRES_PASSWORD}.
_PLACEHOLDER = re.compile(
    r"\[(?P<square>[A-Za-z][\w \-]*)\]|<(?P<angle>[A-Za-z][\w \-]*)>|(?P<env>\$\{[A-Za-z_]\w*\})"
    r"|(?P<bare>(?i:your[-_ ]?(?:password|pass|pwd)))"
)


# pgjdbc parameters that have a libpq equivalent; the others only tune the Java driver.
_JDBC_KEYS = {
    "user": "user",
    "password": "password",
    "sslmode": "sslmode",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslrootcert": "sslrootcert",
    "sslpassword": "sslpassword",
    "applicationname": "application_name",
    "connecttimeout": "connect_timeout",
    "options": "options",
    "gssencmode": "gssencmode",
    "channelbinding": "channel_binding",
}
_JDBC_TARGET_SERVER = {
    "any": "any",
    "primary": "primary",
    "master": "primary",
    "secondary": "standby",
    "slave": "standby",
    "standby": "standby",
    "prefersecondary": "prefer-standby",
    "preferslave": "prefer-standby",
    "preferstandby": "prefer-standby",
}

_FORMS_HELP = (
    "expected a URL such as postgresql://user:password@host:5432/postgres, libpq key=value pairs such as "
    "'host=db port=5432 dbname=postgres user=postgres', or a JDBC URL such as "
    "jdbc:postgresql://host:5432/postgres?user=postgres&password=..."
)


@dataclass(frozen=True, repr=False)
class ConnInfo:
    """Where and how to connect. ``password`` never appears in ``repr`` or :meth:`masked`.

    ``host`` may be a comma-separated list (libpq tries them in turn); ``params`` holds every other libpq
    parameter (``application_name``, ``options``, ``sslrootcert``, ...).
    """

    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    user: str | None = None
    password: str | None = None
    sslmode: str | None = None
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        overlap = _CORE_KEYS & set(self.params)
        if overlap:
            raise ValueError(f"pass {sorted(overlap)} as fields, not in params")
        # A read-only view keeps the frozen promise for the mapping too.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __repr__(self) -> str:
        shown = {k: (redact.MASK if k in _SECRET_KEYS else v) for k, v in self.params.items()}
        password = redact.MASK if self.password is not None else None
        return (
            f"ConnInfo(host={self.host!r}, port={self.port!r}, dbname={self.dbname!r}, user={self.user!r}, "
            f"password={password!r}, sslmode={self.sslmode!r}, params={shown!r})"
        )

    @classmethod
    def from_libpq(cls, values: Mapping[str, str]) -> ConnInfo:
        """Build from a libpq parameter mapping, as returned by psycopg's ``conninfo_to_dict``."""
        # An empty password is still a password (libpq sends it); other empty values mean "not given".
        password = values.get("password")
        rest = {k: str(v) for k, v in values.items() if v is not None and str(v) != "" and k != "password"}
        port_text = rest.pop("port", None)
        return cls(
            host=rest.pop("host", None),
            port=_parse_port(port_text) if port_text else None,
            dbname=rest.pop("dbname", None),
            user=rest.pop("user", None),
            password=None if password is None else str(password),
            sslmode=rest.pop("sslmode", None),
            params=rest,
        )

    def to_dict(self) -> dict[str, str]:
        """Every libpq parameter, password included: for building connections, never for display."""
        core = {
            "host": self.host,
            "port": str(self.port) if self.port is not None else None,
            "dbname": self.dbname,
            "user": self.user,
            "password": self.password,
            "sslmode": self.sslmode,
        }
        return {**{k: v for k, v in core.items() if v is not None}, **self.params}

    def to_conninfo(self) -> str:
        """A libpq ``key=value`` string for psycopg (holds the password: never log it)."""
        return make_conninfo("", **self.to_dict())

    def masked(self) -> str:
        """URL form for display, with the password (and any other secret parameter) shown as ``****``."""
        userinfo = quote(self.user, safe="") if self.user else ""
        if self.password is not None:
            userinfo += ":" + redact.MASK
        query: list[tuple[str, str]] = []
        hosts = self.host.split(",") if self.host else []
        netloc_hosts = ""
        if any(h.startswith("/") or not h for h in hosts):
            # Unix-socket directories cannot live in the authority part; libpq reads them from ?host=.
            query.append(("host", self.host or ""))
            if self.port is not None:
                query.append(("port", str(self.port)))
        else:
            shown = [f"[{h}]" if ":" in h else h for h in hosts]
            if self.port is not None:
                shown = [f"{h}:{self.port}" for h in shown] or [f":{self.port}"]
            netloc_hosts = ",".join(shown)
        if self.sslmode:
            query.append(("sslmode", self.sslmode))
        query.extend((k, redact.MASK if k in _SECRET_KEYS else v) for k, v in self.params.items())
        url = "postgresql://"
        if userinfo:
            url += userinfo + "@"
        url += netloc_hosts
        if self.dbname:
            url += "/" + quote(self.dbname, safe="")
        if query:
            url += "?" + "&".join(f"{k}={v if v == redact.MASK else quote(v, safe='')}" for k, v in query)
        return url


def parse_setting(text: str, setting: str = "DATABASE_URL") -> ConnInfo:
    """A connection string given as a setting: parsed at start-up (a typo found at the first database call would look
    like a broken database), its password registered with the scrubber.

    Raises :class:`ConfigurationError` naming ``setting`` when ``text`` is not a connection string.
    """
    try:
        info = parse_target(text)
    except ConnectionStringError as exc:
        raise ConfigurationError(f"invalid {setting}: {exc}", setting=setting) from None
    # A password equal to the user name is shown as the user name anyway; masking it would only hide the user.
    if info.password and info.password != info.user:
        redact.remember(info.password, quote(info.password, safe=""))
    return info


def parse_target(text: str) -> ConnInfo:
    """Parse a connection string in any supported form, refusing unfilled placeholders.

    Raises :class:`ConnectionStringError` (``field="target"``) with a message that says what to change.
    """
    text = text.strip()
    if not text:
        raise ConnectionStringError(f"the target is empty: {_FORMS_HELP}")
    _refuse_placeholder(text, fullmatch=False)
    if _JDBC_PREFIX.match(text):
        info = _parse_jdbc(text)
    elif prefix := _URL_PREFIX.match(text):
        info = _parse_url(text[prefix.end() :])
    elif _OTHER_SCHEME.match(text):
        scheme = text.split("://", 1)[0]
        raise ConnectionStringError(f"'{scheme}://' is not a PostgreSQL connection string: {_FORMS_HELP}")
    elif "=" in text:
        info = _parse_key_values(text)
    else:
        raise ConnectionStringError(f"not a connection string: {_FORMS_HELP}")
    # Percent-encoded placeholders (%5BYOUR-PASSWORD%5D) show only once decoded.
    for value in (info.user, info.password, info.host, info.dbname):
        if value:
            _refuse_placeholder(value, fullmatch=True)
    return info


def _refuse_placeholder(text: str, *, fullmatch: bool) -> None:
    matches = [m] if (m := _PLACEHOLDER.fullmatch(text)) else [] if fullmatch else _PLACEHOLDER.finditer(text)
    for match in matches:
        inner = match["square"] or match["angle"]
        # Brackets alone are no proof: a real password may be "p[ab]c". Templates shout or say what they want.
        if inner is None or inner.upper() == inner or any(w in inner.lower() for w in ("your", "password")):
            _raise_placeholder(match.group(0))


def _raise_placeholder(token: str) -> None:
    raise ConnectionStringError(
        f"the connection string still contains the placeholder {token}: replace it with the real value "
        "(for the password: the database password, such as POSTGRES_PASSWORD in the Supabase stack's env; "
        "inside a URL, percent-encode special characters, for example '@' as %40 and '/' as %2F)"
    )


def _parse_port(text: str) -> int:
    ports = {p.strip() for p in text.split(",") if p.strip()}
    if len(ports) > 1:
        raise ConnectionStringError(
            "different ports for different hosts are not supported: give every host the same port"
        )
    (port,) = ports or {""}
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConnectionStringError(f"the port {port!r} is not a number between 1 and 65535")
    return int(port)


def _libpq_parse(conninfo: str, hide: list[str | None]) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except psycopg.ProgrammingError as exc:
        # libpq quotes the offending token, which can be a piece of the password.
        raise ConnectionStringError(
            f"cannot parse the connection string: {redact.scrub(str(exc).strip(), hide)}"
        ) from None


def _parse_url(rest: str) -> ConnInfo:
    """Parse what follows ``scheme://``; repair unencoded special characters in the userinfo."""
    # libpq ends the userinfo at the first '@' or '/', so it misreads unencoded ones in a password; use it
    # only when the URL is unambiguous, and check what it made of the host and port.
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    path = "" if slash < 0 else rest[slash:].split("?", 1)[0]
    strict_error: ConnectionStringError | None = None
    if authority.count("@") <= 1 and "@" not in path:
        try:
            values = _libpq_parse("postgresql://" + rest, hide=_userinfo_secrets(authority))
        except ConnectionStringError as exc:
            strict_error = exc
        else:
            ports = [p.strip() for p in values.get("port", "").split(",") if p.strip()]
            plausible = "@" not in values.get("host", "") and all(p.isdigit() for p in ports)
            if plausible or "@" not in rest:
                return ConnInfo.from_libpq(values)
    if strict_error is not None and "@" not in rest:
        raise strict_error
    return _parse_url_leniently(rest)


def _userinfo_secrets(authority: str) -> list[str | None]:
    userinfo = authority.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return [password, unquote(password), userinfo]


def _parse_url_leniently(rest: str) -> ConnInfo:
    # The userinfo ends at the last '@' that is followed by a well-formed host part, so a password may hold
    # '@', ':', '/', '?' or '#' unencoded.
    for at in reversed([i for i, ch in enumerate(rest) if ch == "@"]):
        if _AFTER_USERINFO.fullmatch(rest[at + 1 :]):
            break
    else:
        raise ConnectionStringError(f"cannot find the host in the URL: {_FORMS_HELP}")
    userinfo, remainder = rest[:at], rest[at + 1 :]
    user, has_password, password = userinfo.partition(":")
    rebuilt = quote(unquote(user), safe="")
    if has_password:
        rebuilt += ":" + quote(unquote(password), safe="")
    values = _libpq_parse(f"postgresql://{rebuilt}@{remainder}", hide=[password, unquote(password), userinfo])
    if "@" in values.get("host", ""):
        raise ConnectionStringError(f"cannot find the host in the URL: {_FORMS_HELP}")
    return ConnInfo.from_libpq(values)


def _parse_key_values(text: str) -> ConnInfo:
    try:
        values = conninfo_to_dict(text)
    except psycopg.ProgrammingError as exc:
        if "password" in text.lower():
            # libpq's message quotes the token it stopped at, possibly a piece of an unquoted password.
            raise ConnectionStringError(
                "cannot parse the key=value connection string: a value with spaces or quotes must be "
                "single-quoted, for example password='my secret' (escape ' and \\ inside with a backslash)"
            ) from None
        raise ConnectionStringError(f"cannot parse the key=value connection string: {str(exc).strip()}") from None
    return ConnInfo.from_libpq({k: str(v) for k, v in values.items() if v is not None})


def _parse_jdbc(text: str) -> ConnInfo:
    body = _JDBC_PREFIX.sub("", text, count=1)
    base, _, query = body.partition("?")
    # pgjdbc also accepts 'jdbc:postgresql:dbname', meaning localhost.
    url = base[2:] if base.startswith("//") else "localhost/" + base.lstrip("/")
    values = _parse_url(url).to_dict()
    ignored: list[str] = []
    options: list[str] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        lowered = key.lower()
        if lowered in _JDBC_KEYS:
            values[_JDBC_KEYS[lowered]] = value
        elif lowered == "ssl":
            # pgjdbc's ssl=true means verify-full unless an sslmode says otherwise.
            values.setdefault("sslmode", "verify-full" if value.lower() in {"true", "1", ""} else "disable")
        elif lowered == "currentschema":
            options.append("-c search_path=" + value.replace("\\", "\\\\").replace(" ", "\\ "))
        elif lowered == "targetservertype" and value.lower() in _JDBC_TARGET_SERVER:
            values["target_session_attrs"] = _JDBC_TARGET_SERVER[value.lower()]
        else:
            ignored.append(key)
    if options:
        values["options"] = " ".join(filter(None, [values.get("options", ""), *options]))
    if ignored:
        logger.info("ignoring JDBC-only parameters without a libpq equivalent: %s", ", ".join(sorted(ignored)))
    try:
        make_conninfo("", **values)
    except psycopg.ProgrammingError as exc:
        raise ConnectionStringError(
            f"cannot use the JDBC URL: {redact.scrub(str(exc).strip(), [values.get('password')])}"
        ) from None
    return ConnInfo.from_libpq(values)
