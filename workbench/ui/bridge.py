"""The crossing between Qt and the session layer.

- ``TaskRunner`` starts coroutines from Qt slots, keeps a strong reference to each task until it
  ends, and reports exceptions (logged, and re-emitted as ``failed``) instead of losing them.
- ``SocketSession`` is the window's adapter over a Qt-free ``workbench.session.Session``: it
  turns the registry's events into Qt signals. Changes and received bytes are coalesced once,
  by one ``Throttle`` at 40 Hz: whatever changed since the last flush is emitted then, one
  signal per socket, never one per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from workbench.core.capture import CaptureStore
from workbench.core.formatting import describe_result, result_name
from workbench.session import (
    DEFAULT_CAPTURE_LIMIT,
    CallLog,
    CallLogEntry,
    LoggedServers,
    LoggedTcp,
    LoggedUdp,
    ServerRecord,
    Session,
    SocketKey,
    SocketKind,
    SocketRecord,
    UdpRecord,
    state_text,
)
from workbench.sockets import ReceiveErrorInfo, SocketInfo, TcpSockets
from workbench.ui.throttle import Throttle

__all__ = [
    "DEFAULT_CAPTURE_LIMIT",
    "TICK_MS",
    "CallLog",
    "CallLogEntry",
    "SocketSession",
    "TaskRunner",
    "describe_result",
    "result_name",
]

_log = logging.getLogger("workbench.ui")

#: The one coalescing period for model and view updates (25 ms = 40 Hz).
TICK_MS = 25


class TaskRunner(QObject):
    """Starts coroutines from Qt slots.

    Signals:
        failed(str): a task ended with an exception (the text names the task and the error).
        idle(): the last running task ended.
    """

    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        loop = asyncio.get_running_loop()
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    @property
    def running(self) -> int:
        return len(self._tasks)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                _log.error(
                    "task %s failed", task.get_name(), exc_info=(type(exc), exc, exc.__traceback__)
                )
                with contextlib.suppress(RuntimeError):  # the runner is being deleted
                    self.failed.emit(f"{task.get_name()}: {type(exc).__name__}: {exc}")
        if not self._tasks:
            with contextlib.suppress(RuntimeError):
                self.idle.emit()

    async def cancel_all(self) -> None:
        """Cancel every running task and wait for them to end (used when the window closes)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class SocketSession(QObject):
    """The window's view of a ``Session``; TCP socket ids in the socket signals, server ids
    (``chrome.sockets.tcpServer``'s own sequence) in the server signals, UDP ids
    (``chrome.sockets.udp``'s own sequence) in the UDP signals.

    Signals:
        socketAdded(int): a socket appeared in the registry (whoever created it).
        socketRemoved(int): a socket was closed (its capture store is closed right after).
        socketsChanged(object): the ids (a frozenset) whose info, counters or records changed
            since the last flush: one signal per flush (≤ 40 Hz), however many sockets.
        socketStatesChanged(object): of those, the ids changed in anything but the bytes they
            received (state, a call's result, bytes sent, a stopped capture), right after
            ``socketsChanged``: what does not show counters listens to this one, so that a
            flood does not redraw panels 40 times a second for nothing.
        dataArrived(int): its capture grew (at most once per socket per flush).
        receiveError(int, int): ``onReceiveError`` (socket id, result code), at once.
        serverAdded(int), serverRemoved(int): a listening socket was created or closed.
        serversChanged(object): the server ids (a frozenset) whose records changed, in the
            same flush as ``socketsChanged``.
        udpAdded(int), udpRemoved(int): a UDP socket was created or closed (whoever did it).
        udpChanged(object): the UDP ids (a frozenset) whose records changed, in the same
            flush as ``socketsChanged``.
        udpDataArrived(int): a UDP socket's capture grew (at most once per socket per flush).
    """

    socketAdded = Signal(int)
    socketRemoved = Signal(int)
    socketsChanged = Signal(object)
    socketStatesChanged = Signal(object)
    dataArrived = Signal(int)
    receiveError = Signal(int, int)
    serverAdded = Signal(int)
    serverRemoved = Signal(int)
    serversChanged = Signal(object)
    udpAdded = Signal(int)
    udpRemoved = Signal(int)
    udpChanged = Signal(object)
    udpDataArrived = Signal(int)

    def __init__(
        self,
        sockets: TcpSockets,
        *,
        call_log: CallLog | None = None,
        capture_dir: Path | None = None,
        tick_ms: int = TICK_MS,
        capture_limit: int = DEFAULT_CAPTURE_LIMIT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.core = Session(sockets, call_log=call_log, capture_dir=capture_dir,
                            capture_limit=capture_limit)
        self.registry = self.core.registry
        self.call_log = self.core.call_log
        self.raw = sockets
        self.sockets = LoggedTcp(self.core)
        self._throttle = Throttle(self._flush_changes, tick_ms, self)
        self.registry.inserted.add_listener(self._inserted)
        self.registry.removed.add_listener(self._removed)
        self.registry.dirty.add_listener(self._dirty)
        sockets.on_receive_error.add_listener(self._on_receive_error)

    def __repr__(self) -> str:
        return f"<SocketSession {self.core!r}>"

    @property
    def capture_dir(self) -> Path:
        return self.core.capture_dir

    @property
    def capture_limit(self) -> int:
        return self.registry.capture_limit

    @property
    def servers(self) -> LoggedServers:
        """``chrome.sockets.tcpServer``, logged: the session's ``LoggedServers``."""
        return self.core.servers

    @property
    def udp(self) -> LoggedUdp:
        """``chrome.sockets.udp``, logged: the session's ``LoggedUdp``."""
        return self.core.udp

    # -- queries (server ids) ----------------------------------------------------------------

    def server_ids(self) -> list[int]:
        return [key.id for key in self.registry.server_keys()]

    def server(self, server_id: int) -> ServerRecord | None:
        return self.registry.server(SocketKey(SocketKind.TCP_SERVER, server_id))

    # -- queries (UDP ids) ------------------------------------------------------------------

    def udp_ids(self) -> list[int]:
        return [key.id for key in self.registry.udp_keys()]

    def udp_record(self, udp_id: int) -> UdpRecord | None:
        """The record of UDP socket ``udp_id`` (its info, counters, capture), or None."""
        return self.registry.udp_record(udp_id)

    def record_of(self, key: SocketKey) -> SocketRecord | ServerRecord | UdpRecord | None:
        """The record of a row's key, whatever its kind."""
        if key.kind is SocketKind.TCP_SERVER:
            return self.registry.server(key)
        if key.kind is SocketKind.UDP:
            return self.registry.udp(key)
        return self.registry.get(key)

    def capture_of(self, key: SocketKey) -> CaptureStore | None:
        """The capture of a TCP or UDP socket (a UDP one's is a ``DatagramStore``); None for
        a server or a socket that is gone."""
        record = self.record_of(key)
        return None if record is None or isinstance(record, ServerRecord) else record.capture

    def clear_capture_of(self, key: SocketKey) -> CaptureStore:
        """Clear data on a TCP or UDP socket: its new, empty capture."""
        return self.registry.clear_capture(key)

    # -- queries (TCP ids) ------------------------------------------------------------------

    def ids(self) -> list[int]:
        return [key.id for key in self.registry if key.kind is SocketKind.TCP]

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, int) and SocketKey.tcp(sid) in self.registry

    def ui(self, sid: int) -> SocketRecord | None:
        return self.registry.get(SocketKey.tcp(sid))

    def info(self, sid: int) -> SocketInfo | None:
        record = self.registry.get(SocketKey.tcp(sid))
        return record.info if record is not None else None

    def captures(self, sid: int) -> CaptureStore:
        return self.registry[SocketKey.tcp(sid)].capture

    def captured_in_all(self) -> tuple[int, int]:
        """(sockets whose capture holds data, bytes they hold): what quitting throws away.
        Persistent sockets count too: only their settings come back, never their data. UDP
        sockets count as sockets."""
        udp = (self.udp_record(u) for u in self.udp_ids())
        held = [n for sid in self.ids() if (n := self.captures(sid).total_bytes)]
        held += [n for r in udp if r is not None and (n := r.capture.total_bytes)]
        return len(held), sum(held)

    def counters(self, sid: int) -> tuple[int, int]:
        record = self.registry.get(SocketKey.tcp(sid))
        return (record.received, record.sent) if record is not None else (0, 0)

    def state_text(self, sid: int) -> str:
        record = self.registry.get(SocketKey.tcp(sid))
        return state_text(record) if record is not None else "Closed"

    def set_result(self, sid: int, control: str, code: int) -> None:
        self.registry.set_result(SocketKey.tcp(sid), control, code)

    def result(self, sid: int, control: str) -> int | None:
        record = self.registry.get(SocketKey.tcp(sid))
        return record.results.get(control) if record is not None else None

    def set_intent(self, sid: int, **changes: Any) -> None:
        self.core.set_intent(SocketKey.tcp(sid), **changes)

    def clear_capture(self, sid: int) -> CaptureStore:
        return self.registry.clear_capture(SocketKey.tcp(sid))

    # -- registry events --------------------------------------------------------------------

    def _inserted(self, key: SocketKey) -> None:
        if key.kind is SocketKind.TCP:
            self.socketAdded.emit(key.id)
        elif key.kind is SocketKind.TCP_SERVER:
            self.serverAdded.emit(key.id)
        elif key.kind is SocketKind.UDP:
            self.udpAdded.emit(key.id)

    def _removed(self, key: SocketKey) -> None:
        if key.kind is SocketKind.TCP:
            self.socketRemoved.emit(key.id)
        elif key.kind is SocketKind.TCP_SERVER:
            self.serverRemoved.emit(key.id)
        elif key.kind is SocketKind.UDP:
            self.udpRemoved.emit(key.id)

    def _dirty(self, _none: None) -> None:
        self._throttle()

    def _flush_changes(self) -> None:
        changed, grew, marked = self.registry.take_changes()
        tcp = SocketKind.TCP
        for key in sorted(grew):
            if key.kind is tcp:
                self.dataArrived.emit(key.id)
            elif key.kind is SocketKind.UDP:  # its own sequence: never a TCP id's signal
                self.udpDataArrived.emit(key.id)
        ids = frozenset(key.id for key in changed if key.kind is tcp)
        if len(ids) < len(changed):
            servers = frozenset(k.id for k in changed if k.kind is SocketKind.TCP_SERVER)
            if servers:
                self.serversChanged.emit(servers)
            udp = frozenset(k.id for k in changed if k.kind is SocketKind.UDP)
            if udp:
                self.udpChanged.emit(udp)
        if ids:
            self.socketsChanged.emit(ids)
            states = frozenset(key.id for key in marked if key.kind is tcp)
            if states:
                self.socketStatesChanged.emit(states)

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        if SocketKey.tcp(info.socket_id) in self.registry:
            self.receiveError.emit(info.socket_id, info.result_code)

    def flush(self) -> None:
        """Emit what is waiting now (tests and shutdown)."""
        self._throttle.flush()

    # -- end --------------------------------------------------------------------------------

    async def close_all(self, *, log: bool = False) -> None:
        await self.core.close_all(log=log)

    def shutdown(self) -> None:
        """Stop listening, close every capture store, remove the capture directory."""
        self._throttle.stop()
        self.raw.on_receive_error.remove_listener(self._on_receive_error)
        self.core.shutdown()
