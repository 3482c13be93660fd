"""pcapng export: a socket's capture as packets Wireshark follows (the evidence for a bug report).

Each TCP socket becomes a synthesized TCP connection over Ethernet and IPv4 or IPv6, with its
real addresses and ports: the handshake at connect time, data segments with correct sequence
and acknowledgement numbers at the times the bytes were captured, and the end as it happened
(the export contract, rows X1-X8). A UDP socket's datagrams become
one UDP packet each. Every packet carries the pcapng direction flag.

The blocks (section header, interface, enhanced packets with their options) are written by
dpkt's pcapng writer; the frames inside them are built here with ``struct``, and the
checksums computed in C arithmetic: a sum of 16-bit words modulo 0xFFFF is the number the
bytes spell modulo 0xFFFF (65536 ≡ 1), so ``int.from_bytes(...) % 0xFFFF`` is the one's
complement sum without a Python loop over the words.

The export reads the capture a segment at a time: its memory does not grow with the socket.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

from workbench.core.capture import CaptureStore, DatagramStore, Direction

__all__ = [
    "MAX_SEGMENT_V4",
    "MAX_SEGMENT_V6",
    "ConnectionEnd",
    "PcapngWriter",
    "TcpConnection",
    "UdpEndpoint",
    "write_tcp_connection",
    "write_udp_socket",
]

#: X1: the payload of one segment: 65,535 minus the IP and TCP headers (IPv4 counts its own
#: 20-byte header in the total length, IPv6's payload length does not).
MAX_SEGMENT_V4 = 65_535 - 20 - 20
MAX_SEGMENT_V6 = 65_535 - 20
#: Locally administered MAC addresses: the capture has no link layer of its own.
MAC_LOCAL = bytes.fromhex("020000000001")
MAC_PEER = bytes.fromhex("020000000002")
_FIN, _SYN, _RST, _PSH, _ACK = 0x01, 0x02, 0x04, 0x08, 0x10
#: epb_flags (option 2 of an enhanced packet block): bits 0-1 are the direction.
_INBOUND, _OUTBOUND = 1, 2
_EPB_FLAGS = 2
_LINKTYPE_ETHERNET = 1
_SNAPLEN = 262_144
#: Whatever the first sequence numbers are, Wireshark shows them relative; fixed ones make
#: exports of the same capture identical.
_ISN_LOCAL, _ISN_PEER = 0x1000_0000, 0x5000_0000


class ConnectionEnd(enum.Enum):
    """How a connection ended (X5)."""

    PEER_FIN = "peer closed"
    PEER_RST = "peer reset"
    OWN_FIN = "closed by this side"
    OWN_RST = "reset by this side"


@dataclasses.dataclass(frozen=True)
class TcpConnection:
    """One socket's connection, as the export needs it."""

    socket_id: int
    local: tuple[str, int]
    peer: tuple[str, int]
    #: wall-clock (epoch) time of the handshake.
    opened_at: float
    store: CaptureStore
    #: the stream offset where this connection's bytes begin in ``store``.
    start_offset: int = 0
    name: str | None = None
    #: X4: accepted by a listening socket (the peer sent the SYN).
    opened_by_peer: bool = False
    end: ConnectionEnd | None = None
    ended_at: float | None = None
    #: after the peer's FIN, when this side closed too (our FIN), if it did.
    own_fin_at: float | None = None
    #: "TLS 1.3, TLS_AES_256_GCM_SHA384, server name mail.test" for a secured socket.
    tls: str | None = None


@dataclasses.dataclass(frozen=True)
class UdpEndpoint:
    """One UDP socket: its bound address, its datagrams (with their peers), its name."""

    socket_id: int
    local: tuple[str, int]
    store: DatagramStore
    name: str | None = None


def _checksum(*parts: bytes) -> int:
    """The Internet checksum (RFC 1071) of the parts in a row; only the last may be odd."""
    total = 0
    for part in parts:
        if len(part) % 2:
            part += b"\0"
        total += int.from_bytes(part, "big") % 0xFFFF
    total %= 0xFFFF
    # In one's complement, a sum ≡ 0 is 0xFFFF unless every word was zero.
    if total == 0 and any(any(part) for part in parts):
        total = 0xFFFF
    return ~total & 0xFFFF


class _Frames:
    """Ethernet + IP headers between one local and one peer address (v4 or v6)."""

    def __init__(self, local: str, peer: str, protocol: int) -> None:
        self.local = ipaddress.ip_address(local)
        self.peer = ipaddress.ip_address(peer)
        if self.local.version != self.peer.version:
            raise ValueError(f"{local} and {peer} are not of one IP version")
        self.v6 = self.local.version == 6
        self.protocol = protocol
        self.max_payload = (
            (MAX_SEGMENT_V6 if self.v6 else MAX_SEGMENT_V4) + 20 - (20 if protocol == 6 else 8)
        )

    def pseudo(self, outbound: bool, length: int) -> bytes:
        src, dst = (self.local, self.peer) if outbound else (self.peer, self.local)
        if self.v6:
            return src.packed + dst.packed + struct.pack("!IxxxB", length, self.protocol)
        return src.packed + dst.packed + struct.pack("!xBH", self.protocol, length)

    def wrap(self, outbound: bool, transport: bytes) -> bytes:
        src, dst = (self.local, self.peer) if outbound else (self.peer, self.local)
        macs = MAC_PEER + MAC_LOCAL if outbound else MAC_LOCAL + MAC_PEER
        if self.v6:
            ip = struct.pack("!IHBB", 0x6000_0000, len(transport), self.protocol, 64)
            return macs + b"\x86\xdd" + ip + src.packed + dst.packed + transport
        head = (
            struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(transport), 0, 0x4000, 64, self.protocol, 0)
            + src.packed
            + dst.packed
        )
        head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
        return macs + b"\x08\x00" + head + transport


class PcapngWriter:
    """One pcapng section with one Ethernet interface; packets with direction and comments."""

    def __init__(self, file: BinaryIO, comment: str) -> None:
        from dpkt import pcapng  # type: ignore[import-untyped]  # dpkt has no type hints

        self._pcapng: Any = pcapng
        shb = pcapng.SectionHeaderBlockLE(opts=self._options(comment))
        idb = pcapng.InterfaceDescriptionBlockLE(snaplen=_SNAPLEN, linktype=_LINKTYPE_ETHERNET)
        self._writer = pcapng.Writer(file, shb=shb, idb=idb)
        self.packets = 0

    def _options(self, comment: str | None, flags: int | None = None) -> list[Any]:
        option = self._pcapng.PcapngOptionLE
        opts = []
        if comment:
            opts.append(option(code=self._pcapng.PCAPNG_OPT_COMMENT, text=comment))
        if flags is not None:
            opts.append(option(code=_EPB_FLAGS, data=struct.pack("<I", flags)))
        if opts:
            opts.append(option(code=self._pcapng.PCAPNG_OPT_ENDOFOPT))
        return opts

    def packet(
        self, timestamp: float, frame: bytes, inbound: bool, comment: str | None = None
    ) -> None:
        """One frame at ``timestamp`` (epoch seconds), inbound or outbound (X3)."""
        epb = self._pcapng.EnhancedPacketBlockLE(
            pkt_data=frame, opts=self._options(comment, _INBOUND if inbound else _OUTBOUND)
        )
        self._writer.writepkt(epb, ts=timestamp)
        self.packets += 1


class _TcpFlow:
    """The sequence numbers of one synthesized connection, and its frames."""

    def __init__(self, writer: PcapngWriter, conn: TcpConnection) -> None:
        self.writer = writer
        self.frames = _Frames(conn.local[0], conn.peer[0], 6)
        self.ports = conn.local[1], conn.peer[1]
        self.seq = {True: _ISN_LOCAL, False: _ISN_PEER}  # by "outbound"
        self.comment: str | None = None

    def send(self, at: float, outbound: bool, flags: int, payload: bytes = b"") -> None:
        sport, dport = self.ports if outbound else self.ports[::-1]
        seq, ack = self.seq[outbound], self.seq[not outbound]
        if not flags & _ACK:
            ack = 0
        header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = self.frames.pseudo(outbound, len(header) + len(payload))
        header = header[:16] + struct.pack("!H", _checksum(pseudo, header, payload)) + header[18:]
        self.writer.packet(
            at, self.frames.wrap(outbound, header + payload), not outbound, self.comment
        )
        self.comment = None
        self.seq[outbound] = (seq + len(payload) + (1 if flags & (_SYN | _FIN) else 0)) % 2**32


def write_tcp_connection(
    writer: PcapngWriter,
    conn: TcpConnection,
    comment: str,
    progress: Callable[[int], bool] | None = None,
) -> None:
    """Write ``conn``: handshake, data, end. ``progress(bytes written)`` is told after each
    segment; when it returns False the export stops there (cancelled)."""
    flow = _TcpFlow(writer, conn)
    flow.comment = comment
    opener = not conn.opened_by_peer  # outbound for a socket this side connected (X4)
    flow.send(conn.opened_at, opener, _SYN)
    flow.send(conn.opened_at, not opener, _SYN | _ACK)
    flow.send(conn.opened_at, opener, _ACK)
    if not _write_data(flow, conn, progress):
        return
    _write_end(flow, conn)


def _write_data(
    flow: _TcpFlow, conn: TcpConnection, progress: Callable[[int], bool] | None
) -> bool:
    store = conn.store
    store.sync()
    size = flow.frames.max_payload
    done = 0
    for i in range(store.record_count):
        record = store.record(i)
        start = max(record.stream_offset, conn.start_offset)
        outbound = record.direction is Direction.OUT
        while start < record.end:
            n = min(size, record.end - start)
            flow.send(record.timestamp, outbound, _PSH | _ACK, store.read(start, n))
            start += n
            done += n
            if progress is not None and not progress(done):
                return False
    return True


def _write_end(flow: _TcpFlow, conn: TcpConnection) -> None:
    at = conn.ended_at if conn.ended_at is not None else conn.opened_at
    if conn.end is ConnectionEnd.PEER_FIN:
        flow.send(at, False, _FIN | _ACK)
        flow.send(at, True, _ACK)
        if conn.own_fin_at is not None:
            flow.send(conn.own_fin_at, True, _FIN | _ACK)
            flow.send(conn.own_fin_at, False, _ACK)
    elif conn.end is ConnectionEnd.OWN_FIN:
        flow.send(at, True, _FIN | _ACK)
        flow.send(at, False, _ACK)
    elif conn.end is ConnectionEnd.PEER_RST:
        flow.send(at, False, _RST)  # X5: the peer's RST is the last packet
    elif conn.end is ConnectionEnd.OWN_RST:
        flow.send(at, True, _RST | _ACK)


def write_udp_socket(writer: PcapngWriter, endpoint: UdpEndpoint, comment: str) -> None:
    """One UDP packet per datagram, to or from its own peer."""
    store = endpoint.store
    store.sync()
    first = True
    for i in range(store.record_count):
        datagram = store.datagram(i)
        record = datagram.record
        if not datagram.address:
            continue  # a datagram whose peer is unknown has no packet to be
        frames = _Frames(endpoint.local[0], datagram.address, 17)
        outbound = record.direction is Direction.OUT
        payload = store.read(record.stream_offset, record.size)
        ports = (endpoint.local[1], datagram.port)
        sport, dport = ports if outbound else ports[::-1]
        header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        pseudo = frames.pseudo(outbound, len(header) + len(payload))
        header = header[:6] + struct.pack("!H", _checksum(pseudo, header, payload))
        writer.packet(
            record.timestamp,
            frames.wrap(outbound, header + payload),
            not outbound,
            comment if first else None,
        )
        first = False
