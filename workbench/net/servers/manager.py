"""The running servers and the manager that starts and stops them.

No Qt here (the window lists these through ``workbench/ui/servers_panel.py``): the servers run
on whatever loop is running, plain asyncio in tests or qasync in the window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from workbench.core.events import Event
from workbench.core.formatting import format_endpoint
from workbench.core.keylog import prepare_keylog
from workbench.net.servers.spec import ServerKind, ServerSpec

if TYPE_CHECKING:
    from workbench.net.servers.certificates import CertificateFiles
    from workbench.net.servers.datagrams import DatagramPeer
    from workbench.net.servers.peers import Peer

# The window makes its ServerManager before its first paint and starts the first server
# after it: ``peers`` and ``certificates`` are imported by the first start, not here (issue 14:
# nothing that only one feature needs is imported before the first paint).

__all__ = ["CLOSE_TIMEOUT", "KeylogHolder", "RunningServer", "ServerManager"]

_log = logging.getLogger("workbench.servers")

#: How long ``stop()`` lets clients answer a close (a TLS close_notify) before it aborts them.
CLOSE_TIMEOUT = 1.0


class KeylogHolder(Protocol):
    """Where the global TLS key log is: ``TcpSockets``, whose ``keylog_file`` every client
    socket's handshake writes its keys to when its options name no file."""

    @property
    def keylog_file(self) -> str | None: ...


def _server_context(files: CertificateFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(files.cert_file), str(files.key_file))
    return ctx


class RunningServer:
    """One started server and its live counters (read them; the server updates them).

    ``connections`` counts open connections (a TLS one from its TCP accept), ``accepted`` all
    of them since the start; ``bytes_in``/``bytes_out`` count payload bytes (plaintext for
    tls-echo) received and handed to the transport; ``blocked`` is the number of connections
    whose writes wait for the client to read. A UDP server (``kind.udp``) has no connections:
    it counts ``datagrams_in`` and ``datagrams_out``, and ``dropped``, the datagrams it did
    not answer because the kernel could not take the reply or too many replies waited.

    Its life cycle (``listen``, ``close``) is ``ServerManager``'s to run: the manager also lists
    the server and tells its listeners.
    """

    def __init__(
        self,
        spec: ServerSpec,
        *,
        ca_file: str | None,
        ssl_context: ssl.SSLContext | None,
        notify: Callable[[RunningServer], None],
        keylog: Callable[[], str | None] | None = None,
    ) -> None:
        self.spec = spec
        self.host = spec.host
        self.port = spec.port
        self.ca_file = ca_file
        self.accepted = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.handshake_failures = 0
        self.datagrams_in = 0
        self.datagrams_out = 0
        self.dropped = 0
        self.running = False
        self._ssl_context = ssl_context
        self._notify = notify
        self._keylog = keylog
        self._server: asyncio.Server | None = None
        self._endpoint: DatagramPeer | None = None
        self._peers: set[Peer] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<RunningServer {self.kind.value} {format_endpoint(self.host, self.port)} {state} "
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

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """What tls-echo's connections start TLS with; None for the other kinds."""
        return self._ssl_context

    @property
    def keylog_file(self) -> str | None:
        """Where this server's next handshakes write their keys: the global key log, for
        tls-echo; None for the other kinds or while the key log is off."""
        if self._ssl_context is None or self._keylog is None:
            return None
        return self._keylog()

    def handshake_context(self) -> ssl.SSLContext | None:
        """``ssl_context`` for a connection that starts its handshake now, writing its keys to the
        global key log as it is now: the manager's ``keylog_file``, asked at every handshake, so
        that turning the key log on or off applies to the handshakes from then on, as it does for
        the client sockets. One context per server, whose ``keylog_filename`` follows the key log
        (its session cache and ticket keys stay). A handshake still under way when the next
        connection changes it writes its remaining lines to the new file (Python writes each line
        through the context's file of the moment; a handshake takes milliseconds). A file that
        cannot be written is logged and the handshake runs without writing keys (a test peer does
        not refuse a client over its own key log)."""
        ctx = self._ssl_context
        if ctx is None:
            return None
        path = self._keylog() if self._keylog is not None else None
        if path == ctx.keylog_filename:
            return ctx
        # None stops the writing ("keylog_filename ... The default is None", ssl docs);
        # typeshed types the attribute as str.
        ctx.keylog_filename = None  # type: ignore[assignment]
        if path is not None:
            try:
                prepare_keylog(path)  # K2: a new file is made 0600 before OpenSSL opens it
                ctx.keylog_filename = path
            except OSError as exc:
                _log.warning("%s server: cannot write TLS keys to %s: %s", self.kind, path, exc)
        return ctx

    # -- called by the connections -------------------------------------------------------

    def admit(self, peer: Peer) -> bool:
        """Register a new connection; False when the server is stopping (the caller aborts)."""
        if not self.running:
            return False
        self._peers.add(peer)
        self.accepted += 1
        self._idle.clear()
        self._notify(self)
        return True

    def release(self, peer: Peer) -> None:
        """Forget a connection that closed (or never finished its TLS handshake)."""
        if peer not in self._peers:
            return
        self._peers.discard(peer)
        if not self._peers:
            self._idle.set()
        self._notify(self)

    # -- life cycle ----------------------------------------------------------------------

    async def listen(self) -> None:
        """Bind and listen; ``host`` and ``port`` then say where."""
        if self.kind.udp:
            await self._bind()
            return
        from workbench.net.servers.peers import PEERS

        loop = asyncio.get_running_loop()
        factory = PEERS[self.spec.kind]
        self.running = True
        try:
            server = await loop.create_server(lambda: factory(self), self.spec.host, self.spec.port)
        except BaseException:
            self.running = False
            raise
        self._server = server
        self.host, self.port = server.sockets[0].getsockname()[:2]

    async def _bind(self) -> None:
        """A UDP server: one datagram endpoint (``datagrams`` says why not ``UdpSockets``)."""
        from workbench.net.servers.datagrams import DATAGRAM_PEERS

        loop = asyncio.get_running_loop()
        factory = DATAGRAM_PEERS[self.spec.kind]
        self.running = True
        try:
            transport, endpoint = await loop.create_datagram_endpoint(
                lambda: factory(self), local_addr=(self.spec.host, self.spec.port)
            )
        except BaseException:
            self.running = False
            raise
        self._endpoint = endpoint
        self.host, self.port = transport.get_extra_info("sockname")[:2]

    async def close(self, timeout: float) -> None:
        """Stop listening and close the connections, aborting those still open after
        ``timeout`` seconds."""
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
        endpoint = self._endpoint
        if endpoint is not None:
            endpoint.shut()
            await endpoint.closed.wait()  # the transport closes on the next loop turn
            return
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


class ServerManager:
    """Starts and stops the built-in servers; tells listeners about every change.

    ``cert_dir`` is where tls-echo keeps its test CA and certificate (the window passes its
    config directory, tests a temporary one). Listeners (``add_listener(fn)``, ``fn(server)``)
    hear about a start, a stop and every connection opened or closed — not about byte
    counters, which change far too often: read those on a timer.

    ``keylog_from``: the TLS servers write their keys where its ``keylog_file`` says at each
    handshake (the window gives its ``TcpSockets``, whose ``keylog_file`` is the global key
    log); None: they write none.

        async with ServerManager(config_dir) as servers:
            echo = await servers.start(ServerSpec(ServerKind.ECHO))
            print(echo.port)
    """

    def __init__(
        self,
        cert_dir: Path,
        *,
        close_timeout: float = CLOSE_TIMEOUT,
        keylog_from: KeylogHolder | None = None,
    ) -> None:
        self.cert_dir = Path(cert_dir)
        self.close_timeout = close_timeout
        self.keylog_from = keylog_from
        self._servers: list[RunningServer] = []
        # The port each kind last listened on, per address: a server stopped and started
        # again asks for it first, so that the sockets pointed at it still reach it.
        self._last_ports: dict[tuple[ServerKind, str], int] = {}
        self._changes: Event[RunningServer] = Event("servers.onChange")

    def __repr__(self) -> str:
        return f"<ServerManager {self._servers!r}>"

    @property
    def keylog_file(self) -> str | None:
        """Where the TLS servers write the keys of a handshake that starts now (None: not)."""
        return self.keylog_from.keylog_file if self.keylog_from is not None else None

    @property
    def servers(self) -> list[RunningServer]:
        """The servers started and not yet fully stopped, in start order (a copy)."""
        return list(self._servers)

    @property
    def ca_file(self) -> Path:
        """Where the test CA's certificate is (or will be, before the first tls-echo)."""
        from workbench.net.servers.certificates import CertificateFiles

        return CertificateFiles.in_directory(self.cert_dir).ca_file

    def certificates(self) -> CertificateFiles:
        """Create (or reuse) the test CA and the localhost certificate now."""
        from workbench.net.servers.certificates import ensure_certificates

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
        """Bind and listen; raises ``OSError`` when the address cannot be bound or, for
        tls-echo, when the test CA cannot be written."""
        ca_file: str | None = None
        context: ssl.SSLContext | None = None
        if spec.kind is ServerKind.TLS_ECHO:
            files = self.certificates()
            context = _server_context(files)
            ca_file = str(files.ca_file)
        server = await self._listen(spec, ca_file, context)
        self._last_ports[(spec.kind, spec.host)] = server.port
        self._servers.append(server)
        _log.info("started %r", server)
        self._changed(server)
        return server

    async def _listen(
        self, spec: ServerSpec, ca_file: str | None, context: ssl.SSLContext | None
    ) -> RunningServer:
        """A listening server; "any free port" means the port this kind had last, if free."""
        last = self._last_ports.get((spec.kind, spec.host)) if spec.port == 0 else None
        if last is not None:
            again = RunningServer(
                dataclasses.replace(spec, port=last),
                ca_file=ca_file,
                ssl_context=context,
                notify=self._changed,
                keylog=lambda: self.keylog_file,
            )
            try:
                await again.listen()
            except OSError:
                pass  # taken meanwhile: any free port, as asked
            else:
                return again
        server = RunningServer(
            spec,
            ca_file=ca_file,
            ssl_context=context,
            notify=self._changed,
            keylog=lambda: self.keylog_file,
        )
        await server.listen()
        return server

    async def stop(self, server: RunningServer) -> None:
        """Stop listening and close the server's connections (FIN when nothing is pending,
        else at once); returns when every one of them is closed."""
        await server.close(self.close_timeout)
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
