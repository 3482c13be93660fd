"""The session: what a user (or a script) does with sockets, each call logged and remembered.

A ``Session`` wraps one ``TcpSockets``, and the listening sockets accepting into it: ``servers``
(``LoggedServers`` over a ``TcpServerSockets`` of the same ``tcp``), and one ``UdpSockets``:
``udp`` (``LoggedUdp``; the session makes it unless one is passed in). Every method is one logged
call to the core, followed by what the session remembers of it: the result beside the control
that made it, what the user asked for (the socket's intent, which a restore replays), and the
row's error. The registry
(``session.registry``) holds the records; the call log (``session.call_log``) the calls. No Qt:
the window, the headless runner and the tests drive the same object.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from workbench.core.capture import WRITE_BEHIND, CaptureStore, DatagramStore, Direction
from workbench.core.errors import (
    NetError,
    SocketNotFoundError,
    net_error_description,
)
from workbench.core.options import OPTIONS
from workbench.core.spool import CaptureSpool
from workbench.core.starttls import STARTTLS_PROTOCOLS
from workbench.core.types import (
    DnsQueryType,
    ReceiveErrorInfo,
    SecureOptions,
    SendInfo,
    SocketInfo,
    SocketProperties,
)
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_server import TcpServerSockets
from workbench.net.udp import UdpSockets
from workbench.session.call_log import (
    CallLog,
    format_event,
    logged_call,
    result_with_name,
    send_result,
)
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_servers import LoggedServers
from workbench.session.logged_udp import LoggedUdp
from workbench.session.record import SocketRecord
from workbench.session.registry import DEFAULT_CAPTURE_LIMIT, Registry
from workbench.session.server_rules import ServerRules
from workbench.session.udp_rules import UdpRules

__all__ = ["Session"]

#: TLS 1.3's late verdicts on the client certificate: secure()'s answer (the registry shows it
#: beside Secure), not the connection's.
_SECURE_VERDICTS = (NetError.SSL_CLIENT_AUTH_CERT_NEEDED, NetError.BAD_SSL_CLIENT_AUTH_CERT)

T = TypeVar("T")


class Session:
    """Every socket of one ``TcpSockets`` and every listening socket accepting into it, every
    socket of one ``UdpSockets`` (``udp``: the caller's, or one the session makes), the calls
    made on them, and their records."""

    def __init__(
        self,
        tcp: TcpSockets,
        *,
        call_log: CallLog | None = None,
        capture_dir: Path | None = None,
        capture_limit: int = DEFAULT_CAPTURE_LIMIT,
        udp: UdpSockets | None = None,
    ) -> None:
        self.tcp = tcp
        self.call_log = call_log if call_log is not None else CallLog()
        self._own_dir = capture_dir is None
        if capture_dir is None:
            self.capture_dir = Path(tempfile.mkdtemp(prefix="socket-workbench-"))
        else:
            self.capture_dir = Path(capture_dir)
            self.capture_dir.mkdir(parents=True, exist_ok=True)
        # One spool for every capture: a socket costs one descriptor (its own), never two.
        # Its writes run on a thread of its own: the receive path never waits for the disk. A
        # write that fails there is told to the loop's thread, where the registry looks.
        self._loop: asyncio.AbstractEventLoop | None = None
        self.spool = CaptureSpool(
            self.capture_dir, threaded=True, on_write_error=self._write_failed_elsewhere
        )
        self.registry = Registry(
            self._new_store, capture_limit, new_datagram_store=self._new_datagram_store
        )
        #: sockets whose connection the session itself is ending: key → "disconnect()" or
        #: "close()"; the core's -100 that follows (contract D1, D2) is logged as such.
        self._own_end: dict[SocketKey, str] = {}
        #: sockets the session disconnected while a connect or secure may be running: the -3
        #: that answers it is the user's cancel, shown beside its button, not a row error.
        self._cancelling: set[SocketKey] = set()
        self._closed = False
        tcp.on_receive_error.add_listener(self._on_receive_error)
        self.registry.watch_tcp(tcp)
        servers = TcpServerSockets(tcp)
        # The registry first: it links an accepted socket to its server before the session
        # logs the accept and resumes the socket.
        self.registry.watch_servers(servers)
        self._servers = LoggedServers(servers, self.call_log, self.registry)
        #: each server's response rules, answering the sockets it accepts.
        self.rules = ServerRules(tcp, self._servers)
        raw_udp = udp if udp is not None else UdpSockets()
        self.registry.watch_udp(raw_udp)  # first: the record has the error when it is logged
        self._udp = LoggedUdp(raw_udp, self.call_log, self.registry)
        #: response rules on UDP sockets: one reply per matching datagram, to its sender.
        self.udp_rules = UdpRules(self._udp)

    def __repr__(self) -> str:
        return f"<Session {self.registry!r} dir={self.capture_dir}>"

    @property
    def servers(self) -> LoggedServers:
        """``chrome.sockets.tcpServer`` for this session: its calls logged and remembered;
        accepted sockets are sockets of ``tcp``. ``servers.raw`` is the unlogged core."""
        return self._servers

    @property
    def udp(self) -> LoggedUdp:
        """``chrome.sockets.udp`` for this session: its calls logged and remembered.
        ``udp.raw`` is the unlogged core."""
        return self._udp

    def _new_datagram_store(self) -> DatagramStore:
        # As _new_store, with datagram boundaries kept (one record per datagram).
        self._note_loop()
        return DatagramStore(spool=self.spool, write_behind=WRITE_BEHIND)

    def _note_loop(self) -> None:
        if self._loop is None:  # a socket appears on the loop's thread: the writer's way back
            with contextlib.suppress(RuntimeError):
                self._loop = asyncio.get_running_loop()

    def _new_store(self) -> CaptureStore:
        # The spool's segments are anonymous files in the session's directory, unlinked at
        # once, so not even a crash leaves decrypted traffic behind. Write-behind: a flood in
        # 4 KiB chunks costs a system call per 256 KiB, not per chunk.
        self._note_loop()
        return CaptureStore(spool=self.spool, write_behind=WRITE_BEHIND)

    def _write_failed_elsewhere(self) -> None:
        # On the spool's writer thread: a capture's write failed. The registry finds which.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.registry.check_captures)

    # -- logging ----------------------------------------------------------------------------

    async def _logged(
        self,
        key: SocketKey | None,
        method: str,
        args: tuple[Any, ...],
        call: Callable[[], Awaitable[T]],
        show: Callable[[T], tuple[str, bool]] | None = None,
        key_of: Callable[[T], SocketKey] | None = None,
    ) -> T:
        """Run ``call`` and log it; ``key_of`` names the socket from the result (``create``
        has no key before it returns)."""
        api = (key.kind if key is not None else SocketKind.TCP).api
        return await logged_call(self.call_log, api, key, (method, args, call), show, key_of)

    @staticmethod
    def _code(result: int) -> tuple[str, bool]:
        return result_with_name(result), result == 0

    def record(self, key: SocketKey) -> SocketRecord | None:
        return self.registry.get(key)

    def set_intent(self, key: SocketKey, **changes: Any) -> None:
        """Remember what the user asked of ``key`` without a call (a drafted peer or TLS
        settings, a restored socket's options): ``SocketIntent``'s fields by name."""
        record = self.registry.get(key)
        if record is None:
            return
        for name, value in changes.items():
            if not hasattr(record.intent, name):
                raise TypeError(f"SocketIntent has no field {name!r}")
            setattr(record.intent, name, value)
        self.registry.mark(key)

    # -- calls --------------------------------------------------------------------------------

    async def create(self, properties: SocketProperties | None = None) -> SocketKey:
        args = (properties,) if properties is not None else ()
        info = await self._logged(
            None,
            "create",
            args,
            lambda: self.tcp.create(properties),
            key_of=lambda created: SocketKey.tcp(created.socket_id),
        )
        return SocketKey.tcp(info.socket_id)

    async def update(self, key: SocketKey, properties: SocketProperties) -> None:
        await self._logged(
            key, "update", (key.id, properties), lambda: self.tcp.update(key.id, properties)
        )
        self.registry.set_result(key, "update", NetError.OK)

    async def set_paused(self, key: SocketKey, paused: bool) -> None:
        """A pause or resume the user asked for: it is also remembered (contract U6)."""
        record = self.registry.get(key)
        if record is not None:
            record.intent.paused = paused
        await self._logged(
            key, "setPaused", (key.id, paused), lambda: self.tcp.set_paused(key.id, paused)
        )
        self.registry.set_result(key, "pause", NetError.OK)

    async def set_option(self, key: SocketKey, name: str, *args: bool | int) -> int:
        """Set the socket option ``name`` (a row of ``workbench.core.options.OPTIONS``): logged
        under Chrome's method name, its result kept under the option's name, and the arguments
        remembered as the socket's intent when the core took them."""
        spec = OPTIONS.get(name)
        if spec is None:
            raise ValueError(f"no such option {name!r}; one of {', '.join(OPTIONS)}")
        code = await self._logged(
            key,
            spec.method,
            (key.id, *args),
            lambda: self.tcp.set_option(key.id, name, *args),
            self._code,
        )
        self._remember_result(key, name, code)
        if code == NetError.OK and (record := self.registry.get(key)) is not None:
            record.intent.options[name] = spec.check(args)
            self.registry.mark(key)
        return code

    async def socket_options(self, key: SocketKey) -> dict[str, bool | int | None] | None:
        """The TCP options as the kernel has them (not a Chrome call: not logged)."""
        return await self.tcp.get_socket_options(key.id)

    def error_detail(self, key: SocketKey, call: str) -> str | None:
        try:
            return self.tcp.error_detail(key.id, call)
        except SocketNotFoundError:
            return None

    async def connect(
        self, key: SocketKey, host: str, port: int, dns: DnsQueryType | str = DnsQueryType.ANY
    ) -> int:
        query = DnsQueryType(dns)
        self._cancelling.discard(key)
        args: tuple[Any, ...] = (key.id, host, port)
        if query is not DnsQueryType.ANY:
            args += (query,)
        record = self.registry.get(key)
        if record is not None:
            record.intent.peer = (host, port, str(query))
            record.peer_end = None
        self.registry.set_error(key, None)
        self.registry.forget_results(key, "connect", "disconnect", "secure")
        code = await self._logged(
            key, "connect", args, lambda: self.tcp.connect(key.id, host, port, query), self._code
        )
        self._remember_result(key, "connect", code)
        record = self.registry.get(key)
        if (
            code == NetError.OK
            and record is not None
            and record.info.paused
            and not record.intent.paused
        ):
            # Contract U6: a reconnected socket stays paused in the core (D1 and R3 pause it);
            # the session resumes it unless the user paused it.
            await self._logged(
                key,
                "setPaused",
                (key.id, False),
                lambda: self.tcp.set_paused(key.id, False),
                lambda _r: ("undefined  (the window resumes a socket it reconnects)", True),
            )
        return code

    async def secure(self, key: SocketKey, options: SecureOptions | None = None) -> int:
        args: tuple[Any, ...] = (key.id,) if options is None else (key.id, options)
        record = self.registry.get(key)
        if record is not None:
            record.intent.secure, record.intent.starttls = options or SecureOptions(), None
        code = await self._logged(
            key, "secure", args, lambda: self.tcp.secure(key.id, options), self._code
        )
        self._remember_result(key, "secure", code)
        if record is not None and code == NetError.OK:
            record.intent.tls = True
        return code

    async def starttls(
        self,
        key: SocketKey,
        protocol: str,
        options: SecureOptions | None = None,
        *,
        received: bytes | None = None,
    ) -> int:
        """``tcp.starttls()``, logged; its commands go through this session's ``send``, so
        they are logged and captured like any other bytes (ST1). Its result is the Secure
        control's. ``received`` (``None``: what this connection received so far, from the
        capture, such as a greeting the window already showed) is read by the exchange
        before what arrives."""
        args: tuple[Any, ...] = (key.id, protocol) + (() if options is None else (options,))
        record = self.registry.get(key)
        if record is not None and protocol in STARTTLS_PROTOCOLS:  # else the core refuses it
            record.intent.secure, record.intent.starttls = options or SecureOptions(), protocol
        if received is None:
            received = received_on_connection(record) if record is not None else b""

        async def send(_socket_id: int, data: bytes) -> SendInfo:
            return await self.send(key, data)

        started = time.time()  # the clock of the capture and the call log
        code = await self._logged(
            key,
            "starttls",
            args,
            lambda: self.tcp.starttls(key.id, protocol, options, send=send, received=received),
            self._code,
        )
        connection = record.connection if record is not None else None
        if connection is not None and protocol in STARTTLS_PROTOCOLS:
            connection.starttls = (protocol, started, time.time())
        self._remember_result(key, "secure", code)
        if record is not None and code == NetError.OK:
            record.intent.tls = True
        return code

    async def disconnect(self, key: SocketKey) -> None:
        self._expect_own_end(key, "disconnect()")
        # The last connection's results go now, not after the call: a connect or secure that
        # this disconnect cancels answers -3 meanwhile (U5), and that answer must stay.
        self.registry.set_error(key, None)
        self.registry.forget_results(key, "connect", "secure")
        self._cancelling.add(key)
        try:
            await self._logged(key, "disconnect", (key.id,), lambda: self.tcp.disconnect(key.id))
        except BaseException:
            self._own_end.pop(key, None)
            raise
        self.registry.set_result(key, "disconnect", NetError.OK)

    async def send(self, key: SocketKey, data: bytes | bytearray | memoryview) -> SendInfo:
        payload = bytes(data)

        def show(info: SendInfo) -> tuple[str, bool]:
            return send_result(info), info.result_code == 0

        info = await self._logged(
            key, "send", (key.id, payload), lambda: self.tcp.send(key.id, payload), show
        )
        if info.result_code == NetError.OK:
            self.registry.record_sent(key, payload)
        return info

    async def get_info(self, key: SocketKey) -> SocketInfo:
        return await self._logged(key, "getInfo", (key.id,), lambda: self.tcp.get_info(key.id))

    async def get_sockets(self) -> list[SocketInfo]:
        return await self._logged(None, "getSockets", (), self.tcp.get_sockets)

    async def close(self, key: SocketKey) -> None:
        self._expect_own_end(key, "close()")
        await self._logged(key, "close", (key.id,), lambda: self.tcp.close(key.id))

    def _expect_own_end(self, key: SocketKey, call: str) -> None:
        # 'disconnect() on a connected socket that is reading: on_receive_error(-100)' (D1;
        # D2 for close()): only then does a -100 follow, and it may come after the next
        # connect() has begun, so the mark waits for it rather than for that connect.
        record = self.registry.get(key)
        if record is not None and record.info.connected and not record.info.paused:
            self._own_end[key] = call

    async def close_all(self, *, log: bool = False) -> None:
        """Close every listening socket, then every TCP socket, then every UDP socket (the
        window is closing): one core call for each kind unless ``log``."""
        await self._servers.close_all(log=log)
        if log:
            for key in self.registry:
                with contextlib.suppress(SocketNotFoundError):
                    await self.close(key)
        else:
            await self.tcp.shutdown()
        await self._udp.close_all(log=log)

    def _remember_result(self, key: SocketKey, control: str, code: int) -> None:
        self.registry.set_result(key, control, code)
        if control in ("connect", "secure"):
            cancelled = code == NetError.ABORTED and key in self._cancelling
            self._cancelling.discard(key)
            self.registry.set_error(key, code if code != NetError.OK and not cancelled else None)

    # -- events -------------------------------------------------------------------------------

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        key = SocketKey.tcp(info.socket_id)
        code = info.result_code
        own = self._own_end.pop(key, None) if code == NetError.CONNECTION_CLOSED else None
        # The core reports the session's own disconnect()/close() as -100 (D1, D2): say so,
        # rather than blame the peer.
        reason = f"after the window's {own}" if own is not None else net_error_description(code)
        record = self.registry.get(key)
        if own is None and record is not None:
            # The peer (or the network) ended it: the row says so, and the Connect tab's
            # result no longer says OK for a connection that is gone. (The registry, which
            # hears the event next, marks the row.)
            record.peer_end = code
            if code not in _SECURE_VERDICTS:
                record.results["connect"] = code
        text = format_event(SocketKind.TCP.api, "onReceiveError", info, code, reason)
        self.call_log.add(key, text, ok=own is not None)

    # -- end ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop listening and close every capture; remove the capture directory if it is the
        session's own. The sockets are closed by ``close_all`` (async) before this."""
        if self._closed:
            return
        self._closed = True
        self.tcp.on_receive_error.remove_listener(self._on_receive_error)
        self.rules.close()
        self.udp_rules.close()
        self._servers.detach()
        self._udp.detach()
        self.registry.close()
        self.spool.close()
        if self._own_dir:
            shutil.rmtree(self.capture_dir, ignore_errors=True)


#: At most this much of a connection's received bytes is handed to a STARTTLS exchange.
STARTTLS_RECEIVED_LIMIT = 64 * 1024


def received_on_connection(record: SocketRecord) -> bytes:
    """The bytes ``record``'s current connection received so far (its first
    ``STARTTLS_RECEIVED_LIMIT``), as its capture kept them."""
    connection = record.connection
    if connection is None or not record.info.connected:
        return b""
    capture = record.capture
    capture.sync()
    out = bytearray()
    for first, end in capture.ranges(Direction.IN):
        first = max(first, connection.start_offset)
        end = min(end, first + STARTTLS_RECEIVED_LIMIT - len(out))
        if end > first:
            out += capture.read(first, end - first)
    return bytes(out)
