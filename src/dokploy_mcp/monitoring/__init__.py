"""Monitoring of running stacks: containers per compose service, their logs, and the other health checks.

Domain code (no MCP): the tools, the wizard's and the key repair's failure reports use these pieces. Importing the
package is cheap: its modules do not import the Dokploy client (and httpx) at module level.
"""
