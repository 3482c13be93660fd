"""Per-socket capture: every byte sent and received, on disk, with a small in-memory index.

The data view must open and scroll a 1 GiB capture at once while memory stays flat, and a
socket must not hold a descriptor for its capture while idle, so:

- the bytes go to a :class:`~workbench.core.spool.CaptureSpool` that a session's stores
  share (a store given none makes a private one), appended with one ``os.pwrite`` per append
  into runs of room the spool hands out, and read back with ``os.pread`` on the spool's
  descriptors (only what is on screen is ever read);
- with ``write_behind`` (what a session's stores use), appends are held in memory and written
  together, one ``os.pwritev`` per ``write_behind`` bytes, so that a flood in 4 KiB chunks
  makes a system call per 256 KiB, not per chunk; every reader writes what is held first;
- the index is a handful of ``array`` columns, one entry per *record*, never per byte, plus
  one entry per *extent* (a contiguous piece of the stream in one segment: one per run that
  did not follow the last, so a flood adds one per MiB at most);
- consecutive appends in the same direction within ``merge_window`` seconds of a record's
  first byte merge into that record (up to ``max_record_size``), so a flood delivered in
  4 KiB chunks makes a record per ~MiB, not one per chunk. Merging updates the last index
  entry in place;
- the hex-row counts the view scrolls by (:class:`LineIndex`) are kept as a cumulative
  array, updated at append time from the appended sizes alone.

Single-threaded by design: the store lives on the event-loop thread and takes no locks.
Records, offsets and rows:

- a record's ``stream_offset`` is the offset of its first byte in the whole capture, both
  directions together; ``read(offset, size)`` reads that concatenated stream;
- hex mode: each record shows a header row, then one row per 16 bytes. Rows never span
  records. (Text-mode rows are the data view's own: it finds them from the bytes around
  them, so the store keeps no index for them.)
"""

from __future__ import annotations

import abc
import collections
import enum
import re
import time
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from workbench.core.spool import CaptureSpool, SpoolStream

__all__ = [
    "HEX_ROW_BYTES",
    "WRITE_BEHIND",
    "CaptureSpool",
    "CaptureStore",
    "Datagram",
    "DatagramStore",
    "Direction",
    "LineIndex",
    "Record",
]

HEX_ROW_BYTES = 16
#: What a session's stores hold before writing (``write_behind``): 256 KiB per system call.
WRITE_BEHIND = 256 << 10
#: Pieces held at most before writing, whatever their size: one ``pwritev`` takes at most
#: ``IOV_MAX`` (1024 on Linux) of them.
_MAX_PARTS = 512


class Direction(enum.IntEnum):
    """Which way a record's bytes went."""

    IN = 0  # received from the peer
    OUT = 1  # sent to the peer


_DIRECTIONS = (Direction.IN, Direction.OUT)
# Module constants: on Python 3.11 ``Direction.IN`` costs ~0.3 µs a lookup, per chunk.
_IN, _OUT = _DIRECTIONS


@dataclass(frozen=True, slots=True)
class Record:
    """One run of bytes in one direction; ``timestamp`` (``time.time()``) is its first byte's."""

    index: int
    direction: Direction
    timestamp: float
    stream_offset: int
    size: int

    @property
    def end(self) -> int:
        """Stream offset just past the record's last byte."""
        return self.stream_offset + self.size


# --------------------------------------------------------------------------------- the store


def _release(stream: SpoolStream, own_spool: CaptureSpool | None) -> None:
    # A finalizer, not a method: it must not keep the store alive, and it also runs when a
    # store is dropped without close().
    try:
        stream.release()
    finally:
        if own_spool is not None:
            own_spool.close()


class CaptureExport(abc.ABC):
    """Reading a whole capture out: in pieces, searching it, saving it. What it needs of a
    store is its reads (the abstract methods); :class:`CaptureStore` is the one there is."""

    #: Block size of :meth:`find`'s streaming search (bytes read per ``pread``).
    find_block: int = 1 << 20

    @property
    @abc.abstractmethod
    def total_bytes(self) -> int: ...

    @property
    @abc.abstractmethod
    def path(self) -> Path | None: ...

    @abc.abstractmethod
    def sync(self) -> None: ...

    @abc.abstractmethod
    def _check_open(self) -> None: ...

    @abc.abstractmethod
    def read(self, stream_offset: int, size: int) -> bytes: ...

    @abc.abstractmethod
    def ranges(self, direction: Direction | None = None) -> list[tuple[int, int]]: ...

    def iter_chunks(
        self, start: int = 0, end: int | None = None, chunk: int = 1 << 20
    ) -> Iterator[bytes]:
        """The bytes of ``[start, end)`` in pieces of ``chunk`` bytes (the last one shorter).

        ``end`` None is the end of the capture when this is called, so a capture that keeps
        growing cannot make a save loop run forever.
        """
        self.sync()
        self._check_open()
        if chunk <= 0:
            raise ValueError(f"chunk must be > 0, not {chunk}")
        stop = self.total_bytes if end is None else min(end, self.total_bytes)
        return self._chunks(max(start, 0), stop, chunk)

    def _chunks(self, start: int, stop: int, chunk: int) -> Iterator[bytes]:
        for offset in range(start, stop, chunk):
            yield self.read(offset, min(chunk, stop - offset))

    def find(self, needle: bytes, start: int | None = None, backwards: bool = False) -> int | None:
        """Stream offset of ``needle``, or None; reads ``find_block`` bytes at a time.

        Forward (``start`` None: 0): the first match at or after ``start``, like
        ``capture.find(needle, start)``. Backwards (``start`` None: the end): the last match
        that ends at or before ``start``, like ``capture.rfind(needle, 0, start)``. Blocks
        overlap by ``len(needle) - 1`` bytes, so matches across block and record boundaries
        are found; memory is one block.
        """
        self.sync()
        self._check_open()
        block = max(self.find_block, 1)
        if backwards:
            end = self.total_bytes if start is None else min(start, self.total_bytes)
            return _rfind(self.read, needle, end, block)
        return _find(self.read, needle, self.total_bytes, 0 if start is None else start, block)

    def save_raw(self, path: Path | str, direction: Direction | None = None) -> int:
        """Write the raw bytes (all, or one direction's) to ``path``; return how many.

        Reads in 1 MiB pieces, so memory stays flat for any capture size.
        """
        steps = self.save_raw_steps(path, direction)
        return collections.deque(steps, maxlen=1)[0]  # run it to the end; the last count

    def save_raw_steps(
        self, path: Path | str, direction: Direction | None = None, piece: int = 1 << 20
    ) -> Iterator[int]:
        """``save_raw`` one ``piece`` at a time: yields the bytes written so far after each,
        so that a caller on the event loop can write a gigabyte between its other work. The
        file is complete once the iterator is exhausted (closing it early leaves a part)."""
        self.sync()
        self._check_open()
        target = Path(path)
        own = self.path
        if own is not None and target.exists() and target.samefile(own):
            raise ValueError(f"{target} is this capture's own data file")
        written = 0
        with open(target, "wb") as out:
            for first, end in self.ranges(direction):
                for chunk in self._chunks(first, end, piece):
                    out.write(chunk)
                    written += len(chunk)
                    yield written
        yield written


class CaptureStore(CaptureExport):
    """An append-only capture of one socket's bytes in both directions.

    The bytes go to ``spool``, shared with the session's other stores, so that an idle store
    holds no descriptor of its own. Without a spool the store makes a private one from ``path``
    and ``temp_dir``: ``path`` None, anonymous temporary files (in ``temp_dir`` or the system's),
    unlinked at once on POSIX so that not even a crash leaves them behind; a ``path`` from the
    caller is created (mode 0600: captures may hold decrypted TLS traffic) or truncated, holds
    exactly the captured stream, and is kept after close. The index lives in memory only.

    A write that fails with ``OSError`` (a full disk, a file-size limit, no descriptor left for
    a new segment) does not raise into the receive path: the capture stops, :attr:`failed` says
    why (``"No space left on device"``), and later bytes are only counted
    (:attr:`bytes_dropped`).

    ``write_behind`` > 0 holds appends until that many bytes (or ``_MAX_PARTS`` appends) wait,
    then writes them in one system call; every reader, :meth:`sync` and :meth:`close` write
    them first. Counters and index include held bytes at once. A failed write undoes the
    appends since the last one: their bytes count as dropped, the records they began go, a
    record they grew is as it was: the index describes exactly the stream on disk.

    Not thread-safe: one event-loop thread owns it. Also a context manager (closes on exit).
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        merge_window: float = 0.05,
        max_record_size: int = 1 << 20,
        temp_dir: Path | str | None = None,
        spool: CaptureSpool | None = None,
        write_behind: int = 0,
    ) -> None:
        #: Appends this close (seconds after a record's first append) merge into it; 0: never.
        self.merge_window = merge_window
        #: A merge never grows a record past this; a single larger append is kept whole.
        self.max_record_size = max_record_size
        own = spool is None
        if spool is None:
            spool = CaptureSpool(temp_dir, path=path)
        elif path is not None or temp_dir is not None:
            raise ValueError("path and temp_dir are for a store's own spool, not with spool=")
        self._spool = spool
        self._stream = SpoolStream(spool)  # where the bytes are
        self._finalizer = weakref.finalize(self, _release, self._stream, spool if own else None)
        # The index: one entry per record in each column.
        self._offsets = array("q")  # stream offset of the first byte
        self._times = array("d")  # time.time() of the first byte
        self._dirs = array("b")  # Direction
        self._hex_end = array("q")  # hex rows of records 0..i together (cumulative)
        self._total = 0
        self._in = 0
        self._out = 0
        self._last_dir: Direction | None = None  # the last record's direction (None: none yet)
        self._last_time = 0.0  # its first byte's time
        self._last_first = 0  # its first byte's stream offset
        self._hex_before = 0  # hex rows of the records before it
        self._failed: str | None = None
        self._dropped = 0
        #: Bytes held before a write (0: every append writes at once).
        self.write_behind = write_behind
        # Appended, not written yet: bytes, or views of bytes (immutable too).
        self._held: list[bytes | memoryview] = []
        self._held_size = 0
        # What to go back to if writing the held bytes fails: (records, total, in, out).
        self._undo = (0, 0, 0, 0)
        # On a threaded spool, the writes on their way: (write number, its batch's _undo).
        self._inflight: collections.deque[tuple[int, tuple[int, int, int, int]]] = (
            collections.deque()
        )

    # -- life cycle

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive or self._spool.closed

    def close(self) -> None:
        """Give the store's space back (once no other store shares its segments). Idempotent.

        Bytes held by ``write_behind`` are written first if the store has a caller's ``path``
        (so that the file holds them all); anonymous files go with them unwritten. A store
        dropped without ``close()`` loses them."""
        if self._held and self.path is not None and not self.closed:
            self.sync()
        self._held, self._held_size = [], 0
        self._finalizer()

    def __enter__(self) -> CaptureStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed CaptureStore")

    def __repr__(self) -> str:
        where = "closed" if self.closed else (str(self.path) if self.path else "temporary")
        failed = f" failed={self._failed!r} dropped={self._dropped}" if self._failed else ""
        return (
            f"<CaptureStore {where} records={self.record_count} bytes={self._total} "
            f"in={self._in} out={self._out}{failed}>"
        )

    # -- size

    @property
    def path(self) -> Path | None:
        """The caller's path, or None for anonymous temporary files."""
        return self._spool.path

    @property
    def record_count(self) -> int:
        if self._held:
            self.sync()
        return len(self._offsets)

    @property
    def total_bytes(self) -> int:
        """Bytes kept: the length of the stream :meth:`read` reads."""
        return self._total

    @property
    def bytes_in(self) -> int:
        return self._in

    @property
    def bytes_out(self) -> int:
        return self._out

    @property
    def failed(self) -> str | None:
        """Why the capture stopped (the ``strerror`` of the failed write), or None."""
        if self._inflight:
            self._poll()
        return self._failed

    @property
    def bytes_dropped(self) -> int:
        """Bytes appended after the capture stopped: counted, not kept."""
        return self._dropped

    @property
    def hex_ends(self) -> Sequence[int]:
        """Hex-mode rows of records ``0..i`` together, per record ``i`` (:class:`LineIndex`)."""
        if self._held:
            self.sync()
        return self._hex_end

    # -- writing

    def append(
        self,
        direction: Direction | int,
        data: bytes | bytearray | memoryview,
        timestamp: float | None = None,
    ) -> Record:
        """Store ``data`` and return the record that now holds it (new, or the last one grown).

        ``data`` merges into the last record when it goes the same way, ``timestamp`` is
        within ``merge_window`` after that record's first byte (a clock that stepped back
        does not merge), and the record stays within ``max_record_size``. Empty data is
        recorded like any other (a zero-size record when it cannot merge). Once the capture
        has :attr:`failed`, ``data`` is only counted, and the record is an empty one, unkept.
        """
        if direction is not _IN and direction is not _OUT:
            direction = Direction(direction)  # accepts 0 and 1; anything else raises
        if timestamp is None:
            timestamp = time.time()
        if not self.add(direction, data, timestamp):
            # Where the bytes would have begun; the index does not hold this record.
            return Record(len(self._offsets), direction, timestamp, self._total, 0)
        i = len(self._offsets) - 1
        first = self._offsets[i]
        return Record(i, direction, self._times[i], first, self._total - first)

    def add(
        self,
        direction: Direction | int,
        data: bytes | bytearray | memoryview,
        timestamp: float | None = None,
    ) -> bool:
        """:meth:`append` without making the :class:`Record` (the receive path's way): True
        when ``data`` is kept, False when the capture has :attr:`failed` (then it is only
        counted in :attr:`bytes_dropped`)."""
        held = self._held
        # Held bytes mean an open store whose capture has not failed: only the first append of
        # a batch asks (a closed spool: the stream's write raises).
        if not held and not self._finalizer.alive:
            raise ValueError("I/O operation on a closed CaptureStore")
        if direction is not _IN and direction is not _OUT:
            direction = Direction(direction)  # accepts 0 and 1; anything else raises
        if type(data) is not bytes and not (type(data) is memoryview and type(data.obj) is bytes):
            data = bytes(data)  # held or written: never a buffer the caller may change
        if timestamp is None:
            timestamp = time.time()
        size = len(data)
        if held:  # the flood's way: one more piece for the batch
            held.append(data)
            self._held_size += size
        elif self._inflight and self._poll():
            self._dropped += size  # a write on its way failed: the capture stopped
            return False
        elif size and not self._keep(data, size):
            self._check_open()
            self._dropped += size
            return False
        self._index(direction, timestamp, size)
        held = self._held
        if held and (self._held_size >= self.write_behind or len(held) >= _MAX_PARTS):
            self._write_held()  # may undo this very append
            return self._failed is None
        return True

    def _keep(self, data: bytes | memoryview, size: int) -> bool:
        """Write ``data``, or hold it (``write_behind``); False if the capture has failed."""
        if self._failed is not None:
            return False
        if self.write_behind:
            if not self._held:
                self._undo = (len(self._offsets), self._total, self._in, self._out)
            self._held.append(data)
            self._held_size += size
            return True
        try:
            self._stream.write(data)
        except OSError as error:  # ENOSPC, EFBIG, EMFILE: the capture stops, not the socket
            self._failed = error.strerror or str(error)
            return False
        return True

    def _index(self, direction: Direction, timestamp: float, size: int) -> None:
        """Count ``size`` more bytes at the end of the stream: in the last record (merged) or
        in a new one. (The last record's direction, time and start are also kept as plain
        attributes: once per chunk, they cost less than the arrays.)"""
        start = self._total
        first = self._last_first
        if (
            direction is self._last_dir
            and 0.0 <= timestamp - self._last_time < self.merge_window
            and start + size - first <= self.max_record_size
        ):
            self._hex_end[-1] = self._hex_before + 1 + -(-(start + size - first) // HEX_ROW_BYTES)
        else:
            hex_before = self._hex_before = self._hex_end[-1] if self._hex_end else 0
            self._offsets.append(start)
            self._times.append(timestamp)
            self._dirs.append(direction)
            self._hex_end.append(hex_before + 1 + -(-size // HEX_ROW_BYTES))
            self._last_dir, self._last_time, self._last_first = direction, timestamp, start
        self._total = start + size
        if direction is _IN:
            self._in += size
        else:
            self._out += size

    def _recall_last(self) -> None:
        """The plain attributes of the last record, from the index."""
        count = len(self._offsets)
        self._last_dir = _DIRECTIONS[self._dirs[-1]] if count else None
        self._last_time, self._last_first = (
            (self._times[-1], self._offsets[-1]) if count else (0.0, 0)
        )
        self._hex_before = self._hex_end[-2] if count > 1 else 0

    def sync(self) -> None:
        """Write the bytes ``write_behind`` holds (readers and :meth:`close` do it first).

        A failure does not raise: it sets :attr:`failed` and undoes the held appends. On a
        threaded spool the write is queued, and a failure found later undoes from it on."""
        if self._held:
            self._check_open()
            self._write_held()
        if self._inflight:
            self._poll()

    def wait_written(self) -> None:
        """Write what is held and, on a threaded spool, wait until the writer has done every
        write of this store (or one failed: then :attr:`failed` says so)."""
        self.sync()
        writer = self._spool.writer
        if writer is not None:
            writer.wait(self._stream.ticket)
            self._poll()

    def _write_held(self) -> None:
        held, self._held = self._held, []
        size, self._held_size = self._held_size, 0
        ticket = self._stream.ticket
        number = ticket.submitted
        try:
            self._stream.write_parts(held, size)
        except OSError as error:
            self._failed = error.strerror or str(error)
            self._undo_to(self._undo)
            return
        if ticket.submitted > number:  # queued for the spool's writer thread
            self._inflight.append((number, self._undo))

    def _poll(self) -> bool:
        """What the spool's writer did with our writes: forget the finished ones; after a
        failure, stop the capture and undo from the first failed write on (later writes of
        this stream were not tried). True when the capture has stopped so."""
        ticket = self._stream.ticket
        inflight = self._inflight
        if not inflight:
            # Nothing of ours waits: a failure the writer reported was taken already (the
            # ticket keeps its error; the capture stopped then).
            return self._failed is not None
        if ticket.error is None:
            finished = ticket.finished
            while inflight and inflight[0][0] < finished:
                inflight.popleft()
            return False
        number, error = ticket.error
        while len(inflight) > 1 and inflight[0][0] < number:
            inflight.popleft()
        undo = inflight[0][1]
        inflight.clear()
        self._held, self._held_size = [], 0
        self._failed = error.strerror or str(error)
        self._undo_to(undo)
        return True

    def _undo_to(self, undo: tuple[int, int, int, int]) -> None:
        """Bytes appended since ``undo`` was taken could not be written: make the index as it
        was then, and count them as dropped."""
        count, total, self._in, self._out = undo
        self._dropped += self._total - total
        self._total = total
        for column in (self._offsets, self._times, self._dirs, self._hex_end):
            del column[count:]
        self._recall_last()
        if count:  # the last record kept may have grown with held bytes: its rows as they were
            rows = -(-(total - self._last_first) // HEX_ROW_BYTES)
            self._hex_end[-1] = self._hex_before + 1 + rows

    # -- reading

    def record(self, i: int) -> Record:
        """Record ``i``; negative indexes count from the end."""
        if self._held:
            self.sync()
        count = len(self._offsets)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError(f"record {i} out of range ({count} records)")
        start = self._offsets[i]
        end = self._offsets[i + 1] if i + 1 < count else self._total
        return Record(i, _DIRECTIONS[self._dirs[i]], self._times[i], start, end - start)

    def record_at(self, stream_offset: int) -> Record:
        """The record holding the byte at ``stream_offset`` (binary search)."""
        if self._held:
            self.sync()
        if not 0 <= stream_offset < self._total:
            raise IndexError(f"stream offset {stream_offset} out of range (0..{self._total})")
        # The last record starting at or before the offset; zero-size records before a
        # non-empty one share its offset and lose to it.
        return self.record(bisect_right(self._offsets, stream_offset) - 1)

    def read(self, stream_offset: int, size: int) -> bytes:
        """Up to ``size`` bytes of the capture from ``stream_offset`` (short at the end)."""
        self._check_open()
        if self._held:
            self._write_held()
        if self._inflight:
            self._poll()  # a failed write on its way: its bytes are no longer in the index
        if stream_offset < 0 or size < 0:
            raise ValueError(f"bad range: offset {stream_offset}, size {size}")
        end = min(stream_offset + size, self._total)
        if stream_offset >= end:
            return b""
        return self._stream.read(stream_offset, end)

    def ranges(self, direction: Direction | None = None) -> list[tuple[int, int]]:
        """The stream ranges ``[first, end)`` of one direction's bytes (all for None),
        merged where they touch."""
        if self._held:
            self.sync()
        return _ranges(self._offsets, self._dirs, self._total, direction)


@dataclass(frozen=True, slots=True)
class Datagram:
    """One datagram of a :class:`DatagramStore`: its record, its peer (the sender of one
    received, the destination of one sent) and, when ``buffer_size`` cut it, the length it
    had (``record.size`` is what was kept)."""

    record: Record
    address: str
    port: int
    original_length: int | None = None


class DatagramStore(CaptureStore):
    """A capture that keeps datagram boundaries (a UDP socket's): one record per datagram
    (``merge_window`` 0: nothing merges), and beside each record its peer and, where
    ``buffer_size`` cut it, its original length.

    A subclass rather than an argument of :meth:`CaptureStore.append`: a TCP store's receive
    path (:meth:`add`, per chunk) stays exactly as it was, without a parameter or a branch,
    and the side table lives and goes with its store (clearing a capture replaces both).

    The side table is two ``array`` columns (12 bytes a datagram) and the peers, each kept
    once. It only grows with a datagram the store kept; a failed write that later undoes
    records (see :class:`CaptureStore`) leaves entries past :attr:`record_count`, never
    before it, and nothing is kept after it: entry ``i`` always describes record ``i``.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        temp_dir: Path | str | None = None,
        spool: CaptureSpool | None = None,
        write_behind: int = 0,
    ) -> None:
        super().__init__(
            path, merge_window=0.0, temp_dir=temp_dir, spool=spool, write_behind=write_behind
        )
        self._peer_of = array("l")  # per datagram: its peer's index in _peers
        self._lengths = array("q")  # per datagram: its original length, -1 when whole
        self._peers: list[tuple[str, int]] = []
        self._peer_index: dict[tuple[str, int], int] = {}

    def add_datagram(
        self,
        direction: Direction | int,
        data: bytes | bytearray | memoryview,
        address: str,
        port: int,
        original_length: int | None = None,
        timestamp: float | None = None,
    ) -> bool:
        """Keep one datagram as a record of its own (:meth:`add`'s way: False when the capture
        has :attr:`failed` and it was only counted)."""
        if not CaptureStore.add(self, direction, data, timestamp):  # not super(): per datagram
            return False
        peer = (address, port)
        index = self._peer_index.get(peer)
        if index is None:
            index = self._peer_index[peer] = len(self._peers)
            self._peers.append(peer)
        self._peer_of.append(index)
        self._lengths.append(-1 if original_length is None else original_length)
        return True

    def add(
        self,
        direction: Direction | int,
        data: bytes | bytearray | memoryview,
        timestamp: float | None = None,
    ) -> bool:
        """A datagram whose peer is not known (``""``, port 0): :meth:`append` and :meth:`add`
        keep the side table in step too."""
        return self.add_datagram(direction, data, "", 0, None, timestamp)

    def datagram(self, i: int) -> Datagram:
        """Datagram ``i`` (record ``i``); negative indexes count from the end."""
        record = self.record(i)
        address, port = self._peers[self._peer_of[record.index]]
        length = self._lengths[record.index]
        return Datagram(record, address, port, None if length < 0 else length)

    def datagram_at(self, stream_offset: int) -> Datagram:
        """The datagram holding the byte at ``stream_offset``."""
        return self.datagram(self.record_at(stream_offset).index)

    def find(
        self,
        needle: bytes,
        start: int | None = None,
        backwards: bool = False,
        *,
        ignore_case: bool = False,
    ) -> int | None:
        """:meth:`CaptureStore.find` where a match never spans two datagrams: the next one is
        not the continuation of the last, as a stream's next bytes are. ``ignore_case``: ASCII
        letters match either case (``re.IGNORECASE`` on bytes).

        Streams like the stream's find, ``find_block`` bytes a time; each match found is
        checked against its datagram's end (a binary search), so a needle that straddles a
        boundary in every datagram costs a search per datagram, not a read."""
        self.sync()
        self._check_open()
        if not needle:
            return super().find(needle, start, backwards)
        total, block = self._total, max(self.find_block, 1)
        if backwards:
            end = total if start is None else min(start, total)
            if end < 0:
                raise ValueError(f"start must be >= 0, not {end}")
            return self._rfind_within(needle, end, block, ignore_case)
        pos = 0 if start is None else start
        if pos < 0:
            raise ValueError(f"start must be >= 0, not {pos}")
        n = len(needle)
        pattern = _pattern(needle, ignore_case)
        while pos + n <= total:
            for hit in _matches(self.read(pos, block + n - 1), needle, pattern):
                if self._within(pos + hit, n):
                    return pos + hit
            pos += block
        return None

    def _rfind_within(self, needle: bytes, end: int, block: int, ignore_case: bool) -> int | None:
        """:meth:`find` backwards: the last match within a datagram ending at or before
        ``end``. Searches each block reversed, so that its matches come last one first."""
        n = len(needle)
        reverse = needle[::-1]
        pattern = _pattern(reverse, ignore_case)
        while end >= n:
            low = max(0, end - block - (n - 1))
            data = self.read(low, end - low)
            for hit in _matches(data[::-1], reverse, pattern):
                first = low + len(data) - hit - n
                if self._within(first, n):
                    return first
            if low == 0:
                break
            end = low + n - 1  # the next block must still hold a match that ends here
        return None

    def _within(self, first: int, n: int) -> bool:
        """Whether ``[first, first + n)`` lies within one datagram."""
        offsets = self._offsets
        i = bisect_right(offsets, first)  # the record after the one holding ``first``
        return first + n <= (offsets[i] if i < len(offsets) else self._total)


def _pattern(needle: bytes, ignore_case: bool) -> re.Pattern[bytes] | None:
    """What :func:`_matches` looks for: None for an exact needle (``bytes.find`` is faster);
    a look-ahead, so that overlapping matches are all found, when case does not matter."""
    return re.compile(b"(?=" + re.escape(needle) + b")", re.IGNORECASE) if ignore_case else None


def _matches(data: bytes, needle: bytes, pattern: re.Pattern[bytes] | None) -> Iterator[int]:
    """Where ``needle`` starts in ``data``, every one (overlapping too), first one first."""
    if pattern is not None:
        for match in pattern.finditer(data):
            yield match.start()
        return
    hit = data.find(needle)
    while hit >= 0:
        yield hit
        hit = data.find(needle, hit + 1)


def _ranges(
    offsets: Sequence[int], dirs: Sequence[int], total: int, direction: Direction | None
) -> list[tuple[int, int]]:
    """The stream ranges of one direction's bytes (all of them for None), merged where they
    touch, from a store's index columns."""
    if direction is None:
        return [(0, total)]
    ranges: list[tuple[int, int]] = []
    wanted = _DIRECTIONS[direction]
    for i in range(len(offsets)):
        if dirs[i] != wanted:
            continue
        first = offsets[i]
        end = offsets[i + 1] if i + 1 < len(offsets) else total
        if ranges and ranges[-1][1] == first:  # adjacent: one copy, not two
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((first, end))
    return ranges


def _find(
    read: Callable[[int, int], bytes], needle: bytes, total: int, pos: int, block: int
) -> int | None:
    """:meth:`CaptureStore.find` forward from ``pos`` over a stream of ``total`` bytes."""
    n = len(needle)
    if pos < 0:
        raise ValueError(f"start must be >= 0, not {pos}")
    if n == 0:
        return pos if pos <= total else None
    while pos + n <= total:
        hit = read(pos, block + n - 1).find(needle)
        if hit >= 0:
            return pos + hit
        pos += block
    return None


def _rfind(read: Callable[[int, int], bytes], needle: bytes, end: int, block: int) -> int | None:
    """:meth:`CaptureStore.find` backwards: the last match ending at or before ``end``
    (already within the stream)."""
    n = len(needle)
    if end < 0:
        raise ValueError(f"start must be >= 0, not {end}")
    if n == 0:
        return end
    while end >= n:
        low = max(0, end - block - (n - 1))
        hit = read(low, end - low).rfind(needle)
        if hit >= 0:
            return low + hit
        if low == 0:
            break
        end = low + n - 1  # the next block must still hold a match that ends here
    return None


# ------------------------------------------------------------------------------ line index


class LineIndex:
    """Hex-mode display rows for the data view, over a :class:`CaptureStore`'s incremental
    counts.

    Rows are numbered from 0 across the whole capture; within a record, row 0 is its header
    and rows 1.. its data. Every lookup is a binary search over the per-record cumulative
    array. (Text mode needs no index: the data view finds its rows from the bytes around them.)
    """

    @staticmethod
    def hex_rows(store: CaptureStore) -> int:
        ends = store.hex_ends
        return ends[-1] if ends else 0

    @staticmethod
    def hex_row(store: CaptureStore, row: int) -> tuple[Record, int]:
        """(record, row in that record) for display row ``row`` in hex mode."""
        return LineIndex._locate(store, store.hex_ends, row)

    @staticmethod
    def hex_row_range(record: Record, row_in_record: int) -> tuple[int, int]:
        """Stream range ``[start, end)`` of data row ``row_in_record`` (>= 1) of ``record``."""
        if row_in_record < 1:
            raise IndexError("row 0 is the record's header")
        start = record.stream_offset + (row_in_record - 1) * HEX_ROW_BYTES
        if start >= record.end:
            raise IndexError(f"record {record.index} has no hex row {row_in_record}")
        return start, min(start + HEX_ROW_BYTES, record.end)

    @staticmethod
    def hex_row_of(store: CaptureStore, stream_offset: int) -> int:
        """The display row showing the byte at ``stream_offset`` in hex mode."""
        record = store.record_at(stream_offset)
        before = store.hex_ends[record.index - 1] if record.index else 0
        return before + 1 + (stream_offset - record.stream_offset) // HEX_ROW_BYTES

    @staticmethod
    def _locate(store: CaptureStore, ends: Sequence[int], row: int) -> tuple[Record, int]:
        total = ends[-1] if ends else 0
        if not 0 <= row < total:
            raise IndexError(f"row {row} out of range ({total} rows)")
        i = bisect_right(ends, row)
        return store.record(i), row - (ends[i - 1] if i else 0)
