"""stack_health on a FakeDokploy stack, probed through a KongDouble, with fake or real TLS and database checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dokploy_mcp.monitoring.health import as_plain_compose
from dokploy_mcp.monitoring.health_report import PROBED_SERVICES
from dokploy_mcp.monitoring.health_verdict import PLAIN_COMPOSE_RULE, VERDICT_RULE
from dokploy_mcp.monitoring.tls import CertificateReport, check_certificate
from tests.monitoring.health_setup import HTTPS_DOMAIN, check, codes, problem, setup
from tests.monitoring.test_tls import Cert, tls_server

pytestmark = pytest.mark.anyio


async def test_a_deployed_stack_whose_checks_all_pass_is_healthy() -> None:
    async with setup() as s:
        health = await check(s)
    assert health.verdict == "healthy", health.problems
    assert health.problems == []
    assert health.rule == VERDICT_RULE
    assert health.stack == s.address
    assert health.path == "shop/production/supabase"
    assert health.public_url == "https://api.shop.test"
    assert health.timed_out == []
    by_name = {service.service: service for service in health.services}
    assert [service.service for service in health.services[:8]] == ["kong", "db", *PROBED_SERVICES]
    assert set(by_name) == set(s.stack.services)
    assert all(
        service.state == "running" and service.running == service.containers == 1 for service in by_name.values()
    )
    assert by_name["kong"].uptime_s == 7200.0
    assert by_name["kong"].health == "healthy"
    assert by_name["kong"].probe is None
    for service in PROBED_SERVICES:
        probe = by_name[service].probe
        assert probe is not None
        assert probe.ok, probe
        assert probe.latency_ms is not None
    assert by_name["realtime"].probe is not None and "healthy" in by_name["realtime"].probe.detail
    # Every probe really went through kong, with the stack's own keys.
    assert len(s.double.upstream_calls) == len(PROBED_SERVICES)
    assert health.last_deployment is not None
    assert health.last_deployment.status == "done"
    assert health.tls is not None
    assert health.tls.host == "api.shop.test"
    assert health.tls.port == 443
    assert health.database is not None
    assert health.database.ok
    assert health.database.latency_ms == 12.3
    assert health.duration_ms >= 0


async def test_the_real_tls_check_against_a_self_signed_server(tmp_path: Path) -> None:
    cert = Cert(tmp_path, common_name="TRAEFIK DEFAULT CERT", dns=["localhost"], ips=[])
    async with setup(domains=[{**HTTPS_DOMAIN, "host": "localhost"}]) as s, tls_server(cert) as port:

        async def tls_check(host: str, _: int) -> CertificateReport:
            # The domain's host, on the local server's port.
            return await check_certificate(host, port, timeout=3)

        health = await check(s, tls_check=tls_check)
    assert health.tls is not None
    assert health.tls.host == "localhost"
    assert health.tls.reachable
    assert not health.tls.valid
    assert health.tls.issuer == "CN=TRAEFIK DEFAULT CERT"
    assert health.verdict == "degraded"
    invalid = problem(health, "tls_invalid")
    assert "self-signed certificate" in invalid.message
    assert "Traefik's default certificate" in invalid.message


async def test_a_plain_compose_keeps_only_the_problems_that_apply_to_it() -> None:
    async with setup() as s:
        health = await check(s, gateway=None, database_check=None)
    assert codes(health) == ["probes_not_run"] and health.verdict == "degraded"
    plain = as_plain_compose(health)
    assert plain.rule == PLAIN_COMPOSE_RULE
    assert not {"probes_not_run", "no_https"} & set(codes(plain))
    assert plain.verdict == "healthy"


# -- start-up cost -------------------------------------------------------------------------------------------------


def test_importing_the_result_models_pulls_in_no_http_or_crypto_library() -> None:
    code = (
        "import sys; import dokploy_mcp.monitoring.health, dokploy_mcp.monitoring.tls; "
        "print(sorted(m for m in ('httpx', 'cryptography', 'yaml', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
