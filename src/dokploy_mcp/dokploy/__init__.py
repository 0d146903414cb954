"""The Dokploy side of the server: an async REST client, its trimmed response models and its errors.

Importing this package stays cheap: the client (and httpx) load only when :mod:`dokploy_mcp.dokploy.client`, its
transport or one of its endpoint modules is imported.
"""
