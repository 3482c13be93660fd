"""Sending a file through a socket, one chunk at a time (the composer's Send file…).

``send_file`` reads ``chunk_size`` bytes, awaits the send callable with them, and only then
reads the next chunk: the file is never held in memory whole, and a slow peer slows the reads
down (the core's send completes once the OS has the bytes, contract S2). No Qt: the window
shows the progress, a script or a test can drive the same function.

Two ways to stop it:

- ``stop.set()``: ends after the chunk in flight (a send is never cut in the middle); the
  result's ``error`` is ``"cancelled"`` unless the whole file was sent meanwhile.
- cancelling the task: ``CancelledError`` propagates at once (the window is closing); the
  caller knows how far it got from the last progress report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable

from workbench.core.errors import NetError
from workbench.core.types import SendInfo

__all__ = ["FILE_CHUNK", "FileSendResult", "Progress", "SendChunk", "send_file"]

#: Bytes read and sent per step.
FILE_CHUNK = 256 * 1024

#: ``async (bytes) -> SendInfo``: sends one chunk (``LoggedTcp.send`` bound to a socket).
SendChunk = Callable[[bytes], Awaitable[SendInfo]]
#: ``(bytes sent so far, file size)``, after every chunk that went out.
Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class FileSendResult:
    """How a file send ended: ``error`` is ``""`` when every byte went out, else the reason
    it stopped (``"cancelled"``, ``"send failed with -101"``, ``"cannot read …"``)."""

    path: str
    sent: int
    size: int
    error: str

    @property
    def ok(self) -> bool:
        return not self.error


async def send_file(
    path: str,
    send: SendChunk,
    *,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    chunk_size: int = FILE_CHUNK,
) -> FileSendResult:
    """Send the file at ``path`` through ``send``, ``chunk_size`` bytes at a time."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    try:
        size = os.path.getsize(path)
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the checks
    except OSError as exc:
        return FileSendResult(path=path, sent=0, size=0, error=_cannot_read(path, exc))
    sent = 0
    error = ""
    with f:
        while stop is None or not stop.is_set():
            # Plain reads on the loop's thread: a 256 KiB read of a local file is short next
            # to sending it, and a worker thread would add a hop per chunk.
            try:
                chunk = f.read(chunk_size)
            except OSError as exc:
                error = _cannot_read(path, exc)
                break
            if not chunk:
                break
            info = await send(chunk)
            if info.result_code != NetError.OK:
                error = f"send failed with {info.result_code}"
                break
            sent += len(chunk)
            if progress is not None:
                progress(sent, size)
    if not error and stop is not None and stop.is_set() and sent < size:
        error = "cancelled"
    return FileSendResult(path=path, sent=sent, size=size, error=error)


def _cannot_read(path: str, exc: OSError) -> str:
    return f"cannot read {path}: {exc.strerror or exc}"
