"""Receive throughput: how fast the socket core takes in a loopback stream.

A separate sender process (so the receiver does not share its GIL) listens on 127.0.0.1 and, for
every connection it accepts, sends TOTAL bytes (one pre-generated 1 MiB random block, repeatedly,
with ``sendall``) and closes. The receiver connects and counts bytes in three modes:

- ``reference``: a plain blocking ``socket.recv(65536)`` loop, no event loop at all;
- ``core/asyncio``: ``workbench.sockets.TcpSockets`` on plain asyncio (``asyncio.Runner()``);
- ``core/app-loop``: the same on the app's loop (``workbench.app.make_event_loop``) over a
  PySide6 ``QApplication`` (offscreen platform unless ``QT_QPA_PLATFORM`` is set), as the
  window runs it;
- ``core/qasync``: the same on qasync's own ``QEventLoop``, which the app ran before: shown for
  comparison, with no target.

The core runs at ``buffer_size`` 4096 (Chrome's default) and 65536; its ``on_receive`` listener
adds ``len(info.data)``. Time is measured from just before ``connect`` to the last byte; every
run checks that exactly TOTAL bytes arrived (then end of stream: ``on_receive_error(-100)``, or
``recv() == b''``) and that no chunk exceeded ``buffer_size``. Each measurement is repeated
(3 times by default), the modes interleaved round by round so that a burst of load elsewhere on
the machine hits all of them alike; the table shows the BEST run of each (and the median beside
it), and ratios are best over best. MB is 10^6 bytes. Beside it, the least CPU time this process
took over the same span (all its threads; the sender is another process): a machine busy with
other work disturbs it much less than the wall clock.

    .venv/bin/python -m benchmarks.recv_throughput [--quick] [--mib N] [--repeats N] [--no-json]

Targets (ratio to the reference, issue 7): core/asyncio >= 1.0 at 65536 and >= 0.7 at 4096;
core/app-loop >= 0.9 at 65536 and >= 0.8 at 4096. A miss is printed, not an error: the exit code
is 0 unless a run fails.
Full runs write ``benchmarks/results/recv_throughput.json``; ``--quick`` runs write nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.sockets import (
    NetError,
    ReceiveErrorInfo,
    ReceiveInfo,
    SocketProperties,
    TcpSockets,
)

MIB = 2**20
MB = 10**6
REFERENCE_RECV = 65536
BUFFER_SIZES = (4096, 65536)
CORE_MODES = ("core/asyncio", "core/app-loop", "core/qasync")
# (mode, buffer_size) -> minimum ratio to the reference (none for qasync's own loop)
TARGETS: dict[tuple[str, int], float] = {
    ("core/asyncio", 4096): 0.7,
    ("core/asyncio", 65536): 1.0,
    ("core/app-loop", 4096): 0.8,
    ("core/app-loop", 65536): 0.9,
}
RUN_TIMEOUT = 300.0  # seconds for one 256 MiB run: far beyond any plausible speed
RESULTS = Path(__file__).resolve().parent / "results" / "recv_throughput.json"

# The sender: serves connections one after the other, each gets exactly TOTAL bytes then FIN.
# It exits when its stdin closes, so it cannot outlive the benchmark.
SENDER = r"""
import os, socket, sys, threading
total = int(sys.argv[1])
block = os.urandom(1 << 20)
def watch_stdin():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watch_stdin, daemon=True).start()
srv = socket.create_server(("127.0.0.1", 0), backlog=8)
print(srv.getsockname()[1], flush=True)
whole, rest = divmod(total, len(block))
while True:
    conn, _ = srv.accept()
    try:
        for _ in range(whole):
            conn.sendall(block)
        if rest:
            conn.sendall(memoryview(block)[:rest])
        conn.shutdown(socket.SHUT_WR)
    except OSError as exc:
        print(f"sender: {exc!r}", file=sys.stderr, flush=True)
    finally:
        conn.close()
"""


class Sender:
    """The sender process; ``port`` is where it listens."""

    def __init__(self, total: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(total)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.close()
            raise RuntimeError("the sender process did not start")
        self.port = int(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ receivers


def reference_once(port: int, total: int) -> tuple[float, float]:
    """Seconds from connect to the last byte with a blocking recv(65536) loop, wall clock and
    CPU."""
    t0, c0 = time.perf_counter(), time.process_time()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        recv = sock.recv
        count = 0
        while count < total:
            data = recv(REFERENCE_RECV)
            if not data:
                break
            count += len(data)
        t1, c1 = time.perf_counter(), time.process_time()
        while data := recv(REFERENCE_RECV):  # the rest must be nothing but the FIN
            count += len(data)
    if count != total:
        raise RuntimeError(f"reference: received {count} bytes, expected {total}")
    return t1 - t0, c1 - c0


async def core_once(port: int, total: int, buffer_size: int) -> tuple[float, float]:
    """Seconds from connect to the last byte through TcpSockets' on_receive, wall clock and
    CPU."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, float]] = loop.create_future()
    ended: asyncio.Future[int] = loop.create_future()
    count = 0
    biggest = 0
    async with TcpSockets() as tcp:
        sid = (await tcp.create(SocketProperties(buffer_size=buffer_size))).socket_id

        def on_receive(info: ReceiveInfo) -> None:
            nonlocal count, biggest
            if info.socket_id != sid:
                return
            n = len(info.data)
            count += n
            if n > biggest:
                biggest = n
            if count >= total and not done.done():
                done.set_result((time.perf_counter(), time.process_time()))

        def on_receive_error(info: ReceiveErrorInfo) -> None:
            if info.socket_id == sid and not ended.done():
                ended.set_result(info.result_code)

        tcp.on_receive.add_listener(on_receive)
        tcp.on_receive_error.add_listener(on_receive_error)
        t0, c0 = time.perf_counter(), time.process_time()
        code = await tcp.connect(sid, "127.0.0.1", port)
        if code != NetError.OK:
            raise RuntimeError(f"connect returned {code}")
        t1, c1 = await asyncio.wait_for(done, RUN_TIMEOUT)
        end_code = await asyncio.wait_for(ended, 30)
    if count != total:
        raise RuntimeError(f"core: received {count} bytes, expected {total}")
    if biggest > buffer_size:
        raise RuntimeError(f"core: a chunk of {biggest} bytes exceeds buffer_size {buffer_size}")
    if end_code != NetError.CONNECTION_CLOSED:
        raise RuntimeError(f"core: stream ended with {end_code}, expected -100")
    return t1 - t0, c1 - c0


_qt_app: Any = None


def qt_loop_factory(mode: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory of the app's loops (``core/app-loop``) or of qasync's own (``core/qasync``)
    over one QApplication (created on first use)."""
    global _qt_app
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # PySide6 before qasync: with several bindings installed, qasync otherwise picks PyQt.
    from PySide6.QtWidgets import QApplication

    import qasync

    from workbench.app import make_event_loop

    if _qt_app is None:
        _qt_app = QApplication.instance() or QApplication(["recv_throughput"])
    app = _qt_app
    if mode == "core/app-loop":
        return lambda: make_event_loop(app)
    return lambda: _kept(qasync.QEventLoop(app))


#: qasync's own loops stay alive to the end: closed, one still holds a Qt timer (the run's
#: time-out) on a QObject that the garbage collector would otherwise free from another thread
#: ("Timers cannot be stopped from another thread"; see tests/conftest.py).
_STOCK_LOOPS: list[asyncio.AbstractEventLoop] = []


def _kept(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    _STOCK_LOOPS.append(loop)
    return loop


def measure(mode: str, port: int, total: int, buffer_size: int) -> tuple[float, float]:
    """Seconds for one run of ``mode``: wall clock, and the CPU time of this process."""
    if mode == "reference":
        return reference_once(port, total)
    if mode == "core/asyncio":
        with asyncio.Runner() as runner:
            return runner.run(core_once(port, total, buffer_size))
    if mode in ("core/app-loop", "core/qasync"):
        with asyncio.Runner(loop_factory=qt_loop_factory(mode)) as runner:
            return runner.run(core_once(port, total, buffer_size))
    raise ValueError(mode)


# ------------------------------------------------------------------------------ reporting


@dataclass
class Row:
    mode: str
    buffer_size: int
    runs_mbps: list[float] = field(default_factory=list)
    runs_cpu_ms: list[float] = field(default_factory=list)
    best_mbps: float = 0.0
    median_mbps: float = 0.0
    best_cpu_ms: float = 0.0
    ratio: float | None = None
    target: float | None = None
    verdict: str = ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pyside6": version("PySide6-Essentials"),
        "qasync": version("qasync"),
    }


def core_commit() -> str:
    """The commit the core was measured at, with "+dirty" when workbench/ has local changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "workbench"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    def r(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 3 if v < 10 else 1)
        if isinstance(v, list):
            return [r(x) for x in v]
        return v

    return {k: r(v) for k, v in row.items()}


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def table(rows: list[Row], repeats: int) -> str:
    head = (
        "mode",
        "buffer_size",
        f"MB/s best of {repeats}",
        "MB/s median",
        "ratio",
        "target",
        "result",
        "CPU ms (least)",
    )
    lines = []
    for r in rows:
        lines.append(
            (
                r.mode,
                str(r.buffer_size),
                f"{r.best_mbps:.0f}",
                f"{r.median_mbps:.0f}",
                "1.00" if r.ratio is None else f"{r.ratio:.2f}",
                "-" if r.target is None else f">= {r.target:.1f}",
                r.verdict,
                f"{r.best_cpu_ms:.0f}",
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if 1 <= i <= 5 or i == 7 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), sep, *(fmt(line) for line in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="16 MiB, one run per mode, no JSON (a smoke run)"
    )
    parser.add_argument("--mib", type=int, help="MiB per run (default 256, quick 16)")
    parser.add_argument("--repeats", type=int, help="runs per measurement (default 3, quick 1)")
    parser.add_argument("--no-json", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    mib = args.mib or (16 if args.quick else 256)
    repeats = args.repeats or (1 if args.quick else 3)
    write_json = not (args.quick or args.no_json)
    total = mib * MIB

    info = machine()
    print(
        f"machine : {info['platform']}; {info['cpu']}; {info['cores']} cores "
        f"({info['usable_cores']} usable)"
    )
    print(f"software: {info['python']}; PySide6 {info['pyside6']}; qasync {info['qasync']}")
    load_before = load()
    print(f"load avg: {load_before} (1/5/15 min) before the runs")
    print(
        f"workload: {mib} MiB per run from a loopback sender process; {repeats} run(s) per "
        f"row, modes interleaved; MB = 10^6 bytes",
        flush=True,
    )

    plan: list[tuple[str, int]] = [("reference", REFERENCE_RECV)]
    plan += [(mode, size) for mode in CORE_MODES for size in BUFFER_SIZES]
    rows = {key: Row(mode=key[0], buffer_size=key[1]) for key in plan}

    started = time.monotonic()
    with Sender(total) as sender:
        for round_no in range(1, repeats + 1):
            for mode, size in plan:
                seconds, cpu = measure(mode, sender.port, total, size)
                mbps = total / seconds / MB
                rows[(mode, size)].runs_mbps.append(mbps)
                rows[(mode, size)].runs_cpu_ms.append(cpu * 1e3)
                print(
                    f"  round {round_no}: {mode:<13} {size:>6}: {mbps:7.0f} MB/s "
                    f"({seconds * 1e3:.0f} ms, CPU {cpu * 1e3:.0f} ms)",
                    flush=True,
                )
    took = time.monotonic() - started

    ref = rows[("reference", REFERENCE_RECV)]
    for row in rows.values():
        row.best_mbps = max(row.runs_mbps)
        row.median_mbps = statistics.median(row.runs_mbps)
        row.best_cpu_ms = min(row.runs_cpu_ms)
    for key, row in rows.items():
        if row.mode == "reference":
            row.verdict = "reference"
            continue
        row.ratio = row.best_mbps / ref.best_mbps
        row.target = TARGETS.get(key)
        if row.target is None:
            row.verdict = "-"
        else:
            row.verdict = "PASS" if row.ratio >= row.target else "MISS"

    ordered = list(rows.values())
    print()
    print(table(ordered, repeats))
    load_after = load()
    missed = [f"{r.mode}@{r.buffer_size}" for r in ordered if r.verdict == "MISS"]
    print(f"\nload avg: {load_after} after; {took:.0f} s in all")
    if missed:
        print(f"TARGETS MISSED: {', '.join(missed)}")
    else:
        print("all targets met")

    if write_json:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "benchmark": "recv_throughput",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": info,
            "load_avg_before": load_before,
            "load_avg_after": load_after,
            "bytes_per_run": total,
            "repeats": repeats,
            "statistic": "best",
            "mb": MB,
            "reference": f"blocking socket.recv({REFERENCE_RECV})",
            "core_commit": core_commit(),
            "rows": [_rounded(asdict(r)) for r in ordered],
            "missed": missed,
        }
        RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
