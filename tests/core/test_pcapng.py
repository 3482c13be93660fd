"""The pcapng writer's own rules, read back by tshark: direction flags on every packet (X3),
who opens (X4), the capture's timestamps (X2), segment sizes (X1), comments (X8), and the
checksum against RFC 1071's word-by-word sum."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from workbench.core.capture import CaptureStore, Direction
from workbench.core.pcapng import (
    MAX_SEGMENT_V6,
    ConnectionEnd,
    PcapngWriter,
    TcpConnection,
    write_tcp_connection,
)
from workbench.core.pcapng import _checksum as checksum

T0 = 1_700_000_000.25


def fields(path: Path, *names: str) -> list[list[str]]:
    args = ["tshark", "-r", str(path), "-T", "fields"]
    for name in names:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    return [line.split("\t") for line in out.splitlines()]


def write(path: Path, conn: TcpConnection) -> None:
    with path.open("wb") as file:
        writer = PcapngWriter(file, "Socket Workbench test")
        write_tcp_connection(writer, conn, 'socket 7 "probe"')


def reference_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@given(st.binary(max_size=300))
def test_the_checksum_is_rfc_1071_s(data: bytes) -> None:
    assert checksum(data) == reference_checksum(data)


def test_an_accepted_ipv6_connection_flags_every_packet_and_keeps_the_capture_s_times(
    tmp_path: Path,
) -> None:
    store = CaptureStore()
    store.add(Direction.IN, b"q" * (MAX_SEGMENT_V6 + 10), T0 + 1)
    store.add(Direction.OUT, b"answer", T0 + 2)
    conn = TcpConnection(
        7,
        ("::1", 8080),
        ("::1", 50000),
        T0,
        store,
        name="probe",
        opened_by_peer=True,
        end=ConnectionEnd.OWN_FIN,
        ended_at=T0 + 3,
    )
    out = tmp_path / "v6.pcapng"
    write(out, conn)
    rows = fields(
        out,
        "frame.time_epoch",
        "frame.packet_flags_direction",
        "tcp.flags.str",
        "tcp.len",
        "frame.comment",
    )
    # X4: the peer (port 50000) sent the SYN; X3: inbound 1, outbound 2 on every packet.
    directions = [int(r[1], 16) for r in rows]
    assert directions == [1, 2, 1, 1, 1, 2, 2, 1]
    assert [int(r[3]) for r in rows[3:6]] == [MAX_SEGMENT_V6, 10, 6]
    times = [round(float(r[0]) - T0, 3) for r in rows]
    assert times == [0, 0, 0, 1, 1, 2, 3, 3]
    assert rows[0][4] == 'socket 7 "probe"' and not any(r[4] for r in rows[1:])
    assert "F" in rows[6][2]  # our FIN closes it
