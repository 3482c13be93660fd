"""A thread that writes a spool's appends, so that the event-loop thread never waits for them.

Copying a flood into the page cache costs as much as receiving it (about 0.5 s per GiB on a
tmpfs here, and up to several seconds per GiB on a disk that is busy), and it need not happen
on the thread that receives and draws. A :class:`~workbench.core.spool.CaptureSpool` made with
``threaded=True`` hands each write to one :class:`SpoolWriter`: the store's index counts the
bytes at once, readers take bytes still on their way from memory, and a failed write is
reported back (:attr:`WriteTicket.error`) for the store to undo from it on.

The writes of one stream stay in order (there is one thread), and the bytes queued are bounded
(``limit``): a disk slower than the network slows the receiver down instead of filling memory.
Writes of one stream that follow each other in one segment are taken together, up to the
staging buffer's size, and written the way ``spool_direct`` describes: whole blocks around the
page cache.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.core.spool_direct import STAGING_SIZE, DirectSegment, StagedWriter

__all__ = ["WRITER_LIMIT", "SpoolWriter", "WriteJob", "WriteTicket"]

_log = logging.getLogger("workbench.capture")

#: Bytes queued or being written before ``submit`` waits: two staging buffers' worth, so that
#: the receiving thread fills one while the writer writes the other.
WRITER_LIMIT = 2 * STAGING_SIZE


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


@dataclass(eq=False, slots=True)
class WriteJob:
    segment: DirectSegment  # its ``fd`` is read when the write runs
    parts: list[bytes | memoryview]
    pos: int
    size: int
    ticket: WriteTicket
    number: int = field(default=0)


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
        staged = StagedWriter()
        try:
            while self._run_one(staged):
                pass
        finally:
            staged.close()

    def _run_one(self, staged: StagedWriter) -> bool:
        """Write the next job, with the jobs of its stream that follow it in its segment;
        False once the writer is stopped and has nothing left."""
        with self._cond:
            while not self._jobs and not self._stopped:
                self._cond.wait()
            if not self._jobs:
                return False
            batch = self._take_batch(staged.staging_size)
        first = batch[0]
        ticket = first.ticket
        size = sum(job.size for job in batch)
        failure: tuple[int, OSError] | None = None
        if ticket.error is None and not ticket.cancelled:
            failure = _write_batch(staged, batch, size)
        with self._cond:
            self._queued -= size
            failed = failure is not None and ticket.error is None
            if failure is not None and failed:
                ticket.error = failure
            ticket.finished += len(batch)
            self._cond.notify_all()
        if failed and self.on_error is not None:
            try:
                self.on_error()
            except Exception:  # the writer goes on for the other stores
                _log.exception("the capture writer's error callback raised")
        return True

    def _take_batch(self, most: int) -> list[WriteJob]:
        """The next job and those queued right after it that continue it: same stream, same
        segment, the next bytes of the file; at most ``most`` bytes in all. Under the lock."""
        jobs = self._jobs
        job = jobs.popleft()
        batch = [job]
        size, end = job.size, job.pos + job.size
        while jobs:
            nxt = jobs[0]
            if (
                nxt.ticket is not job.ticket
                or nxt.segment is not job.segment
                or nxt.pos != end
                or size + nxt.size > most
            ):
                break
            batch.append(jobs.popleft())
            size += nxt.size
            end += nxt.size
        return batch


def _write_batch(
    staged: StagedWriter, batch: list[WriteJob], size: int
) -> tuple[int, OSError] | None:
    """Write ``batch`` (one stream's consecutive writes, ``size`` bytes) in one go; ``(number
    of the write that failed, its error)`` or None. After a failure each write is tried again
    on its own, so that the store keeps every write that is whole in the file, as it would
    have without the batching (a full disk fails a batch in its middle)."""
    first = batch[0]
    parts = first.parts if len(batch) == 1 else [p for job in batch for p in job.parts]
    try:
        staged.write(first.segment, parts, first.pos, size)
        return None
    except OSError as exc:
        error = exc
    if len(batch) > 1:
        for job in batch:
            try:
                staged.write(job.segment, job.parts, job.pos, job.size)
            except OSError as exc:
                # Kept in the ticket: without its frames, which hold views of the staging
                # buffer.
                return job.number, exc.with_traceback(None)
    return first.number, error.with_traceback(None)
