"""Server-side TLS for ``TcpSockets.secure_server`` (contract LS1): the context, the SNI the
client sent, and what a failed handshake means from the server's side of it."""

from __future__ import annotations

import ssl

from workbench.core.errors import NetError, map_ssl_error
from workbench.core.types import ServerSecureOptions
from workbench.net.tls import TlsSetupError, apply_keylog, apply_versions

__all__ = ["SniRecorder", "build_server_context", "map_server_ssl_error"]

#: Alerts with which a client rejects *our* certificate, as the client itself would have
#: reported the failure (contract T5: expired -201, unknown CA -202, revoked -206, other -207).
_REJECTED_BY_CLIENT = {
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": NetError.CERT_DATE_INVALID,
    "TLSV1_ALERT_UNKNOWN_CA": NetError.CERT_AUTHORITY_INVALID,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": NetError.CERT_REVOKED,
    "SSLV3_ALERT_BAD_CERTIFICATE": NetError.CERT_INVALID,
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": NetError.CERT_INVALID,
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": NetError.CERT_INVALID,
}
#: OpenSSL's words on a server for "a client certificate is required and none came".
_NO_CLIENT_CERT = frozenset({"PEER_DID_NOT_RETURN_A_CERTIFICATE", "CERTIFICATE_REQUIRED"})


def build_server_context(options: ServerSecureOptions) -> ssl.SSLContext:
    """A server context from the options; ``TlsSetupError`` (-4, nothing sent) when a file
    cannot be used."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    apply_versions(ctx, options.tls_version)
    asked: list[bool] = []

    def no_passphrase() -> str:
        # Without a callback OpenSSL asks for the pass phrase on the terminal, freezing the
        # event loop; an empty one makes the load fail instead.
        asked.append(True)
        return ""

    try:
        ctx.load_cert_chain(options.cert_file, options.key_file, password=no_passphrase)
    except (OSError, ssl.SSLError, ValueError) as exc:
        why = "the key is encrypted; give an unencrypted key" if asked else str(exc)
        raise TlsSetupError(
            NetError.INVALID_ARGUMENT,
            f"cannot load certificate {options.cert_file!r} with key {options.key_file!r}: {why}",
        ) from exc
    if options.ca_file is not None:
        # 'with ca_file, a client certificate signed by it is required' (contract LS1)
        try:
            ctx.load_verify_locations(cafile=options.ca_file)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise TlsSetupError(
                NetError.INVALID_ARGUMENT, f"cannot read ca_file {options.ca_file!r}: {exc}"
            ) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    apply_keylog(ctx, options.keylog_file)
    return ctx


class SniRecorder:
    """Remembers the server name the client asked for (SNI), for ``TlsInfo.server_name``."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.server_name: str | None = None
        ctx.sni_callback = self._on_sni

    def _on_sni(self, ssl_object: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        self.server_name = name


def map_server_ssl_error(error: BaseException) -> NetError:
    """A failed handshake, seen from the server: 'handshake failures map as in T5; with
    ca_file, a client certificate signed by it is required (-110 when the client sends none,
    -117 when it is not trusted)' (contract LS1). The client rejecting our certificate is
    reported as the client itself would report it."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return NetError.BAD_SSL_CLIENT_AUTH_CERT  # the client's certificate failed our check
    if isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLEOFError):
        reason = error.reason or ""
        if reason in _NO_CLIENT_CERT:
            return NetError.SSL_CLIENT_AUTH_CERT_NEEDED
        if reason in _REJECTED_BY_CLIENT:
            return _REJECTED_BY_CLIENT[reason]
    return map_ssl_error(error)
