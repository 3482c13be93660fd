"""The registry: every socket the session watches, its capture, and what changed since the
views last looked.

It learns about sockets from the core's own events (``TcpSockets.on_changed``, ``on_receive``,
``on_receive_error``), so it lists every socket of the ``TcpSockets`` it watches, whoever
created it: the user, a restored session, a script or a test calling the core directly.
``watch_servers`` does the same for the listening sockets of a ``TcpServerSockets``
(``session.server_book``): their records are ``ServerRecord``s, kept apart from the TCP
``SocketRecord``s (``get``, ``__iter__`` and ``len`` are the TCP sockets'; ``server``,
``server_keys`` and ``server_count`` the servers'), but their keys travel on the same
``inserted``, ``removed`` and ``dirty`` events and come back from the same ``take_changes``.
``watch_udp`` lists the sockets of a ``UdpSockets`` (``session.udp_book``) the same way, as
``UdpRecord``s (``udp``, ``udp_record``, ``udp_keys``, ``udp_count``).

Structure changes (a socket inserted or removed) are events at once; everything else is
coalesced: a change marks the socket, the first mark after a ``take_changes()`` dispatches
``dirty``, and the view that listens to ``dirty`` collects every mark at its own pace (one
timer in the window, at most 40 times a second). Nothing here walks all the sockets for one
change: counts are kept as they change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from workbench.core.capture import CaptureStore, DatagramStore, Direction
from workbench.core.errors import NetError
from workbench.core.events import Event
from workbench.core.formatting import format_size
from workbench.core.types import ChangeReason, ReceivedRun, ReceiveErrorInfo, SocketChange
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import Connection, ServerRecord, SocketRecord, UdpRecord
from workbench.session.server_book import ServerBook
from workbench.session.udp_book import UdpBook

if TYPE_CHECKING:
    from workbench.net.tcp import TcpSockets
    from workbench.net.tcp_server import TcpServerSockets
    from workbench.net.udp import UdpSockets

__all__ = ["DEFAULT_CAPTURE_LIMIT", "Changes", "Registry"]

_log = logging.getLogger("workbench.session")
_IN = Direction.IN

#: What a socket's capture keeps by default: 1 GiB; past it the bytes are counted, not kept.
DEFAULT_CAPTURE_LIMIT = 1 << 30

class Changes(NamedTuple):
    """What ``Registry.take_changes`` hands over (sets of keys of sockets still here)."""

    #: Every socket whose row changed: marked, or its capture grew (its counters did).
    changed: set[SocketKey]
    #: The sockets whose capture has new bytes (a subset of ``changed``).
    grew: set[SocketKey]
    #: The sockets marked for something other than bytes received: a state, a call's
    #: result, bytes sent, a capture that stopped (a subset of ``changed``). What shows only
    #: counters need not redraw for the others.
    marked: set[SocketKey]


class Registry:
    """Events: ``inserted`` (key), ``removed`` (key, after the record is gone, before its
    capture is closed), ``dirty`` (None: something changed since the last ``take_changes``).

    ``new_store`` makes a TCP socket's capture, ``new_datagram_store`` a UDP socket's
    (by default a ``DatagramStore`` of its own in the system's temporary folder)."""

    def __init__(
        self,
        new_store: Callable[[], CaptureStore],
        capture_limit: int = DEFAULT_CAPTURE_LIMIT,
        *,
        new_datagram_store: Callable[[], DatagramStore] = DatagramStore,
    ) -> None:
        self.inserted: Event[SocketKey] = Event("inserted")
        self.removed: Event[SocketKey] = Event("removed")
        self.dirty: Event[None] = Event("dirty")
        self.capture_limit = capture_limit
        self._new_store = new_store
        self._records: dict[SocketKey, SocketRecord] = {}
        # The receive path looks sockets up by the core's int id: no key built per chunk.
        self._tcp: dict[int, SocketRecord] = {}
        self._changed: set[SocketKey] = set()
        self._grew: set[SocketKey] = set()
        # TCP sockets grown by the receive path, by id: an int in a set costs less per chunk
        # than a key (whose kind hashes in Python). take_changes() adds them to both sets.
        self._received: set[int] = set()
        self._connected = 0
        self._watched: TcpSockets | None = None
        self._servers = ServerBook(self)
        self._udp = UdpBook(self, new_datagram_store)

    def __repr__(self) -> str:
        return f"<Registry sockets={len(self._records)} connected={self._connected}>"

    # -- watching the core ----------------------------------------------------------------

    def watch_tcp(self, tcp: TcpSockets) -> None:
        """List every socket of ``tcp``, those it has now and those it creates later."""
        if self._watched is not None:
            raise RuntimeError("this registry already watches a TcpSockets")
        self._watched = tcp
        tcp.on_changed.add_listener(self._on_changed)
        tcp.on_received_run.add_listener(self._on_received_run)
        tcp.on_receive_error.add_listener(self._on_receive_error)
        for sid in tcp.socket_ids():
            self._insert(SocketKey.tcp(sid), tcp)

    def watch_servers(self, servers: TcpServerSockets) -> None:
        """List every listening socket of ``servers`` (those it has now and those it creates
        later) as a ``ServerRecord`` keyed ``SocketKey(SocketKind.TCP_SERVER, id)``, and link
        each socket it accepts to its server (``SocketRecord.server``). ``servers`` should
        accept into the ``TcpSockets`` this registry watches."""
        self._servers.watch(servers)

    def watch_udp(self, udp: UdpSockets) -> None:
        """List every socket of ``udp`` (those it has now and those it creates later) as a
        ``UdpRecord`` keyed ``SocketKey(SocketKind.UDP, id)``, with its capture (one record
        per datagram, with its peer and original length) and counters."""
        self._udp.watch(udp)

    def unwatch(self) -> None:
        self._servers.unwatch()
        self._udp.unwatch()
        tcp, self._watched = self._watched, None
        if tcp is not None:
            tcp.on_changed.remove_listener(self._on_changed)
            tcp.on_received_run.remove_listener(self._on_received_run)
            tcp.on_receive_error.remove_listener(self._on_receive_error)

    def close(self) -> None:
        """Stop watching and close every capture (the records stay readable)."""
        self.unwatch()
        for record in self._records.values():
            record.capture.close()
        self._udp.close()

    # -- queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[SocketKey]:
        return iter(list(self._records))

    def get(self, key: SocketKey) -> SocketRecord | None:
        return self._records.get(key)

    def tcp_record(self, socket_id: int) -> SocketRecord | None:
        """The record of TCP socket ``socket_id``, without building a key (views ask this
        thousands of times a repaint)."""
        return self._tcp.get(socket_id)

    def __getitem__(self, key: SocketKey) -> SocketRecord:
        return self._records[key]

    @property
    def connected_count(self) -> int:
        return self._connected

    def server(self, key: SocketKey) -> ServerRecord | None:
        """The record of listening socket ``key`` (a ``TCP_SERVER`` key), or None."""
        return self._servers.get(key.id) if key.kind is SocketKind.TCP_SERVER else None

    def server_keys(self) -> list[SocketKey]:
        """The listening sockets' keys, in id order."""
        return list(self._servers)

    @property
    def server_count(self) -> int:
        return len(self._servers)

    def udp(self, key: SocketKey) -> UdpRecord | None:
        """The record of UDP socket ``key`` (a ``UDP`` key), or None."""
        return self._udp.get(key.id) if key.kind is SocketKind.UDP else None

    def udp_record(self, socket_id: int) -> UdpRecord | None:
        return self._udp.get(socket_id)

    def udp_keys(self) -> list[SocketKey]:
        """The UDP sockets' keys, in id order."""
        return list(self._udp)

    @property
    def udp_count(self) -> int:
        return len(self._udp)

    # -- changes ----------------------------------------------------------------------------

    def unmarked(self) -> bool:
        """Nothing marked since the last ``take_changes``: the next mark dispatches ``dirty``."""
        return not self._changed and not self._grew and not self._received and not self._udp.grown

    def mark(self, key: SocketKey) -> None:
        """Something about ``key`` changed that views show."""
        if self.unmarked():
            self._changed.add(key)
            self.dirty.dispatch(None)
        else:
            self._changed.add(key)

    def mark_grew(self, key: SocketKey) -> None:
        """The capture of ``key`` has new bytes (and views show that)."""
        if self.unmarked():
            self._grew.add(key)
            self.dirty.dispatch(None)
        else:
            self._grew.add(key)
        self._changed.add(key)

    def take_changes(self) -> Changes:
        """(changed, grew, marked) since the last call, for sockets still here (``Changes``);
        all then start empty.

        The captures that grew write the bytes they hold (``write_behind``) now: held bytes
        do not outlive a look, however many sockets go quiet holding some, and a write that
        fails shows on the row at the next look."""
        changed, grew, received = self._changed, self._grew, self._received
        self._changed, self._grew, self._received = set(), set(), set()
        tcp = self._tcp
        grew.update(tcp[sid].key for sid in received if sid in tcp)
        grew |= self._udp.take_grown()
        marked = set(changed)
        changed |= grew
        records = self._records
        kept = {k for k in grew if k in records or self.udp(k) is not None}
        for key in kept:
            self._sync(records.get(key) or self._udp.get(key.id))
        here = {
            k
            for k in changed
            if k in records or self.server(k) is not None or self.udp(k) is not None
        }
        return Changes(here, kept, marked & here)

    def _sync(self, record: SocketRecord | UdpRecord | None) -> None:
        if record is None:
            return
        store = record.capture
        if store.closed:
            return
        store.sync()
        if store.failed is not None and record.capture_stopped is None:
            self.capture_failed(record)

    # -- what the session writes ------------------------------------------------------------

    def set_error(self, key: SocketKey, code: int | None) -> None:
        record = self._records.get(key)
        if record is not None and record.error != code:
            record.error = code
            self.mark(key)

    def set_result(self, key: SocketKey, control: str, code: int) -> None:
        record = self._records.get(key)
        if record is not None:
            record.results[control] = code

    def forget_results(self, key: SocketKey, *controls: str) -> None:
        """Results that no longer describe the socket (a reconnect makes the last secure()'s
        -202 and disconnect()'s OK history): the controls show nothing until called again."""
        record = self._records.get(key)
        if record is None:
            return
        dropped = [record.results.pop(c, None) for c in controls]
        if any(code is not None for code in dropped):
            self.mark(key)

    def record_sent(self, key: SocketKey, data: bytes) -> None:
        record = self._records.get(key)
        if record is None or not data:
            return
        self._capture(record, Direction.OUT, data)
        record.sent += len(data)
        self.mark_grew(key)

    def record_sent_datagram(self, key: SocketKey, data: bytes, address: str, port: int) -> None:
        """A datagram sent on UDP socket ``key`` to ``address``:``port``: into its capture,
        with its destination as its peer, and counted."""
        if key.kind is SocketKind.UDP:
            self._udp.record_sent(key.id, data, address, port)

    def clear_capture(self, key: SocketKey) -> CaptureStore:
        """Replace the socket's capture with an empty one (Clear data); the counters stay,
        and recording starts again if it had stopped. A UDP socket's is a
        ``DatagramStore``."""
        if key.kind is SocketKind.UDP:
            if self._udp.get(key.id) is None:
                raise KeyError(key)
            return self._udp.clear_capture(key.id)
        record = self._records[key]
        old, record.capture = record.capture, self._new_store()
        record.capture_stopped = None
        old.close()
        self.mark_grew(key)
        return record.capture

    def _capture(
        self, record: SocketRecord, direction: Direction, data: bytes | memoryview
    ) -> None:
        """Keep ``data`` up to ``capture_limit``; past it, say why the capture stopped."""
        if record.capture_stopped is not None:
            return
        store = record.capture
        room = self.capture_limit - store.total_bytes
        if len(data) > room:
            if room > 0:
                store.append(direction, data[:room])
            self.capture_full(record)
            return
        store.append(direction, data)
        if store.failed is not None:
            self.capture_failed(record)

    def check_captures(self) -> None:
        """A capture's write failed on the spool's writer thread: every capture still
        recording asks its store (an O(1) look each), and those that stopped say so."""
        for record in list(self._tcp.values()):
            if record.capture_stopped is None and record.capture.failed is not None:
                self.capture_failed(record)
        self._udp.check_captures()

    def capture_full(self, record: SocketRecord | UdpRecord) -> None:
        """The capture reached ``capture_limit``: later bytes are counted, not kept."""
        record.capture_stopped = (
            f"the capture limit of {format_size(self.capture_limit)} was reached"
        )
        self.mark(record.key)

    def capture_failed(self, record: SocketRecord | UdpRecord) -> None:
        """The capture's write failed: it stops, and the row says why."""
        # The disk is full (or the folder went away): the store keeps counting, the
        # counters stay true, sending goes on; the row and the data pane say why.
        failed = record.capture.failed
        record.capture_stopped = f"could not write the capture: {failed}"
        _log.warning("socket %s: the capture stopped: %s", record.key, failed)
        self.mark(record.key)

    # -- the core's events ------------------------------------------------------------------

    def _insert(self, key: SocketKey, tcp: TcpSockets) -> SocketRecord:
        record = SocketRecord(
            key=key,
            info=tcp.info_now(key.id),
            state=tcp.state_of(key.id),
            capture=self._new_store(),
        )
        self._records[key] = record
        self._tcp[key.id] = record
        if record.state.connected:
            record.ever_connected = True
            self._connected += 1
            if record.info.peer_address:
                record.last_peer = (record.info.peer_address, record.info.peer_port or 0)
            _track_connection(record, True)
        self.inserted.dispatch(key)
        return record

    def _remove(self, key: SocketKey) -> None:
        record = self._records.pop(key, None)
        if record is None:
            return
        self._tcp.pop(key.id, None)
        if record.state.connected:
            self._connected -= 1
            self._servers.client_connected(record, -1)
        self._changed.discard(key)
        self._grew.discard(key)
        if key.kind is SocketKind.TCP:
            self._received.discard(key.id)
        self.removed.dispatch(key)
        record.capture.close()

    def _on_changed(self, change: SocketChange) -> None:
        key = SocketKey(SocketKind.TCP, change.socket_id)
        if change.reason is ChangeReason.CLOSED:
            self._remove(key)
            return
        record = self._tcp.get(change.socket_id)
        if record is None:
            if self._watched is not None:
                self._insert(key, self._watched)
            return
        if change.info is not None:
            record.info = change.info
            if change.info.connected and change.info.peer_address:
                record.last_peer = (change.info.peer_address, change.info.peer_port or 0)
        if change.state is not None and change.state is not record.state:
            was, now = record.state.connected, change.state.connected
            record.state = change.state
            self._connected += int(now) - int(was)
            if now:
                record.ever_connected = True
            if now != was:
                self._servers.client_connected(record, int(now) - int(was))
                _track_connection(record, now)
                if not now and record.connection is not None and self._watched is not None:
                    record.connection.reset = self._watched.ended_by_reset(change.socket_id)
        if record.connection is not None and record.info.tls is not None:
            # Secured (SECURING -> SECURE: a state change that stays connected): the export
            # names its TLS.
            record.connection.tls = record.info.tls
        self.mark(key)

    def _on_received_run(self, run: ReceivedRun) -> None:
        # Once per read (256 KiB at most), not per chunk: the capture and the counters take a
        # run of on_receive events at once. The common case, a capture that keeps everything,
        # takes the short way, with no key hashed.
        sid = run.socket_id
        record = self._tcp.get(sid)
        if record is None:
            return
        data = run.data
        if record.capture_stopped is None:
            store = record.capture
            if store.total_bytes + len(data) > self.capture_limit:
                self._capture(record, _IN, data)  # keeps what fits, says why it stopped
            elif not store.add(_IN, data):
                self.capture_failed(record)
        record.received += len(data)
        received = self._received
        if sid not in received:
            if self.unmarked():
                received.add(sid)
                self.dirty.dispatch(None)
            else:
                received.add(sid)

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        record = self._tcp.get(info.socket_id)
        if record is None:
            return
        # A peer that closes is a normal end; anything else is shown as an error on the row.
        code = info.result_code
        record.error = None if code == NetError.CONNECTION_CLOSED else code
        if code in (NetError.SSL_CLIENT_AUTH_CERT_NEEDED, NetError.BAD_SSL_CLIENT_AUTH_CERT):
            # TLS 1.3's late verdict on the client certificate is secure()'s real answer:
            # the TLS tab shows it beside Secure, where the 0 was.
            record.results["secure"] = code
        self.mark(record.key)


def _track_connection(record: SocketRecord, connected: bool) -> None:
    """A connection began (its facts start) or ended (its end time)."""
    info = record.info
    if connected:
        record.connection = Connection(
            opened_at=time.time(),
            start_offset=record.capture.total_bytes,
            local=(info.local_address or "", info.local_port or 0),
            peer=(info.peer_address or "", info.peer_port or 0),
            tls=info.tls,
        )
    elif record.connection is not None and record.connection.ended_at is None:
        record.connection.ended_at = time.time()
