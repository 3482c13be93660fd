"""Real TLS peers for the TLS tests: certificates, ``openssl s_server``, threaded servers.

Nothing here mocks the network or ``ssl``. Every peer listens on loopback, runs in its own
thread (or process) and is stopped by the fixture that started it.

Why blocking servers in threads and not asyncio servers: "An asyncio TLS server that fails a
handshake does not send the alert; for TLS error tests use real peers (`openssl s_server`,
`socat`, `ncat`) or a blocking `ssl` server in a thread." (sockets-tcp-contract.md)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import queue
import shutil
import socket
import ssl
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: One unit of patience for peers, scaled like the harness' TIMEOUT.
PEER_TIMEOUT = 10.0 * float(os.environ.get("WORKBENCH_TEST_TIMEOUT_SCALE", "1") or "1")

UTC = dt.UTC

#: A distinctive expiry for the valid leaf, so get_info().tls.peer_not_after can be checked.
VALID_NOT_AFTER = dt.datetime(2041, 6, 15, 12, 30, 45, tzinfo=UTC)
VALID_LEAF_OU = "Workbench valid leaf"
CA_OU = "Workbench test CA"

#: The IDNA (2003 and 2008 agree on this one) form of the non-ASCII test name.
IDN_UNICODE = "bücher.example"
IDN_ASCII = "xn--bcher-kva.example"


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    """Paths to one server (or client) identity: ``cert`` holds leaf + chain, ``key`` the key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Every certificate the TLS tests need, written as PEM files into one directory."""

    ca_file: Path  #: the trusted CA (what tests pass as ``SecureOptions.ca_file``)
    other_ca_file: Path  #: a second CA nobody trusts
    client_ca_file: Path  #: the CA the mutual-TLS server trusts for client certificates
    valid: CertFiles  #: localhost, 127.0.0.1, ::1 — signed by the trusted CA
    expired: CertFiles  #: valid names, not_after in the past
    not_yet_valid: CertFiles  #: valid names, not_before in the future
    wrong_host: CertFiles  #: only "example.test"
    unknown_ca: CertFiles  #: valid names, signed by ``other_ca``
    self_signed: CertFiles  #: valid names, its own issuer
    wrong_purpose: CertFiles  #: valid names, trusted CA, but extendedKeyUsage clientAuth only
    idn: CertFiles  #: only the A-label IDN_ASCII
    client: CertFiles  #: a client certificate from the client CA
    client_untrusted: CertFiles  #: a client certificate from ``other_ca``
    valid_not_after: dt.datetime
    valid_subject_ou: str
    ca_subject_ou: str


def _write_leaf(leaf: trustme.LeafCert, directory: Path, stem: str) -> CertFiles:
    cert = directory / f"{stem}.crt.pem"
    key = directory / f"{stem}.key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    return CertFiles(cert=cert, key=key)


def _san(*names: str) -> x509.SubjectAlternativeName:
    import ipaddress

    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


def _write_key_and_cert(
    key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, directory: Path, stem: str
) -> CertFiles:
    cert_path = directory / f"{stem}.crt.pem"
    key_path = directory / f"{stem}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return CertFiles(cert=cert_path, key=key_path)


def _self_signed(directory: Path, names: tuple[str, ...]) -> CertFiles:
    """A self-signed leaf (not a CA) for the valid names: OpenSSL verify code 18."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workbench"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(_san(*names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write_key_and_cert(key, cert, directory, "self_signed")


def _wrong_purpose(ca: trustme.CA, directory: Path, names: tuple[str, ...]) -> CertFiles:
    """A leaf from the trusted CA that may only authenticate clients (verify code 26 →
    "other certificate errors -207")."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workbench"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "client-auth only"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(_san(*names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return _write_key_and_cert(key, cert, directory, "wrong_purpose")


def make_pki(directory: Path) -> Pki:
    """Create every certificate under ``directory`` (takes well under a second)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = ("localhost", "127.0.0.1", "::1")
    now = dt.datetime.now(UTC)

    ca = trustme.CA(organization_unit_name=CA_OU)
    other_ca = trustme.CA(organization_unit_name="Workbench untrusted CA")
    client_ca = trustme.CA(organization_unit_name="Workbench client CA")

    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    other_ca_file = directory / "other_ca.pem"
    other_ca.cert_pem.write_to_path(str(other_ca_file))
    client_ca_file = directory / "client_ca.pem"
    client_ca.cert_pem.write_to_path(str(client_ca_file))

    valid = ca.issue_cert(
        *names,
        common_name="localhost",
        organization_unit_name=VALID_LEAF_OU,
        not_before=now - dt.timedelta(days=1),
        not_after=VALID_NOT_AFTER,
    )
    expired = ca.issue_cert(
        *names,
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=2),
    )
    not_yet_valid = ca.issue_cert(
        *names,
        not_before=now + dt.timedelta(days=2),
        not_after=now + dt.timedelta(days=30),
    )
    wrong_host = ca.issue_cert("example.test")
    unknown = other_ca.issue_cert(*names)
    idn = ca.issue_cert(IDN_ASCII)
    client = client_ca.issue_cert("workbench-client", common_name="workbench-client")
    client_untrusted = other_ca.issue_cert("workbench-client", common_name="workbench-client")

    return Pki(
        ca_file=ca_file,
        other_ca_file=other_ca_file,
        client_ca_file=client_ca_file,
        valid=_write_leaf(valid, directory, "valid"),
        expired=_write_leaf(expired, directory, "expired"),
        not_yet_valid=_write_leaf(not_yet_valid, directory, "not_yet_valid"),
        wrong_host=_write_leaf(wrong_host, directory, "wrong_host"),
        unknown_ca=_write_leaf(unknown, directory, "unknown_ca"),
        self_signed=_self_signed(directory, names),
        wrong_purpose=_wrong_purpose(ca, directory, names),
        idn=_write_leaf(idn, directory, "idn"),
        client=_write_leaf(client, directory, "client"),
        client_untrusted=_write_leaf(client_untrusted, directory, "client_untrusted"),
        valid_not_after=VALID_NOT_AFTER,
        valid_subject_ou=VALID_LEAF_OU,
        ca_subject_ou=CA_OU,
    )


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (callers retry if someone takes it meanwhile)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ipv6_loopback_available() -> bool:
    """True when a socket can bind ``::1`` (some containers have no IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def recv_until(sock: socket.socket, marker: bytes, limit: int = 1 << 16) -> bytes:
    """Read from a blocking socket until ``marker`` has been seen (or EOF / limit)."""
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def recv_some(sock: socket.socket) -> bytes:
    """Read whatever arrives first (at least one byte unless EOF): e.g. a ClientHello."""
    return sock.recv(65536)


def wait_acknowledged(sock: socket.socket, timeout: float = PEER_TIMEOUT) -> None:
    """Block until every byte written to ``sock`` has been acknowledged by the peer's kernel
    (TIOCOUTQ == 0), i.e. sits in the peer's receive buffer: "bytes the OS already has"."""
    deadline = time.monotonic() + timeout
    while struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]:
        if time.monotonic() > deadline:
            raise TimeoutError("peer did not acknowledge our bytes")
        time.sleep(0.001)  # sleep-ok: polling interval of a kernel counter, asserts nothing


def open_socket_inodes() -> set[int]:
    """Inodes of every socket this process has open, from /proc/self/fd."""
    inodes: set[int] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the directory's own descriptor, or one closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0 so the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def server_context(
    cert: CertFiles,
    *,
    minimum: ssl.TLSVersion | None = None,
    maximum: ssl.TLSVersion | None = None,
    client_ca: Path | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if client_ca is not None:
        ctx.load_verify_locations(str(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


# --------------------------------------------------------------------------------------------
# Threaded servers
# --------------------------------------------------------------------------------------------

Handler = Callable[[socket.socket, "ThreadedServer"], None]


@dataclass
class ThreadedServer:
    """A blocking TCP server on loopback: one accept thread, one thread per connection.

    ``handler(conn, server)`` owns the accepted socket (closing it is the server's job
    afterwards). Exceptions in handlers are recorded in ``errors`` instead of being lost, and
    anything a handler wants to report goes into ``events`` (a queue) or ``received``.
    """

    handler: Handler
    host: str = "127.0.0.1"
    name: str = "peer"
    port: int = 0
    errors: list[BaseException] = field(default_factory=list)
    events: queue.Queue[tuple[str, object]] = field(default_factory=queue.Queue)
    received: bytearray = field(default_factory=bytearray)
    accepted: int = 0
    server_names: list[str | None] = field(default_factory=list)
    peer_certs: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _conns: list[socket.socket | ssl.SSLSocket] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    #: For scripted handlers: the test sets it when the handler may go on.
    proceed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ThreadedServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(64)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        t = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                conn.close()
                return
            conn.settimeout(PEER_TIMEOUT)
            with self.lock:
                self.accepted += 1
                self._conns.append(conn)
            t = threading.Thread(
                target=self._serve, args=(conn,), name=f"{self.name}-conn", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self)
        except BaseException as exc:
            if not self._stopping.is_set():
                self.errors.append(exc)
                self.events.put(("error", exc))
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def track(self, sock: socket.socket | ssl.SSLSocket) -> None:
        """Let ``stop()`` shut ``sock`` down too (a TLS socket replaces the accepted one)."""
        with self.lock:
            self._conns.append(sock)

    def record(self, data: bytes) -> None:
        with self.lock:
            self.received += data

    def wait_event(self, kind: str, timeout: float = PEER_TIMEOUT) -> object:
        """Block until the handler reports ``kind`` (other events are kept in order)."""
        deadline = time.monotonic() + timeout
        skipped: list[tuple[str, object]] = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.name}: no {kind!r} event; errors={self.errors}")
                k, v = self.events.get(timeout=remaining)
                if k == kind:
                    return v
                skipped.append((k, v))
        finally:
            for item in skipped:
                self.events.put(item)

    def socket_inodes(self) -> set[int]:
        """Inodes of the server-side sockets still open (to tell them from the client's)."""
        with self.lock:
            conns = list(self._conns)
        inodes: set[int] = set()
        for c in conns:
            with contextlib.suppress(OSError, ValueError):
                if c.fileno() >= 0:
                    inodes.add(os.fstat(c.fileno()).st_ino)
        return inodes

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            # socket.socket.shutdown, not SSLSocket.shutdown: the handler thread may be inside
            # recv() on it, and SSLSocket.shutdown would drop the SSL object under its feet.
            # Shutting the descriptor down wakes that thread; the thread closes the socket.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(c, socket.SHUT_RDWR)
        for t in self._threads:
            t.join(timeout=PEER_TIMEOUT)

    def __enter__(self) -> ThreadedServer:
        return self.start() if self._listener is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def echo_loop(conn: socket.socket | ssl.SSLSocket, server: ThreadedServer) -> None:
    """Echo until EOF, recording what arrived (decrypted, for TLS sockets)."""
    while True:
        try:
            data = conn.recv(65536)
        except (ssl.SSLZeroReturnError, ConnectionResetError):
            return
        except TimeoutError:
            if server.stopping:
                return
            continue  # idle connection; keep serving until stop() closes it
        except OSError:
            if server.stopping:
                return
            raise
        if not data:
            return
        server.record(data)
        conn.sendall(data)


def tls_accept(
    conn: socket.socket, server: ThreadedServer, ctx: ssl.SSLContext
) -> ssl.SSLSocket | None:
    """Server-side handshake. Records the SNI the client sent, and reports
    ``("handshake", version)`` or ``("handshake_failed", exc)``."""

    def on_sni(
        _sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext
    ) -> None:
        with server.lock:
            server.server_names.append(name)

    ctx.sni_callback = on_sni  # type: ignore[assignment]
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as exc:
        server.events.put(("handshake_failed", exc))
        return None
    try:
        # A client that is already gone yields an SSLSocket that never handshook (CPython
        # checks getpeername() first); getpeercert() then raises, and we must close it here.
        server.track(tls)
        cert = tls.getpeercert() or {}
        version = tls.version()
        if version is None:
            raise ssl.SSLError("no handshake took place")
    except (ssl.SSLError, OSError, ValueError, AttributeError) as exc:
        with contextlib.suppress(OSError):
            tls.close()
        server.events.put(("handshake_failed", exc))
        return None
    with server.lock:
        server.peer_certs.append(cert)
    server.events.put(("handshake", version))
    return tls


def tls_echo(conn: socket.socket, server: ThreadedServer, ctx: ssl.SSLContext) -> None:
    """Handshake as a TLS server on ``conn``, echo until the client is done, close."""
    tls = tls_accept(conn, server, ctx)
    if tls is None:
        return
    try:
        echo_loop(tls, server)
    finally:
        with contextlib.suppress(OSError, ssl.SSLError):
            tls.close()


def tls_echo_handler(ctx: ssl.SSLContext) -> Handler:
    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        tls_echo(conn, server, ctx)

    return handler


def plain_echo_handler(conn: socket.socket, server: ThreadedServer) -> None:
    echo_loop(conn, server)


TLS_GOODBYE = b"bye\n"


def tls_goodbye_handler(ctx: ssl.SSLContext, ending: str) -> Handler:
    """After the handshake: send ``TLS_GOODBYE``, wait until the test sets ``proceed``, then
    end the connection: ``"close_notify"`` (TLS close_notify, then FIN), ``"fin"`` (FIN with
    no close_notify: a truncated TLS stream) or ``"reset"`` (RST)."""

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        tls = tls_accept(conn, server, ctx)
        if tls is None:
            return
        try:
            tls.sendall(TLS_GOODBYE)
            if not server.proceed.wait(PEER_TIMEOUT):
                raise TimeoutError("the test never said proceed")
            if ending == "close_notify":
                raw = tls.unwrap()  # sends close_notify, reads the client's answer
                raw.shutdown(socket.SHUT_RDWR)
                raw.close()
            elif ending == "fin":
                socket.socket.shutdown(tls, socket.SHUT_WR)
                with contextlib.suppress(OSError):
                    while tls.recv(4096):
                        pass
            elif ending == "reset":
                tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:  # pragma: no cover - test bug
                raise ValueError(ending)
            server.events.put(("ended", ending))
        finally:
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.close()

    return handler


STARTTLS_GREETING = b"220 ready\r\n"
STARTTLS_COMMAND = b"STARTTLS\r\n"
STARTTLS_GO = b"220 go\r\n"


def starttls_handler(
    ctx: ssl.SSLContext, *, plaintext_during_handshake: bytes | None = None
) -> Handler:
    """A STARTTLS-like peer: greets in plaintext, waits for ``STARTTLS``, answers ``220 go``
    (``("go_sent", None)`` is reported once that ``sendall`` returned), then upgrades its own
    side and echoes over TLS.

    With ``plaintext_during_handshake``, it instead reads the ClientHello and answers with
    those plaintext bytes — a peer that breaks the handshake (contract T2 → -107).
    """

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        conn.sendall(STARTTLS_GREETING)
        got = recv_until(conn, STARTTLS_COMMAND)
        server.record(got)
        if STARTTLS_COMMAND not in got:
            server.events.put(("no_starttls", got))
            return
        conn.sendall(STARTTLS_GO)
        wait_acknowledged(conn)
        server.events.put(("go_sent", None))
        if plaintext_during_handshake is not None:
            hello = recv_some(conn)
            server.events.put(("client_hello", hello))
            conn.sendall(plaintext_during_handshake)
            # Keep the connection open so the client fails on the bytes, not on EOF.
            with contextlib.suppress(OSError):
                while conn.recv(4096):
                    pass
            return
        tls_echo(conn, server, ctx)

    return handler


HTTP_400 = b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


def not_tls_handler(conn: socket.socket, server: ThreadedServer) -> None:
    """A plaintext server: answers whatever it receives with an HTTP 400 and keeps the
    connection open, so the client fails on the bytes (→ -107), not on EOF."""
    first = recv_some(conn)
    server.events.put(("client_hello", first))
    conn.sendall(HTTP_400)
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def close_during_handshake_handler(conn: socket.socket, server: ThreadedServer) -> None:
    """Reads the ClientHello, then closes cleanly (FIN) → -100."""
    first = recv_some(conn)
    server.events.put(("client_hello", first))
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def reset_during_handshake_handler(conn: socket.socket, server: ThreadedServer) -> None:
    """Reads the ClientHello, then resets (SO_LINGER 0) → -101."""
    first = recv_some(conn)
    server.events.put(("client_hello", first))
    reset(conn)


# --------------------------------------------------------------------------------------------
# openssl s_server
# --------------------------------------------------------------------------------------------


class OpenSSLServer:
    """``openssl s_server`` on 127.0.0.1, in ``-rev`` mode: each line received comes back
    reversed, which proves the bytes went through TLS both ways.

    Readiness is its ``ACCEPT`` line (read by a thread, with the rest of its output kept in
    ``output`` for failure messages); a port taken meanwhile makes it exit, and we retry.
    """

    def __init__(
        self, cert: CertFiles, *args: str, mode: str = "-rev", port: int | None = None
    ) -> None:
        """``port``: listen there (a server restarted on its old port), else on a free one."""
        exe = shutil.which("openssl")
        if exe is None:
            raise RuntimeError("openssl is not installed")
        self._exe = exe
        self._cert = cert
        self._args = list(args)
        self._mode = mode
        self._wanted_port = port
        self.port = 0
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> OpenSSLServer:
        last = ""
        for _ in range(10):
            port = self._wanted_port or free_port()
            cmd = [
                self._exe,
                "s_server",
                "-accept",
                f"127.0.0.1:{port}",
                "-cert",
                str(self._cert.cert),
                "-key",
                str(self._cert.key),
                self._mode,
                *self._args,
            ]
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            ready = threading.Event()
            output: list[str] = []

            def read(
                proc: subprocess.Popen[str] = proc,
                output: list[str] = output,
                ready: threading.Event = ready,
            ) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    output.append(line.rstrip("\n"))
                    if line.startswith("ACCEPT"):
                        ready.set()
                ready.set()  # EOF: the process ended (e.g. port taken)

            reader = threading.Thread(target=read, name="s_server-out", daemon=True)
            reader.start()
            ready.wait(PEER_TIMEOUT)
            if proc.poll() is None and any(line.startswith("ACCEPT") for line in output):
                self._proc, self._reader, self.output, self.port = proc, reader, output, port
                return self
            last = "\n".join(output)
            self._end(proc, reader)
        raise RuntimeError(f"openssl s_server did not start: {cmd}\n{last}")

    @staticmethod
    def _end(proc: subprocess.Popen[str], reader: threading.Thread) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(PEER_TIMEOUT)
        reader.join(PEER_TIMEOUT)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def stop(self) -> None:
        if self._proc is None or self._reader is None:
            return
        self._end(self._proc, self._reader)
        self._proc = self._reader = None

    def text(self) -> str:
        return "\n".join(self.output)

    def __enter__(self) -> OpenSSLServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(server: ThreadedServer) -> Iterator[ThreadedServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
