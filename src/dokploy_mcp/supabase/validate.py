"""Check a Supabase stack's configuration: keys, secrets, URLs, mail, variables, domain and certificates.

Each finding has a code, a severity, the variable it concerns, a message that never quotes a secret, and the exact
tool call that fixes it (``fix``), or null with the manual step in the message when no tool of this server can fix
it safely (for example Dokploy's server-wide Let's Encrypt e-mail, which we never rewrite behind Dokploy's back).
Where a fix needs a value only the user knows (their application's URL, their SMTP server), the call carries a
placeholder and ``placeholders`` names the arguments to replace.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.models import LETS_ENCRYPT_EMAIL_MISSING, Domain, WebServerSettings
from dokploy_mcp.errors import NextStep
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.keys import SECRET_RULES, KeyFinding, Severity, check_keys, weak_secret_findings
from dokploy_mcp.supabase.secrets import is_secret
from dokploy_mcp.supabase.stack import SupabaseStack
from dokploy_mcp.supabase.variables import GENERATABLE, REQUIRED

SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}

URL_VARIABLES = ("API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL")
#: Mail settings the template ships with: a mail host that no service of the stack provides and fake credentials.
PLACEHOLDER_SMTP_HOSTS = frozenset({"supabase-mail", "smtp.example.com", ""})
PLACEHOLDER_SMTP_USERS = frozenset({"fake_mail_user"})
#: Env text problems that change what the stack reads (a swallowed line, a value cut short); the rest are style.
SERIOUS_ENV_PROBLEMS = frozenset(
    {"invalid_line", "invalid_key", "missing_equals", "unterminated_quote", "text_after_quote"}
)
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}")
#: A host Dokploy generated on sslip.io while its server IP was unset: it resolves to the loopback address.
_LOOPBACK_SSLIP = re.compile(r"(?:^|[.-])127[.-]0[.-]0[.-]1\.sslip\.io\Z", re.IGNORECASE)


class Finding(BaseModel):
    code: str
    severity: Severity
    variable: str | None
    message: str
    fix: NextStep | None = None


class ValidationReport(BaseModel):
    stack: str | None = Field(description="the stack's address, or null for raw env text")
    ok: bool = Field(description="true when nothing critical or high was found")
    counts: dict[str, int]
    findings: list[Finding]


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _with_scheme(url: str, scheme: str) -> str:
    """``url`` (without a trailing slash) with its scheme replaced."""
    return scheme + "://" + url.rstrip("/").partition("://")[2]


def _is_local(url: str | None) -> bool:
    host = _host(url)
    return host in {"localhost", "127.0.0.1", "0.0.0.0", "::1"}


def referenced_variables(compose_file: str) -> tuple[set[str], set[str]]:
    """Variables the compose file interpolates: (required ones, ones with a default)."""
    required: set[str] = set()
    optional: set[str] = set()
    for match in _INTERPOLATION.finditer(compose_file.replace("$$", "")):
        name, modifier = match.group(1), match.group(2) or ""
        (optional if modifier.startswith((":-", "-", ":+", "+")) else required).add(name)
    return required, optional


class Validator:
    """Collects findings for one stack (or raw env text when ``address`` is None)."""

    def __init__(self, env: EnvFile, address: str | None) -> None:
        self.env = env
        self.values = env.as_dict()
        self.address = address
        self.findings: list[Finding] = []

    def add(
        self, code: str, severity: Severity, variable: str | None, message: str, fix: NextStep | None = None
    ) -> None:
        self.findings.append(Finding(code=code, severity=severity, variable=variable, message=message, fix=fix))

    def call(self, tool: str, placeholders: list[str] | None = None, **arguments: Any) -> NextStep | None:
        # Raw env text has no stack to act on: the finding stays, the call cannot be made.
        if self.address is None:
            return None
        return NextStep(tool=tool, arguments={"stack": self.address, **arguments}, placeholders=placeholders or [])

    # -- checks ---------------------------------------------------------------------------------------------------

    def keys(self, now: Any = None) -> None:
        rotate_codes: set[str] = set()
        key_findings: list[KeyFinding] = check_keys(self.values, now=now)
        for finding in key_findings:
            if finding.variable == "JWT_SECRET":
                rotate_codes.add(finding.code)
        for finding in key_findings:
            if finding.variable == "JWT_SECRET":
                fix = self.call("dokploy_regenerate_keys", mode="rotate")
            else:
                # A fresh signature with the current secret repairs the keys without signing anyone out, unless the
                # secret itself is bad: then only a rotation helps.
                fix = self.call("dokploy_regenerate_keys", mode="rotate" if rotate_codes else "resign")
            self.add(finding.code, finding.severity, finding.variable, finding.message, fix)
        for finding in weak_secret_findings(self.values):
            if finding.variable == "POSTGRES_PASSWORD":
                fix = None
                message = (
                    f"{finding.message}; changing POSTGRES_PASSWORD after the first start breaks the database's "
                    "internal roles: follow the template's instructions (ALTER USER for each role, then update the "
                    "env) rather than editing the variable alone"
                )
            elif finding.variable == "VAULT_ENC_KEY":
                fix = None
                message = (
                    f"{finding.message}; Supavisor encrypts its tenant data with VAULT_ENC_KEY, so a new key makes "
                    "what it stored unreadable: set a 32-character key before the first start, or reset the pooler's "
                    "data together with the change"
                )
            else:
                fix = self.call("dokploy_update_env", generate=[finding.variable], redeploy=True)
                message = finding.message
            self.add(finding.code, finding.severity, finding.variable, message, fix)

    def required(self, compose_file: str | None, public_url: str | None) -> None:
        referenced = referenced_variables(compose_file)[0] if compose_file else set()
        # Keys and secrets that are missing are already reported by the key and secret checks, with better fixes.
        covered = {"JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY", *SECRET_RULES}
        for name in sorted((set(REQUIRED) | referenced) - covered):
            # A required variable set to nothing is as missing as an absent one; a variable the compose file only
            # interpolates may be empty on purpose (the template's OPENAI_API_KEY=).
            missing = not self.values.get(name) if name in REQUIRED else name not in self.values
            if not missing or (name == "JWT_EXPIRY" and "JWT_EXP" in self.values):
                # JWT_EXPIRY spelled JWT_EXP is reported below, with the rename as its fix.
                continue
            if name in GENERATABLE:
                fix = self.call("dokploy_update_env", generate=[name])
            elif name in URL_VARIABLES and public_url:
                fix = self.call("dokploy_update_env", set={name: public_url})
            else:
                fix = self.call("dokploy_update_env", placeholders=[f"set.{name}"], set={name: "<value>"})
            self.add("missing_variable", "high", name, f"{name} is not set, but the stack needs it", fix)
        if "JWT_EXP" in self.values and "JWT_EXPIRY" not in self.values:
            self.add(
                "jwt_expiry_name",
                "medium",
                "JWT_EXP",
                "JWT_EXP is set but the Supabase template reads JWT_EXPIRY; the token lifetime falls back to the "
                "default",
                self.call("dokploy_update_env", set={"JWT_EXPIRY": self.values["JWT_EXP"]}, unset=["JWT_EXP"]),
            )

    def urls(self, domain: Domain | None, public_url: str | None) -> None:
        if self.address is not None and domain is None:
            self.add(
                "no_domain",
                "high",
                None,
                "the stack has no domain for kong (port 8000): its API is not reachable from outside",
                self.call("manage_domain", placeholders=["host"], action="add", host="api.example.com", https=True),
            )
        for name in URL_VARIABLES:
            value = self.values.get(name)
            if value:
                self._url_variable(name, value, domain, public_url)
        self._site_url()
        self._redirect_urls()

    def _url_variable(self, name: str, value: str, domain: Domain | None, public_url: str | None) -> None:
        if public_url and value.rstrip("/") != public_url.rstrip("/"):
            if domain is not None and not domain.https and value.rstrip("/") == _with_scheme(public_url, "https"):
                # Only the scheme differs and the variable asks for https: serve the domain over https (which
                # keeps the URL variables in step) rather than downgrade the variables to plain http.
                fix = self.call("manage_domain", action="update", https=True)
                detail = "uses https, but the kong domain is served over plain http"
            elif value.rstrip("/") == _with_scheme(public_url, "http"):
                fix = self.call("dokploy_update_env", set=dict.fromkeys(URL_VARIABLES, public_url))
                detail = "uses plain http, but the kong domain is served over https"
            else:
                fix = self.call("dokploy_update_env", set=dict.fromkeys(URL_VARIABLES, public_url))
                detail = "does not match the kong domain the stack is served on (scheme and host)"
            self.add(
                "url_mismatch",
                "high",
                name,
                f"{name} {detail}; clients and auth e-mails will point to the wrong address",
                fix,
            )
        elif value.startswith("http://") and not _is_local(value):
            self.add(
                "public_url_http",
                "medium",
                name,
                f"{name} uses plain http: keys and sessions cross the network unencrypted",
                self.call("manage_domain", action="update", https=True)
                if domain is not None
                else self.call("dokploy_update_env", set={name: "https://" + value.removeprefix("http://")}),
            )

    def _site_url(self) -> None:
        site = self.values.get("SITE_URL")
        if site is None:
            return
        if _is_local(site):
            self.add(
                "site_url_localhost",
                "medium",
                "SITE_URL",
                "SITE_URL (your application's URL, where auth sends users back after sign-in and e-mail "
                "links) is still localhost",
                self.call(
                    "dokploy_update_env", placeholders=["set.SITE_URL"], set={"SITE_URL": "https://app.example.com"}
                ),
            )
        elif site.startswith("http://"):
            self.add(
                "site_url_http",
                "low",
                "SITE_URL",
                "SITE_URL uses plain http; in production your application should be served over https",
                self.call("dokploy_update_env", set={"SITE_URL": "https://" + site.removeprefix("http://")}),
            )

    def _redirect_urls(self) -> None:
        redirects = [u.strip() for u in (self.values.get("ADDITIONAL_REDIRECT_URLS") or "").split(",") if u.strip()]
        local = [u for u in redirects if _is_local(u)]
        if local:
            kept = ",".join(u for u in redirects if u not in local)
            self.add(
                "redirect_urls_localhost",
                "low",
                "ADDITIONAL_REDIRECT_URLS",
                f"ADDITIONAL_REDIRECT_URLS allows {len(local)} localhost address(es): anyone running a local app can "
                "receive your users' auth redirects; keep them only while developing",
                self.call("dokploy_update_env", set={"ADDITIONAL_REDIRECT_URLS": kept})
                if kept
                else self.call("dokploy_update_env", unset=["ADDITIONAL_REDIRECT_URLS"]),
            )

    def mail(self) -> None:
        host = (self.values.get("SMTP_HOST") or "").strip()
        user = (self.values.get("SMTP_USER") or "").strip()
        autoconfirm = (self.values.get("ENABLE_EMAIL_AUTOCONFIRM") or "false").lower() == "true"
        email_signup = (self.values.get("ENABLE_EMAIL_SIGNUP") or "true").lower() == "true"
        if email_signup and not autoconfirm and (host in PLACEHOLDER_SMTP_HOSTS or user in PLACEHOLDER_SMTP_USERS):
            self.add(
                "smtp_placeholder",
                "high",
                "SMTP_HOST",
                "e-mail sign-up is on and needs confirmation, but SMTP points at the template's placeholder (no mail "
                "service exists in the stack): sign-up confirmations and password resets are never delivered. Set a "
                "real SMTP server, or turn on ENABLE_EMAIL_AUTOCONFIRM",
                self.call(
                    "dokploy_update_env",
                    placeholders=[
                        "set.SMTP_HOST",
                        "set.SMTP_PORT",
                        "set.SMTP_USER",
                        "set.SMTP_PASS",
                        "set.SMTP_ADMIN_EMAIL",
                    ],
                    set={
                        "SMTP_HOST": "smtp.example.com",
                        "SMTP_PORT": "587",
                        "SMTP_USER": "mailer@example.com",
                        "SMTP_PASS": "<smtp password>",
                        "SMTP_ADMIN_EMAIL": "admin@example.com",
                    },
                    redeploy=True,
                ),
            )

    def server(self, domain: Domain | None, settings: WebServerSettings | None, server_ip: str | None) -> None:
        if domain is not None and _LOOPBACK_SSLIP.search(domain.host):
            self.add(
                "server_ip_loopback",
                "high",
                None,
                "the stack's generated sslip.io domain resolves to 127.0.0.1 because Dokploy's server IP was unset: "
                "nobody else can reach it. Set the public IP in Dokploy (Settings, Server, IP, or `dokploy-mcp "
                "bootstrap --server-ip`), then give the stack a real domain",
                self.call("manage_domain", placeholders=["host"], action="update", host="api.example.com"),
            )
        elif server_ip is not None and server_ip in {"", "127.0.0.1"} and domain is None:
            self.add(
                "server_ip_unset",
                "medium",
                None,
                "Dokploy's server IP is unset, so the domains it generates (sslip.io) point to 127.0.0.1; set it in "
                "Dokploy (Settings, Server, IP) before generating a domain",
            )
        # Without the settings nobody knows whether the e-mail is set: say nothing rather than guess.
        asks_letsencrypt = domain is not None and domain.https and domain.certificate_type == "letsencrypt"
        if asks_letsencrypt and settings is not None and not settings.can_issue_certificates:
            self.add("letsencrypt_email_unset", "medium", None, LETS_ENCRYPT_EMAIL_MISSING)

    def syntax(self) -> None:
        for problem in self.env.problems():
            fix = None
            if problem.code == "duplicate_key" and problem.key and problem.key in self.values:
                # dokploy_update_env reads a variable both unset and set as "drop every line of it, then write it
                # once": the earlier copies go and the effective value stays.
                fix = self.call("dokploy_update_env", unset=[problem.key], set={problem.key: self.values[problem.key]})
                # A fix call would carry the secret's value in clear: leave that one to the user.
                if is_secret(problem.key):
                    fix = None
            self.add(
                f"env_{problem.code}",
                "medium" if problem.code in SERIOUS_ENV_PROBLEMS else "low",
                problem.key,
                f"line {problem.line}: {problem.message}",
                fix,
            )

    def report(self) -> ValidationReport:
        findings = sorted(self.findings, key=lambda f: SEVERITY_ORDER[f.severity])
        counts = {severity: sum(f.severity == severity for f in findings) for severity in SEVERITY_ORDER}
        return ValidationReport(
            stack=self.address,
            ok=counts["critical"] == 0 and counts["high"] == 0,
            counts=counts,
            findings=findings,
        )


def validate_env(
    env: EnvFile,
    *,
    address: str | None = None,
    compose_file: str | None = None,
    domain: Domain | None = None,
    public_url: str | None = None,
    settings: WebServerSettings | None = None,
    server_ip: str | None = None,
    now: Any = None,
) -> ValidationReport:
    validator = Validator(env, address)
    validator.syntax()
    validator.keys(now)
    validator.required(compose_file, public_url)
    validator.urls(domain, public_url)
    validator.mail()
    validator.server(domain, settings, server_ip)
    return validator.report()


def validate_stack(stack: SupabaseStack, settings: WebServerSettings) -> ValidationReport:
    """Check a stack as Dokploy holds it: its env against its compose file and kong domain, and the server's web
    settings (Let's Encrypt e-mail, server IP)."""
    return validate_env(
        stack.env,
        address=stack.ref.address,
        compose_file=stack.compose.compose_file,
        domain=stack.kong_domain,
        public_url=stack.public_url,
        settings=settings,
        server_ip=settings.server_ip or "",
    )
