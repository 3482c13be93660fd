"""``TcpSocket``'s receive loop: chunks of ``buffer_size``, and the extension event
``on_received_run`` that follows each run of ``on_receive`` events with their bytes together.

These drive one socket's receive path directly (no OS socket): ``on_data`` is what the
connection's protocol calls with each read. The socket is marked announced by hand, as a
finished connect would (``TcpSocket.announce`` also needs the connect's state and op slot).
The same path over a real loopback connection is covered by the session and window tests,
whose captures are fed by this event.
"""

from __future__ import annotations

import asyncio
import random

from tests.conftest import wait_for
from workbench.core.events import Event
from workbench.core.types import ReceivedRun, ReceiveInfo, SocketProperties
from workbench.net.tcp_socket import SocketEvents, TcpSocket


def _socket(buffer_size: int) -> tuple[TcpSocket, list[tuple[str, bytes]]]:
    events = SocketEvents(Event("r"), Event("e"), Event("c"), Event("runs"))
    sock = TcpSocket(events, 1, SocketProperties(buffer_size=buffer_size))
    sock._announced = True  # as after a connect: on_receive may be raised
    log: list[tuple[str, bytes]] = []
    events.receive.add_listener(lambda info: log.append(("chunk", info.data)))
    events.received_run.add_listener(lambda run: log.append(("run", bytes(run.data))))
    return sock, log


def _runs_match_chunks(log: list[tuple[str, bytes]]) -> list[bytes]:
    """Each run is the chunks since the one before, joined; returns the runs."""
    runs, since = [], b""
    for kind, data in log:
        if kind == "chunk":
            since += data
        else:
            assert data == since, "a run is not the bytes of the events before it"
            runs.append(data)
            since = b""
    assert since == b"", "chunks delivered with no run after them"
    return runs


def test_a_whole_read_is_one_run_after_its_chunks_and_is_the_read_itself() -> None:
    sock, log = _socket(4096)
    seen: list[ReceivedRun] = []
    sock.events.received_run.add_listener(seen.append)
    read = random.Random(1).randbytes(10_000)
    sock.on_data(read)
    assert [len(d) for kind, d in log if kind == "chunk"] == [4096, 4096, 1808]
    assert _runs_match_chunks(log) == [read]
    assert seen[0].data is read  # no copy of a whole read
    assert seen[0].socket_id == 1


def test_no_run_is_raised_while_nothing_is_delivered() -> None:
    sock, log = _socket(4096)
    sock.paused = True
    sock.on_data(b"held")
    assert log == []


async def test_a_pause_inside_a_listener_ends_the_run_and_the_rest_is_a_later_run() -> None:
    sock, log = _socket(1000)
    read = random.Random(2).randbytes(5_500)
    chunks: list[ReceiveInfo] = []

    def pause_after_two(info: ReceiveInfo) -> None:
        chunks.append(info)
        if len(chunks) == 2:
            sock.set_paused(True)

    sock.events.receive.add_listener(pause_after_two)
    sock.on_data(read)
    assert _runs_match_chunks(log) == [read[:2000]]
    sock.set_paused(False)
    await wait_for(lambda: sum(len(d) for k, d in log if k == "chunk") == len(read))
    assert _runs_match_chunks(log) == [read[:2000], read[2000:]]
    assert b"".join(d for k, d in log if k == "chunk") == read


async def test_runs_join_to_the_stream_over_many_reads_and_pauses() -> None:
    sock, log = _socket(4096)
    rng = random.Random(3)
    reads = [rng.randbytes(rng.randrange(1, 70_000)) for _ in range(40)]
    count = 0

    def pause_now_and_then(info: ReceiveInfo) -> None:
        nonlocal count
        count += 1
        if count % 7 == 0:
            sock.set_paused(True)
            asyncio.get_running_loop().call_soon(sock.set_paused, False)

    sock.events.receive.add_listener(pause_now_and_then)
    for read in reads:
        sock.on_data(read)
    stream = b"".join(reads)
    await wait_for(lambda: sum(len(d) for k, d in log if k == "chunk") == len(stream))
    assert b"".join(_runs_match_chunks(log)) == stream
    assert max(len(d) for k, d in log if k == "chunk") <= 4096
