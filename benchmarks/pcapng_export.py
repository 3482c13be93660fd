"""pcapng export speed and memory: a capture of SIZE (1 GiB by default; 64 MiB with --quick),
sent and received in 1 MiB runs, exported as one synthesized TCP connection.

The capture is filled directly (no socket: this measures the export, not the network), in a
spool file on disk as the window keeps it. The export reads it a segment at a time, so the
process's peak memory (ru_maxrss) must not grow with SIZE: the table shows it before and
after the export. MB/s is capture bytes per second of wall time.

    .venv/bin/python -m benchmarks.pcapng_export [--quick] [--mib N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from workbench.core.capture import CaptureStore, Direction
from workbench.core.pcapng import ConnectionEnd, PcapngWriter, TcpConnection, write_tcp_connection

MIB = 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB instead of 1 GiB")
    parser.add_argument("--mib", type=int, default=None)
    args = parser.parse_args(argv)
    size_mib = args.mib or (64 if args.quick else 1024)
    block = os.urandom(MIB)
    with tempfile.TemporaryDirectory() as tmp:
        store = CaptureStore(Path(tmp) / "capture.bin")
        t0 = time.time()
        for i in range(size_mib):
            store.add(Direction.OUT if i % 2 else Direction.IN, block, t0 + i / 1000)
        store.sync()
        before = peak_rss_mib()
        conn = TcpConnection(
            1,
            ("127.0.0.1", 40000),
            ("127.0.0.1", 8080),
            t0,
            store,
            end=ConnectionEnd.OWN_FIN,
            ended_at=t0 + size_mib / 1000,
        )
        out = Path(tmp) / "export.pcapng"
        start = time.perf_counter()
        with out.open("wb") as file:
            writer = PcapngWriter(file, "Socket Workbench benchmark")
            write_tcp_connection(writer, conn, "socket 1")
        took = time.perf_counter() - start
        after = peak_rss_mib()
        written = out.stat().st_size
        store.close()
    rate = size_mib * MIB / took / 1e6
    print(
        f"pcapng export of {size_mib} MiB: {took:.2f} s, {rate:.0f} MB/s, "
        f"{writer.packets} packets, file {written / MIB:.0f} MiB"
    )
    print(
        f"peak RSS before {before:.0f} MiB, after {after:.0f} MiB "
        f"(+{after - before:.0f} MiB: flat when it does not grow with the size)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
