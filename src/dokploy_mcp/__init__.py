"""dokploy-mcp: an MCP server that deploys, repairs and operates self-hosted Supabase stacks on Dokploy."""

__version__ = "0.1.0"

#: The Dokploy release this server is built and tested against (recordings, OpenAPI document, e2e suite).
SUPPORTED_DOKPLOY_VERSION = "v0.30.2"


def is_supported_dokploy(version: str) -> bool:
    """Whether a Dokploy reporting ``version`` (``v0.30.5`` or ``0.30.5``) is the supported release line.

    Patch releases of the supported minor keep the API this server uses; any other minor is untested.
    """

    def minor(text: str) -> list[str]:
        return text.strip().lstrip("v").split(".")[:2]

    return minor(version) == minor(SUPPORTED_DOKPLOY_VERSION)


__all__ = ["SUPPORTED_DOKPLOY_VERSION", "__version__", "is_supported_dokploy"]
