"""Argument types the tools share: one declaration (bound and wording) per argument, whichever tool takes it.

A tool module imports its shared arguments from here, never from another tool module. An argument that only one
tool takes stays in that tool's signature, unless there are so many that the signature would outgrow the function:
the setup wizard's are declared here too, in their own group.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dokploy_mcp.confirm import MAX_TOKEN_CHARS
from dokploy_mcp.supabase.wizard import SmtpSettings

#: Bounds of text arguments: a stack address or a name, a host name (RFC 1035), a URL, a path, an env file.
MAX_ADDRESS_CHARS = 512
MAX_HOST_CHARS = 253
MAX_URL_CHARS = 2_048
MAX_PATH_CHARS = 4_096
MAX_ENV_CHARS = 1_000_000
MAX_VARIABLES = 500
#: A compose service name (compose allows long ones; Dokploy's are short).
MAX_SERVICE_CHARS = 256

VariableName = Annotated[str, Field(min_length=1, max_length=256)]

StackArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ADDRESS_CHARS,
        description="the stack: its address from dokploy_list_instances, a compose id, or project/compose or "
        "project/environment/compose, optionally prefixed with server:",
    ),
]
RevealArg = Annotated[
    bool, Field(description="show secret values in clear (service-role key, JWT secret, passwords); default masked")
]
RedeployArg = Annotated[
    bool,
    Field(
        description="redeploy the stack afterwards and wait for the outcome; without it the change is saved but "
        "not applied until the next deploy"
    ),
]
WaitArg = Annotated[float, Field(ge=10, le=3600, description="seconds to wait for a redeploy to finish (default 900)")]
#: A confirmation token's type and bound; each tool adds the description of when its token is needed, e.g.
#: ``Annotated[ConfirmToken, Field(description=...)] = None`` (pydantic merges the two Fields).
ConfirmToken = Annotated[str | None, Field(max_length=MAX_TOKEN_CHARS)]

# -- the setup wizard's own arguments (dokploy_setup_wizard only) ------------------------------------------------------

ProjectArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ADDRESS_CHARS,
        description="project name; made DNS-safe for Dokploy, the original kept as its description",
    ),
]
StackNameArg = Annotated[str, Field(min_length=1, max_length=63, description="name of the stack's compose")]
PublicHostArg = Annotated[
    str | None,
    Field(
        max_length=MAX_HOST_CHARS,
        description="public host name of the API and Studio, e.g. api.example.com (DNS must point at the "
        "Dokploy server); default: keep the sslip.io name Dokploy generates",
    ),
]
LetsEncryptArg = Annotated[bool, Field(description="serve the domain over https with Let's Encrypt")]
SiteUrlArg = Annotated[
    str | None,
    Field(
        max_length=MAX_URL_CHARS,
        description="your application's URL, where auth sends users back, e.g. https://app.example.com",
    ),
]
SmtpArg = Annotated[
    SmtpSettings | None, Field(description="mail server for auth e-mails; without it confirmations are not sent")
]
ServerNameArg = Annotated[
    str | None,
    Field(
        max_length=MAX_ADDRESS_CHARS,
        description="the Dokploy server (a name from the instances file); default: the default one",
    ),
]
RemoteServerIdArg = Annotated[
    str | None,
    Field(
        max_length=MAX_ADDRESS_CHARS,
        description="Dokploy's id of a remote server to deploy on; default: the Dokploy host",
    ),
]
TemplateMirrorArg = Annotated[
    str | None,
    Field(
        max_length=MAX_URL_CHARS,
        description="base URL of a Dokploy templates mirror, when the host cannot reach the catalogue",
    ),
]
TemplateDirArg = Annotated[
    str | None,
    Field(
        max_length=MAX_PATH_CHARS,
        description="a folder on this MCP server's machine with docker-compose.yml and template.toml: imported offline",
    ),
]
DeployWaitArg = Annotated[
    float, Field(ge=30, le=3600, description="seconds to wait for the deploy (first pulls take minutes)")
]
