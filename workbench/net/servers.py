"""Built-in test peers: something to talk to at once, and real targets for the tests.

Each server is an asyncio server bound to 127.0.0.1 on a free port (port 0) by default:

- ``echo``: sends back every byte it receives.
- ``tls-echo``: the same over TLS 1.2 to 1.3. Its certificate comes from a private test CA,
  "Socket Workbench Test CA", generated on first use into the manager's directory and reused
  while it stays valid; ``RunningServer.ca_file`` is what a client trusts
  (``SecureOptions(ca_file=...)``).
- ``discard``: RFC 863 — reads and drops.
- ``chargen``: RFC 864 — "the data may be anything"; the recommended pattern is 72-character
  lines of rotating printable ASCII, each starting one character further on. It writes only
  while the transport's buffer is under its high-water mark, so a client that stops reading
  stops the stream (TCP flow control, then ``pause_writing``) and memory stays bounded.
- ``close-after``: echo until N bytes were received in all, then a clean close: FIN after the
  echoed bytes (``write_eof``), reading and dropping until the client closes too, so the kernel
  never turns the close into a reset because of unread bytes.
- ``reset-after``: echo until N bytes were received, then ``SO_LINGER`` 0 and close: RST.
  Echoed bytes still in flight when the reset leaves may be lost — that is what a reset does.
- ``slow-drip``: one byte of a message every ``interval`` seconds, over and over.

Every echoing server stops reading while its own writes are blocked, so a client that sends
without reading cannot make it buffer without bound.

No Qt here (the window lists these through ``workbench/ui/servers_panel.py``): the servers run
on whatever loop is running, plain asyncio in tests or qasync in the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import enum
import ipaddress
import logging
import os
import socket
import ssl
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.core.events import Event

__all__ = [
    "CA_COMMON_NAME",
    "CHARGEN_LINE_LENGTH",
    "KIND_DESCRIPTIONS",
    "SLOW_DRIP_MESSAGE",
    "CertificateFiles",
    "RunningServer",
    "ServerKind",
    "ServerManager",
    "ServerSpec",
    "chargen_cycle",
    "ensure_certificates",
]

_log = logging.getLogger("workbench.servers")


class ServerKind(enum.StrEnum):
    ECHO = "echo"
    TLS_ECHO = "tls-echo"
    DISCARD = "discard"
    CHARGEN = "chargen"
    CLOSE_AFTER = "close-after"
    RESET_AFTER = "reset-after"
    SLOW_DRIP = "slow-drip"


#: One sentence per kind, for tooltips and the self-test transcript.
KIND_DESCRIPTIONS: dict[ServerKind, str] = {
    ServerKind.ECHO: "Sends back every byte it receives.",
    ServerKind.TLS_ECHO: "Echo over TLS 1.2 to 1.3, with a certificate from the private "
    '"Socket Workbench Test CA" for localhost, 127.0.0.1 and ::1.',
    ServerKind.DISCARD: "Reads everything and sends nothing (RFC 863).",
    ServerKind.CHARGEN: "Streams rotating 72-character lines of printable ASCII as fast as "
    "the client reads (RFC 864).",
    ServerKind.CLOSE_AFTER: "Echoes until N bytes were received, then closes cleanly (FIN).",
    ServerKind.RESET_AFTER: "Echoes until N bytes were received, then resets the "
    "connection (RST).",
    ServerKind.SLOW_DRIP: "Sends a short message one byte at a time, one byte per interval, "
    "over and over.",
}

SLOW_DRIP_MESSAGE = b"Socket Workbench slow drip\r\n"

#: RFC 864: 'the line is 72 characters long'.
CHARGEN_LINE_LENGTH = 72
#: The 95 printable ASCII characters in RFC 864's order: its sample starts at "!", and the
#: space comes round after "~".
_PRINTABLE = bytes(range(33, 127)) + b" "

#: A generous limit for a person who connects to tls-echo and only later clicks Secure.
TLS_HANDSHAKE_TIMEOUT = 600.0
#: How long ``stop()`` lets clients answer a close (a TLS close_notify) before it aborts them.
CLOSE_TIMEOUT = 1.0


def chargen_cycle() -> bytes:
    """One full period of the chargen stream: 95 lines of 72 characters plus CRLF."""
    doubled = _PRINTABLE * 2
    return b"".join(
        doubled[i : i + CHARGEN_LINE_LENGTH] + b"\r\n" for i in range(len(_PRINTABLE))
    )


_CHARGEN_CYCLE = chargen_cycle()
#: Whole periods (about 62 KiB), so every block continues the pattern where the last ended.
_CHARGEN_BLOCK = _CHARGEN_CYCLE * 9
#: Blocks written per loop turn at most while the kernel takes everything at once: the stream
#: is steady without holding the loop (and a window on it) for long.
_CHARGEN_BLOCKS_PER_TURN = 4


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """What to start. ``n`` is used by close-after and reset-after, ``interval`` (seconds) and
    ``message`` by slow-drip. ``host`` must be an IP literal: a name could bind several
    sockets, each on a different free port."""

    kind: ServerKind
    host: str = "127.0.0.1"
    port: int = 0
    n: int = 1024
    interval: float = 0.2
    message: bytes = SLOW_DRIP_MESSAGE

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ServerKind(self.kind))
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise ValueError(f"host must be an IP address literal, not {self.host!r}") from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise TypeError(f"port must be an int, not {type(self.port).__name__}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"n must be an int >= 0, not {self.n!r}")
        if not self.interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {self.interval!r}")
        if not isinstance(self.message, bytes) or not self.message:
            raise ValueError("message must be non-empty bytes")


# ------------------------------------------------------------------------- test certificates

CA_COMMON_NAME = "Socket Workbench Test CA"
_ORGANIZATION = "Socket Workbench"
_LEAF_DNS_NAMES = ("localhost",)
_LEAF_IPS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_CA_LIFETIME = dt.timedelta(days=3650)
_LEAF_LIFETIME = dt.timedelta(days=365)
#: Files that expire sooner than this are replaced rather than reused.
_RENEW_MARGIN = dt.timedelta(days=1)
#: Allowance for a clock that runs a little behind the one that made the certificate.
_BACKDATE = dt.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class CertificateFiles:
    """The PEM files of the test CA and of the localhost leaf it signed."""

    ca_file: Path  #: the CA certificate: what a client trusts
    ca_key_file: Path  #: kept so the leaf can be renewed under the same CA
    cert_file: Path  #: the leaf, for localhost, 127.0.0.1 and ::1
    key_file: Path


def _files(directory: Path) -> CertificateFiles:
    return CertificateFiles(
        ca_file=directory / "test-ca.pem",
        ca_key_file=directory / "test-ca-key.pem",
        cert_file=directory / "localhost-cert.pem",
        key_file=directory / "localhost-key.pem",
    )


def _write_atomically(path: Path, data: bytes, private: bool) -> None:
    """Write a whole file or nothing: a crash never leaves half a certificate behind."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(CA_COMMON_NAME)
    # The user is invited to trust this CA, and its key sits in a file: name constraints make
    # it useless for anything but this machine's loopback names, even if the key leaks.
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            *(x509.DNSName(dns) for dns in _LEAF_DNS_NAMES),
            x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
            x509.IPAddress(ipaddress.ip_network("::1/128")),
        ],
        excluded_subtrees=None,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(constraints, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            *(x509.DNSName(dns) for dns in _LEAF_DNS_NAMES),
            *(x509.IPAddress(ip) for ip in _LEAF_IPS),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + _LEAF_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _fresh(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and now + _RENEW_MARGIN < cert.not_valid_after_utc


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    """The key and certificate from two PEM files, or None when they are missing, unreadable
    or do not belong together."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if _spki(key.public_key()) != _spki(cert.public_key()):
        return None
    return key, cert


def _usable_ca(
    files: CertificateFiles, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    pair = _load_pair(files.ca_file, files.ca_key_file)
    if pair is None:
        return None
    _, cert = pair
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [attr.value for attr in names] != [CA_COMMON_NAME] or cert.subject != cert.issuer:
        return None
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None
    return pair if basic.ca and _fresh(cert, now) else None


def _usable_leaf(files: CertificateFiles, ca_cert: x509.Certificate, now: dt.datetime) -> bool:
    pair = _load_pair(files.cert_file, files.key_file)
    if pair is None:
        return False
    _, cert = pair
    try:
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # InvalidSignature, ValueError, TypeError, ExtensionNotFound
        return False
    names_ok = set(_LEAF_DNS_NAMES) <= set(san.get_values_for_type(x509.DNSName)) and set(
        _LEAF_IPS
    ) <= set(san.get_values_for_type(x509.IPAddress))
    return names_ok and _fresh(cert, now)


def _loads_into_ssl(files: CertificateFiles) -> bool:
    try:
        ssl.create_default_context(cafile=str(files.ca_file)).load_cert_chain(
            str(files.cert_file), str(files.key_file)
        )
    except (OSError, ssl.SSLError):
        return False
    return True


def ensure_certificates(directory: Path) -> CertificateFiles:
    """The test CA and the localhost leaf as PEM files in ``directory``.

    Existing files are reused while they are readable, belong together and stay valid for at
    least another day. An expiring leaf is renewed under the same CA (so a client that trusts
    the CA file keeps trusting it); a missing, broken or expiring CA replaces both.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = _files(directory)
    now = dt.datetime.now(dt.UTC)
    ca = _usable_ca(files, now)
    if ca is not None and _usable_leaf(files, ca[1], now) and _loads_into_ssl(files):
        return files
    if ca is None:
        ca = _new_ca(now)
        _write_atomically(files.ca_key_file, _key_pem(ca[0]), private=True)
        _write_atomically(
            files.ca_file, ca[1].public_bytes(serialization.Encoding.PEM), private=False
        )
        _log.info("created the test CA in %s", files.ca_file)
    leaf_key, leaf = _new_leaf(ca[0], ca[1], now)
    _write_atomically(files.key_file, _key_pem(leaf_key), private=True)
    _write_atomically(files.cert_file, leaf.public_bytes(serialization.Encoding.PEM), private=False)
    _log.info("issued the localhost test certificate %s", files.cert_file)
    return files


def _server_context(files: CertificateFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(files.cert_file), str(files.key_file))
    return ctx


# ----------------------------------------------------------------------------------- servers


class RunningServer:
    """One started server and its live counters (read them; the server updates them).

    ``connections`` counts open connections (a TLS one from its TCP accept), ``accepted`` all
    of them since the start; ``bytes_in``/``bytes_out`` count payload bytes (plaintext for
    tls-echo) received and handed to the transport; ``blocked`` is the number of connections
    whose writes wait for the client to read.
    """

    def __init__(
        self,
        spec: ServerSpec,
        *,
        ca_file: str | None,
        ssl_context: ssl.SSLContext | None,
        notify: Callable[[RunningServer], None],
    ) -> None:
        self.spec = spec
        self.host = spec.host
        self.port = spec.port
        self.ca_file = ca_file
        self.accepted = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.handshake_failures = 0
        self.running = False
        self._ssl = ssl_context
        self._notify = notify
        self._server: asyncio.Server | None = None
        self._peers: set[_Peer] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<RunningServer {self.kind.value} {self.host}:{self.port} {state} "
            f"connections={self.connections} in={self.bytes_in} out={self.bytes_out}>"
        )

    @property
    def kind(self) -> ServerKind:
        return self.spec.kind

    @property
    def connections(self) -> int:
        return len(self._peers)

    @property
    def blocked(self) -> int:
        return sum(1 for peer in self._peers if peer.writing_paused)

    # -- called by the connections -------------------------------------------------------

    def _opened(self, peer: _Peer) -> bool:
        """Register a new connection; False when the server is stopping (the caller aborts)."""
        if not self.running:
            return False
        self._peers.add(peer)
        self.accepted += 1
        self._idle.clear()
        self._notify(self)
        return True

    def _gone(self, peer: _Peer) -> None:
        if peer not in self._peers:
            return
        self._peers.discard(peer)
        if not self._peers:
            self._idle.set()
        self._notify(self)

    # -- life cycle ----------------------------------------------------------------------

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        factory = _PEERS[self.spec.kind]
        self.running = True
        try:
            server = await loop.create_server(
                lambda: factory(self), self.spec.host, self.spec.port
            )
        except BaseException:
            self.running = False
            raise
        self._server = server
        self.host, self.port = server.sockets[0].getsockname()[:2]

    async def _close(self, timeout: float) -> None:
        # One closing task, whoever asks and however often; shielded, so a caller that is
        # cancelled (a window closing its tasks) does not leave connections half closed.
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self._shut_down(timeout), name=f"stop {self.kind.value} server"
            )
            self._closing.add_done_callback(_log_failure)
        await asyncio.shield(self._closing)

    async def _shut_down(self, timeout: float) -> None:
        self.running = False
        if self._server is not None:
            self._server.close()  # stop listening; accepted connections are ours to close
        for peer in list(self._peers):
            peer.shut()
        if self._peers:
            try:
                async with asyncio.timeout(timeout):
                    await self._idle.wait()
            except TimeoutError:
                # A TLS client that does not read never answers our close_notify.
                for peer in list(self._peers):
                    peer.abort()
                async with asyncio.timeout(timeout):
                    await self._idle.wait()
        if self._server is not None:
            await self._server.wait_closed()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("%s failed", task.get_name(), exc_info=task.exception())


class _Peer(asyncio.Protocol):
    """One accepted connection. Subclasses say what to do with bytes (``received``) and what
    to do on their own (``started``, ``stopped``)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.spec = server.spec
        self.transport: asyncio.Transport | None = None
        self.writing_paused = False
        self._after_drain: list[Callable[[], None]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self.server._opened(self):
            transport.abort()
            return
        self.transport = transport
        self.started()

    def data_received(self, data: bytes) -> None:
        self.server.bytes_in += len(data)
        self.received(data)

    def eof_received(self) -> bool:
        return False  # the client is done: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.stopped()
        self.transport = None
        self._after_drain.clear()
        self.server._gone(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        transport = self.transport
        if self._after_drain and transport is not None and transport.get_write_buffer_size() == 0:
            callbacks, self._after_drain = self._after_drain, []
            for callback in callbacks:
                callback()

    # -- for subclasses ------------------------------------------------------------------

    def started(self) -> None:
        pass

    def received(self, data: bytes) -> None:
        pass

    def stopped(self) -> None:
        pass

    def alive(self) -> asyncio.Transport | None:
        transport = self.transport
        return transport if transport is not None and not transport.is_closing() else None

    def send(self, data: bytes) -> None:
        transport = self.alive()
        if transport is not None and data:
            transport.write(data)
            self.server.bytes_out += len(data)

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every byte written so far is with the OS."""
        transport = self.alive()
        if transport is None:
            return
        if transport.get_write_buffer_size() == 0:
            callback()
            return
        self._after_drain.append(callback)
        # Limits of (0, 0) make the transport call resume_writing when its buffer is empty.
        transport.set_write_buffer_limits(high=0, low=0)

    # -- for stop() ----------------------------------------------------------------------

    def shut(self) -> None:
        """Close gracefully when nothing waits to be written, else at once."""
        transport = self.alive()
        if transport is None:
            return
        if transport.get_write_buffer_size() == 0:
            transport.close()
        else:
            transport.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _Discard(_Peer):
    pass


class _Echo(_Peer):
    def received(self, data: bytes) -> None:
        self.send(data)

    # Back-pressure: while our writes wait for the client to read, stop reading from it.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        transport = self.alive()
        if transport is not None:
            transport.resume_reading()


class _CloseAfter(_Echo):
    def __init__(self, server: RunningServer) -> None:
        super().__init__(server)
        self.left = self.spec.n

    def started(self) -> None:
        if self.left == 0:
            self.finish()

    def received(self, data: bytes) -> None:
        if self.left <= 0:
            return  # after our FIN: read and drop until the client closes
        take = data[: self.left]
        self.left -= len(take)
        self.send(take)
        if self.left == 0:
            self.finish()

    def finish(self) -> None:
        transport = self.alive()
        if transport is not None:
            # FIN once the echoed bytes are out; keep reading so that no unread byte turns
            # the final close into a reset.
            transport.write_eof()


class _ResetAfter(_CloseAfter):
    def finish(self) -> None:
        self.when_drained(self._reset)

    def _reset(self) -> None:
        transport = self.alive()
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER on, timeout 0: close() sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class _Chargen(_Peer):
    def __init__(self, server: RunningServer) -> None:
        super().__init__(server)
        self._handle: asyncio.Handle | None = None

    def started(self) -> None:
        self._pump()

    def received(self, data: bytes) -> None:
        pass  # RFC 864: 'Any data received is thrown away.'

    def _pump(self) -> None:
        self._handle = None
        for _ in range(_CHARGEN_BLOCKS_PER_TURN):
            if self.writing_paused or self.alive() is None:
                return
            self.send(_CHARGEN_BLOCK)
        if not self.writing_paused and self.alive() is not None:
            # The kernel took everything: go on next turn (one pending callback at most).
            self._handle = self.loop.call_soon(self._pump)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._handle is None and self.alive() is not None:
            self._handle = self.loop.call_soon(self._pump)

    def stopped(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _SlowDrip(_Peer):
    def __init__(self, server: RunningServer) -> None:
        super().__init__(server)
        self._position = 0
        self._handle: asyncio.Handle | None = None

    def started(self) -> None:
        self._drip()

    def _drip(self) -> None:
        self._handle = None
        if self.alive() is None or self.writing_paused:
            return  # resume_writing starts again
        message = self.spec.message
        self.send(message[self._position : self._position + 1])
        self._position = (self._position + 1) % len(message)
        self._handle = self.loop.call_later(self.spec.interval, self._drip)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._handle is None and self.alive() is not None:
            self._handle = self.loop.call_later(self.spec.interval, self._drip)

    def stopped(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _TlsEcho(_Echo):
    """Echo behind a server-side ``start_tls``: the TCP accept is ours to see, so a client that
    connects and never starts the handshake is counted and closed on stop like any other."""

    def __init__(self, server: RunningServer) -> None:
        super().__init__(server)
        self._raw: asyncio.Transport | None = None
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # The ClientHello must reach the TLS layer, not data_received.
        transport.pause_reading()
        if not self.server._opened(self):
            transport.abort()
            return
        self._raw = transport
        self._handshake = self.loop.create_task(
            self._upgrade(transport), name=f"tls-echo handshake on port {self.server.port}"
        )

    async def _upgrade(self, raw: asyncio.Transport) -> None:
        context = self.server._ssl
        assert context is not None
        try:
            tls = await self.loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except asyncio.CancelledError:
            self._handshake_over(failed=False)
            raise
        except OSError as exc:  # ssl.SSLError, ConnectionResetError, ConnectionAbortedError
            # Normal for a test peer: a client that does not trust the CA, or no TLS at all.
            _log.debug("tls-echo on port %d: handshake failed: %r", self.server.port, exc)
            self._handshake_over(failed=True)
            return
        except Exception:
            _log.exception("tls-echo on port %d: handshake failed", self.server.port)
            self._handshake_over(failed=True)
            return
        self._handshake = None
        if tls is None or not self.server.running:  # aborted during the handshake
            if tls is not None:
                tls.abort()
            self._handshake_over(failed=False)
            return
        assert isinstance(tls, asyncio.Transport)
        self._raw = None
        self.transport = tls

    def _handshake_over(self, failed: bool) -> None:
        self._handshake = None
        self._raw = None
        if failed:
            self.server.handshake_failures += 1
        self.server._gone(self)

    def shut(self) -> None:
        if self._handshake is not None:
            self.abort()
        else:
            super().shut()

    def abort(self) -> None:
        handshake, raw = self._handshake, self._raw
        if handshake is not None:
            # Close the socket first (its callback is queued ahead of the task's wake-up), then
            # end start_tls(), which cancels its own pending callbacks.
            if raw is not None:
                raw.abort()
            handshake.cancel()
            return
        super().abort()


_PEERS: dict[ServerKind, Callable[[RunningServer], _Peer]] = {
    ServerKind.ECHO: _Echo,
    ServerKind.TLS_ECHO: _TlsEcho,
    ServerKind.DISCARD: _Discard,
    ServerKind.CHARGEN: _Chargen,
    ServerKind.CLOSE_AFTER: _CloseAfter,
    ServerKind.RESET_AFTER: _ResetAfter,
    ServerKind.SLOW_DRIP: _SlowDrip,
}


class ServerManager:
    """Starts and stops the built-in servers; tells listeners about every change.

    ``cert_dir`` is where tls-echo keeps its test CA and certificate (the window passes its
    config directory, tests a temporary one). Listeners (``add_listener(fn)``, ``fn(server)``)
    hear about a start, a stop and every connection opened or closed — not about byte
    counters, which change far too often: read those on a timer.

        async with ServerManager(config_dir) as servers:
            echo = await servers.start(ServerSpec(ServerKind.ECHO))
            print(echo.port)
    """

    def __init__(self, cert_dir: Path, *, close_timeout: float = CLOSE_TIMEOUT) -> None:
        self.cert_dir = Path(cert_dir)
        self.close_timeout = close_timeout
        self._servers: list[RunningServer] = []
        self._changes: Event[RunningServer] = Event("servers.onChange")

    def __repr__(self) -> str:
        return f"<ServerManager {self._servers!r}>"

    @property
    def servers(self) -> list[RunningServer]:
        """The servers started and not yet fully stopped, in start order (a copy)."""
        return list(self._servers)

    @property
    def ca_file(self) -> Path:
        """Where the test CA's certificate is (or will be, before the first tls-echo)."""
        return _files(self.cert_dir).ca_file

    def certificates(self) -> CertificateFiles:
        """Create (or reuse) the test CA and the localhost certificate now."""
        return ensure_certificates(self.cert_dir)

    def find(self, kind: ServerKind | str) -> RunningServer | None:
        """The first running server of a kind (not one that is stopping)."""
        kind = ServerKind(kind)
        return next((s for s in self._servers if s.kind is kind and s.running), None)

    def add_listener(self, listener: Callable[[RunningServer], object]) -> None:
        self._changes.add_listener(listener)

    def remove_listener(self, listener: Callable[[RunningServer], object]) -> None:
        self._changes.remove_listener(listener)

    def _changed(self, server: RunningServer) -> None:
        self._changes.dispatch(server)

    async def start(self, spec: ServerSpec) -> RunningServer:
        """Bind and listen; raises ``OSError`` when the address cannot be bound."""
        ca_file: str | None = None
        context: ssl.SSLContext | None = None
        if spec.kind is ServerKind.TLS_ECHO:
            files = self.certificates()
            context = _server_context(files)
            ca_file = str(files.ca_file)
        server = RunningServer(spec, ca_file=ca_file, ssl_context=context, notify=self._changed)
        await server._start()
        self._servers.append(server)
        _log.info("started %r", server)
        self._changed(server)
        return server

    async def stop(self, server: RunningServer) -> None:
        """Stop listening and close the server's connections (FIN when nothing is pending,
        else at once); returns when every one of them is closed."""
        await server._close(self.close_timeout)
        # Listed until closed, so that a stop_all() after a cancelled stop() waits for it.
        if server in self._servers:
            self._servers.remove(server)
            _log.info("stopped %r", server)
            self._changed(server)

    async def stop_all(self) -> None:
        servers = list(self._servers)
        await asyncio.gather(*(self.stop(server) for server in servers))

    async def __aenter__(self) -> ServerManager:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_all()
