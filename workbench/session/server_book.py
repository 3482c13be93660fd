"""The registry's listening sockets: every server of one ``TcpServerSockets``, whoever created
it, with its accept counts, and the link from each accepted TCP socket to its server.

It learns from the core's own events (``TcpServerSockets.on_changed``, ``on_accept``,
``on_accept_error``), and publishes through the registry's events: ``inserted`` and
``removed`` with a ``SocketKey(SocketKind.TCP_SERVER, id)``, and ``mark`` for everything else,
so the views take server changes with the same ``take_changes()`` as socket changes. Each
event costs O(1): counts are kept as they change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from workbench.core.events import Event
from workbench.core.types import AcceptErrorInfo, AcceptInfo, ChangeReason, ServerChange
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import ServerRecord, SocketRecord

if TYPE_CHECKING:
    from workbench.net.tcp_server import TcpServerSockets

__all__ = ["ServerBook"]


class _Registry(Protocol):
    """What the book needs of the ``Registry`` that owns it."""

    inserted: Event[SocketKey]
    removed: Event[SocketKey]

    def mark(self, key: SocketKey) -> None: ...

    def tcp_record(self, socket_id: int) -> SocketRecord | None: ...


class ServerBook:
    """Server records by id; the registry's ``watch_servers`` starts it."""

    def __init__(self, registry: _Registry) -> None:
        self._registry = registry
        self._records: dict[int, ServerRecord] = {}
        self._watched: TcpServerSockets | None = None

    def __repr__(self) -> str:
        return f"<ServerBook servers={len(self._records)}>"

    def watch(self, servers: TcpServerSockets) -> None:
        """List every server of ``servers``, those it has now and those it creates later."""
        if self._watched is not None:
            raise RuntimeError("this registry already watches a TcpServerSockets")
        self._watched = servers
        servers.on_changed.add_listener(self._on_changed)
        servers.on_accept.add_listener(self._on_accept)
        servers.on_accept_error.add_listener(self._on_accept_error)
        for sid in servers.server_ids():
            self._insert(sid, servers)

    def unwatch(self) -> None:
        servers, self._watched = self._watched, None
        if servers is not None:
            servers.on_changed.remove_listener(self._on_changed)
            servers.on_accept.remove_listener(self._on_accept)
            servers.on_accept_error.remove_listener(self._on_accept_error)

    # -- queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[SocketKey]:
        return iter([record.key for _, record in sorted(self._records.items())])

    def get(self, socket_id: int) -> ServerRecord | None:
        return self._records.get(socket_id)

    # -- what the registry tells --------------------------------------------------------------

    def client_connected(self, record: SocketRecord, delta: int) -> None:
        """An accepted socket connected (+1) or stopped being connected (-1: it ended, or
        was closed while connected): its server's count of open connections follows."""
        server = record.server
        book = self._records.get(server.id) if server is not None else None
        if book is not None and server is not None:
            book.open += delta
            self._registry.mark(server)

    # -- the core's events ------------------------------------------------------------------

    def _insert(self, socket_id: int, servers: TcpServerSockets) -> None:
        key = SocketKey(SocketKind.TCP_SERVER, socket_id)
        self._records[socket_id] = ServerRecord(key=key, info=servers.info_now(socket_id))
        self._registry.inserted.dispatch(key)

    def _on_changed(self, change: ServerChange) -> None:
        sid = change.socket_id
        if change.reason is ChangeReason.CLOSED:
            record = self._records.pop(sid, None)
            if record is not None:
                self._registry.removed.dispatch(record.key)
            return
        record = self._records.get(sid)
        if record is None:
            if self._watched is not None:
                self._insert(sid, self._watched)
            return
        if change.info is not None:
            record.info = change.info
            if not change.info.paused and change.reason is not ChangeReason.PROPERTIES:
                # Listening again, or resumed: the last accept error is history (L10).
                record.accept_error = None
        self._registry.mark(record.key)

    def _on_accept(self, info: AcceptInfo) -> None:
        record = self._records.get(info.socket_id)
        client = self._registry.tcp_record(info.client_socket_id)
        if record is None or client is None:
            return
        record.accepted += 1
        client.server = record.key
        if client.state.connected:
            record.open += 1
        self._registry.mark(record.key)
        self._registry.mark(client.key)

    def _on_accept_error(self, info: AcceptErrorInfo) -> None:
        record = self._records.get(info.socket_id)
        if record is not None:
            record.accept_error = info.result_code
            self._registry.mark(record.key)
