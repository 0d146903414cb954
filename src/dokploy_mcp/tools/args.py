"""Argument types the tools share: one declaration (bound and wording) per argument, whichever tool takes it.

A tool module imports its shared arguments from here, never from another tool module. An argument that only one
tool takes stays in that tool's signature, unless there are so many that the signature would outgrow the function:
the setup wizard's are declared here too, in their own group.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dokploy_mcp.confirm import MAX_TOKEN_CHARS

#: Bounds of text arguments: a stack address or a name, a host name (RFC 1035), a URL, a path, an env file.
MAX_ADDRESS_CHARS = 512
MAX_HOST_CHARS = 253
MAX_URL_CHARS = 2_048
MAX_PATH_CHARS = 4_096
MAX_ENV_CHARS = 1_000_000
MAX_VARIABLES = 500
#: A compose service name (compose allows long ones; Dokploy's are short).
MAX_SERVICE_CHARS = 256

#: A connection string or a stack address is never longer (libpq URLs with every option stay far below).
MAX_TARGET_CHARS = 2_048

VariableName = Annotated[str, Field(min_length=1, max_length=256)]

StackArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ADDRESS_CHARS,
        description="the stack: address from dokploy_list_instances, compose id, or [server:]project[/env]/compose",
    ),
]
#: A database, as every database tool names one (DESIGN §2 "Addressing a database").
TargetArg = Annotated[
    str | None,
    Field(
        max_length=MAX_TARGET_CHARS,
        description="a connection string (postgresql://..., key=value, JDBC), a stack (address or project/compose), "
        "or omit for DATABASE_URL",
    ),
]
RevealArg = Annotated[bool, Field(description="show secrets in clear")]
RedeployArg = Annotated[
    bool,
    Field(description="redeploy afterwards (else it waits for the next deploy)"),
]
#: Whole seconds: a fraction of a second changes nothing in a wait of minutes, and an integer is the one numeric type
#: every client's schema dialect reads the same way (a whole float such as 900.0 is still accepted).
WaitArg = Annotated[int, Field(ge=10, le=3600, description="redeploy timeout in seconds")]
#: A confirmation token's type and bound; each tool adds the description of when its token is needed, e.g.
#: ``Annotated[ConfirmToken, Field(description=...)] = None`` (pydantic merges the two Fields).
ConfirmToken = Annotated[str | None, Field(max_length=MAX_TOKEN_CHARS)]

# -- the setup wizard's own arguments (dokploy_setup_wizard only) ------------------------------------------------------

ProjectArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ADDRESS_CHARS,
        description="project name",
    ),
]
StackNameArg = Annotated[str, Field(min_length=1, max_length=63, description="compose name")]
PublicHostArg = Annotated[
    str | None,
    Field(
        max_length=MAX_HOST_CHARS,
        description="public API and Studio host, e.g. api.example.com; default: sslip.io",
    ),
]
LetsEncryptArg = Annotated[bool, Field(description="https with Let's Encrypt")]
SiteUrlArg = Annotated[
    str | None,
    Field(
        max_length=MAX_URL_CHARS,
        description="your app's URL (auth redirects)",
    ),
]
SmtpArg = Annotated[
    str | None,
    Field(
        max_length=MAX_URL_CHARS,
        description="smtp://user:password@host:587?from=admin@example.com for auth e-mails",
    ),
]
ServerNameArg = Annotated[
    str | None,
    Field(
        max_length=MAX_ADDRESS_CHARS,
        description="instances-file server name; default: the default",
    ),
]
RemoteServerIdArg = Annotated[
    str | None,
    Field(
        max_length=MAX_ADDRESS_CHARS,
        description="remote server id to deploy on; default: Dokploy's own host",
    ),
]
TemplateArg = Annotated[
    str | None,
    Field(
        max_length=MAX_PATH_CHARS,
        description="mirror URL or local template folder, if Dokploy cannot reach its catalogue",
    ),
]
