"""check_certificate against real TLS servers on 127.0.0.1 with certificates made here (cryptography)."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketStream
from anyio.streams.tls import TLSListener, TLSStream
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dokploy_mcp.monitoring.tls import TRAEFIK_DEFAULT_CN, CertificateReport, check_certificate, days_between

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)


class Cert:
    """A self-signed certificate and its key, written as PEM files under ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        common_name: str = "dokploy-mcp test",
        dns: Sequence[str] = ("localhost",),
        ips: Sequence[str] = ("127.0.0.1",),
        not_before: datetime = NOW - timedelta(days=1),
        not_after: datetime = NOW + timedelta(days=90),
    ) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        public = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        self.certificate = builder.sign(key, hashes.SHA256())
        stem = f"cert-{self.certificate.serial_number:x}"
        self.cert_path = directory / f"{stem}.pem"
        self.key_path = directory / f"{stem}.key"
        self.cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        self.key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    @property
    def cafile(self) -> str:
        return str(self.cert_path)


@asynccontextmanager
async def tls_server(cert: Cert) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 serving ``cert``; yields its port. Each connection is closed after the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener = TLSListener(tcp, context, standard_compatible=False)

    async def serve(stream: TLSStream) -> None:
        await stream.aclose()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, serve)
            try:
                yield port
            finally:
                group.cancel_scope.cancel()
    finally:
        await tcp.aclose()


@pytest.fixture(autouse=True)
def _quiet_server_handshake_errors(caplog: pytest.LogCaptureFixture) -> None:
    # The server logs the handshakes a verifying client aborts; that is the point of these tests.
    caplog.set_level(logging.CRITICAL, logger="anyio.streams.tls")


async def test_a_self_signed_certificate_is_reported_invalid_with_its_reason_issuer_and_dates(tmp_path: Path) -> None:
    cert = Cert(tmp_path, common_name="self-signed.test")
    async with tls_server(cert) as port:
        report = await check_certificate("127.0.0.1", port, timeout=5)
    assert report.reachable is True
    assert report.valid is False
    assert report.problem is not None
    assert "self-signed certificate" in report.problem
    # The second, non-verifying handshake still read the certificate.
    assert report.issuer == "CN=self-signed.test"
    assert report.subject == "CN=self-signed.test"
    assert report.not_after == cert.certificate.not_valid_after_utc
    assert report.not_before == cert.certificate.not_valid_before_utc
    assert report.names == ["localhost", "127.0.0.1"]
    assert report.days_left in (89, 90)
    assert report.tls_version is not None
    assert report.tls_version.startswith("TLS")


async def test_the_same_certificate_is_valid_when_the_ca_file_trusts_it(tmp_path: Path) -> None:
    cert = Cert(tmp_path)
    async with tls_server(cert) as port:
        by_ip = await check_certificate("127.0.0.1", port, cafile=cert.cafile)
        by_name = await check_certificate("localhost", port, cafile=cert.cafile)
    for report in (by_ip, by_name):
        assert report.reachable is True
        assert report.valid is True, report.problem
        assert report.problem is None
        assert report.issuer == "CN=dokploy-mcp test"
        assert report.not_after == cert.certificate.not_valid_after_utc


async def test_a_trusted_certificate_for_another_host_fails_on_the_host_name(tmp_path: Path) -> None:
    cert = Cert(tmp_path, dns=["api.example.test"], ips=[])
    async with tls_server(cert) as port:
        report = await check_certificate("127.0.0.1", port, cafile=cert.cafile)
    assert report.reachable is True
    assert report.valid is False
    assert report.problem is not None
    assert "mismatch" in report.problem.lower()
    assert "127.0.0.1" in report.problem
    assert report.names == ["api.example.test"]


async def test_an_expired_certificate_is_invalid_and_its_days_left_are_negative(tmp_path: Path) -> None:
    cert = Cert(tmp_path, not_before=NOW - timedelta(days=100), not_after=NOW - timedelta(days=10, hours=1))
    async with tls_server(cert) as port:
        trusted = await check_certificate("127.0.0.1", port, cafile=cert.cafile, now=NOW)
        untrusted = await check_certificate("127.0.0.1", port, now=NOW)
    assert trusted.valid is False
    assert trusted.problem is not None
    assert "certificate has expired" in trusted.problem
    assert trusted.days_left == -11
    assert trusted.not_after == cert.certificate.not_valid_after_utc
    # Without the CA file, OpenSSL stops at the first error (the unknown issuer); the dates still tell the expiry.
    assert untrusted.valid is False
    assert untrusted.days_left == -11


async def test_traefiks_default_certificate_is_named_as_such(tmp_path: Path) -> None:
    cert = Cert(tmp_path, common_name=TRAEFIK_DEFAULT_CN, dns=["e2b4c1.traefik.default"], ips=[])
    async with tls_server(cert) as port:
        report = await check_certificate("localhost", port)
    assert report.valid is False
    assert report.problem is not None
    assert "Traefik's default certificate" in report.problem
    assert "localhost" in report.problem


async def test_days_left_counts_whole_days_from_now(tmp_path: Path) -> None:
    not_after = NOW + timedelta(days=30)
    cert = Cert(tmp_path, not_after=not_after)
    async with tls_server(cert) as port:
        in_ten_days = await check_certificate("127.0.0.1", port, cafile=cert.cafile, now=NOW + timedelta(days=10))
        naive = await check_certificate(
            "127.0.0.1", port, cafile=cert.cafile, now=(not_after - timedelta(hours=1)).replace(tzinfo=None)
        )
    assert in_ten_days.days_left == 20
    assert in_ten_days.valid is True
    # A naive "now" is UTC; an hour before the end is day 0, not day 1.
    assert naive.days_left == 0


def test_days_between_rounds_down() -> None:
    end = datetime(2030, 1, 31, 12, tzinfo=UTC)
    assert days_between(datetime(2030, 1, 1, 12, tzinfo=UTC), end) == 30
    assert days_between(datetime(2030, 1, 1, 13, tzinfo=UTC), end) == 29
    assert days_between(end, end) == 0
    assert days_between(end + timedelta(seconds=1), end) == -1


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_closed_port_is_unreachable_with_the_reason() -> None:
    report = await check_certificate("127.0.0.1", _closed_port(), timeout=5)
    assert report == CertificateReport(
        host="127.0.0.1", port=report.port, reachable=False, valid=False, problem=report.problem
    )
    assert report.problem is not None
    assert report.problem.startswith("cannot connect:")
    assert "refused" in report.problem.lower()


async def test_a_port_that_does_not_speak_tls_is_unreachable() -> None:
    async def plain_http(stream: SocketStream) -> None:
        async with stream:
            await stream.receive()
            await stream.send(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, plain_http)
        report = await check_certificate("127.0.0.1", port, timeout=5)
        group.cancel_scope.cancel()
    await listener.aclose()
    assert report.reachable is False
    assert report.problem is not None
    assert report.problem.startswith(("the port does not speak TLS", "TLS handshake failed")), report.problem
    assert report.valid is False


async def test_a_server_that_never_answers_times_out_within_the_timeout() -> None:
    async def silent(stream: SocketStream) -> None:
        async with stream:
            await anyio.sleep(30)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, silent)
        started = anyio.current_time()
        report = await check_certificate("127.0.0.1", port, timeout=0.5)
        elapsed = anyio.current_time() - started
        group.cancel_scope.cancel()
    await listener.aclose()
    assert report.reachable is False
    assert report.problem == "no TLS handshake within 0.5 s"
    assert elapsed < 3


async def test_an_unreadable_ca_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    report = await check_certificate("127.0.0.1", _closed_port(), cafile=str(tmp_path / "missing.pem"))
    assert report.reachable is False
    assert report.problem is not None
    assert "CA file" in report.problem
