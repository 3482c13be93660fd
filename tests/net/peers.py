"""Real loopback peers for the socket tests.

Everything here is a real TCP endpoint on the loopback interface, so the core meets the kernel's
behaviour (FIN, RST, flow control, SYN drops) rather than a mock's idea of it.

- ``ControlledServer``: accepts connections on its own thread and hands the test the server
  side of each one as a ``PeerConn``, which can send, send FIN, reset (SO_LINGER 0 + close),
  stop reading, and reports what the client sent. ``EchoServer`` is the same with echo on.
- ``BlackHole``: a listener whose accept queue is full, so the kernel drops further SYNs and a
  client's ``connect()`` stays pending (for about 127 s) — the way to test "while a connect is
  pending" without leaving the loopback interface.
- ``closed_port()``: a port nothing listens on (connect is refused).
- ``ExternalEcho``: ``socat`` or ``ncat`` as an echo server, a second, independent peer.

All socket work of a server happens on its one thread (a ``poll()`` loop); the test thread
only queues commands and reads snapshots, so no socket is ever used by two threads. Servers are
context managers that always stop their thread and close their sockets.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import queue
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from typing import Any

from tests.conftest import TIMEOUT, wait_for

LOOPBACK = "127.0.0.1"
LOOPBACK6 = "::1"
_CHUNK = 256 * 1024


def ipv6_loopback_available() -> bool:
    """True when a socket can bind ``::1`` (no IPv6 in some containers)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK6, 0))
    except OSError:
        return False
    return True


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class PeerConn:
    """The server side of one accepted connection.

    Methods only queue commands; the server thread executes them in order, so
    ``send(a); shutdown_write()`` puts every byte of ``a`` on the wire before the FIN, and
    ``send(a); reset()`` sends ``a`` before the RST (as far as the kernel allows: an RST may
    discard data the client has not read yet — that is TCP, not the peer).
    """

    def __init__(self, server: ControlledServer, sock: socket.socket, echo: bool) -> None:
        self._server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.echo = echo
        self._lock = threading.Lock()
        self._received = bytearray()
        self._out: collections.deque[tuple[str, Any]] = collections.deque()
        self._pending = 0
        self.reading = True
        #: The client sent FIN (recv returned b"").
        self.eof = False
        #: The OSError that ended reading or writing (ECONNRESET, EPIPE, ...), if any.
        self.error: OSError | None = None
        self.closed = False
        #: Bytes the kernel accepted from this peer so far.
        self.bytes_sent = 0
        #: True while queued data waits because the kernel's send buffer is full.
        self.write_blocked = False
        self.client_address = sock.getpeername()

    # -- commands (any thread) ------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self._queue("data", memoryview(bytes(data)))

    def shutdown_write(self) -> None:
        """Send FIN after everything queued before."""
        self._queue("fin", None)

    def reset(self) -> None:
        """Abort with RST (SO_LINGER on, timeout 0, then close) after everything queued."""
        self._queue("reset", None)

    def close(self) -> None:
        """Graceful close (FIN) after everything queued."""
        self._queue("close", None)

    def stop_reading(self) -> None:
        with self._lock:
            self.reading = False
        self._server._wake()

    def start_reading(self) -> None:
        with self._lock:
            self.reading = True
        self._server._wake()

    def _queue(self, kind: str, payload: Any) -> None:
        with self._lock:
            self._out.append((kind, payload))
            if kind == "data":
                self._pending += len(payload)
        self._server._wake()

    # -- snapshots ------------------------------------------------------------------------------

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    @property
    def received_len(self) -> int:
        with self._lock:
            return len(self._received)

    @property
    def pending(self) -> int:
        """Bytes queued in this peer and not yet accepted by the kernel."""
        with self._lock:
            return self._pending

    @property
    def drained(self) -> bool:
        with self._lock:
            return not self._out

    # -- waits (on the test's event loop) -------------------------------------------------------

    async def wait_received(self, n: int, timeout: float | None = None) -> bytes:
        def enough() -> bool:
            return self.received_len >= n

        await wait_for(
            enough,
            timeout,
            lambda: (
                f"peer got {self.received_len} of {n} bytes (eof={self.eof}, error={self.error!r})"
            ),
        )
        return self.received

    async def wait_eof(self, timeout: float | None = None) -> bytes:
        """Wait until the client's FIN (or an error) ended the stream; return what came."""

        def ended() -> bool:
            return self.eof or self.error is not None or self.closed

        await wait_for(ended, timeout, lambda: f"peer got {self.received_len} bytes, no EOF")
        return self.received

    async def wait_drained(self, timeout: float | None = None) -> None:
        """Wait until every queued command ran (all data with the kernel, FIN/RST sent)."""

        def drained() -> bool:
            return self.drained

        await wait_for(drained, timeout, lambda: f"peer still has {self.pending} bytes queued")

    # -- server thread --------------------------------------------------------------------------

    def _interest(self) -> int:
        if self.closed:
            return 0
        mask = 0
        with self._lock:
            if self.reading and not self.eof and self.error is None:
                mask |= select.POLLIN
            if self._out and self._out[0][0] == "data" and self.error is None:
                mask |= select.POLLOUT
        return mask

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.error = exc
            return
        if not data:
            self.eof = True
            if self.echo:
                self.shutdown_write()
            return
        with self._lock:
            self._received.extend(data)
        if self.echo:
            self.send(data)

    def _pump(self) -> None:
        """Run queued commands until one has to wait for the kernel."""
        while not self.closed:
            with self._lock:
                if not self._out:
                    self.write_blocked = False
                    return
                kind, payload = self._out[0]
            if kind == "data":
                if self.error is not None:
                    with self._lock:
                        self._out.popleft()
                        self._pending -= len(payload)
                    continue
                try:
                    n = self.sock.send(payload[:_CHUNK])
                except (BlockingIOError, InterruptedError):
                    self.write_blocked = True
                    return
                except OSError as exc:
                    self.error = exc
                    continue
                self.bytes_sent += n
                with self._lock:
                    self._pending -= n
                    if n == len(payload):
                        self._out.popleft()
                    else:
                        self._out[0] = ("data", payload[n:])
                continue
            with self._lock:
                self._out.popleft()
            if kind == "fin":
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)
            elif kind == "reset":
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self._close_now()
            elif kind == "close":
                self._close_now()

    def _close_now(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()
            with self._lock:
                self._out.clear()
                self._pending = 0


class ControlledServer:
    """A loopback listener that hands every accepted connection to the test as a ``PeerConn``.

    ``greeting`` is queued on each connection the moment it is accepted (before the test sees
    it), followed by ``after_greeting`` (``"fin"``, ``"reset"`` or ``None``). ``sndbuf`` sets
    SO_SNDBUF on the accepted sockets (a small one makes flow control visible quickly).
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        *,
        echo: bool = False,
        greeting: bytes | None = None,
        after_greeting: str | None = None,
        sndbuf: int | None = None,
        backlog: int = 64,
    ) -> None:
        self.host = host
        self.echo = echo
        self.greeting = greeting
        self.after_greeting = after_greeting
        self.sndbuf = sndbuf
        self.backlog = backlog
        self.accepted: queue.Queue[PeerConn] = queue.Queue()
        self.connections: list[PeerConn] = []
        self._stop = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.thread_error: BaseException | None = None
        self.port = 0

    def __enter__(self) -> ControlledServer:
        listener = socket.socket(_family(self.host), socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.sndbuf is not None:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
            listener.bind((self.host, 0))
            listener.listen(self.backlog)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            self._wake_r.close()
            self._wake_w.close()
            raise
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"peer:{self.port}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def close(self) -> None:
        self._stop = True
        self._wake()
        if self._thread is not None:
            self._thread.join(TIMEOUT)
            assert not self._thread.is_alive(), "peer thread did not stop"
            self._thread = None
        for conn in self.connections:
            conn._close_now()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for s in (self._wake_r, self._wake_w):
            s.close()

    async def accept(self, timeout: float | None = None) -> PeerConn:
        """The next accepted connection (waits on the test's loop, never blocks it)."""

        def has_connection() -> bool:
            return not self.accepted.empty()

        await wait_for(has_connection, timeout, "no connection was accepted")
        return self.accepted.get_nowait()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced by tests that look, and by the thread's death
            self.thread_error = exc
            raise

    def _loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stop:
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            poller.register(listener, select.POLLIN)
            by_fd: dict[int, PeerConn] = {}
            for conn in self.connections:
                mask = conn._interest()
                if mask:
                    poller.register(conn.fd, mask)
                    by_fd[conn.fd] = conn
            for fd, event in poller.poll(1000):
                if fd == self._wake_r.fileno():
                    with contextlib.suppress(BlockingIOError):
                        while self._wake_r.recv(4096):
                            pass
                elif fd == listener.fileno():
                    self._accept_all(listener)
                elif fd in by_fd:
                    conn = by_fd[fd]
                    if event & (select.POLLIN | select.POLLHUP | select.POLLERR) and (
                        conn._interest() & select.POLLIN
                    ):
                        conn._on_readable()
            for conn in self.connections:
                conn._pump()
            self.connections = [c for c in self.connections if not c.closed]

    def _accept_all(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            conn = PeerConn(self, sock, self.echo)
            if self.greeting is not None:
                conn.send(self.greeting)
            if self.after_greeting == "fin":
                conn.shutdown_write()
            elif self.after_greeting == "reset":
                conn.reset()
            conn._pump()
            self.connections.append(conn)
            self.accepted.put(conn)


class EchoServer(ControlledServer):
    """Echoes every byte back; answers the client's FIN with its own (like ``cat``)."""

    def __init__(self, host: str = LOOPBACK, **kwargs: Any) -> None:
        super().__init__(host, echo=True, **kwargs)


def closed_port(host: str = LOOPBACK) -> int:
    """A port on ``host`` that nothing listens on: connecting to it is refused."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


def _listen_overflows() -> int | None:
    """Linux's TcpExt ListenOverflows counter: SYNs dropped because an accept queue was full."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for keys, values in zip(lines[::2], lines[1::2], strict=False):
        if keys.startswith("TcpExt:"):
            table = dict(zip(keys.split()[1:], values.split()[1:], strict=True))
            return int(table["ListenOverflows"]) if "ListenOverflows" in table else None
    return None


class BlackHole:
    """A listener that never accepts and whose accept queue is full.

    With ``listen(0)`` Linux queues one finished handshake; once one client sits in the queue,
    the kernel drops every further SYN, so a connect stays in SYN_SENT and retries for about
    127 s. ``__enter__`` fills the queue and then proves SYNs are being dropped (a probe's SYN
    raises TcpExt ListenOverflows) instead of hoping they are.
    """

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self.port = 0

    def __enter__(self) -> BlackHole:
        try:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sockets.append(listener)
            listener.bind((LOOPBACK, 0))
            listener.listen(0)
            self.port = listener.getsockname()[1]
            filler = self._start_connect()
            _, writable, _ = select.select([], [filler], [], TIMEOUT)
            assert writable, "the first connection to the black hole did not complete"
            assert filler.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            before = _listen_overflows()
            probe = self._start_connect()  # this one's SYN must be dropped
            if before is not None:
                deadline = time.monotonic() + TIMEOUT
                while _listen_overflows() == before:
                    assert time.monotonic() < deadline, "the kernel did not drop the probe SYN"
                    time.sleep(0.001)  # sleep-ok: poll interval of a setup condition
            # Closing a connect in SYN_SENT sends nothing; it stops the probe's SYN retries,
            # so every later ListenOverflows increment comes from the client under test.
            self._sockets.remove(probe)
            probe.close()
        except BaseException:
            self.close()
            raise
        return self

    def _start_connect(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sockets.append(s)
        s.setblocking(False)
        rc = s.connect_ex((LOOPBACK, self.port))
        assert rc in (0, errno.EINPROGRESS), os.strerror(rc)
        return s

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for s in self._sockets:
            s.close()
        self._sockets.clear()


class ExternalEcho:
    """An echo server run by ``socat`` (default) or ``ncat``, each connection piped to ``cat``.

    Readiness is checked by connecting until it succeeds, never by sleeping a fixed time.
    """

    def __init__(self, tool: str = "socat") -> None:
        if tool not in ("socat", "ncat"):
            raise ValueError(tool)
        self.tool = tool
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available(tool: str) -> bool:
        return shutil.which(tool) is not None

    def _command(self, port: int) -> list[str]:
        if self.tool == "socat":
            return [
                "socat",
                f"TCP-LISTEN:{port},bind={LOOPBACK},reuseaddr,fork",
                "EXEC:cat",
            ]
        return ["ncat", "-l", LOOPBACK, str(port), "--keep-open", "--exec", "/bin/cat"]

    def __enter__(self) -> ExternalEcho:
        for _attempt in range(5):
            port = closed_port()
            proc = subprocess.Popen(
                self._command(port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: the forked children go too
            )
            if self._wait_listening(proc, port):
                self.proc, self.port = proc, port
                return self
            self._stop(proc)  # the port was taken meanwhile: try another
        raise RuntimeError(f"{self.tool} did not start listening")

    @staticmethod
    def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> bool:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex((LOOPBACK, port)) == 0:
                    return True
            time.sleep(0.005)  # sleep-ok: poll interval while the process starts listening
        return False

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(TIMEOUT)

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None:
            self._stop(self.proc)
            self.proc = None
