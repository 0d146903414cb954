"""The TLS certificate a public domain really serves, read from a real handshake.

:func:`check_certificate` connects to ``host:port``, sends ``host`` as SNI (an IP address is sent as no SNI, as TLS
wants, and verified against the certificate's IP SANs) and verifies the chain and the host name against the system
trust store (or ``cafile``). When verification fails (self-signed, expired, wrong host, unknown issuer) it shakes
hands a second time with verification off, only to read the certificate, so the report still shows who issued it,
for which names and until when, next to OpenSSL's reason. Traefik's own fallback certificate (what a Dokploy domain
serves while Let's Encrypt has not issued one) is named as such.

It never raises for the network or the peer: an unreachable port, a name that does not resolve, a timeout or a peer
that does not speak TLS come back as ``reachable=False`` with the reason.
"""

from __future__ import annotations

import os
import socket
import ssl
from datetime import UTC, datetime

import anyio
from anyio.streams.tls import TLSAttribute
from pydantic import BaseModel, Field

__all__ = ["TRAEFIK_DEFAULT_CN", "CertificateReport", "check_certificate", "days_between"]

#: The subject CN of the self-signed certificate Traefik serves for a host it has no certificate for.
TRAEFIK_DEFAULT_CN = "TRAEFIK DEFAULT CERT"
_DAY_SECONDS = 86_400


class CertificateReport(BaseModel):
    """What a TLS handshake with ``host:port`` showed."""

    host: str
    port: int
    reachable: bool = Field(description="a TLS handshake got as far as the server's certificate")
    valid: bool = Field(
        description="the chain and the host name verified against the system trust store (or the given CA file)"
    )
    issuer: str | None = Field(default=None, description="the certificate's issuer (RFC 4514)")
    subject: str | None = Field(default=None, description="the certificate's subject (RFC 4514)")
    names: list[str] = Field(default_factory=list, description="the names and addresses the certificate is for (SAN)")
    not_before: datetime | None = None
    not_after: datetime | None = None
    days_left: int | None = Field(default=None, description="whole days until not_after; negative once expired")
    tls_version: str | None = None
    problem: str | None = Field(default=None, description="why the certificate is not valid, or why no handshake")


def days_between(now: datetime, not_after: datetime) -> int:
    """Whole days from ``now`` to ``not_after``, rounded down: 0 on the last day, -1 the day after it expired."""
    return int((not_after - now).total_seconds() // _DAY_SECONDS)


async def check_certificate(
    host: str,
    port: int = 443,
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - one deadline for both handshakes, named in the report
    cafile: str | None = None,
    now: datetime | None = None,
) -> CertificateReport:
    """Shake hands with ``host:port`` and report its certificate (see the module docstring).

    ``timeout`` bounds the whole check (both handshakes together); ``cafile`` replaces the system trust store;
    ``now`` (default: the current time; a naive value is taken as UTC) is what ``days_left`` counts from. ``valid``
    comes from the handshake itself, so it always reflects the real clock.
    """
    report = CertificateReport(host=host, port=port, reachable=False, valid=False)
    try:
        verifying = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        report.problem = f"cannot load the CA file {cafile!r}: {exc}"
        return report
    deadline = anyio.current_time() + timeout

    der: bytes | None = None
    try:
        der, report.tls_version = await _handshake(host, port, verifying, deadline)
    except ssl.SSLCertVerificationError as exc:
        report.reachable = True
        report.problem = _verification_problem(exc)
        try:
            der, report.tls_version = await _handshake(host, port, _reading_context(), deadline)
        except Exception as again:  # the certificate was seen once; only its details are missing
            report.problem += f"; the certificate could not be read ({_network_problem(again, timeout)})"
    except Exception as exc:
        report.problem = _network_problem(exc, timeout)
        return report
    else:
        report.reachable = True
        report.valid = True

    if der is None:
        report.problem = report.problem or "the server sent no certificate"
        report.valid = False
        return report
    _read_certificate(report, der, now)
    return report


def _read_certificate(report: CertificateReport, der: bytes, now: datetime | None) -> None:
    """Fill ``report`` from the certificate the server sent: subject, issuer, dates, days left, and the Traefik hint."""
    try:
        _describe(report, der)
    except ValueError as exc:
        report.problem = (report.problem + "; " if report.problem else "") + f"the certificate does not parse: {exc}"
        return
    if report.not_after is not None:
        reference = now or datetime.now(UTC)
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=UTC)
        report.days_left = days_between(reference, report.not_after)
    if report.problem is not None and report.subject is not None and TRAEFIK_DEFAULT_CN in report.subject:
        report.problem += (
            f"; this is Traefik's default certificate: no certificate was issued for {report.host} (for Let's "
            "Encrypt, the name must resolve to the Dokploy server, port 80 must be open and Dokploy's Let's Encrypt "
            "e-mail set)"
        )


async def _handshake(host: str, port: int, context: ssl.SSLContext, deadline: float) -> tuple[bytes | None, str | None]:
    """One TLS handshake before ``deadline``: the peer's certificate (DER) and the protocol version."""
    with anyio.fail_after(max(deadline - anyio.current_time(), 0.0)):
        # Not standard-compatible: closing does not wait for the peer's close_notify.
        stream = await anyio.connect_tcp(
            host, port, ssl_context=context, tls_hostname=host, tls_standard_compatible=False
        )
        async with stream:
            return stream.extra(TLSAttribute.peer_certificate_binary), stream.extra(TLSAttribute.tls_version)


def _reading_context() -> ssl.SSLContext:
    """A client context that accepts any certificate: used only to read one that failed verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _verification_problem(exc: ssl.SSLCertVerificationError) -> str:
    reason = exc.verify_message or exc.reason or str(exc)
    return f"certificate verification failed: {reason}"


def _network_problem(exc: BaseException, timeout: float) -> str:
    """Why no handshake happened, in words."""
    if isinstance(exc, TimeoutError):
        return f"no TLS handshake within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if reason in {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"}:
            return f"the port does not speak TLS ({reason}; plain HTTP?)"
        return f"TLS handshake failed: {reason}"
    if isinstance(exc, anyio.EndOfStream | anyio.BrokenResourceError):
        return "the server closed the connection during the TLS handshake"
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve ({exc})"
    if isinstance(exc, OSError):
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        detail = str(cause) or type(cause).__name__
        if cause.errno and cause.errno > 0 and os.strerror(cause.errno).lower() not in detail.lower():
            # asyncio says "[Errno 111] Connect call failed": name the errno's meaning (connection refused).
            detail = f"{os.strerror(cause.errno)} ({detail})"
        return f"cannot connect: {detail}"
    return f"TLS check failed: {type(exc).__name__}: {exc}"


def _describe(report: CertificateReport, der: bytes) -> None:
    """Fill in the certificate's issuer, subject, names and dates from its DER form."""
    from cryptography import x509

    certificate = x509.load_der_x509_certificate(der)
    report.issuer = certificate.issuer.rfc4514_string()
    report.subject = certificate.subject.rfc4514_string()
    report.not_before = certificate.not_valid_before_utc
    report.not_after = certificate.not_valid_after_utc
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return
    report.names = [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]
