"""The registry's UDP sockets: every socket of one ``UdpSockets``, whoever created it, with its
counters and its capture, one record per datagram with its peer and original length.

It learns from the core's own events (``UdpSockets.on_changed``, ``on_receive``,
``on_receive_error``) and publishes through the registry's: ``inserted`` and ``removed`` with a
``SocketKey(SocketKind.UDP, id)``, ``mark`` for everything else, and the datagrams' arrival the
way TCP's reads are: per socket, once per look. A datagram costs one capture append and a
counter update on its own socket's record, and nothing for any other socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from workbench.core.capture import DatagramStore, Direction
from workbench.core.events import Event
from workbench.core.types import ChangeReason, ReceiveErrorInfo, UdpChange, UdpReceiveInfo
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import UdpRecord
from workbench.session.record_book import Listening, RecordBook

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


class UdpBook(RecordBook["UdpSockets", UdpChange, UdpRecord]):
    """UDP records by id; the registry's ``watch_udp`` starts it."""

    kind = SocketKind.UDP
    counted = "sockets"
    _registry: _Registry

    def __init__(self, registry: _Registry, new_store: Callable[[], DatagramStore]) -> None:
        super().__init__(registry)
        self._new_store = new_store
        # Sockets that received since the last look, by id (an int hashes faster than a key,
        # once per datagram); the registry takes them with take_grown().
        self._grown: set[int] = set()

    def _events(self, udp: UdpSockets) -> list[Listening]:
        return [
            (udp.on_changed, self._on_changed),
            (udp.on_receive, self._on_receive),
            (udp.on_receive_error, self._on_receive_error),
        ]

    def _ids(self, udp: UdpSockets) -> list[int]:
        return udp.socket_ids()

    def _new_record(self, key: SocketKey, udp: UdpSockets) -> UdpRecord:
        return UdpRecord(key=key, info=udp.info_now(key.id), capture=self._new_store())

    def close(self) -> None:
        """Close every capture (the records stay readable)."""
        for record in self._records.values():
            record.capture.close()

    # -- queries ----------------------------------------------------------------------------

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

    def _remove(self, socket_id: int) -> UdpRecord | None:
        self._grown.discard(socket_id)
        record = super()._remove(socket_id)
        if record is not None:
            record.capture.close()
        return record

    def _update(self, record: UdpRecord, change: UdpChange) -> None:
        if change.info is not None:
            record.info = change.info
            if change.reason is ChangeReason.PAUSED and not change.info.paused:
                record.error = None  # resumed: the receive error is history

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
