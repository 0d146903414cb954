"""dokploy-mcp: an MCP server that deploys, repairs and operates self-hosted Supabase stacks on Dokploy."""

__version__ = "0.1.0"

#: The Dokploy release this server is built and tested against (recordings, OpenAPI document, e2e suite).
SUPPORTED_DOKPLOY_VERSION = "v0.30.2"

__all__ = ["SUPPORTED_DOKPLOY_VERSION", "__version__"]
