"""Capture store and codecs: the costs behind the data view and the send composer.

    .venv/bin/python -m benchmarks.capture_store [--quick] [--mib N]

What is measured (single process, no Qt; MB is 10^6 bytes, each figure the best of 3 runs;
the capture files go to ``$TMPDIR``, or the system's temporary folder):

- ``append``: TOTAL bytes appended in 4 KiB chunks (the core's default ``buffer_size``) with
  real ``time.time()`` stamps, as a receive flood does; binary chunks and text chunks (short
  lines), into a standalone store. Reports MB/s, microseconds per append, the records made,
  and the process's RSS growth, which must stay flat.
- ``append x2``: the binary flood again, from two stores sharing one ``CaptureSpool`` and
  taking turns append by append (two sockets flooding at once), TOTAL bytes each.
- ``10,000 stores``: one spool, 10,000 stores, two short appends each (a request and a
  reply): the descriptors they hold (issue 7: "A socket's capture must not hold a descriptor
  of its own while idle"), and the cost per store of creating it and its appends.
- ``find``: a needle that is not there, over the whole capture (the streaming worst case).
- ``view``: what one hex repaint costs: 10,000 random hex-row lookups with their 16-byte reads.
- ``datagrams``: a UDP socket's capture (``DatagramStore``): DATAGRAMS datagrams of 20 to 120
  bytes from a handful of peers appended (microseconds each), then the data view's layout over
  them (``dump_layout``, as the view uses it, in hex and in text): a 50-row screen read at 1,000
  random scroll positions (a header row per datagram, with its peer), one datagram arriving
  while the view follows the tail (append, ``grew``, the screen), and a find for an absent
  needle (matches checked against datagram boundaries). Run for DATAGRAMS / 10 too: the
  figures must not grow with the number of datagrams.
- codecs on 10 MB: ``decode_visible`` (text with NULs and invalid bytes; random bytes) in every
  encoding, ``parse_hex``, ``parse_escaped``, ``hex_dump``.

Targets: append >= 300 MB/s (binary, alone and two at once) and >= 150 MB/s (text), RSS growth
< 32 MiB, at most 2 descriptors for the 10,000 stores, ``decode_visible`` of 10 MB text < 0.5 s
in every encoding; datagrams (100,000 and 10,000; 20,000 and 2,000 with ``--quick``): a screen
and an arriving datagram < 16 ms (a frame at 60 Hz) in both modes. A miss is printed, not an
error.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable

from workbench.core.capture import CaptureSpool, CaptureStore, DatagramStore, Direction, LineIndex
from workbench.core.codecs import (
    TEXT_ENCODINGS,
    decode_visible,
    escape_bytes,
    hex_dump,
    hex_pairs,
    parse_escaped,
    parse_hex,
)
from workbench.core.dump_layout import HexLayout, Layout, Reader, ScrollState, TextLayout

MIB = 2**20
MB = 10**6
CHUNK = 4096
FRAME = 0.016  # one frame at 60 Hz
REPEATS = 3


def rss() -> int:
    """Resident set size in bytes (Linux), or 0 when unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def bench_store(total: int, kind: str, missed: list[str]) -> CaptureStore:
    if kind == "binary":
        chunk = os.urandom(CHUNK)
    else:
        line = b"The quick brown fox jumps over the lazy dog 0123456789.\r\n"
        chunk = (line * (CHUNK // len(line) + 1))[:CHUNK]
    count = total // CHUNK
    store = CaptureStore()
    rss_before = rss()
    start = time.perf_counter()
    append = store.append
    for _ in range(count):
        append(Direction.IN, chunk)
    took = time.perf_counter() - start
    grown = rss() - rss_before
    mbps = total / took / MB
    target = 300 if kind == "binary" else 150
    print(
        f"  append {kind:6}: {mbps:7.0f} MB/s  {took / count * 1e6:5.2f} us/append  "
        f"{store.record_count} records  "
        f"RSS +{grown / MIB:.1f} MiB   target >= {target} MB/s, < 32 MiB: "
        f"{verdict(mbps >= target and grown < 32 * MIB)}"
    )
    if mbps < target or grown >= 32 * MIB:
        missed.append(f"append {kind}")
    return store


def bench_two_floods(total: int, missed: list[str]) -> None:
    chunk = os.urandom(CHUNK)
    count = total // CHUNK
    with CaptureSpool() as spool:
        first, second = CaptureStore(spool=spool), CaptureStore(spool=spool)
        rss_before = rss()
        start = time.perf_counter()
        for _ in range(count):
            first.append(Direction.IN, chunk)
            second.append(Direction.IN, chunk)
        took = time.perf_counter() - start
        grown = rss() - rss_before
        ok = first.read(total - CHUNK, CHUNK) == chunk == second.read(total - CHUNK, CHUNK)
        mbps = 2 * total / took / MB
        print(
            f"  append x2     : {mbps:7.0f} MB/s  {took / count / 2 * 1e6:5.2f} us/append  "
            f"{spool.segment_count} segments  RSS +{grown / MIB:.1f} MiB   "
            f"target >= 300 MB/s, < 32 MiB: {verdict(ok and mbps >= 300 and grown < 32 * MIB)}"
        )
        if not ok or mbps < 300 or grown >= 32 * MIB:
            missed.append("append x2")
        first.close()
        second.close()


def open_descriptors() -> int:
    """Descriptors this process holds (Linux), or -1 when unknown."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def bench_many_stores(missed: list[str], count: int = 10_000) -> None:
    before = open_descriptors()
    with CaptureSpool() as spool:
        start = time.perf_counter()
        stores = [CaptureStore(spool=spool) for _ in range(count)]
        for i, store in enumerate(stores):
            store.append(Direction.OUT, b"GET /%d HTTP/1.1\r\n\r\n" % i)
            store.append(Direction.IN, b"HTTP/1.1 200 OK\r\n\r\n")
        took = time.perf_counter() - start
        held = open_descriptors() - before
        close_start = time.perf_counter()
        for store in stores:
            store.close()
        closed = time.perf_counter() - close_start
    ok = before >= 0 and held <= 2
    print(
        f"  {count:,} stores: {held} descriptors held ({spool.segment_count} after closing "
        f"them)  {took / count * 1e6:5.1f} us per store (create + 2 appends)  "
        f"{closed / count * 1e6:4.1f} us per close   target <= 2 descriptors: {verdict(ok)}"
    )
    if not ok:
        missed.append("descriptors")


def bench_find(store: CaptureStore) -> None:
    took = best(lambda: store.find(b"\xffnot in here\xfe"), 1)
    print(
        f"  find (absent)  : {store.total_bytes / took / MB:7.0f} MB/s over "
        f"{store.total_bytes / MIB:.0f} MiB"
    )


def bench_view(store: CaptureStore) -> None:
    rng = random.Random(1)
    rows = LineIndex.hex_rows(store)

    def hex_lookups() -> None:
        for _ in range(10_000):
            record, k = LineIndex.hex_row(store, rng.randrange(rows))
            if k:
                start, end = LineIndex.hex_row_range(record, k)
                store.read(start, end - start)

    took = best(hex_lookups)
    print(
        f"  hex row + read : {took / 10_000 * 1e6:7.1f} us per row "
        f"({took / 10_000 * 50 * 1e3:.2f} ms per 50-row screen)"
    )


def bench_datagrams(count: int, missed: list[str]) -> None:
    rng = random.Random(2)
    peers = [(f"192.0.2.{i}", 1000 + i) for i in range(8)]
    payloads = [os.urandom(rng.randrange(20, 121)) for _ in range(256)]
    with DatagramStore(spool=CaptureSpool()) as store:
        started = time.perf_counter()
        for i in range(count):
            address, port = peers[i % len(peers)]
            store.add_datagram(i % 2, payloads[i % 256], address, port, None)
        took = time.perf_counter() - started
        print(f"  datagrams      : {count:,} appended, {took / count * 1e6:.1f} us each")
        for mode in ("Hex", "Text"):
            reader = Reader(store)
            layout: Layout = HexLayout(reader) if mode == "Hex" else TextLayout(reader, "UTF-8")
            _bench_datagram_view(store, layout, mode, rng, missed)
        took = best(lambda: store.find(b"\xffnot in here\xfe"), 1)
        print(f"    find (absent)      : {took * 1e3:7.1f} ms over {store.total_bytes / MB:.1f} MB")


def _bench_datagram_view(
    store: DatagramStore, layout: Layout, mode: str, rng: random.Random, missed: list[str]
) -> None:
    state = ScrollState(layout)
    state.resize(50, 51)
    started = time.perf_counter()
    state.start(anchor_offset=None)
    state.rows()
    opened = time.perf_counter() - started
    values = state.values()
    assert values is not None
    maximum = values[1]

    def screens() -> None:
        for _ in range(1000):
            state.jump(rng.randrange(maximum), to_end=False)
            state.rows()

    screen = best(screens) / 1000
    state.jump(maximum, to_end=True)
    arrivals = 200

    def arrive() -> None:
        for _ in range(arrivals):
            store.add_datagram(0, b"one more datagram", "192.0.2.9", 53, None)
            state.grew()
            state.values()
            state.rows()

    arrival = best(arrive) / arrivals
    ok = screen < FRAME and arrival < FRAME
    print(
        f"    {mode:4} view          : open {opened * 1e3:.1f} ms, {screen * 1e3:.2f} ms per "
        f"50-row screen, {arrival * 1e3:.2f} ms per arriving datagram   target < 16 ms: "
        f"{verdict(ok)}"
    )
    if not ok:
        missed.append(f"datagram view ({mode})")


def bench_codecs(missed: list[str]) -> None:
    line = "The quick brown fox \x00 jumps over the lazy dog \u00e9\u20ac.\r\n"
    print("  decode_visible, 10 MB (s):     text   random")
    random_bytes = os.urandom(10 * MB)
    for encoding in TEXT_ENCODINGS:
        chunk = line.encode(encoding, "replace") + b"\xff"
        text = chunk * (10 * MB // len(chunk))
        t_text = best(lambda data=text, enc=encoding: decode_visible(data, enc))
        t_random = best(lambda enc=encoding: decode_visible(random_bytes, enc))
        print(
            f"    {encoding:9}                  {t_text:6.3f}   {t_random:6.3f}   "
            f"target (text) < 0.5 s: {verdict(t_text < 0.5)}"
        )
        if t_text >= 0.5:
            missed.append(f"decode_visible {encoding}")
    data = os.urandom(10 * MB // 3)
    pairs = hex_pairs(data)
    print(
        f"  parse_hex      : {best(lambda: parse_hex(pairs)):.3f} s for "
        f"{len(pairs) / MB:.0f} MB of '68 65 ...'"
    )
    prefixed = ",".join("0x" + p for p in pairs.split())
    print(
        f"  parse_hex      : {best(lambda: parse_hex(prefixed)):.3f} s for "
        f"{len(prefixed) / MB:.0f} MB of '0x68,0x65,...'"
    )
    escaped = escape_bytes(data)
    print(
        f"  parse_escaped  : {best(lambda: parse_escaped(escaped)):.3f} s for "
        f"{len(escaped) / MB:.0f} MB of escapes (escape_bytes of random bytes)"
    )
    print(
        f"  escape_bytes   : {best(lambda: escape_bytes(data)):.3f} s for "
        f"{len(data) / MB:.1f} MB of random bytes"
    )
    print(f"  hex_dump       : {best(lambda: hex_dump(data[:MB])):.3f} s per MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="32 MiB instead of 256 MiB")
    parser.add_argument("--mib", type=int, help="MiB appended per store (default 256)")
    args = parser.parse_args(argv)
    total = (args.mib or (32 if args.quick else 256)) * MIB
    missed: list[str] = []
    print(
        f"workload: {total // MIB} MiB per store in {CHUNK}-byte appends; Python "
        f"{sys.version.split()[0]}",
        flush=True,
    )
    for kind in ("binary", "text"):
        with bench_store(total, kind, missed) as store:
            if kind == "binary":
                bench_find(store)
            bench_view(store)
    bench_two_floods(total // 2 if args.quick else total, missed)
    bench_many_stores(missed)
    for count in (2_000, 20_000) if args.quick else (10_000, 100_000):
        bench_datagrams(count, missed)
    bench_codecs(missed)
    print(f"TARGETS MISSED: {', '.join(missed)}" if missed else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
