"""The one crossing between Qt and asyncio.

- ``TaskRunner`` starts coroutines from Qt slots, keeps a strong reference to each task until it
  ends, and reports exceptions (logged, and re-emitted as ``failed``) instead of losing them.
- ``CallLog`` records every core call the window makes, the way Chrome developers read them:
  ``chrome.sockets.tcp.connect(3, "localhost", 7) → 0``.
- ``LoggedSockets`` wraps ``TcpSockets`` with the same async methods; each call is logged, and
  when a ``SocketSession`` is attached it learns about every result.
- ``SocketSession`` is the window's per-application state over the core: the capture store of
  every socket, its counters and the UI-only fields (verify flagged off, last result per
  control, the pending operation). Core events reach it synchronously (``on_receive`` appends to
  the capture store); Qt hears about them through signals coalesced by ONE timer at ~40 Hz, never
  once per chunk (qasync turns every ``call_soon`` into a Qt timer of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.core.capture import CaptureStore, Direction
from workbench.sockets import (
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
    SocketInfo,
    SocketNotFoundError,
    SocketProperties,
    TcpSockets,
    net_error_description,
    net_error_text,
    to_json,
)

__all__ = [
    "DEFAULT_CAPTURE_LIMIT",
    "TICK_MS",
    "CallLog",
    "CallLogEntry",
    "LoggedSockets",
    "SocketSession",
    "SocketUi",
    "TaskRunner",
    "describe_result",
    "result_name",
]

_log = logging.getLogger("workbench.ui")

#: The one coalescing period for model and view updates (25 ms = 40 Hz).
TICK_MS = 25
#: What a socket's capture keeps by default: 1 GiB (the files live in the temporary
#: directory, often a RAM-backed tmpfs); past it the bytes are counted, not kept.
DEFAULT_CAPTURE_LIMIT = 1 << 30


def result_name(code: int) -> str:
    """``-102`` → ``"CONNECTION_REFUSED"``; ``0`` → ``"OK"``."""
    text = net_error_text(code)
    if text == "net::OK":
        return "OK"
    return text.removeprefix("net::ERR_")


def describe_result(code: int) -> str:
    """What a result label says: ``"OK"`` or ``"-102 CONNECTION_REFUSED: nothing is listening
    on that port"``."""
    if code == 0:
        return "OK"
    return f"{code} {result_name(code)}: {net_error_description(code)}"


# ----------------------------------------------------------------------------------- tasks


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


# -------------------------------------------------------------------------------- call log


@dataclasses.dataclass(frozen=True)
class CallLogEntry:
    timestamp: float
    socket_id: int | None
    text: str
    ok: bool


class CallLog(QObject):
    """Every core call the window makes, plus every ``onReceiveError``.

    Signals:
        added(object): a ``CallLogEntry`` was appended.
        cleared(): the log was emptied.
    """

    added = Signal(object)
    cleared = Signal()

    def __init__(self, limit: int = 20_000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[CallLogEntry] = []
        self._limit = limit

    def add(self, socket_id: int | None, text: str, ok: bool = True) -> CallLogEntry:
        entry = CallLogEntry(time.time(), socket_id, text, ok)
        self._entries.append(entry)
        if len(self._entries) > self._limit:
            del self._entries[: len(self._entries) - self._limit]
        self.added.emit(entry)
        return entry

    def entries(self) -> list[CallLogEntry]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.cleared.emit()


def _js(value: Any) -> str:
    """One argument or result the way Chrome's developer tools would print it."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, DnsQueryType):
        return json.dumps(value.value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, list):
        return "[" + ",".join(_js(v) for v in value) + "]"
    return str(value)


def _with_name(code: int) -> str:
    return f"{code} ({net_error_text(code)})" if code else "0"


# --------------------------------------------------------------------------- logged facade


class LoggedSockets:
    """``TcpSockets`` with the same async methods; every call is written to a ``CallLog``.

    ``.raw`` is the wrapped ``TcpSockets``. When a ``SocketSession`` owns this object, it also
    learns every result (new sockets, closes, counters, the pending operation).
    """

    def __init__(self, raw: TcpSockets, call_log: CallLog | None = None) -> None:
        self.raw = raw
        self.call_log = call_log if call_log is not None else CallLog()
        self._session: SocketSession | None = None

    def __repr__(self) -> str:
        return f"<LoggedSockets {self.raw!r}>"

    @property
    def on_receive(self) -> Any:
        return self.raw.on_receive

    @property
    def on_receive_error(self) -> Any:
        return self.raw.on_receive_error

    def _write(
        self, method: str, sid: int | None, args: Iterable[Any], result: str, ok: bool
    ) -> None:
        text = f"chrome.sockets.tcp.{method}({', '.join(_js(a) for a in args)}) → {result}"
        self.call_log.add(sid, text, ok)

    async def _call(
        self,
        method: str,
        sid: int | None,
        args: tuple[Any, ...],
        call: Callable[[], Awaitable[Any]],
        show: Callable[[Any], tuple[str, bool]] | None = None,
    ) -> Any:
        try:
            result = await call()
        except asyncio.CancelledError:
            self._write(method, sid, args, "cancelled", False)
            raise
        except Exception as exc:
            self._write(method, sid, args, f"Error: {exc}", False)
            raise
        if show is None:
            text, ok = _js(result), True
        else:
            text, ok = show(result)
        self._write(method, sid, args, text, ok)
        return result

    @staticmethod
    def _code(result: int) -> tuple[str, bool]:
        return _with_name(result), result == 0

    # -- the facade ----------------------------------------------------------------------

    async def create(self, properties: SocketProperties | None = None) -> CreateInfo:
        args = (properties,) if properties is not None else ()
        info: CreateInfo = await self._call(
            "create", None, args, lambda: self.raw.create(properties)
        )
        if self._session is not None:
            await self._session._created(info.socket_id)
        return info

    async def update(self, socket_id: int, properties: SocketProperties) -> None:
        await self._call(
            "update", socket_id, (socket_id, properties),
            lambda: self.raw.update(socket_id, properties),
        )
        await self._refresh(socket_id)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """A call from the user: it also records whether the user wants the socket paused (U6)."""
        if self._session is not None and socket_id in self._session._ui:
            self._session._ui[socket_id].user_paused = paused
        await self._call(
            "setPaused", socket_id, (socket_id, paused),
            lambda: self.raw.set_paused(socket_id, paused),
        )
        await self._refresh(socket_id)

    async def set_keep_alive(self, socket_id: int, enable: bool, delay: int = 0) -> int:
        code: int = await self._call(
            "setKeepAlive", socket_id, (socket_id, enable, delay),
            lambda: self.raw.set_keep_alive(socket_id, enable, delay), self._code,
        )
        if code == 0 and self._session is not None:
            self._session._remember(socket_id, keep_alive=(enable, delay))
        return code

    async def set_no_delay(self, socket_id: int, no_delay: bool) -> int:
        code: int = await self._call(
            "setNoDelay", socket_id, (socket_id, no_delay),
            lambda: self.raw.set_no_delay(socket_id, no_delay), self._code,
        )
        if code == 0 and self._session is not None:
            self._session._remember(socket_id, no_delay=no_delay)
        return code

    async def get_socket_options(self, socket_id: int) -> dict[str, bool | int | None] | None:
        # Not a Chrome call and not a user action: not logged.
        return await self.raw.get_socket_options(socket_id)

    async def connect(
        self,
        socket_id: int,
        peer_address: str,
        peer_port: int,
        dns_query_type: DnsQueryType | str = DnsQueryType.ANY,
    ) -> int:
        args: tuple[Any, ...] = (socket_id, peer_address, peer_port)
        if dns_query_type != DnsQueryType.ANY:
            args += (DnsQueryType(dns_query_type),)
        session = self._session
        if session is not None:
            session._ending(socket_id, None)
            session._pending(socket_id, "connect")
        try:
            code: int = await self._call(
                "connect", socket_id, args,
                lambda: self.raw.connect(socket_id, peer_address, peer_port, dns_query_type),
                self._code,
            )
        finally:
            if session is not None:
                session._pending(socket_id, None)
        if session is not None:
            await session._connected(
                socket_id, code, (peer_address, peer_port, str(DnsQueryType(dns_query_type)))
            )
        return code

    async def disconnect(self, socket_id: int) -> None:
        if self._session is not None:
            self._session._ending(socket_id, "disconnect()")
        try:
            await self._call(
                "disconnect", socket_id, (socket_id,), lambda: self.raw.disconnect(socket_id)
            )
        except BaseException:
            if self._session is not None:
                self._session._ending(socket_id, None)
            raise
        if self._session is not None:
            self._session._set_error(socket_id, None)
        await self._refresh(socket_id)

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int:
        args: tuple[Any, ...] = (socket_id,) if options is None else (socket_id, options)
        session = self._session
        if session is not None:
            session._pending(socket_id, "secure")
            session._remember(socket_id, secure_options=options or SecureOptions())
        try:
            code: int = await self._call(
                "secure", socket_id, args, lambda: self.raw.secure(socket_id, options), self._code
            )
        finally:
            if session is not None:
                session._pending(socket_id, None)
        if session is not None:
            session._set_error(socket_id, code if code else None)
        await self._refresh(socket_id)
        return code

    async def send(self, socket_id: int, data: bytes | bytearray | memoryview) -> SendInfo:
        payload = bytes(data)

        def show(info: SendInfo) -> tuple[str, bool]:
            text = to_json(info)
            if info.result_code:
                text += f" ({net_error_text(info.result_code)})"
            return text, info.result_code == 0

        info: SendInfo = await self._call(
            "send", socket_id, (socket_id, payload), lambda: self.raw.send(socket_id, payload),
            show,
        )
        if info.result_code == 0 and self._session is not None:
            self._session.record_sent(socket_id, payload)
        return info

    async def close(self, socket_id: int) -> None:
        session = self._session
        if session is not None and (ui := session.ui(socket_id)) is not None \
                and ui.info.connected:
            session._ending(socket_id, "close()")
        try:
            await self._call("close", socket_id, (socket_id,), lambda: self.raw.close(socket_id))
        finally:
            if self._session is not None:
                self._session._removed(socket_id)

    async def get_info(self, socket_id: int) -> SocketInfo:
        info: SocketInfo = await self._call(
            "getInfo", socket_id, (socket_id,), lambda: self.raw.get_info(socket_id)
        )
        if self._session is not None:
            self._session._set_info(info)
        return info

    async def get_sockets(self) -> list[SocketInfo]:
        infos: list[SocketInfo] = await self._call("getSockets", None, (), self.raw.get_sockets)
        return infos

    async def _refresh(self, socket_id: int) -> None:
        if self._session is not None:
            await self._session.refresh(socket_id)


# -------------------------------------------------------------------------------- session


@dataclasses.dataclass
class SocketUi:
    """What the window knows about one socket beyond ``SocketInfo`` (UI-only state)."""

    info: SocketInfo
    received: int = 0
    sent: int = 0
    #: "connect" or "secure" while that call runs.
    pending: str | None = None
    #: the last failing result (connect, secure or a receive error), cleared by success.
    error: int | None = None
    ever_connected: bool = False
    #: the user asked for the pause (contract U6: the window unpauses on reconnect otherwise).
    user_paused: bool = False
    #: certificate verification is (or will be) off for this socket.
    verify_off: bool = False
    #: last results per control, e.g. {"connect": -102}; panels read them back on selection.
    results: dict[str, int] = dataclasses.field(default_factory=dict)
    #: what a restored session needs: (host, port, dns), SecureOptions, options.
    peer: tuple[str, int, str] | None = None
    secure_options: SecureOptions | None = None
    keep_alive: tuple[bool, int] | None = None
    no_delay: bool | None = None
    #: the capture reached ``SocketSession.capture_limit``: later bytes are counted, not kept.
    capture_full: bool = False
    created_at: float = dataclasses.field(default_factory=time.time)


class SocketSession(QObject):
    """The UI's per-application state over the core.

    Signals:
        socketAdded(int): a socket was created through ``sockets``.
        socketRemoved(int): a socket was closed (its capture store is closed right after).
        socketChanged(int): info, counters or UI fields changed (coalesced, ≤ 40 Hz).
        dataArrived(int): the socket's capture grew (at most once per socket per tick).
        receiveError(int, int): ``onReceiveError`` (socket id, result code), at once.
    """

    socketAdded = Signal(int)
    socketRemoved = Signal(int)
    socketChanged = Signal(int)
    dataArrived = Signal(int)
    receiveError = Signal(int, int)

    def __init__(
        self,
        sockets: TcpSockets | LoggedSockets,
        *,
        call_log: CallLog | None = None,
        capture_dir: Path | None = None,
        tick_ms: int = TICK_MS,
        capture_limit: int = DEFAULT_CAPTURE_LIMIT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        #: bytes each socket's capture keeps (both directions); past it they are only counted.
        self.capture_limit = capture_limit
        if isinstance(sockets, LoggedSockets):
            logged = sockets
            if call_log is not None:
                logged.call_log = call_log
        else:
            logged = LoggedSockets(sockets, call_log)
        logged._session = self
        self.sockets = logged
        self.call_log = logged.call_log
        self.raw = logged.raw
        self._ui: dict[int, SocketUi] = {}
        self._captures: dict[int, CaptureStore] = {}
        self._own_dir = capture_dir is None
        if capture_dir is None:
            self.capture_dir = Path(tempfile.mkdtemp(prefix="socket-workbench-"))
        else:
            self.capture_dir = Path(capture_dir)
            self.capture_dir.mkdir(parents=True, exist_ok=True)
        #: sockets whose connection the window itself is ending: sid → "disconnect()" or
        #: "close()"; the core's -100 that follows (contract D1, D2) is logged as such.
        self._own_end: dict[int, str] = {}
        self._changed: set[int] = set()
        self._grew: set[int] = set()
        self._stale: set[int] = set()
        self._refreshing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setObjectName("sessionTick")
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self.ticks = 0
        self.raw.on_receive.add_listener(self._on_receive)
        self.raw.on_receive_error.add_listener(self._on_receive_error)

    def __repr__(self) -> str:
        return f"<SocketSession sockets={sorted(self._ui)} dir={self.capture_dir}>"

    # -- queries -------------------------------------------------------------------------

    def ids(self) -> list[int]:
        return sorted(self._ui)

    def __contains__(self, sid: object) -> bool:
        return sid in self._ui

    def ui(self, sid: int) -> SocketUi | None:
        return self._ui.get(sid)

    def info(self, sid: int) -> SocketInfo | None:
        ui = self._ui.get(sid)
        return ui.info if ui is not None else None

    def captures(self, sid: int) -> CaptureStore:
        return self._captures[sid]

    def counters(self, sid: int) -> tuple[int, int]:
        ui = self._ui.get(sid)
        return (ui.received, ui.sent) if ui is not None else (0, 0)

    def state_text(self, sid: int) -> str:
        """Created, Connecting…, Connected, Paused, TLS 1.3, Disconnected, Error: NAME."""
        ui = self._ui.get(sid)
        if ui is None:
            return "Closed"
        info = ui.info
        if ui.pending == "connect":
            return "Connecting…"
        if ui.pending == "secure":
            return "Securing…"
        if info.connected:
            if info.paused:
                return "Paused"
            if info.tls is not None:
                return info.tls.version.replace("TLSv", "TLS ")
            return "Connected"
        if ui.error is not None:
            return f"Error: {result_name(ui.error)}"
        return "Disconnected" if ui.ever_connected else "Created"

    # -- UI-only fields ------------------------------------------------------------------

    def set_result(self, sid: int, control: str, code: int) -> None:
        ui = self._ui.get(sid)
        if ui is not None:
            ui.results[control] = code

    def result(self, sid: int, control: str) -> int | None:
        ui = self._ui.get(sid)
        return ui.results.get(control) if ui is not None else None

    def set_verify_off(self, sid: int, off: bool) -> None:
        ui = self._ui.get(sid)
        if ui is not None and ui.verify_off != off:
            ui.verify_off = off
            self._mark(sid)

    def set_secure_options(self, sid: int, options: SecureOptions) -> None:
        """The TLS settings drafted for a socket (kept for the session file)."""
        self._remember(sid, secure_options=options)

    def record_sent(self, sid: int, data: bytes) -> None:
        """Appends ``data`` as an OUT record (``LoggedSockets.send`` calls it after a send)."""
        ui = self._ui.get(sid)
        if ui is None or not data:
            return
        self._record(sid, ui, Direction.OUT, bytes(data))
        ui.sent += len(data)
        self._grew.add(sid)
        self._mark(sid)

    def _record(self, sid: int, ui: SocketUi, direction: Direction, data: bytes) -> None:
        """Append to the capture up to ``capture_limit``; past it, flag the socket."""
        if ui.capture_full:
            return
        store = self._captures[sid]
        room = self.capture_limit - store.total_bytes
        if len(data) > room:
            if room > 0:
                store.append(direction, data[:room])
            ui.capture_full = True
            self._mark(sid)
            return
        store.append(direction, data)

    def clear_capture(self, sid: int) -> CaptureStore:
        """Replace the socket's capture with an empty one (Clear data); the counters stay,
        and recording starts again if the capture limit was reached."""
        old = self._captures.get(sid)
        if old is None:
            raise KeyError(sid)
        self._captures[sid] = self._new_store(sid)
        ui = self._ui.get(sid)
        if ui is not None:
            ui.capture_full = False
        self._close_store(old)
        self._grew.add(sid)
        self._mark(sid)
        return self._captures[sid]

    # -- what LoggedSockets tells us -----------------------------------------------------

    async def _created(self, sid: int) -> None:
        info = await self.raw.get_info(sid)
        self._ui[sid] = SocketUi(info=info)
        self._captures[sid] = self._new_store(sid)
        self.socketAdded.emit(sid)

    def _new_store(self, sid: int) -> CaptureStore:
        # An anonymous file in the session's directory: unlinked at once, so not even a crash
        # leaves decrypted traffic behind; the space is freed when the store closes.
        return CaptureStore(temp_dir=self.capture_dir)

    def _close_store(self, store: CaptureStore) -> None:
        store.close()

    def _removed(self, sid: int) -> None:
        if self._ui.pop(sid, None) is None:
            return
        self._changed.discard(sid)
        self._grew.discard(sid)
        self._stale.discard(sid)
        self.socketRemoved.emit(sid)
        store = self._captures.pop(sid, None)
        if store is not None:
            self._close_store(store)

    def _pending(self, sid: int, op: str | None) -> None:
        ui = self._ui.get(sid)
        if ui is not None:
            ui.pending = op
            if op == "connect":
                ui.error = None
            self._mark(sid)

    def _set_error(self, sid: int, code: int | None) -> None:
        ui = self._ui.get(sid)
        if ui is not None and ui.error != code:
            ui.error = code
            self._mark(sid)

    def _remember(self, sid: int, **fields: Any) -> None:
        ui = self._ui.get(sid)
        if ui is None:
            return
        for key, value in fields.items():
            setattr(ui, key, value)
        options = fields.get("secure_options")
        if options is not None:
            ui.verify_off = not options.verify
        self._mark(sid)

    def _set_info(self, info: SocketInfo) -> None:
        ui = self._ui.get(info.socket_id)
        if ui is not None:
            if info.connected:
                ui.ever_connected = True
            if info != ui.info:
                ui.info = info
            self._mark(info.socket_id)

    async def _connected(self, sid: int, code: int, peer: tuple[str, int, str]) -> None:
        ui = self._ui.get(sid)
        if ui is None:
            return
        ui.peer = peer
        self._set_error(sid, code if code else None)
        await self.refresh(sid)
        info = ui.info
        if code == 0 and info.paused and not ui.user_paused:
            # Contract U6: a reconnected socket stays paused in the core (D1 and R3 pause it);
            # the window unpauses it unless the user paused it.
            await self.sockets._call(
                "setPaused", sid, (sid, False), lambda: self.raw.set_paused(sid, False),
                lambda _r: ("undefined  (the window resumes a reconnected socket, contract U6)",
                            True),
            )
            await self.refresh(sid)

    async def refresh(self, sid: int) -> None:
        """Re-read ``get_info`` for one socket (no log entry: this is bookkeeping)."""
        if sid not in self._ui:
            return
        try:
            info = await self.raw.get_info(sid)
        except SocketNotFoundError:
            self._removed(sid)
            return
        self._set_info(info)

    # -- core events (synchronous: no per-chunk scheduling) ------------------------------

    def _on_receive(self, info: ReceiveInfo) -> None:
        sid = info.socket_id
        ui = self._ui.get(sid)
        if ui is None:
            return
        data = info.data
        self._record(sid, ui, Direction.IN, data)
        ui.received += len(data)
        self._grew.add(sid)
        self._mark(sid)

    def _ending(self, sid: int, call: str | None) -> None:
        """The window is about to end ``sid``'s connection with ``call`` (None: forget it)."""
        if call is None:
            self._own_end.pop(sid, None)
        else:
            self._own_end[sid] = call

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        sid, code = info.socket_id, info.result_code
        own = self._own_end.pop(sid, None) if code == -100 else None
        # The core reports the window's own disconnect()/close() as -100 (D1, D2): say so,
        # rather than blame the peer.
        reason = f"after the window's {own}" if own is not None else net_error_description(code)
        self.call_log.add(
            sid,
            f"chrome.sockets.tcp.onReceiveError {to_json(info)}  ({net_error_text(code)}: "
            f"{reason})",
            ok=own is not None,
        )
        ui = self._ui.get(sid)
        if ui is None:
            return
        # A peer that closes is a normal end; anything else is shown as an error on the row.
        ui.error = None if code == -100 else code
        self._stale.add(sid)
        self._mark(sid)
        self.receiveError.emit(sid, code)

    # -- coalescing ----------------------------------------------------------------------

    def _mark(self, sid: int) -> None:
        self._changed.add(sid)
        if not self._closed and not self._timer.isActive():
            self._timer.start()

    def _tick(self) -> None:
        self.ticks += 1
        if self._stale and not self._refreshing:
            self._start_refresh()
        changed, grew = self._changed, self._grew
        self._changed, self._grew = set(), set()
        for sid in sorted(grew):
            if sid in self._ui:
                self.dataArrived.emit(sid)
        for sid in sorted(changed):
            if sid in self._ui:
                self.socketChanged.emit(sid)
        if not self._changed and not self._grew and not self._stale:
            self._timer.stop()

    def _start_refresh(self) -> None:
        stale, self._stale = self._stale, set()
        self._refreshing = True

        async def refresh_all() -> None:
            try:
                for sid in sorted(stale):
                    await self.refresh(sid)
            finally:
                self._refreshing = False

        try:
            task = asyncio.get_running_loop().create_task(refresh_all(), name="refresh-info")
        except RuntimeError:  # no loop (the session is being torn down)
            self._refreshing = False
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush(self) -> None:
        """Emit pending coalesced signals now (tests and shutdown)."""
        if self._changed or self._grew or self._stale:
            self._tick()

    # -- end -----------------------------------------------------------------------------

    async def close_all(self, *, log: bool = False) -> None:
        """Close every socket of this session (the window is closing)."""
        for sid in list(self._ui):
            try:
                if log:
                    await self.sockets.close(sid)
                else:
                    await self.raw.close(sid)
            except SocketNotFoundError:
                pass
            self._removed(sid)

    def shutdown(self) -> None:
        """Stop listening, close every capture store, remove the capture directory. The sockets
        themselves are closed by ``close_all`` (async) before this."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self.raw.on_receive.remove_listener(self._on_receive)
        self.raw.on_receive_error.remove_listener(self._on_receive_error)
        for task in list(self._tasks):
            task.cancel()
        for store in list(self._captures.values()):
            self._close_store(store)
        self._captures.clear()
        if self._own_dir:
            shutil.rmtree(self.capture_dir, ignore_errors=True)
