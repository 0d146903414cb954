"""The client of a Supabase stack's Kong gateway (GoTrue, PostgREST, Storage, Realtime, pg-meta, functions behind it).

A client layer package: it knows HTTP and Kong's routes, nothing of Dokploy, stacks or MCP.
"""
