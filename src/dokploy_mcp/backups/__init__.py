"""Backups as files: sealed (zstd + chunked AES-256-GCM) streams, where they are stored, and how long they are kept.

Knows nothing of PostgreSQL or Dokploy; the backup flows in :mod:`dokploy_mcp.services.backups` combine it with them.
"""
