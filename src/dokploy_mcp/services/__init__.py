"""The service layer (L3): the flows over stacks and databases that the tools call, one call per tool.

A service combines the domain packages (supabase, monitoring, postgres) and the clients below them; it returns
data and raises domain errors, and never puts an error into words (``explain`` runs at the tool boundary only).
"""
