"""The registry's UDP sockets: every socket of one ``UdpSockets``, whoever created it, with its
counters and its capture, one record per datagram with its peer and original length.

It learns from the core's own events (``UdpSockets.on_changed``, ``on_receive``,
``on_receive_error``) and publishes through the registry's: ``inserted`` and ``removed`` with a
``SocketKey(SocketKind.UDP, id)``, ``mark`` for everything else, and the datagrams' arrival the
way TCP's reads are: per socket, once per look. A datagram costs one capture append and a
counter update on its own socket's record, and nothing for any other socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from workbench.core.capture import DatagramStore, Direction
from workbench.core.events import Event
from workbench.core.types import ChangeReason, ReceiveErrorInfo, UdpChange, UdpReceiveInfo
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import UdpRecord

if TYPE_CHECKING:
    from workbench.net.udp import UdpSockets

__all__ = ["UdpBook", "udp_key"]

_IN, _OUT = Direction.IN, Direction.OUT


def udp_key(socket_id: int) -> SocketKey:
    return SocketKey(SocketKind.UDP, socket_id)


class _Registry(Protocol):
    """What the book needs of the ``Registry`` that owns it."""

    inserted: Event[SocketKey]
    removed: Event[SocketKey]
    dirty: Event[None]
    capture_limit: int

    def mark(self, key: SocketKey) -> None: ...

    def mark_grew(self, key: SocketKey) -> None: ...

    def unmarked(self) -> bool: ...

    def capture_full(self, record: UdpRecord) -> None: ...

    def capture_failed(self, record: UdpRecord) -> None: ...


class UdpBook:
    """UDP records by id; the registry's ``watch_udp`` starts it."""

    def __init__(self, registry: _Registry, new_store: Callable[[], DatagramStore]) -> None:
        self._registry = registry
        self._new_store = new_store
        self._records: dict[int, UdpRecord] = {}
        # Sockets that received since the last look, by id (an int hashes faster than a key,
        # once per datagram); the registry takes them with take_grown().
        self._grown: set[int] = set()
        self._watched: UdpSockets | None = None

    def __repr__(self) -> str:
        return f"<UdpBook sockets={len(self._records)}>"

    def watch(self, udp: UdpSockets) -> None:
        """List every socket of ``udp``, those it has now and those it creates later."""
        if self._watched is not None:
            raise RuntimeError("this registry already watches a UdpSockets")
        self._watched = udp
        udp.on_changed.add_listener(self._on_changed)
        udp.on_receive.add_listener(self._on_receive)
        udp.on_receive_error.add_listener(self._on_receive_error)
        for sid in udp.socket_ids():
            self._insert(sid, udp)

    def unwatch(self) -> None:
        udp, self._watched = self._watched, None
        if udp is not None:
            udp.on_changed.remove_listener(self._on_changed)
            udp.on_receive.remove_listener(self._on_receive)
            udp.on_receive_error.remove_listener(self._on_receive_error)

    def close(self) -> None:
        """Close every capture (the records stay readable)."""
        for record in self._records.values():
            record.capture.close()

    # -- queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[SocketKey]:
        return iter([record.key for _, record in sorted(self._records.items())])

    def get(self, socket_id: int) -> UdpRecord | None:
        return self._records.get(socket_id)

    @property
    def grown(self) -> bool:
        """A socket received since the last ``take_grown``."""
        return bool(self._grown)

    def take_grown(self) -> set[SocketKey]:
        """The keys of the sockets that received since the last call (still here)."""
        grown, self._grown = self._grown, set()
        records = self._records
        return {records[sid].key for sid in grown if sid in records}

    # -- what the session writes ------------------------------------------------------------

    def record_sent(self, socket_id: int, data: bytes, address: str, port: int) -> None:
        """A datagram the session sent: into the capture with its destination as its peer
        (as the caller named it: a host name stays a name)."""
        record = self._records.get(socket_id)
        if record is None:
            return
        self._keep(record, _OUT, data, address, port, None)
        record.sent += len(data)
        record.datagrams_out += 1
        self._registry.mark_grew(record.key)

    def clear_capture(self, socket_id: int) -> DatagramStore:
        """Replace the socket's capture with an empty one; the counters stay."""
        record = self._records[socket_id]
        old, record.capture = record.capture, self._new_store()
        record.capture_stopped = None
        old.close()
        self._registry.mark_grew(record.key)
        return record.capture

    def check_captures(self) -> None:
        """A write failed on the spool's writer thread: the captures that stopped say so."""
        for record in list(self._records.values()):
            if record.capture_stopped is None and record.capture.failed is not None:
                self._registry.capture_failed(record)

    def _keep(
        self,
        record: UdpRecord,
        direction: Direction,
        data: bytes,
        address: str,
        port: int,
        original_length: int | None,
    ) -> None:
        # A datagram is kept whole or not at all: past the limit the capture stops.
        if record.capture_stopped is not None:
            return
        store = record.capture
        if store.total_bytes + len(data) > self._registry.capture_limit:
            self._registry.capture_full(record)
        elif not store.add_datagram(direction, data, address, port, original_length):
            self._registry.capture_failed(record)

    # -- the core's events ------------------------------------------------------------------

    def _insert(self, socket_id: int, udp: UdpSockets) -> None:
        key = udp_key(socket_id)
        info = udp.info_now(socket_id)
        self._records[socket_id] = UdpRecord(key=key, info=info, capture=self._new_store())
        self._registry.inserted.dispatch(key)

    def _on_changed(self, change: UdpChange) -> None:
        sid = change.socket_id
        if change.reason is ChangeReason.CLOSED:
            record = self._records.pop(sid, None)
            if record is not None:
                self._grown.discard(sid)
                self._registry.removed.dispatch(record.key)
                record.capture.close()
            return
        record = self._records.get(sid)
        if record is None:
            if self._watched is not None:
                self._insert(sid, self._watched)
            return
        if change.info is not None:
            record.info = change.info
            if change.reason is ChangeReason.PAUSED and not change.info.paused:
                record.error = None  # resumed: the receive error is history
        self._registry.mark(record.key)

    def _on_receive(self, info: UdpReceiveInfo) -> None:
        # Once per datagram: the capture, the counters, and a mark the first time since the
        # last look.
        sid = info.socket_id
        record = self._records.get(sid)
        if record is None:
            return
        data = info.data
        if record.capture_stopped is None:  # _keep(), inlined: this runs per datagram
            store = record.capture
            if store.total_bytes + len(data) > self._registry.capture_limit:
                self._registry.capture_full(record)
            elif not store.add_datagram(
                _IN, data, info.remote_address, info.remote_port, info.original_length
            ):
                self._registry.capture_failed(record)
        record.received += len(data)
        record.datagrams_in += 1
        grown = self._grown
        if sid not in grown:
            if self._registry.unmarked():
                grown.add(sid)
                self._registry.dirty.dispatch(None)
            else:
                grown.add(sid)

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        # 'Once this event is raised, the socket is paused' (D8): the core said PAUSED first.
        record = self._records.get(info.socket_id)
        if record is not None:
            record.error = info.result_code
            self._registry.mark(record.key)
