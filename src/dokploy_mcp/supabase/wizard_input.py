"""What the setup wizard is asked: its input, with the two arguments that arrive as one string each (the SMTP
server as a URL, the template as a mirror URL or a folder) taken apart here."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError

from dokploy_mcp.errors import InputError


class SmtpSettings(BaseModel):
    host: str = Field(min_length=1, max_length=253, description="SMTP server host, e.g. smtp.resend.com")
    port: int = Field(default=587, ge=1, le=65535)
    user: str = Field(max_length=512, description="SMTP user name")
    password: SecretStr = Field(max_length=1024, description="SMTP password (never shown)")
    admin_email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="the sender address of auth e-mails"
    )
    sender_name: str = Field(default="Supabase", max_length=256, description="the sender name of auth e-mails")

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """``smtp://user:password@host:587?from=admin@example.com&name=Acme`` (user and password percent-encoded):
        one argument instead of an object of six, for a lean tool schema. The error never repeats the URL: it holds
        a password."""
        usage = "smtp must look like smtp://user:password@smtp.example.com:587?from=admin@example.com"
        parts = urlsplit(url)
        try:
            port = parts.port or 587
        except ValueError:
            raise InputError(f"{usage} (the port is not a number from 1 to 65535)", field="smtp") from None
        query = parse_qs(parts.query)
        try:
            return cls(
                host=parts.hostname or "",
                port=port,
                user=unquote(parts.username or ""),
                password=SecretStr(unquote(parts.password or "")),
                admin_email=query.get("from", [""])[0],
                sender_name=query.get("name", ["Supabase"])[0],
            )
        except ValidationError as exc:
            wrong = "; ".join(f"{error['loc'][0]}: {error['msg']}" for error in exc.errors(include_input=False))
            raise InputError(f"{usage} ({wrong})", field="smtp") from None


def template_source(template: str | None) -> tuple[str | None, str | None]:
    """The wizard's one ``template`` argument as (mirror URL, offline folder): a URL is a mirror, else a folder."""
    if template is None:
        return None, None
    if template.startswith(("http://", "https://")):
        return template, None
    return None, template


@dataclass
class WizardInput:
    project: str
    stack_name: str = "supabase"
    domain: str | None = None
    https: bool = True
    site_url: str | None = None
    smtp: SmtpSettings | None = None
    server_id: str | None = None
    template_mirror: str | None = None
    template_dir: str | None = None
    wait_seconds: float = 1200
    probe: bool = True
    reveal: bool = False
    #: Take over a Supabase stack of that name that this wizard did not create (confirmed first when deployed).
    adopt: bool = False
