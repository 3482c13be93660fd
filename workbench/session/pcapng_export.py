"""Export sockets to one pcapng file (``workbench.core.pcapng``), from the session's records.

A TCP socket's last connection becomes one synthesized connection: its addresses, its open and
end times and its TLS come from the record (``SocketRecord.connection``), its bytes from its
capture. A UDP socket's datagrams become UDP packets. Sockets go into the file in the order
given (the window gives socket order), each connection's first packet with its comment (X8).
A socket that never connected, or a UDP socket never bound, has nothing to export and is
listed as skipped, with why.

The capture holds plaintext (what the application saw), so a secured socket's packets are
its plaintext over TCP, and its comment says so.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from workbench import __version__
from workbench.core.errors import NetError
from workbench.core.pcapng import (
    ConnectionEnd,
    PcapngWriter,
    TcpConnection,
    UdpEndpoint,
    write_tcp_connection,
    write_udp_socket,
)
from workbench.session.record import SocketRecord, UdpRecord

__all__ = ["ExportResult", "export_pcapng", "tcp_connection"]

PROGRAM = f"Socket Workbench {__version__}"


@dataclasses.dataclass
class ExportResult:
    path: Path
    packets: int = 0
    sockets: int = 0
    #: "socket 3: it never connected" for each socket with nothing to export.
    skipped: list[str] = dataclasses.field(default_factory=list)
    cancelled: bool = False


def _end(record: SocketRecord) -> ConnectionEnd | None:
    connection = record.connection
    if connection is None or connection.ended_at is None:
        return None
    if connection.reset:
        return ConnectionEnd.OWN_RST  # X5: an RST of ours only where this side reset
    if record.peer_end is None:
        return ConnectionEnd.OWN_FIN
    if record.peer_end == NetError.CONNECTION_CLOSED:
        return ConnectionEnd.PEER_FIN
    return ConnectionEnd.PEER_RST


def tcp_connection(record: SocketRecord) -> TcpConnection | None:
    """The record's last connection as the export writes it (None: it never connected)."""
    connection = record.connection
    if connection is None or not connection.local[0] or not connection.peer[0]:
        return None
    end = _end(record)
    # After the peer's FIN the core closes its side at once (contract R3): our FIN follows.
    own_fin = connection.ended_at if end is ConnectionEnd.PEER_FIN else None
    tls = connection.tls
    facts = None
    if tls is not None:
        facts = f"{tls.version.replace('TLSv', 'TLS ')}, {tls.cipher}"
        if tls.server_name:
            facts += f", server name {tls.server_name}"
    return TcpConnection(
        socket_id=record.key.id,
        local=connection.local,
        peer=connection.peer,
        opened_at=connection.opened_at,
        store=record.capture,
        start_offset=connection.start_offset,
        name=record.info.name,
        opened_by_peer=record.server is not None,
        end=end,
        ended_at=connection.ended_at,
        own_fin_at=own_fin,
        tls=facts,
    )


def _comment(kind: str, socket_id: int, name: str | None, tls: str | None = None) -> str:
    text = f"{PROGRAM}: {kind} socket {socket_id}"
    if name:
        text += f' "{name}"'
    if tls:
        text += f"; secured with {tls}; plaintext as the application saw it"
    return text


def export_pcapng(
    path: str | Path,
    tcp: Sequence[SocketRecord] = (),
    udp: Sequence[UdpRecord] = (),
    *,
    progress: Callable[[int], bool] | None = None,
) -> ExportResult:
    """Write the sockets to ``path``. ``progress(bytes so far)`` is told as it goes; when it
    returns False the export stops and the partial file is removed (``cancelled``)."""
    target = Path(path)
    result = ExportResult(target)
    done = 0

    def step(n: int) -> bool:
        if progress is not None and not progress(done + n):
            result.cancelled = True
        return not result.cancelled

    with target.open("wb") as file:
        writer = PcapngWriter(file, PROGRAM)
        for record in tcp:
            conn = tcp_connection(record)
            if conn is None:
                result.skipped.append(f"socket {record.key.id}: it never connected")
                continue
            comment = _comment("TCP", conn.socket_id, conn.name, conn.tls)
            write_tcp_connection(writer, conn, comment, step)
            if result.cancelled:
                break
            done += record.capture.total_bytes - conn.start_offset
            result.sockets += 1
        for udp_record in udp if not result.cancelled else ():
            info = udp_record.info
            if not info.local_address or not info.local_port:
                result.skipped.append(f"UDP socket {info.socket_id}: it is not bound")
                continue
            endpoint = UdpEndpoint(
                info.socket_id, (info.local_address, info.local_port), udp_record.capture, info.name
            )
            write_udp_socket(writer, endpoint, _comment("UDP", info.socket_id, info.name))
            result.sockets += 1
        result.packets = writer.packets
    if result.cancelled:
        os.unlink(target)
    return result
