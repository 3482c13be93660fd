"""Sending a file through a socket (workbench/session/file_send.py), against a real loopback
peer through ``TcpSockets``: the bytes arrive exactly, chunk by chunk, with progress; stopping
ends after the chunk in flight; a failed send and an unreadable file end it with a reason."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.net.peers import ControlledServer, PeerConn
from workbench.core.types import SendInfo
from workbench.net.tcp import TcpSockets
from workbench.session.file_send import FILE_CHUNK, FileSendResult, send_file

SIZE = 3 * FILE_CHUNK + 12345


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


async def connected(tcp: TcpSockets, server: ControlledServer) -> tuple[int, PeerConn]:
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, server.host, server.port) == 0
    return sid, await server.accept()


class Sends:
    """The real ``tcp.send`` for one socket, noting the size of every chunk it is given."""

    def __init__(self, tcp: TcpSockets, sid: int) -> None:
        self.tcp = tcp
        self.sid = sid
        self.sizes: list[int] = []

    async def __call__(self, data: bytes) -> SendInfo:
        self.sizes.append(len(data))
        return await self.tcp.send(self.sid, data)


async def test_a_file_arrives_whole_in_chunks_with_progress(
    tcp: TcpSockets, data_file: Path
) -> None:
    progress: list[tuple[int, int]] = []
    with ControlledServer() as server:
        sid, conn = await connected(tcp, server)
        sends = Sends(tcp, sid)
        result = await send_file(
            str(data_file), sends, progress=lambda s, n: progress.append((s, n))
        )
        assert await conn.wait_received(SIZE) == data_file.read_bytes()
    assert result == FileSendResult(path=str(data_file), sent=SIZE, size=SIZE, error="")
    assert result.ok
    # Never the whole file at once: FILE_CHUNK pieces, the rest last.
    assert sends.sizes == [FILE_CHUNK] * 3 + [12345]
    assert progress == [(FILE_CHUNK * n, SIZE) for n in (1, 2, 3)] + [(SIZE, SIZE)]


async def test_stop_ends_after_the_chunk_in_flight(tcp: TcpSockets, data_file: Path) -> None:
    stop = asyncio.Event()

    def progress(sent: int, _size: int) -> None:
        if sent == 2 * 1000:
            stop.set()  # as if the user clicked Cancel while the second chunk went out

    with ControlledServer() as server:
        sid, conn = await connected(tcp, server)
        result = await send_file(
            str(data_file), Sends(tcp, sid), progress=progress, stop=stop, chunk_size=1000
        )
        assert result.sent == 2000 and result.error == "cancelled" and not result.ok
        await tcp.disconnect(sid)
        assert await conn.wait_eof() == data_file.read_bytes()[:2000]


async def test_a_stop_after_the_last_chunk_is_no_cancel(tcp: TcpSockets, tmp_path: Path) -> None:
    path = tmp_path / "small.bin"
    path.write_bytes(b"x" * 10)
    stop = asyncio.Event()
    with ControlledServer() as server:
        sid, conn = await connected(tcp, server)
        result = await send_file(
            str(path), Sends(tcp, sid), progress=lambda *_: stop.set(), stop=stop
        )
        assert await conn.wait_received(10) == b"x" * 10
    assert (result.sent, result.error) == (10, "")


async def test_a_failed_send_stops_the_file_with_its_code(tcp: TcpSockets, data_file: Path) -> None:
    sid = (await tcp.create()).socket_id  # never connected: S1, -15
    sends = Sends(tcp, sid)
    result = await send_file(str(data_file), sends)
    assert (result.sent, result.size, result.error) == (0, SIZE, "send failed with -15")
    assert sends.sizes == [FILE_CHUNK]  # nothing more was read after the failure


async def test_an_unreadable_file_is_a_reason_not_an_exception(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    sid = (await tcp.create()).socket_id
    sends = Sends(tcp, sid)
    missing = tmp_path / "missing.bin"
    result = await send_file(str(missing), sends)
    assert result.sent == 0 and not result.ok
    assert result.error.startswith(f"cannot read {missing}: ") and "No such file" in result.error
    folder = await send_file(str(tmp_path), sends)
    assert folder.error.startswith(f"cannot read {tmp_path}: ")
    assert sends.sizes == []


async def test_an_empty_file_is_sent_at_once(tcp: TcpSockets, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    progress: list[tuple[int, int]] = []
    sid = (await tcp.create()).socket_id
    sends = Sends(tcp, sid)
    result = await send_file(str(path), sends, progress=lambda s, n: progress.append((s, n)))
    assert (result.sent, result.size, result.error) == (0, 0, "")
    assert sends.sizes == [] and progress == []


async def test_cancelling_the_task_propagates(tcp: TcpSockets, data_file: Path) -> None:
    progress: list[int] = []
    sends = Sends(tcp, 0)

    async def send(data: bytes) -> SendInfo:
        # A send to the OS can complete without yielding; the window's cancel arrives at the
        # next point where the loop runs other tasks, which this one makes.
        await asyncio.sleep(0)
        return await sends(data)

    def on_progress(sent: int, _size: int) -> None:
        progress.append(sent)
        task.cancel()  # the window is closing

    with ControlledServer() as server:
        sends.sid, conn = await connected(tcp, server)
        task = asyncio.ensure_future(send_file(str(data_file), send, progress=on_progress))
        with pytest.raises(asyncio.CancelledError):
            await task
        await tcp.disconnect(sends.sid)
        assert await conn.wait_eof() == data_file.read_bytes()[:FILE_CHUNK]
    assert progress == [FILE_CHUNK] and sends.sizes == [FILE_CHUNK]


async def test_chunk_size_must_be_positive(tcp: TcpSockets, data_file: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        await send_file(str(data_file), Sends(tcp, 1), chunk_size=0)
