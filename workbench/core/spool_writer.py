"""A thread that writes a spool's appends, so that the event-loop thread never waits for them.

Copying a flood into the page cache costs as much as receiving it (about 0.5 s per GiB on a
tmpfs here, and up to several seconds per GiB on a disk that is busy), and it need not happen
on the thread that receives and draws. A :class:`~workbench.core.spool.CaptureSpool` made with
``threaded=True`` hands each write to one :class:`SpoolWriter`: the store's index counts the
bytes at once, readers take bytes still on their way from memory, and a failed write is
reported back (:attr:`WriteTicket.error`) for the store to undo from it on.

The writes of one stream stay in order (there is one thread), and the bytes queued are bounded
(``limit``): a disk slower than the network slows the receiver down instead of filling memory.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["WRITER_LIMIT", "HasFd", "SpoolWriter", "WriteJob", "WriteTicket", "write_all"]

_log = logging.getLogger("workbench.capture")

#: Bytes queued or being written before ``submit`` waits: sixteen reads of 256 KiB.
WRITER_LIMIT = 4 << 20


@dataclass(eq=False)
class WriteTicket:
    """What the writer tells one stream: how many of its writes are done, and the first that
    failed. Written by the writer thread under its lock; read by the owner without it (ints
    and a reference: each read is atomic)."""

    submitted: int = 0
    finished: int = 0
    #: ``(number of the write, its error)`` of the first write that failed; later ones of the
    #: stream are not tried.
    error: tuple[int, OSError] | None = None
    cancelled: bool = False


class HasFd(Protocol):
    """A spool's segment: its descriptor, -1 once closed."""

    fd: int


@dataclass(eq=False, slots=True)
class WriteJob:
    segment: HasFd  # its ``fd`` is read when the write runs
    parts: list[bytes | memoryview]
    pos: int
    size: int
    ticket: WriteTicket
    number: int = field(default=0)


def write_all(fd: int, parts: list[bytes | memoryview], pos: int, size: int) -> None:
    """Write ``parts`` (``size`` bytes) at ``pos`` of ``fd``, finishing short writes."""
    if fd < 0:
        raise OSError(9, "the capture file was closed")  # EBADF: never a reused number
    written = os.pwrite(fd, parts[0], pos) if len(parts) == 1 else os.pwritev(fd, parts, pos)
    if written < size:  # only on a full disk or a signal: finish or fail
        view = memoryview(b"".join(parts))
        while written < size:
            written += os.pwrite(fd, view[written:], pos + written)


class SpoolWriter:
    """One thread, started with the first write, that runs :class:`WriteJob` in order."""

    def __init__(
        self, limit: int = WRITER_LIMIT, on_error: Callable[[], object] | None = None
    ) -> None:
        self.limit = limit
        #: Called on the writer thread after a write failed (its ticket says which).
        self.on_error = on_error
        self._jobs: collections.deque[WriteJob] = collections.deque()
        self._cond = threading.Condition()
        self._queued = 0  # bytes queued or being written
        self._thread: threading.Thread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"<SpoolWriter jobs={len(self._jobs)} queued={self._queued}>"

    def submit(self, job: WriteJob) -> None:
        """Queue ``job`` (numbered in its ticket's order); waits while ``limit`` bytes are
        queued. Raises ``ValueError`` once the writer is stopped."""
        with self._cond:
            while self._queued >= self.limit and not self._stopped:
                self._cond.wait()
            if self._stopped:
                raise ValueError("I/O operation on a closed CaptureSpool")
            ticket = job.ticket
            job.number = ticket.submitted
            ticket.submitted += 1
            self._jobs.append(job)
            self._queued += job.size
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="capture-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def forget(self, ticket: WriteTicket) -> None:
        """Drop the queued writes of ``ticket``'s stream and wait for the one being written:
        afterwards nothing of that stream touches a file (so its segments may close)."""
        with self._cond:
            ticket.cancelled = True
            kept = collections.deque(job for job in self._jobs if job.ticket is not ticket)
            for job in self._jobs:
                if job.ticket is ticket:
                    self._queued -= job.size
                    ticket.finished += 1
            self._jobs = kept
            self._cond.notify_all()
            while ticket.finished < ticket.submitted:
                self._cond.wait()

    def wait(self, ticket: WriteTicket) -> None:
        """Until every write of ``ticket``'s stream is done (or failed)."""
        with self._cond:
            while ticket.finished < ticket.submitted:
                self._cond.wait()

    def stop(self) -> None:
        """Drop what is queued, let the write in progress finish, end the thread."""
        with self._cond:
            self._stopped = True
            for job in self._jobs:
                job.ticket.finished += 1
                self._queued -= job.size
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopped:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            ticket = job.ticket
            error: OSError | None = None
            if ticket.error is None and not ticket.cancelled:
                try:
                    write_all(job.segment.fd, job.parts, job.pos, job.size)
                except OSError as exc:
                    error = exc
            with self._cond:
                self._queued -= job.size
                failed = error is not None and ticket.error is None
                if error is not None and failed:
                    ticket.error = (job.number, error)
                ticket.finished += 1
                self._cond.notify_all()
            if failed and self.on_error is not None:
                try:
                    self.on_error()
                except Exception:  # the writer goes on for the other stores
                    _log.exception("the capture writer's error callback raised")
