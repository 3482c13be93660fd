"""What the logged calls of a socket kind with a core and records of its own share: the calls of
``chrome.sockets.tcpServer`` (``LoggedServers``) and of ``chrome.sockets.udp`` (``LoggedUdp``)
are logged under their ``SocketKind``'s API, and remembered on the socket's record (its last
result per control, and the intent a restore replays) the same way.

``create``, ``update``, ``set_paused``, ``close``, ``get_info``, ``get_sockets``,
``error_detail``, ``close_all`` and ``detach`` live here once; a subclass names its kind, its
two controls that undo each other, how it finds a record, and adds its own calls and events.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from workbench.core.errors import NetError, SocketNotFoundError, net_error_description
from workbench.core.events import Event
from workbench.core.types import CreateInfo
from workbench.session.call_log import CallLog, format_event, logged_call
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.registry import Registry

__all__ = ["LoggedKind"]

T = TypeVar("T")
PropsT = TypeVar("PropsT")
InfoT = TypeVar("InfoT")
_PropsIn = TypeVar("_PropsIn", contravariant=True)


class _Core(Protocol[_PropsIn, InfoT]):
    """The calls every kind's core (``TcpServerSockets``, ``UdpSockets``) answers alike."""

    async def create(self, properties: _PropsIn | None = None) -> CreateInfo: ...

    async def update(self, socket_id: int, properties: _PropsIn) -> None: ...

    async def set_paused(self, socket_id: int, paused: bool) -> None: ...

    async def close(self, socket_id: int) -> None: ...

    async def get_info(self, socket_id: int) -> InfoT: ...

    async def get_sockets(self) -> list[InfoT]: ...

    def error_detail(self, socket_id: int) -> str | None: ...

    async def shutdown(self) -> None: ...


class _Intent(Protocol):
    paused: bool


class _Record(Protocol):
    """What every kind's record (``ServerRecord``, ``UdpRecord``) has."""

    @property
    def key(self) -> SocketKey: ...

    @property
    def results(self) -> dict[str, int]: ...

    @property
    def intent(self) -> _Intent: ...


RecordT = TypeVar("RecordT", bound=_Record)


class _ErrorInfo(Protocol):
    @property
    def socket_id(self) -> int: ...

    @property
    def result_code(self) -> int: ...


class LoggedKind(abc.ABC, Generic[PropsT, InfoT, RecordT]):
    """A core's calls, logged in ``call_log`` under ``kind`` and remembered in ``registry``
    (which must watch ``raw``); ``raw`` is the unlogged core.

    A subclass sets ``kind`` and ``undoing`` and answers ``record``, ``_keys`` and
    ``_no_properties``; ``_reasons`` when its records keep why a control failed."""

    #: the Chrome API the calls are logged under, and the kind of the keys they are logged for.
    kind: ClassVar[SocketKind]
    #: two controls that undo each other: after a success of one, the other's last result (and
    #: its reason) is history, so the socket's tab never shows both as OK.
    undoing: ClassVar[tuple[str, str]]

    def __init__(self, raw: _Core[PropsT, InfoT], call_log: CallLog, registry: Registry) -> None:
        self.raw = raw
        self.call_log = call_log
        self.registry = registry
        #: the core's events this object answers, each with its listener (``detach``).
        self._listening: list[tuple[Event[Any], Callable[[Any], object]]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.raw!r}>"

    @abc.abstractmethod
    def record(self, socket_id: int) -> RecordT | None:
        """The registry's record of socket ``socket_id``, or None."""

    @abc.abstractmethod
    def _keys(self) -> list[SocketKey]:
        """The keys of every socket of this kind in the registry."""

    @abc.abstractmethod
    def _no_properties(self) -> PropsT:
        """The properties a ``create`` without any is logged with."""

    def _reasons(self, record: RecordT) -> dict[str, str] | None:
        """Where ``record`` keeps why each control failed; None: it does not."""
        return None

    def _key(self, socket_id: int) -> SocketKey:
        return SocketKey(self.kind, socket_id)

    def _listen(self, event: Event[T], listener: Callable[[T], object]) -> None:
        event.add_listener(listener)
        self._listening.append((event, listener))

    def error_detail(self, socket_id: int) -> str | None:
        """Why the last call of the socket, or the last event of the core, failed, in the
        operating system's words (not a Chrome call: not logged)."""
        try:
            return self.raw.error_detail(socket_id)
        except SocketNotFoundError:
            return None

    def _why(self, socket_id: int, code: int) -> str:
        return self.error_detail(socket_id) or net_error_description(code)

    async def _logged(
        self,
        socket_id: int | None,
        method: str,
        args: tuple[Any, ...],
        run: Callable[[], Awaitable[T]],
        show: Callable[[T], tuple[str, bool]] | None = None,
    ) -> T:
        key = self._key(socket_id) if socket_id is not None else None
        return await logged_call(self.call_log, self.kind.api, key, (method, args, run), show)

    def _undone_by(self, control: str) -> str:
        """The control whose last result a success of ``control`` makes history, or ``""``."""
        first, second = self.undoing
        return second if control == first else first if control == second else ""

    def _remember(self, socket_id: int, control: str, code: int) -> None:
        record = self.record(socket_id)
        if record is None:
            return
        record.results[control] = code
        reasons = self._reasons(record)
        if code == NetError.OK:
            undone = self._undone_by(control)
            record.results.pop(undone, None)
            if reasons is not None:
                reasons.pop(control, None)
                reasons.pop(undone, None)
        elif reasons is not None:
            reasons[control] = self._why(socket_id, code)
        self.registry.mark(record.key)

    def _log_pausing_error(self, event: str, info: _ErrorInfo, paused: str) -> None:
        """An error event after which the core paused ``paused`` (``"the socket"``), logged
        with its reason."""
        code = info.result_code
        why = f"{self._why(info.socket_id, code)}; {paused} is paused"
        text = format_event(self.kind.api, event, info, code, why)
        self.call_log.add(self._key(info.socket_id), text, ok=False)

    # -- calls --------------------------------------------------------------------------------

    async def create(self, properties: PropsT | None = None) -> CreateInfo:
        """Logged with its properties, ``{}`` when none are given: ``create({})``."""
        shown = properties if properties is not None else self._no_properties()
        return await logged_call(
            self.call_log,
            self.kind.api,
            None,
            ("create", (shown,), lambda: self.raw.create(properties)),
            key_of=lambda created: self._key(created.socket_id),
        )

    async def update(self, socket_id: int, properties: PropsT) -> None:
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

    async def close(self, socket_id: int) -> None:
        """The socket's record goes with it."""
        await self._logged(socket_id, "close", (socket_id,), lambda: self.raw.close(socket_id))

    async def get_info(self, socket_id: int) -> InfoT:
        return await self._logged(
            socket_id, "getInfo", (socket_id,), lambda: self.raw.get_info(socket_id)
        )

    async def get_sockets(self) -> list[InfoT]:
        return await self._logged(None, "getSockets", (), self.raw.get_sockets)

    async def close_all(self, *, log: bool = False) -> None:
        """Close every socket of the kind (the window is closing): one core call unless
        ``log``."""
        if log:
            for key in self._keys():
                with contextlib.suppress(SocketNotFoundError):
                    await self.close(key.id)
        else:
            await self.raw.shutdown()

    def detach(self) -> None:
        """Stop answering the core's events (the session is ending)."""
        for event, listener in self._listening:
            event.remove_listener(listener)
        self._listening.clear()
