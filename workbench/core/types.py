"""The API's value types: frozen, keyword-constructible dataclasses that check themselves.

Each has a JSON form with Chrome's camelCase keys (``to_json``), so the window's call log can
show calls the way Chrome developers read them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from workbench.core.state import State

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "AcceptErrorInfo",
    "AcceptInfo",
    "CertificateInfo",
    "ChangeReason",
    "CreateInfo",
    "DnsQueryType",
    "HandshakeMessage",
    "ReceiveErrorInfo",
    "ReceiveInfo",
    "SecureOptions",
    "SendInfo",
    "ServerChange",
    "ServerSecureOptions",
    "ServerSocketInfo",
    "ServerSocketProperties",
    "SocketChange",
    "SocketInfo",
    "SocketProperties",
    "TLSVersionConstraints",
    "TlsInfo",
    "UdpChange",
    "UdpReceiveInfo",
    "UdpSocketInfo",
    "UdpSocketProperties",
    "check_bool",
    "check_int",
    "check_socket_id",
    "to_json",
    "to_json_value",
]


def check_int(value: object, name: str) -> int:
    """``value`` as an int; bools are rejected because ``True`` is never a port or an id."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def check_socket_id(value: object) -> int:
    return check_int(value, "socket_id")


def _check_optional(value: object, kind: type, name: str) -> None:
    if value is None:
        return
    if kind is int:
        check_int(value, name)
    elif kind is bool:
        check_bool(value, name)
    elif not isinstance(value, kind):
        raise TypeError(f"{name} must be {kind.__name__} or None, not {type(value).__name__}")


class DnsQueryType(enum.StrEnum):
    """'DNS resolution preferences. The default is any and uses the current OS config which may
    return IPv4 or IPv6. ipv4 forces IPv4, and ipv6 forces IPv6.'"""

    ANY = "any"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SocketProperties:
    """``None`` means "leave as is" for ``update()`` and "the default" for ``create()``."""

    name: str | None = None
    persistent: bool | None = None
    buffer_size: int | None = None

    def __post_init__(self) -> None:
        _check_optional(self.name, str, "name")
        _check_optional(self.persistent, bool, "persistent")
        _check_optional(self.buffer_size, int, "buffer_size")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateInfo:
    socket_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SendInfo:
    """'bytesSent: The number of bytes sent (if result == 0)'."""

    result_code: int
    bytes_sent: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ReceiveInfo:
    # Slots: one is made per received chunk (65,536 per 256 MiB at Chrome's default 4096), and
    # a slot is quicker than an instance dict both to fill and for a listener to read.
    socket_id: int
    data: bytes

    def __repr__(self) -> str:
        return f"ReceiveInfo(socket_id={self.socket_id}, data=<{len(self.data)} bytes>)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReceiveErrorInfo:
    socket_id: int
    result_code: int


#: Field metadata: ``to_json`` leaves the field out while it holds its default, so that the
#: JSON of values that do not use a later extension stays what it was.
_QUIET = {"omit_default": True}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CertificateInfo:
    """One X.509 certificate as ``openssl x509 -noout -text -fingerprint`` describes it
    (tls-inspection-contract.md). Made by ``workbench.core.certificates.certificate_info``."""

    der: bytes
    #: RFC 4514 strings (most specific attribute first, as RFC 4514 orders them).
    subject: str
    issuer: str
    #: ``"DNS:name"``, ``"IP:address"``, ``"email:…"``, ``"URI:…"``.
    san: tuple[str, ...] = ()
    #: ISO 8601 UTC, ``"2026-12-03T04:05:06Z"``.
    not_before: str = ""
    not_after: str = ""
    #: ``"RSA"``, ``"EC"``, ``"Ed25519"``, ``"Ed448"``, ``"DSA"``.
    key_type: str = ""
    #: As OpenSSL reports it (Ed25519 253, Ed448 456).
    key_bits: int = 0
    #: ``"secp256r1"``… for EC keys, else None.
    curve: str | None = None
    #: OpenSSL's long name: ``"sha256WithRSAEncryption"``, ``"ecdsa-with-SHA256"``.
    signature_algorithm: str = ""
    #: Upper-case hex pairs joined by ``:``, as ``openssl x509 -fingerprint`` prints them.
    sha256: str = ""
    sha1: str = ""
    #: From Authority Information Access.
    ocsp_uris: tuple[str, ...] = ()
    ca_issuers_uris: tuple[str, ...] = ()
    #: The TLS Feature extension asks for status_request (OCSP must-staple, RFC 7633).
    must_staple: bool = False
    is_ca: bool = False

    def __repr__(self) -> str:
        return f"CertificateInfo(subject={self.subject!r}, sha256={self.sha256!r})"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class HandshakeMessage:
    """One TLS handshake message: ``direction`` ``"sent"`` or ``"received"``, ``type`` in the
    RFC 8446/5246 names in snake case (``"client_hello"``), ``length`` the body's length
    without the 4-byte handshake header."""

    direction: str
    type: str
    length: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class TlsInfo:
    """What the handshake settled: an extension of ``SocketInfo`` that Chrome lacks. The fields
    after ``keylog_file`` are tls-inspection-contract.md's."""

    version: str
    cipher: str
    server_name: str | None = None
    peer_subject: str | None = None
    peer_issuer: str | None = None
    peer_not_after: str | None = None
    verified: bool = True
    #: the key log file this connection's TLS secrets go to (see ``SecureOptions``), or None.
    keylog_file: str | None = None
    #: the ALPN protocols offered, in order (empty when none were).
    alpn_offered: tuple[str, ...] = dataclasses.field(default=(), metadata=_QUIET)
    #: the protocol the server selected; None when it selected none.
    alpn: str | None = None
    #: the server name actually sent in the ClientHello; None when none was sent.
    sni: str | None = None
    #: the key-exchange group as OpenSSL names it ("x25519", "secp384r1"); None for TLS 1.2
    #: finite-field DHE and for a resumed TLS 1.2 session (no key exchange took place).
    group: str | None = None
    #: the handshake resumed an earlier session.
    session_reused: bool = dataclasses.field(default=False, metadata=_QUIET)
    #: seconds, from the last NewSessionTicket the server sent; None if none came.
    ticket_lifetime: int | None = None
    #: every handshake message, in order.
    handshake: tuple[HandshakeMessage, ...] = dataclasses.field(default=(), metadata=_QUIET)
    #: the certificates the server sent, in its order (leaf first).
    chain_sent: tuple[CertificateInfo, ...] = dataclasses.field(default=(), metadata=_QUIET)
    #: the path verification built, leaf to trust anchor; empty when not verified.
    chain_verified: tuple[CertificateInfo, ...] = dataclasses.field(default=(), metadata=_QUIET)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SocketInfo:
    socket_id: int
    persistent: bool
    paused: bool
    connected: bool
    name: str | None = None
    buffer_size: int | None = None
    local_address: str | None = None
    local_port: int | None = None
    peer_address: str | None = None
    peer_port: int | None = None
    tls: TlsInfo | None = None


class ChangeReason(enum.Enum):
    """Why ``TcpSockets.on_changed`` or ``TcpServerSockets.on_changed`` fired (an extension for
    the session layer)."""

    CREATED = "created"  # create() made the socket
    # its State changed (TLS info appears with SECURE); a server started or stopped listening
    STATE = "state"
    PAUSED = "paused"  # the paused flag changed: set_paused(), or the core paused it (D1, R3)
    PROPERTIES = "properties"  # update() ran
    CLOSED = "closed"  # close(), suspend() or shutdown() removed it


@dataclasses.dataclass(frozen=True, slots=True)
class SocketChange:
    """One change of one socket, as ``TcpSockets.on_changed`` reports it.

    ``state`` and ``info`` (a snapshot taken when the change happened) are ``None`` once the
    socket is closed.
    """

    socket_id: int
    reason: ChangeReason
    state: State | None
    info: SocketInfo | None


@dataclasses.dataclass(frozen=True, slots=True)
class ReceivedRun:
    """The bytes of a run of ``on_receive`` events cut from one read, as the extension
    ``TcpSockets.on_received_run`` reports them, right after the last event of the run.

    ``data`` is those events' bytes together, in order: a ``memoryview`` into the read when the
    run is only part of it (read-only; it may be kept, since the read is immutable ``bytes``).
    """

    socket_id: int
    data: bytes | memoryview


@dataclasses.dataclass(frozen=True, kw_only=True)
class TLSVersionConstraints:
    """'Supported values are tls1.2 or tls1.3.'"""

    min: str | None = None
    max: str | None = None

    def __post_init__(self) -> None:
        _check_optional(self.min, str, "min")
        _check_optional(self.max, str, "max")
        # Unrecognized values are ignored (contract T3), but a minimum above the maximum
        # is a contradiction: refused here, like any other impossible option, rather than
        # found out as a failed handshake on a connection it would then drop.
        if self.min == "tls1.3" and self.max == "tls1.2":
            raise ValueError("min tls1.3 is above max tls1.2: no version is left")


#: How long secure() waits for a TLS handshake by default, and at most: seconds.
DEFAULT_HANDSHAKE_TIMEOUT = 30.0
MAX_HANDSHAKE_TIMEOUT = 3600.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecureOptions:
    """Chrome's ``tlsVersion`` plus what a test tool needs: private trust, opting out of
    verification, a server-name override and a client certificate."""

    tls_version: TLSVersionConstraints | None = None
    ca_file: str | None = None
    verify: bool = True
    server_name: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    #: An extension: seconds the TLS handshake may take before ``secure()`` gives up with
    #: -7 (TIMED_OUT); None means ``DEFAULT_HANDSHAKE_TIMEOUT``.
    handshake_timeout: float | None = None
    #: An extension: write this connection's TLS secrets to this file, in the NSS key log
    #: format Wireshark reads (``tls.keylog_file``). A new file is created with mode 0600.
    keylog_file: str | None = None
    #: An extension (tls-inspection-contract.md): the ALPN protocols to offer, in order; each
    #: 1 to 255 bytes of ASCII.
    alpn: tuple[str, ...] | None = None
    #: An extension (TI6): offer the session kept from the newest handshake with the same peer
    #: address, port and server name, made with the same options.
    resume: bool = dataclasses.field(default=False, metadata=_QUIET)

    def __post_init__(self) -> None:
        _check_optional(self.tls_version, TLSVersionConstraints, "tls_version")
        _check_optional(self.keylog_file, str, "keylog_file")
        if self.alpn is not None:
            check_alpn(self.alpn)
        check_bool(self.resume, "resume")
        if self.handshake_timeout is not None:
            if isinstance(self.handshake_timeout, bool) or not isinstance(
                self.handshake_timeout, (int, float)
            ):
                raise TypeError(
                    "handshake_timeout must be a number of seconds, not "
                    f"{type(self.handshake_timeout).__name__}"
                )
            if not 0 < self.handshake_timeout <= MAX_HANDSHAKE_TIMEOUT:
                raise ValueError(
                    f"handshake_timeout must be more than 0 and at most "
                    f"{MAX_HANDSHAKE_TIMEOUT} seconds, not {self.handshake_timeout}"
                )
        _check_optional(self.ca_file, str, "ca_file")
        check_bool(self.verify, "verify")
        _check_optional(self.server_name, str, "server_name")
        _check_optional(self.client_cert, str, "client_cert")
        _check_optional(self.client_key, str, "client_key")
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key needs client_cert")
        # An empty server name would switch host-name checking off without a word (asyncio
        # reads "" as "no name"); the opt-out is verify=False, nothing else.
        if self.server_name is not None:
            check_server_name(self.server_name)
        for name in ("ca_file", "server_name", "client_cert", "client_key", "keylog_file"):
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                raise ValueError(f"{name} must not contain a NUL character")


def check_alpn(protocols: object) -> None:
    """ALPN protocol names as RFC 7301 3.1 allows them: 'Empty strings MUST NOT be included
    and byte strings MUST NOT be truncated' (1 to 255 bytes); ASCII here, since they are given
    as ``str``. At least one: no offer is ``None``."""
    if not isinstance(protocols, tuple):
        raise TypeError(f"alpn must be a tuple of str or None, not {type(protocols).__name__}")
    if not protocols:
        raise ValueError("alpn must offer at least one protocol (None offers none)")
    for item in protocols:
        if not isinstance(item, str):
            raise TypeError(f"alpn protocols must be str, not {type(item).__name__}")
        if not item.isascii():
            raise ValueError(f"alpn protocol {item!r} is not ASCII")
        if not 1 <= len(item) <= 255:
            raise ValueError(f"alpn protocol {item!r} must be 1 to 255 bytes, not {len(item)}")


def check_server_name(name: str) -> None:
    """A host name for SNI and the certificate check, or ``ValueError`` saying what is wrong
    with it. An empty one would switch host-name checking off without a word (asyncio reads
    "" as "no name"): the opt-out is ``verify=False``, nothing else. The rules are DNS's
    (RFC 1035 2.3.4): at most 253 characters, labels of 1 to 63; an IP address is a name too.
    """
    text = name[:-1] if name.endswith(".") else name  # one trailing dot: the root
    if not text.strip() or not text.replace(".", "").strip():
        raise ValueError(f"server_name must name a host, not {name!r}")
    if len(text) > 253:
        raise ValueError(f"server_name is {len(text)} characters; a host name has at most 253")
    for label in text.split("."):
        if not label:
            raise ValueError(f"server_name {name!r} has an empty label (a leading or double dot)")
        if len(label) > 63:
            raise ValueError(
                f"server_name {name!r} has a label of {len(label)} characters; at most 63"
            )
        if label != label.strip():
            raise ValueError(f"server_name {name!r} has spaces around a label")


# -- chrome.sockets.tcpServer (sockets-server-udp-contract.md) -------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerSocketProperties:
    """'Each property is optional. If a property value is not specified, a default value is
    used when calling create, or the existing value if preserved when calling update.'"""

    name: str | None = None
    persistent: bool | None = None

    def __post_init__(self) -> None:
        _check_optional(self.name, str, "name")
        _check_optional(self.persistent, bool, "persistent")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerSocketInfo:
    """'If the socket is listening, contains its local IPv4/6 address.' (and port)"""

    socket_id: int
    persistent: bool
    paused: bool
    name: str | None = None
    local_address: str | None = None
    local_port: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ServerChange:
    """One change of one listening socket, as ``TcpServerSockets.on_changed`` reports it (an
    extension for the session layer, as ``SocketChange`` is for ``TcpSockets``).

    ``reason`` is ``CREATED``, ``STATE`` (listening started or stopped), ``PAUSED``,
    ``PROPERTIES`` or ``CLOSED``; ``info`` is a snapshot taken when the change happened,
    ``None`` once the server is closed.
    """

    socket_id: int
    reason: ChangeReason
    info: ServerSocketInfo | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AcceptInfo:
    """'Data from an onAccept event.' ``client_socket_id`` is a socket of ``TcpSockets``."""

    socket_id: int
    client_socket_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class AcceptErrorInfo:
    """'Data from an onAcceptError event.'"""

    socket_id: int
    result_code: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerSecureOptions:
    """An extension Chrome lacks (contract LS1): what ``TcpSockets.secure_server`` needs to
    run a TLS handshake as the server. ``ca_file`` makes a client certificate signed by it
    required."""

    cert_file: str
    key_file: str
    ca_file: str | None = None
    tls_version: TLSVersionConstraints | None = None
    #: As in ``SecureOptions``: seconds before the handshake gives up with -7; None means
    #: ``DEFAULT_HANDSHAKE_TIMEOUT``.
    handshake_timeout: float | None = None
    #: As in ``SecureOptions``: the server side's TLS secrets go to this key log file.
    keylog_file: str | None = None

    def __post_init__(self) -> None:
        for name in ("cert_file", "key_file"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        _check_optional(self.ca_file, str, "ca_file")
        _check_optional(self.keylog_file, str, "keylog_file")
        _check_optional(self.tls_version, TLSVersionConstraints, "tls_version")
        check_handshake_timeout(self.handshake_timeout)
        for name in ("cert_file", "key_file", "ca_file"):
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                raise ValueError(f"{name} must not contain a NUL character")
            if value is not None and not value:
                raise ValueError(f"{name} must name a file, not ''")


def check_handshake_timeout(value: object) -> None:
    """A handshake time limit: ``None`` or seconds in (0, ``MAX_HANDSHAKE_TIMEOUT``]."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = type(value).__name__
        raise TypeError(f"handshake_timeout must be a number of seconds, not {kind}")
    if not 0 < value <= MAX_HANDSHAKE_TIMEOUT:
        raise ValueError(
            f"handshake_timeout must be more than 0 and at most "
            f"{MAX_HANDSHAKE_TIMEOUT} seconds, not {value}"
        )


# -- chrome.sockets.udp (sockets-server-udp-contract.md) -------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class UdpSocketProperties:
    """'Each property is optional. If a property value is not specified, a default value is
    used when calling create, or the existing value if preserved when calling update.'
    ``buffer_size``: 'The size of the buffer used to receive data. If the buffer is too small
    to receive the UDP packet, data is lost. The default value is 4096.'"""

    name: str | None = None
    persistent: bool | None = None
    buffer_size: int | None = None

    def __post_init__(self) -> None:
        _check_optional(self.name, str, "name")
        _check_optional(self.persistent, bool, "persistent")
        _check_optional(self.buffer_size, int, "buffer_size")


@dataclasses.dataclass(frozen=True, kw_only=True)
class UdpSocketInfo:
    """'If the underlying socket is bound, contains its local IPv4/6 address.' (and port);
    ``buffer_size``: 'If no buffer size has been specified explictly, the value is not
    provided.'"""

    socket_id: int
    persistent: bool
    paused: bool
    name: str | None = None
    buffer_size: int | None = None
    local_address: str | None = None
    local_port: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class UdpReceiveInfo:
    """'Data from an onReceive event.': one datagram, 'The UDP packet content (truncated to the
    current buffer size).', from ``remote_address`` (an IP literal) and ``remote_port``.

    ``original_length`` is an extension Chrome lacks: the datagram's length as it arrived when
    ``buffer_size`` cut it (so ``len(data) < original_length``), ``None`` when nothing was cut
    or the operating system cannot tell (it can on Linux)."""

    # Slots: one is made per datagram, and a flood is tens of thousands a second.
    socket_id: int
    data: bytes
    remote_address: str
    remote_port: int
    original_length: int | None = None

    def __repr__(self) -> str:
        cut = f", original_length={self.original_length}" if self.original_length else ""
        return (
            f"UdpReceiveInfo(socket_id={self.socket_id}, data=<{len(self.data)} bytes>, "
            f"remote_address={self.remote_address!r}, remote_port={self.remote_port}{cut})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class UdpChange:
    """One change of one UDP socket, as ``UdpSockets.on_changed`` reports it (an extension for
    the session layer). ``reason`` is a ``ChangeReason``: ``CREATED``, ``STATE`` (bound:
    ``info.local_address`` appeared), ``PAUSED``, ``PROPERTIES``, ``CLOSED``. ``info`` is a
    snapshot taken when the change happened, ``None`` once the socket is closed."""

    socket_id: int
    reason: ChangeReason
    info: UdpSocketInfo | None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_json_value(value: Any) -> Any:
    """The JSON-ready form: dataclasses become camelCase objects without their ``None`` fields,
    bytes become ``"<N bytes>"`` (the call log shows sizes, not payloads)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(field.name): to_json_value(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not None
            and not (
                field.metadata.get("omit_default") and getattr(value, field.name) == field.default
            )
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    return value


def to_json(value: Any) -> str:
    """``to_json(SendInfo(result_code=0, bytes_sent=6)) == '{"resultCode":0,"bytesSent":6}'``."""
    return json.dumps(to_json_value(value), separators=(",", ":"), ensure_ascii=False)
