"""What the session knows about one socket, and the one place its row state is decided.

A TCP socket has a ``SocketRecord``; a listening socket (``chrome.sockets.tcpServer``) a
``ServerRecord``: it has no ``State``, no capture and no bytes, but accept counts and the
address it listens on. A UDP socket (``chrome.sockets.udp``) has a ``UdpRecord``: no
``State`` either (it is bound or not, paused or not), but a capture that keeps datagram
boundaries, and counts of datagrams beside the bytes.
"""

from __future__ import annotations

import dataclasses
import enum

from workbench.core.capture import CaptureStore, DatagramStore
from workbench.core.errors import NetError
from workbench.core.formatting import format_endpoint, result_name
from workbench.core.options import OptionArgs
from workbench.core.state import State
from workbench.core.types import (
    SecureOptions,
    ServerSocketInfo,
    SocketInfo,
    TlsInfo,
    UdpSocketInfo,
)
from workbench.session.keys import SocketKey

__all__ = [
    "Connection",
    "RowState",
    "ServerIntent",
    "ServerRecord",
    "ServerTls",
    "SocketIntent",
    "SocketRecord",
    "UdpIntent",
    "UdpRecord",
    "row_state",
    "server_text",
    "state_text",
    "udp_text",
]


@dataclasses.dataclass
class SocketIntent:
    """What the user asked of a socket, as opposed to what it is now: what a persistent socket
    is restored to, and what the panels show as the socket's settings."""

    #: (host, port, dns query type) of the last connect the user asked for.
    peer: tuple[str, int, str] | None = None
    #: the TLS settings drafted for or used by the socket.
    secure: SecureOptions | None = None
    #: the user secured the socket (and a restore must secure it again).
    tls: bool = False
    #: the STARTTLS preset (a name of ``STARTTLS_PROTOCOLS``) the socket's last Secure ran
    #: before its handshake, or None for a plain ``secure()``: a restore runs the same.
    starttls: str | None = None
    #: the socket options the user set, by ``workbench.core.options`` name: their arguments.
    options: dict[str, OptionArgs] = dataclasses.field(default_factory=dict)
    #: the user paused it (contract U6: the session resumes a reconnected socket otherwise).
    paused: bool = False


@dataclasses.dataclass(eq=False)
class Connection:
    """The facts of a socket's last connection that its bytes alone do not tell: when it
    opened and where, where in the capture its bytes begin, when it ended, and its TLS (what
    a pcapng export synthesizes packets from)."""

    opened_at: float
    #: the capture's stream offset where this connection's bytes begin.
    start_offset: int
    local: tuple[str, int]
    peer: tuple[str, int]
    ended_at: float | None = None
    #: this side ended it with an RST (``TcpSockets.reset()``), not a FIN.
    reset: bool = False
    tls: TlsInfo | None = None
    #: a STARTTLS preset's exchange on this connection: (its name, when it began, when the
    #: call returned), so that a recording makes it one ``starttls`` step, not its bytes.
    starttls: tuple[str, float, float] | None = None


@dataclasses.dataclass(eq=False)
class SocketRecord:
    key: SocketKey
    info: SocketInfo
    state: State
    capture: CaptureStore
    received: int = 0
    sent: int = 0
    #: the last failing result (connect, secure or a receive error), cleared by success.
    error: int | None = None
    #: how the peer ended the last connection (``onReceiveError``'s code when neither the
    #: user's disconnect() nor close() ended it), cleared by the next connect.
    peer_end: int | None = None
    ever_connected: bool = False
    #: the last result per control ("connect", "secure", "pause", …), shown beside it.
    results: dict[str, int] = dataclasses.field(default_factory=dict)
    intent: SocketIntent = dataclasses.field(default_factory=SocketIntent)
    #: why the capture stopped keeping bytes (later bytes are counted, not kept), or None.
    capture_stopped: str | None = None
    #: the listening socket that accepted this one (kept after that server is closed), or
    #: None for a socket the user created.
    server: SocketKey | None = None
    #: the peer of the last connection (address, port), kept after it ends: a closed
    #: accepted socket has no intent of its own, and still came from somewhere.
    last_peer: tuple[str, int] | None = None
    #: the last connection's facts (None before the first connects).
    connection: Connection | None = None

    def __repr__(self) -> str:
        return f"<SocketRecord {self.key} {state_text(self)} in={self.received} out={self.sent}>"

    @property
    def verify_off(self) -> bool:
        """TLS is up without verifying the peer (the row's amber flag). A plain socket is
        never flagged, whatever its drafted TLS settings say."""
        tls = self.info.tls if self.info.connected else None
        return tls is not None and not tls.verified


#: The names the built-in test CA issues a server's certificate for unless the user names others.
DEFAULT_TEST_CA_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclasses.dataclass(frozen=True)
class ServerTls:
    """TLS on accept: every connection a server accepts runs ``secure_server`` before anything
    else (its rules, "read at once"). The certificate comes from files (``cert_file`` and
    ``key_file``) or from the built-in test CA, which issues one for ``test_ca_names`` (DNS
    names and IP addresses); exactly one of the two. ``ca_file``: a client certificate signed
    by it is required (contract LS1: -110 when the client sends none, -117 when untrusted).
    ``ValueError`` / ``TypeError`` for a value that says neither or both.

    ``on_accept`` False: the accepted connections are not secured on accept; the same
    certificate goes instead to the server's "Start TLS" rules (``ServerRules.set_tls``), for
    an upgrade later in the connection (STARTTLS)."""

    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    test_ca_names: tuple[str, ...] = ()
    on_accept: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.on_accept, bool):
            raise TypeError(f"on_accept must be a bool, not {type(self.on_accept).__name__}")
        for name in ("cert_file", "key_file", "ca_file"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
            if value is not None and (not value or "\x00" in value):
                raise ValueError(f"{name} must name a file")
        if not isinstance(self.test_ca_names, tuple) or not all(
            isinstance(name, str) and name.strip() for name in self.test_ca_names
        ):
            raise ValueError("test_ca_names must be a tuple of names, none of them empty")
        files = self.cert_file is not None or self.key_file is not None
        if files == bool(self.test_ca_names):
            raise ValueError("a certificate comes from files or from the test CA: one of them")
        if files and (self.cert_file is None or self.key_file is None):
            raise ValueError("a certificate file and its key file go together")


@dataclasses.dataclass
class ServerIntent:
    """What the user asked of a listening socket: what a restore replays and the Listen panel
    shows."""

    #: (address, port, backlog) of the last listen() the user asked for.
    listen: tuple[str, int, int | None] | None = None
    #: unpause each accepted socket at once (Chrome starts them paused: 'the client socket is
    #: initially paused and must be explictly un-paused by the application to start receiving
    #: data'); off leaves them paused, for back-pressure tests.
    read_at_once: bool = True
    #: the user paused the server (no accepts until resumed).
    paused: bool = False
    #: the server's response rules as ``workbench.core.rules_store.ruleset_to_dict`` saves
    #: them (plain JSON), or None: no rules. Kept in the saved form so that persistence
    #: writes it as is; ``session.rules`` (``ServerRules``) keeps it up to date.
    rules: dict[str, object] | None = None
    #: TLS on accept (``LoggedServers.set_tls``), or None: the connections stay plaintext.
    tls: ServerTls | None = None


@dataclasses.dataclass(eq=False)
class ServerRecord:
    key: SocketKey
    info: ServerSocketInfo
    #: connections reported by onAccept since the server was created.
    accepted: int = 0
    #: accepted sockets that are still connected.
    open: int = 0
    #: the last onAcceptError's result code, cleared by a listen() or a resume that works.
    accept_error: int | None = None
    #: the last result per control ("listen", "disconnect", "pause", …).
    results: dict[str, int] = dataclasses.field(default_factory=dict)
    intent: ServerIntent = dataclasses.field(default_factory=ServerIntent)

    def __repr__(self) -> str:
        return f"<ServerRecord {self.key} {server_text(self)} accepted={self.accepted}>"

    @property
    def listening(self) -> bool:
        return self.info.local_port is not None

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:8080``, ``[::1]:8080``; ``""`` when not listening."""
        return format_endpoint(self.info.local_address, self.info.local_port)


def server_text(record: ServerRecord) -> str:
    """Listening on 127.0.0.1:8080, Paused on …, Not listening, Error: NAME."""
    if record.accept_error is not None:
        return f"Error: {result_name(record.accept_error)}"
    if not record.listening:
        return "Not listening"
    return f"{'Paused' if record.info.paused else 'Listening'} on {record.endpoint}"


@dataclasses.dataclass
class UdpIntent:
    """What the user asked of a UDP socket: what a restore replays and the panels show."""

    #: (address, port) of the last bind() the user asked for (port 0: any).
    bind: tuple[str, int] | None = None
    #: the user paused it.
    paused: bool = False
    #: the groups the user joined and has not left, in the order joined.
    groups: list[str] = dataclasses.field(default_factory=list)
    #: the last setMulticastTimeToLive, setMulticastLoopbackMode, setBroadcast that worked.
    ttl: int | None = None
    loopback: bool | None = None
    broadcast: bool | None = None


@dataclasses.dataclass(eq=False)
class UdpRecord:
    key: SocketKey
    info: UdpSocketInfo
    capture: DatagramStore
    #: bytes and datagrams received (as delivered: cut to ``buffer_size``) and sent.
    received: int = 0
    sent: int = 0
    datagrams_in: int = 0
    datagrams_out: int = 0
    #: the last onReceiveError's result code (the core paused the socket, D8), cleared when
    #: the socket is resumed.
    error: int | None = None
    #: the last result per control: "bind", "send", "join", "leave", "ttl", "loopback",
    #: "broadcast", "pause", "update".
    results: dict[str, int] = dataclasses.field(default_factory=dict)
    #: why a control's last call failed, in the operating system's (or the core's) words,
    #: for the controls whose last result is not 0.
    reasons: dict[str, str] = dataclasses.field(default_factory=dict)
    intent: UdpIntent = dataclasses.field(default_factory=UdpIntent)
    #: why the capture stopped keeping datagrams (later ones are counted, not kept), or None.
    capture_stopped: str | None = None

    def __repr__(self) -> str:
        return (
            f"<UdpRecord {self.key} {udp_text(self)} in={self.datagrams_in}/{self.received} "
            f"out={self.datagrams_out}/{self.sent}>"
        )

    @property
    def bound(self) -> bool:
        return self.info.local_port is not None

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:5353``, ``[::1]:5353``; ``""`` when not bound."""
        return format_endpoint(self.info.local_address, self.info.local_port)


def udp_text(record: UdpRecord) -> str:
    """Bound to 127.0.0.1:5353, Paused on …, Not bound, Error: NAME (a receive error; the
    core paused the socket)."""
    if record.error is not None:
        return f"Error: {result_name(record.error)}"
    if not record.bound:
        return "Not bound"
    return f"{'Paused on' if record.info.paused else 'Bound to'} {record.endpoint}"


class RowState(enum.Enum):
    """What a row shows, decided once here; views pick colours and icons from it."""

    CREATED = "created"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    PAUSED = "paused"
    SECURING = "securing"
    SECURE = "secure"
    DISCONNECTED = "disconnected"
    FAILED = "failed"

    @property
    def busy(self) -> bool:
        return self in (RowState.CONNECTING, RowState.SECURING)


def row_state(record: SocketRecord) -> RowState:
    state = record.state
    if state is State.CONNECTING:
        return RowState.CONNECTING
    if state is State.SECURING:
        return RowState.SECURING
    if state.connected:
        if record.info.paused:
            return RowState.PAUSED
        return RowState.SECURE if record.info.tls is not None else RowState.CONNECTED
    if record.error is not None:
        return RowState.FAILED
    return RowState.DISCONNECTED if record.ever_connected else RowState.CREATED


def state_text(record: SocketRecord) -> str:
    """Created, Connecting…, Connected, Paused, TLS 1.3, Disconnected, Closed by peer,
    Error: NAME."""
    shown = row_state(record)
    if shown is RowState.SECURE and record.info.tls is not None:
        return record.info.tls.version.replace("TLSv", "TLS ")
    if shown is RowState.FAILED and record.error is not None:
        return _ERROR_WORDS.get(record.error) or f"Error: {result_name(record.error)}"
    if shown is RowState.DISCONNECTED and record.peer_end == NetError.CONNECTION_CLOSED:
        # Not the user's own Disconnect: the peer sent its FIN (a reset is an error above).
        return "Closed by peer"
    return _TEXT[shown]


#: Errors a row says in words: what a user would look up the code for anyway.
_ERROR_WORDS = {
    -110: "Client certificate needed",  # SSL_CLIENT_AUTH_CERT_NEEDED
    -117: "Client certificate rejected",  # BAD_SSL_CLIENT_AUTH_CERT
}


_TEXT = {
    RowState.CREATED: "Created",
    RowState.CONNECTING: "Connecting…",
    RowState.CONNECTED: "Connected",
    RowState.PAUSED: "Paused",
    RowState.SECURING: "Securing…",
    RowState.SECURE: "TLS",
    RowState.DISCONNECTED: "Disconnected",
    RowState.FAILED: "Error",
}
