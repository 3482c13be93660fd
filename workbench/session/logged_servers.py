"""``chrome.sockets.tcpServer``'s own shape over a session: every method takes and returns what
``TcpServerSockets`` does, is logged in the call log the way Chrome developers read it, and is
remembered on the server's ``ServerRecord`` (its result per control, and the intent a restore
replays).

``chrome.sockets.tcpServer.listen(1, "127.0.0.1", 0) → 0``

It also answers the events: ``onAccept`` and ``onAcceptError`` are logged, and each accepted
socket of a server whose intent says "read at once" (the default) is resumed at once, because
Chrome starts them paused ('the client socket is initially paused and must be explictly
un-paused by the application to start receiving data').

``accepting`` (an ``Event[AcceptInfo]``) is dispatched for each socket a session server accepts,
synchronously inside ``onAccept``, before the resume is even scheduled: a listener that starts
reading the socket (the response rules attach their responder there) is in place before the
first byte is delivered. Only sockets the registry knows, of servers it knows, are announced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workbench.core.errors import NetError, SocketNotFoundError, net_error_description
from workbench.core.events import Event
from workbench.core.types import (
    AcceptErrorInfo,
    AcceptInfo,
    CreateInfo,
    ServerSocketInfo,
    ServerSocketProperties,
)
from workbench.net.tcp_server import TcpServerSockets
from workbench.session.call_log import CallLog, format_event, logged_call, result_with_name
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import ServerRecord
from workbench.session.registry import Registry

__all__ = ["LoggedServers", "server_key"]

T = TypeVar("T")
_API = SocketKind.TCP_SERVER.api
_TCP_API = SocketKind.TCP.api


def server_key(socket_id: int) -> SocketKey:
    return SocketKey(SocketKind.TCP_SERVER, socket_id)


def _code(result: int) -> tuple[str, bool]:
    return result_with_name(result), result == 0


class LoggedServers:
    """``TcpServerSockets``' calls, logged in ``call_log`` and remembered in ``registry``
    (which must watch ``raw``: ``Registry.watch_servers``); ``raw`` is the unlogged core.

    Event: ``accepting`` (``AcceptInfo``): a session server accepted a socket, which is still
    paused; dispatched synchronously, before "read at once" schedules its resume.
    """

    def __init__(self, raw: TcpServerSockets, call_log: CallLog, registry: Registry) -> None:
        self.raw = raw
        self.call_log = call_log
        self.registry = registry
        # Resumes of accepted sockets under way: kept so that they are not collected.
        self._resuming: set[asyncio.Task[None]] = set()
        self.accepting: Event[AcceptInfo] = Event("accepting")
        raw.on_accept.add_listener(self._on_accept)
        raw.on_accept_error.add_listener(self._on_accept_error)

    def __repr__(self) -> str:
        return f"<LoggedServers {self.raw!r}>"

    def record(self, socket_id: int) -> ServerRecord | None:
        return self.registry.server(server_key(socket_id))

    async def _logged(
        self,
        socket_id: int | None,
        method: str,
        args: tuple[Any, ...],
        run: Callable[[], Awaitable[T]],
        show: Callable[[T], tuple[str, bool]] | None = None,
    ) -> T:
        key = server_key(socket_id) if socket_id is not None else None
        return await logged_call(self.call_log, _API, key, (method, args, run), show)

    def _remember(self, socket_id: int, control: str, code: int) -> None:
        record = self.record(socket_id)
        if record is not None:
            record.results[control] = code
            self.registry.mark(record.key)

    # -- calls --------------------------------------------------------------------------------

    async def create(self, properties: ServerSocketProperties | None = None) -> CreateInfo:
        """Logged with its properties, ``{}`` when none are given: ``create({})``."""
        shown = properties if properties is not None else ServerSocketProperties()
        return await logged_call(
            self.call_log,
            _API,
            None,
            ("create", (shown,), lambda: self.raw.create(properties)),
            key_of=lambda created: server_key(created.socket_id),
        )

    async def update(self, socket_id: int, properties: ServerSocketProperties) -> None:
        await self._logged(
            socket_id,
            "update",
            (socket_id, properties),
            lambda: self.raw.update(socket_id, properties),
        )
        self._remember(socket_id, "update", NetError.OK)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """A pause or resume the user asked for: it is also remembered as the intent."""
        record = self.record(socket_id)
        if record is not None:
            record.intent.paused = paused
        await self._logged(
            socket_id,
            "setPaused",
            (socket_id, paused),
            lambda: self.raw.set_paused(socket_id, paused),
        )
        self._remember(socket_id, "pause", NetError.OK)

    async def listen(
        self, socket_id: int, address: str, port: int, backlog: int | None = None
    ) -> int:
        args: tuple[Any, ...] = (socket_id, address, port)
        if backlog is not None:
            args += (backlog,)
        record = self.record(socket_id)
        if record is not None:
            record.intent.listen = (address, port, backlog)
        code = await self._logged(
            socket_id,
            "listen",
            args,
            lambda: self.raw.listen(socket_id, address, port, backlog),
            _code,
        )
        self._remember(socket_id, "listen", code)
        return code

    async def disconnect(self, socket_id: int) -> None:
        """Stop listening: the port is free at once (contract L8)."""
        await self._logged(
            socket_id, "disconnect", (socket_id,), lambda: self.raw.disconnect(socket_id)
        )
        self._remember(socket_id, "disconnect", NetError.OK)

    async def close(self, socket_id: int) -> None:
        """The server's record goes; the sockets it accepted stay (contract L9)."""
        await self._logged(socket_id, "close", (socket_id,), lambda: self.raw.close(socket_id))

    async def get_info(self, socket_id: int) -> ServerSocketInfo:
        return await self._logged(
            socket_id, "getInfo", (socket_id,), lambda: self.raw.get_info(socket_id)
        )

    async def get_sockets(self) -> list[ServerSocketInfo]:
        return await self._logged(None, "getSockets", (), self.raw.get_sockets)

    def error_detail(self, socket_id: int) -> str | None:
        """Why the last listen() or accept failed, in the operating system's words (not a
        Chrome call: not logged)."""
        try:
            return self.raw.error_detail(socket_id)
        except SocketNotFoundError:
            return None

    def set_read_at_once(self, socket_id: int, on: bool) -> None:
        """Whether the sockets this server accepts from now on are resumed at once (on, the
        default) or left paused as Chrome starts them (off: back-pressure tests). Not a
        Chrome call: not logged; sockets accepted before keep their pause."""
        record = self.record(socket_id)
        if record is None:
            raise SocketNotFoundError()
        record.intent.read_at_once = on
        self.registry.mark(record.key)

    async def close_all(self, *, log: bool = False) -> None:
        """Close every server (the window is closing): one core call unless ``log``."""
        if log:
            for key in self.registry.server_keys():
                with contextlib.suppress(SocketNotFoundError):
                    await self.close(key.id)
        else:
            await self.raw.shutdown()

    def detach(self) -> None:
        """Stop answering the core's events (the session is ending). A resume already under
        way finishes on its own: it is one synchronous core call, and its loop may be gone."""
        self.raw.on_accept.remove_listener(self._on_accept)
        self.raw.on_accept_error.remove_listener(self._on_accept_error)

    # -- events -------------------------------------------------------------------------------

    def _on_accept(self, info: AcceptInfo) -> None:
        key = server_key(info.socket_id)
        self.call_log.add(key, format_event(_API, "onAccept", info))
        record = self.registry.server(key)
        client = self.registry.tcp_record(info.client_socket_id)
        if record is None or client is None:
            return
        # Before the resume below is scheduled (and a listener that raises cannot stop it:
        # Event logs it and goes on).
        self.accepting.dispatch(info)
        if not record.intent.read_at_once:
            client.intent.paused = True  # the user wants it paused: a reconnect keeps it so
            return
        task = asyncio.get_running_loop().create_task(self._resume(info.client_socket_id))
        self._resuming.add(task)
        task.add_done_callback(self._resuming.discard)

    async def _resume(self, client_id: int) -> None:
        if self.registry.tcp_record(client_id) is None:
            return  # closed before its turn came
        tcp = self.raw.tcp
        with contextlib.suppress(SocketNotFoundError):
            await logged_call(
                self.call_log,
                _TCP_API,
                SocketKey.tcp(client_id),
                ("setPaused", (client_id, False), lambda: tcp.set_paused(client_id, False)),
                lambda _r: ("undefined  (the session reads accepted sockets at once)", True),
            )

    def _on_accept_error(self, info: AcceptErrorInfo) -> None:
        code = info.result_code
        why = self.error_detail(info.socket_id) or net_error_description(code)
        text = format_event(_API, "onAcceptError", info, code, f"{why}; the server is paused")
        self.call_log.add(server_key(info.socket_id), text, ok=False)
