"""TLS contexts from ``SecureOptions`` and ``TlsInfo`` from a finished handshake."""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from typing import Any

from workbench.core.errors import NetError
from workbench.core.types import SecureOptions, TlsInfo

__all__ = ["TlsSetupError", "build_context", "server_hostname", "tls_info"]

# 'The values tls1 and tls1.1 are no longer supported. If min is set to one of these values,
# it will be silently clamped to tls1.2. If max is set to one of those values, or any other
# unrecognized value, it will be silently ignored.'
_MIN_VERSIONS = {
    "tls1": ssl.TLSVersion.TLSv1_2,
    "tls1.1": ssl.TLSVersion.TLSv1_2,
    "tls1.2": ssl.TLSVersion.TLSv1_2,
    "tls1.3": ssl.TLSVersion.TLSv1_3,
}
_MAX_VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


class TlsSetupError(Exception):
    """The options cannot make a context (an unreadable file, a bad key); carries the code."""

    def __init__(self, code: NetError, message: str) -> None:
        super().__init__(message)
        self.code = code


def build_context(options: SecureOptions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    constraints = options.tls_version
    if constraints is not None:
        if constraints.min is not None and constraints.min in _MIN_VERSIONS:
            ctx.minimum_version = _MIN_VERSIONS[constraints.min]
        if constraints.max is not None and constraints.max in _MAX_VERSIONS:
            ctx.maximum_version = _MAX_VERSIONS[constraints.max]
    if options.verify:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if options.ca_file is not None:
            try:
                ctx.load_verify_locations(cafile=options.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsSetupError(
                    NetError.INVALID_ARGUMENT, f"cannot read ca_file {options.ca_file!r}: {exc}"
                ) from exc
    else:
        # An explicit opt-out, reported by TlsInfo.verified=False (contract T4).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if options.client_cert is not None:
        try:
            ctx.load_cert_chain(options.client_cert, options.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(
                NetError.BAD_SSL_CLIENT_AUTH_CERT,
                f"cannot load client certificate {options.client_cert!r}: {exc}",
            ) from exc
    return ctx


def server_hostname(options: SecureOptions, connect_host: str) -> str:
    """The name to verify and send as SNI: ``server_name`` or the host given to ``connect()``,
    IDNA-encoded. (Chrome uses UTS-46; Python's codec is IDNA 2003, so a few non-ASCII names
    encode differently.)"""
    name = options.server_name if options.server_name is not None else connect_host
    name = name.rstrip(".") if name.endswith(".") and name != "." else name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def _name(rdns: Any) -> str | None:
    if not rdns:
        return None
    parts = [f"{key}={value}" for rdn in rdns for key, value in rdn]
    return ", ".join(parts)


def _decode_der(der: bytes) -> dict[str, Any]:
    """The fields of a certificate we did not verify (``getpeercert()`` is empty then)."""
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(ssl.DER_cert_to_PEM_cert(der))
        # The stdlib's own certificate decoder; private, but present since Python 2.7.
        decoded: dict[str, Any] = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
        return decoded
    except Exception:
        return {}
    finally:
        os.unlink(path)


def _iso_time(text: str | None) -> str | None:
    if not text:
        return None
    seconds = ssl.cert_time_to_seconds(text)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tls_info(ssl_object: ssl.SSLObject, name: str, verified: bool) -> TlsInfo:
    cert: dict[str, Any] | None = ssl_object.getpeercert()
    if not cert:
        der = ssl_object.getpeercert(binary_form=True)
        cert = _decode_der(der) if der else {}
    cipher = ssl_object.cipher()
    return TlsInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        server_name=name,
        peer_subject=_name(cert.get("subject")),
        peer_issuer=_name(cert.get("issuer")),
        peer_not_after=_iso_time(cert.get("notAfter")),
        verified=verified,
    )
