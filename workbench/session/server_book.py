"""The registry's listening sockets: every server of one ``TcpServerSockets``, whoever created
it, with its accept counts, and the link from each accepted TCP socket to its server.

It learns from the core's own events (``TcpServerSockets.on_changed``, ``on_accept``,
``on_accept_error``), and publishes through the registry's events: ``inserted`` and
``removed`` with a ``SocketKey(SocketKind.TCP_SERVER, id)``, and ``mark`` for everything else,
so the views take server changes with the same ``take_changes()`` as socket changes. Each
event costs O(1): counts are kept as they change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from workbench.core.events import Event
from workbench.core.types import AcceptErrorInfo, AcceptInfo, ChangeReason, ServerChange
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import ServerRecord, SocketRecord
from workbench.session.record_book import Listening, RecordBook

if TYPE_CHECKING:
    from workbench.net.tcp_server import TcpServerSockets

__all__ = ["ServerBook"]


class _Registry(Protocol):
    """What the book needs of the ``Registry`` that owns it."""

    inserted: Event[SocketKey]
    removed: Event[SocketKey]

    def mark(self, key: SocketKey) -> None: ...

    def tcp_record(self, socket_id: int) -> SocketRecord | None: ...


class ServerBook(RecordBook["TcpServerSockets", ServerChange, ServerRecord]):
    """Server records by id; the registry's ``watch_servers`` starts it."""

    kind = SocketKind.TCP_SERVER
    counted = "servers"
    _registry: _Registry

    def __init__(self, registry: _Registry) -> None:
        # Here for its type: the book asks more of its registry than every book does.
        super().__init__(registry)

    def _events(self, servers: TcpServerSockets) -> list[Listening]:
        return [
            (servers.on_changed, self._on_changed),
            (servers.on_accept, self._on_accept),
            (servers.on_accept_error, self._on_accept_error),
        ]

    def _ids(self, servers: TcpServerSockets) -> list[int]:
        return servers.server_ids()

    def _new_record(self, key: SocketKey, servers: TcpServerSockets) -> ServerRecord:
        return ServerRecord(key=key, info=servers.info_now(key.id))

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

    def _update(self, record: ServerRecord, change: ServerChange) -> None:
        if change.info is not None:
            record.info = change.info
            if not change.info.paused and change.reason is not ChangeReason.PROPERTIES:
                # Listening again, or resumed: the last accept error is history (L10).
                record.accept_error = None

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
