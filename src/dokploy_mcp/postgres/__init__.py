"""PostgreSQL access: connection targets (``conninfo``), the client (``client``, ``wire``, ``statement``), the
pg-meta client (``pgmeta``) and, above them in the domain layer, the SQL guard and introspection.

Nothing is re-exported here: tool modules import this package at start-up, and psycopg (which the client and the
target parser need) costs start-up time that no ``tools/list`` should pay. The errors of this package are in
:mod:`dokploy_mcp.postgres.errors`, which loads nothing heavy.
"""
