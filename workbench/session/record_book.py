"""What the registry's books of a socket kind with a core of its own share (``ServerBook`` for
``TcpServerSockets``, ``UdpBook`` for ``UdpSockets``): the records by id, watching one core, and
following its ``on_changed``: a record is inserted for each socket it has or creates, updated
and marked as the socket changes, and removed when it is closed, with the registry's
``inserted``, ``mark`` and ``removed``.

A subclass names its kind and the core's events it follows, makes its records, and says what a
change other than a close does to a record.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from workbench.core.events import Event
from workbench.core.types import ChangeReason
from workbench.session.keys import SocketKey, SocketKind

__all__ = ["RecordBook"]


class _Registry(Protocol):
    """What every book needs of the ``Registry`` that owns it."""

    inserted: Event[SocketKey]
    removed: Event[SocketKey]

    def mark(self, key: SocketKey) -> None: ...


class _Record(Protocol):
    @property
    def key(self) -> SocketKey: ...


class _Change(Protocol):
    """What every core's ``on_changed`` reports (``ServerChange``, ``UdpChange``)."""

    @property
    def socket_id(self) -> int: ...

    @property
    def reason(self) -> ChangeReason: ...


CoreT = TypeVar("CoreT")
ChangeT = TypeVar("ChangeT", bound=_Change)
RecordT = TypeVar("RecordT", bound=_Record)
#: a core's event and the book's listener to it.
Listening = tuple[Event[Any], Callable[[Any], object]]


class RecordBook(abc.ABC, Generic[CoreT, ChangeT, RecordT]):
    """Records by id of the sockets of one core (``watch``), of ``kind``."""

    #: the kind of the records' keys.
    kind: ClassVar[SocketKind]
    #: what ``repr`` counts: ``<ServerBook servers=2>``.
    counted: ClassVar[str]

    def __init__(self, registry: _Registry) -> None:
        self._registry = registry
        self._records: dict[int, RecordT] = {}
        self._watched: CoreT | None = None
        self._listening: list[Listening] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.counted}={len(self._records)}>"

    @abc.abstractmethod
    def _events(self, core: CoreT) -> list[Listening]:
        """The events of ``core`` the book follows, its ``on_changed`` (``_on_changed``) first."""

    @abc.abstractmethod
    def _ids(self, core: CoreT) -> list[int]:
        """The ids of the sockets ``core`` has now."""

    @abc.abstractmethod
    def _new_record(self, key: SocketKey, core: CoreT) -> RecordT:
        """The record of ``core``'s socket ``key.id``, as it is now."""

    @abc.abstractmethod
    def _update(self, record: RecordT, change: ChangeT) -> None:
        """What ``change`` (not a close) does to ``record``; the book marks it afterwards."""

    def watch(self, core: CoreT) -> None:
        """List every socket of ``core``, those it has now and those it creates later."""
        if self._watched is not None:
            raise RuntimeError(f"this registry already watches a {type(self._watched).__name__}")
        self._watched = core
        self._listening = self._events(core)
        for event, listener in self._listening:
            event.add_listener(listener)
        for sid in self._ids(core):
            self._insert(sid, core)

    def unwatch(self) -> None:
        core, self._watched = self._watched, None
        if core is not None:
            for event, listener in self._listening:
                event.remove_listener(listener)
            self._listening = []

    # -- queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[SocketKey]:
        return iter([record.key for _, record in sorted(self._records.items())])

    def get(self, socket_id: int) -> RecordT | None:
        return self._records.get(socket_id)

    # -- the core's events ------------------------------------------------------------------

    def _insert(self, socket_id: int, core: CoreT) -> None:
        key = SocketKey(self.kind, socket_id)
        self._records[socket_id] = self._new_record(key, core)
        self._registry.inserted.dispatch(key)

    def _remove(self, socket_id: int) -> RecordT | None:
        """The closed socket's record out of the book (and the registry), or None."""
        record = self._records.pop(socket_id, None)
        if record is not None:
            self._registry.removed.dispatch(record.key)
        return record

    def _on_changed(self, change: ChangeT) -> None:
        sid = change.socket_id
        if change.reason is ChangeReason.CLOSED:
            self._remove(sid)
            return
        record = self._records.get(sid)
        if record is None:
            if self._watched is not None:
                self._insert(sid, self._watched)
            return
        self._update(record, change)
        self._registry.mark(record.key)
