"""TLS contexts from ``SecureOptions`` and ``TlsInfo`` from a finished handshake."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from workbench.core.errors import NetError
from workbench.core.keylog import prepare_keylog
from workbench.core.tls_handshake import (
    body_length,
    client_hello_sni,
    message_name,
    server_hello_group,
    server_key_exchange_group,
    ticket_lifetime,
)
from workbench.core.types import (
    CertificateInfo,
    HandshakeMessage,
    SecureOptions,
    TlsInfo,
    TLSVersionConstraints,
)
from workbench.net.tls_private import (
    CONTENT_ALERT,
    CONTENT_HANDSHAKE,
    CONTENT_INNER,
    InspectingContext,
    peer_chains,
)

__all__ = [
    "NO_TRUST_MESSAGE",
    "HandshakeTrace",
    "TlsSetupError",
    "apply_keylog",
    "apply_versions",
    "build_context",
    "inspection",
    "load_default_trust",
    "sent_server_name",
    "server_hostname",
    "tls_info",
]

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


# Where the common distributions keep their CA bundle. A frozen program carries an OpenSSL
# whose compiled-in default path may not exist on the machine it runs on, so look ourselves.
SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo, Alpine (package)
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL 7 and later
    "/etc/ssl/ca-bundle.pem",  # openSUSE, SLES
    "/etc/ssl/cert.pem",  # Alpine, macOS, the BSDs
    "/usr/local/share/certs/ca-root-nss.crt",  # FreeBSD ports
)
SYSTEM_CA_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs")

NO_TRUST_MESSAGE = (
    "no trusted CA certificates were found, so no server certificate can be verified: install "
    "the ca-certificates package, or set SSL_CERT_FILE to a CA bundle (a PEM file), or give a "
    "CA file in the TLS options (verification is never skipped silently)"
)


def _ca_count(ctx: ssl.SSLContext) -> int:
    return int(ctx.cert_store_stats()["x509_ca"])


def load_default_trust(
    ctx: ssl.SSLContext,
    environ: Mapping[str, str] | None = None,
    ca_files: tuple[str, ...] | None = None,
    ca_dirs: tuple[str, ...] | None = None,
) -> bool:
    """Load the trust anchors a user of this machine expects; False when there are none.

    Order: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (OpenSSL's own variables), then OpenSSL's
    default paths (and, on Windows, the system store), then the distributions' bundle paths.
    A directory of hashed certificates is loaded lazily by OpenSSL, so it counts as trust
    without showing in ``cert_store_stats``.
    """
    env = os.environ if environ is None else environ
    ca_files = SYSTEM_CA_FILES if ca_files is None else ca_files
    ca_dirs = SYSTEM_CA_DIRS if ca_dirs is None else ca_dirs
    cert_file, cert_dir = env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR")
    if cert_file or cert_dir:
        # Both unusable (TypeError: neither exists): fall through to the system's trust.
        with contextlib.suppress(TypeError, OSError, ssl.SSLError):
            ctx.load_verify_locations(
                cafile=cert_file if cert_file and os.path.isfile(cert_file) else None,
                capath=cert_dir if cert_dir and os.path.isdir(cert_dir) else None,
            )
        if _ca_count(ctx) or (cert_dir and os.path.isdir(cert_dir)):
            return True
    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if _ca_count(ctx):
        return True
    for path in ca_files:
        if os.path.isfile(path):
            try:
                ctx.load_verify_locations(cafile=path)
            except (OSError, ssl.SSLError):
                continue
            if _ca_count(ctx):
                return True
    for path in ca_dirs:
        if os.path.isdir(path) and any(name.endswith(".0") for name in os.listdir(path)):
            ctx.load_verify_locations(capath=path)
            return True
    return False


class HandshakeTrace:
    """Every handshake message of one connection, as OpenSSL reports them (``TlsInfo.handshake``),
    and the facts read from them: the server name the ClientHello carried, the key-exchange
    group, a NewSessionTicket's lifetime, and whether the server asked for a client certificate
    (the one fact a TLS 1.2 ``handshake_failure`` alert needs to be understood, see
    ``map_ssl_error``).

    It listens through ``InspectingContext`` (``workbench.net.tls_private``); without the
    private hook the trace stays empty and the alert maps as a version or cipher mismatch.
    After the handshake it keeps listening for TLS 1.3's NewSessionTickets, which come after
    the client's Finished, and calls ``on_update`` for each record from the server, until
    ``done``.
    """

    def __init__(self) -> None:
        self.cert_requested = False
        self.messages: list[HandshakeMessage] = []
        #: the ClientHello was seen; ``sni`` is then the name it carried (or None).
        self.client_hello_seen = False
        self.sni: str | None = None
        self.key_share_group: str | None = None
        self.key_exchange: bytes | None = None
        self.ticket_lifetime: int | None = None
        self.handshake_over = False
        #: a record other than a handshake message came from the server after the handshake.
        self.interrupted = False
        self.done = False
        #: called after each record the server sent once the handshake was over.
        self.on_update: Callable[[], None] | None = None

    def __call__(
        self,
        conn: object,
        direction: str,
        version: object,
        content_type: object,
        msg_type: object,
        data: bytes,
    ) -> None:
        if self.done or not isinstance(content_type, int):
            return
        if content_type == CONTENT_HANDSHAKE and data:
            with contextlib.suppress(IndexError, ValueError):
                self._message(direction, bytes(data))
        elif self.handshake_over and direction == "read" and _is_other_record(content_type, data):
            # Application data or an alert from the server: no more tickets to wait for.
            self.interrupted = True
            if self.on_update is not None:
                self.on_update()

    def _message(self, direction: str, data: bytes) -> None:
        kind = data[0]
        if direction == "write" and kind == 1 and not self.client_hello_seen:
            self.client_hello_seen = True
            self.sni = client_hello_sni(data)
        elif direction == "read":
            if kind == 13:
                self.cert_requested = True
            elif kind == 2:
                self.key_share_group = server_hello_group(data) or self.key_share_group
            elif kind == 12:
                self.key_exchange = data
            elif kind == 4:
                self.ticket_lifetime = ticket_lifetime(data)
        self.messages.append(
            HandshakeMessage(
                direction="sent" if direction == "write" else "received",
                type=message_name(data),
                length=body_length(data),
            )
        )
        if self.handshake_over and self.on_update is not None:
            self.on_update()

    def group(self, version: str, cipher: str) -> str | None:
        """The key-exchange group: TLS 1.3's key_share, or the named curve of a TLS 1.2 ECDHE
        ServerKeyExchange (None for finite-field DHE, and for a resumed 1.2 session)."""
        if version == "TLSv1.3":
            return self.key_share_group
        if self.key_exchange is not None and "ECDHE" in cipher:
            return server_key_exchange_group(self.key_exchange)
        return None


def _is_other_record(content_type: int, data: bytes) -> bool:
    """A TLS 1.3 record's real type (OpenSSL's inner content type pseudo message) that is not
    a handshake message, or a TLS 1.2 alert."""
    if content_type == CONTENT_INNER:
        return data[:1] != bytes([CONTENT_HANDSHAKE])
    return content_type == CONTENT_ALERT


def sent_server_name(name: str | None) -> str | None:
    """The server name Python puts in the ClientHello for ``server_hostname=name``: none for
    an IP literal (RFC 6066 3: 'Literal IPv4 and IPv6 addresses are not permitted in
    "HostName"'), which CPython's ssl leaves out."""
    if not name:
        return None
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return name
    return None


def apply_versions(ctx: ssl.SSLContext, constraints: TLSVersionConstraints | None) -> None:
    """TLS 1.2 to 1.3 unless ``constraints`` say otherwise (contract T3); client and server
    contexts alike."""
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if constraints is not None:
        if constraints.min is not None and constraints.min in _MIN_VERSIONS:
            ctx.minimum_version = _MIN_VERSIONS[constraints.min]
        if constraints.max is not None and constraints.max in _MAX_VERSIONS:
            ctx.maximum_version = _MAX_VERSIONS[constraints.max]


def build_context(options: SecureOptions) -> InspectingContext:
    ctx = InspectingContext(ssl.PROTOCOL_TLS_CLIENT)
    apply_versions(ctx, options.tls_version)
    if options.alpn is not None:
        ctx.set_alpn_protocols(list(options.alpn))
    if options.verify:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        trusted = load_default_trust(ctx)
        if not trusted and options.ca_file is None:
            raise TlsSetupError(NetError.CERT_AUTHORITY_INVALID, NO_TRUST_MESSAGE)
        if options.ca_file is not None:
            try:
                ctx.load_verify_locations(cafile=options.ca_file)
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise TlsSetupError(
                    NetError.INVALID_ARGUMENT, f"cannot read ca_file {options.ca_file!r}: {exc}"
                ) from exc
    else:
        # An explicit opt-out, reported by TlsInfo.verified=False (contract T4).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if options.client_cert is not None:
        asked: list[bool] = []

        def no_passphrase() -> str:
            # Without a callback OpenSSL asks for the pass phrase on the terminal, freezing
            # the event loop; an empty one makes the load fail instead.
            asked.append(True)
            return ""

        try:
            ctx.load_cert_chain(options.client_cert, options.client_key, password=no_passphrase)
        except (OSError, ssl.SSLError, ValueError) as exc:
            why = "the key is encrypted; give an unencrypted key" if asked else str(exc)
            raise TlsSetupError(
                NetError.BAD_SSL_CLIENT_AUTH_CERT,
                f"cannot load client certificate {options.client_cert!r}: {why}",
            ) from exc
    apply_keylog(ctx, options.keylog_file)
    return ctx


def apply_keylog(ctx: ssl.SSLContext, path: str | None) -> None:
    """'keylog_filename: Write TLS keys to a keylog file, whenever key material is generated
    or received' (Python's ``ssl`` docs): one context per socket, so only the sockets asked
    for write keys. ``TlsSetupError`` (-4, nothing sent) when the file cannot be written."""
    if path is None:
        return
    try:
        prepare_keylog(path)
        ctx.keylog_filename = path
    except OSError as exc:
        raise TlsSetupError(
            NetError.INVALID_ARGUMENT,
            f"cannot write TLS keys to {path!r}: {exc.strerror or exc}",
        ) from exc


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
        # WORKAROUND: getpeercert() returns {} for a certificate that was not verified, and
        # the ssl module has no public decoder; _ssl._test_decode_cert is the stdlib's own,
        # private but present since Python 2.7 and what CPython's own tests decode with
        # (https://github.com/python/cpython/blob/v3.11.7/Lib/test/test_ssl.py#L413). On failure
        # the fields stay empty.
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


def inspection(
    info: TlsInfo,
    ssl_object: ssl.SSLObject,
    trace: HandshakeTrace,
    alpn_offered: tuple[str, ...],
    name: str | None,
) -> TlsInfo:
    """``info`` with tls-inspection-contract.md's fields: what was offered and selected, the
    name sent, the group, resumption, the trace and both chains (``chain_verified`` only for a
    verified connection: with verification off OpenSSL still builds a path, which proves
    nothing)."""
    sent, verified = peer_chains(ssl_object)
    return dataclasses.replace(
        info,
        alpn_offered=alpn_offered,
        alpn=ssl_object.selected_alpn_protocol(),
        sni=trace.sni if trace.client_hello_seen else sent_server_name(name),
        group=trace.group(info.version, info.cipher),
        session_reused=bool(ssl_object.session_reused),
        ticket_lifetime=trace.ticket_lifetime,
        handshake=tuple(trace.messages),
        chain_sent=_certificate_infos(sent),
        chain_verified=_certificate_infos(verified) if info.verified else (),
    )


def _certificate_infos(chain: tuple[bytes, ...]) -> tuple[CertificateInfo, ...]:
    # Imported on the first handshake, not with this module: cryptography.x509 costs tens of
    # milliseconds, and the window's start imports no feature module (tests/test_app.py).
    from workbench.core.certificates import certificate_infos

    return certificate_infos(chain)
