"""The core at scale: N sockets through ``TcpSockets`` on plain asyncio and on the app's loop.

An echo server runs in a separate process (its own GIL; plain asyncio) on 127.0.0.1. One run,
on a fresh loop and a fresh ``TcpSockets``:

- ``create``: ``tcp.create()`` N times (shown, no target);
- ``connect``: ``tcp.connect(id, "127.0.0.1", port)`` for all N at once (``asyncio.gather``);
  every result must be 0;
- ``echo``: every socket sends its own 4 bytes (its index) at once, and the phase ends when
  every socket has received exactly those 4 bytes back (``on_receive``);
- ``close``: ``tcp.close(id)`` for all N at once; no socket may be left.

Loops: ``asyncio`` (``asyncio.Runner()``) and ``app`` (``workbench.app.make_event_loop`` over
a ``QApplication``, offscreen unless ``QT_QPA_PLATFORM`` is set); ``--stock-qasync`` adds
qasync's own ``QEventLoop`` for comparison (slow: about 15 s a run at 10,000). N = 1,000 and
10,000; each (loop, N) is run 3 times, interleaved round by round, and the table shows the
best time of each phase, the cost per socket and the ratio app / asyncio.

Targets (issue 14): app / asyncio at most 1.5 for connect, echo and close at 10,000 sockets;
and the cost per socket must not grow from 1,000 to 10,000 (the app loop's growth, per-socket
cost at 10,000 over that at 1,000, at most 1.25 times plain asyncio's own growth, which the
kernel and the core account for). A miss is printed, not an error.

Each run uses a listening port of its own, so that the TIME_WAIT connections of one run never
collide with the next. The soft ``RLIMIT_NOFILE`` is raised to the hard limit (the server
process inherits it); 10,000 sockets need 10,000 descriptors on each side.

    .venv/bin/python -m benchmarks.scale_core [--quick] [--sizes 1000,10000] [--repeats 3]
                                               [--stock-qasync] [--no-json]

Full runs write ``benchmarks/results/scale_core.json``; ``--quick`` runs write nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.recv_throughput import core_commit, load, machine
from workbench.core.limits import raise_fd_limit
from workbench.sockets import NetError, ReceiveInfo, TcpSockets

PHASES = ("create", "connect", "echo", "close")
TARGET_PHASES = ("connect", "echo", "close")
RATIO_TARGET = 1.5
GROWTH_TARGET = 1.25
RUN_TIMEOUT = 300.0  # seconds for one run: far beyond any plausible time
RESULTS = Path(__file__).resolve().parent / "results" / "scale_core.json"

# The echo server: one listening socket per planned run (backlog as deep as the kernel
# allows), echoing whatever arrives and closing when the peer does. Exits when stdin closes.
SERVER = r"""
import asyncio, os, socket, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(data)
    def eof_received(self):
        self.transport.close()

async def main(count):
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(Echo, "127.0.0.1", 0, backlog=65535)
        for _ in range(count)
    ]
    print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    os._exit(0)

asyncio.run(main(int(sys.argv[1])))
"""


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit; the (soft, hard) now in force."""
    raise_fd_limit()
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class EchoServer:
    """The server process; ``take_port()`` hands out one unused listening port per run."""

    def __init__(self, listeners: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(listeners)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.close()
            raise RuntimeError("the echo server process did not start")
        self._ports = [int(p) for p in line.split()]

    def take_port(self) -> int:
        return self._ports.pop(0)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EchoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ one run


class Stopwatch:
    """Wall-clock and CPU seconds (this process, all threads) per phase."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._phase = ""
        self._started = (0.0, 0.0)

    def start(self, phase: str) -> None:
        self._phase = phase
        self._started = (time.perf_counter(), time.process_time())

    def stop(self) -> None:
        wall, cpu = self._started
        self.wall[self._phase] = time.perf_counter() - wall
        self.cpu[self._phase] = time.process_time() - cpu


async def run_once(port: int, count: int) -> Stopwatch:
    """The phases' times for ``count`` sockets against the echo server on ``port``."""
    loop = asyncio.get_running_loop()
    watch = Stopwatch()
    tcp = TcpSockets()
    received: dict[int, bytearray] = {}
    done: asyncio.Future[None] = loop.create_future()
    complete = 0

    def on_receive(info: ReceiveInfo) -> None:
        nonlocal complete
        buf = received[info.socket_id]
        buf += info.data
        if len(buf) == 4:
            complete += 1
            if complete == count and not done.done():
                done.set_result(None)

    tcp.on_receive.add_listener(on_receive)

    watch.start("create")
    ids = [(await tcp.create()).socket_id for _ in range(count)]
    watch.stop()

    watch.start("connect")
    codes = await asyncio.gather(*(tcp.connect(sid, "127.0.0.1", port) for sid in ids))
    watch.stop()
    failed = [code for code in codes if code != NetError.OK]
    if failed:
        raise RuntimeError(f"{len(failed)} of {count} connects failed, first with {failed[0]}")

    expected = {sid: struct.pack("!I", i) for i, sid in enumerate(ids)}
    for sid in ids:
        received[sid] = bytearray()
    watch.start("echo")
    sent = await asyncio.gather(*(tcp.send(sid, expected[sid]) for sid in ids))
    await done
    watch.stop()
    if any(info.result_code != NetError.OK for info in sent):
        raise RuntimeError("a send failed")
    wrong = [sid for sid in ids if bytes(received[sid]) != expected[sid]]
    if wrong:
        raise RuntimeError(f"{len(wrong)} sockets got the wrong echo (first: {wrong[0]})")

    watch.start("close")
    await asyncio.gather(*(tcp.close(sid) for sid in ids))
    watch.stop()
    left = await tcp.get_sockets()
    if left:
        raise RuntimeError(f"{len(left)} sockets left after closing them all")
    tcp.on_receive.remove_listener(on_receive)
    return watch


_qt_app: Any = None


def _qt() -> Any:
    global _qt_app
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    if _qt_app is None:
        _qt_app = QApplication.instance() or QApplication(["scale_core"])
    return _qt_app


def loop_factory(mode: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if mode == "asyncio":
        return None
    app = _qt()
    if mode == "app":
        from workbench.app import make_event_loop

        return lambda: make_event_loop(app)
    if mode == "qasync":
        import qasync  # type: ignore[import-untyped]

        return lambda: _kept(qasync.QEventLoop(app))
    raise ValueError(mode)


#: qasync's own loops stay alive to the end: closed, one still holds a Qt timer (the run's
#: time-out) on a QObject that the garbage collector would otherwise free from another thread
#: ("Timers cannot be stopped from another thread"; see tests/conftest.py).
_STOCK_LOOPS: list[asyncio.AbstractEventLoop] = []


def _kept(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    _STOCK_LOOPS.append(loop)
    return loop


def measure(mode: str, port: int, count: int) -> Stopwatch:
    with asyncio.Runner(loop_factory=loop_factory(mode)) as runner:
        return runner.run(asyncio.wait_for(run_once(port, count), RUN_TIMEOUT))


# ------------------------------------------------------------------------------ reporting


@dataclass
class Cell:
    """One (loop, N, phase): every run's wall-clock and CPU seconds, and the best of each."""

    runs: list[float] = field(default_factory=list)
    cpu_runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_runs)


def per_socket_us(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def verdicts(
    cells: dict[tuple[str, int, str], Cell], sizes: list[int]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for the table and the JSON, and the list of missed targets."""
    rows: list[dict[str, Any]] = []
    missed: list[str] = []
    largest, smallest = max(sizes), min(sizes)
    for count in sizes:
        for phase in PHASES:
            base_cell, app_cell = cells[("asyncio", count, phase)], cells[("app", count, phase)]
            base, app = base_cell.best, app_cell.best
            ratio = app / base
            row: dict[str, Any] = {
                "sockets": count,
                "phase": phase,
                "asyncio_s": base,
                "app_s": app,
                "asyncio_us_per_socket": per_socket_us(base, count),
                "app_us_per_socket": per_socket_us(app, count),
                "ratio": ratio,
                "asyncio_cpu_s": base_cell.best_cpu,
                "app_cpu_s": app_cell.best_cpu,
                "cpu_ratio": app_cell.best_cpu / max(base_cell.best_cpu, 1e-9),
                "verdict": "",
            }
            if ("qasync", count, phase) in cells:
                stock = cells[("qasync", count, phase)].best
                row["qasync_s"] = stock
                row["qasync_ratio"] = stock / base
            if count == largest and phase in TARGET_PHASES:
                row["verdict"] = "PASS" if ratio <= RATIO_TARGET else "MISS"
                if row["verdict"] == "MISS":
                    missed.append(f"{phase}@{count} ratio {ratio:.2f}")
            rows.append(row)
    if largest != smallest:
        for phase in TARGET_PHASES:
            growth = {
                mode: (cells[(mode, largest, phase)].best / largest)
                / (cells[(mode, smallest, phase)].best / smallest)
                for mode in ("asyncio", "app")
            }
            ok = growth["app"] <= GROWTH_TARGET * max(growth["asyncio"], 1.0)
            rows.append(
                {
                    "sockets": f"{smallest}->{largest}",
                    "phase": phase,
                    "asyncio_growth": growth["asyncio"],
                    "app_growth": growth["app"],
                    "verdict": "PASS" if ok else "MISS",
                }
            )
            if not ok:
                missed.append(f"{phase} per-socket growth {growth['app']:.2f}")
    return rows, missed


def table(rows: list[dict[str, Any]], repeats: int, stock: bool) -> str:
    head = ["N", "phase", "asyncio s", "app s", "asyncio µs/sock", "app µs/sock", "app/asyncio"]
    head.append("CPU app/asyncio")
    if stock:
        head.append("qasync/asyncio")
    head.append("result")
    lines: list[list[str]] = []
    for r in rows:
        if "ratio" not in r:
            continue
        line = [
            f"{r['sockets']:,}",
            r["phase"],
            f"{r['asyncio_s']:.3f}",
            f"{r['app_s']:.3f}",
            f"{r['asyncio_us_per_socket']:.0f}",
            f"{r['app_us_per_socket']:.0f}",
            f"{r['ratio']:.2f}",
            f"{r['cpu_ratio']:.2f}",
        ]
        if stock:
            line.append(f"{r['qasync_ratio']:.2f}" if "qasync_ratio" in r else "-")
        line.append(r["verdict"] or "-")
        lines.append(line)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [
        f"best of {repeats} per cell (wall clock; CPU: this process's CPU time, all threads)",
        fmt(head),
        "  ".join("-" * w for w in widths),
    ]
    out += [fmt(line) for line in lines]
    growth = [r for r in rows if "app_growth" in r]
    if growth:
        out.append("")
        out.append(f"per-socket cost growth {growth[0]['sockets']} (1.00 = flat):")
        for r in growth:
            out.append(
                f"  {r['phase']:<8} asyncio {r['asyncio_growth']:.2f}  app {r['app_growth']:.2f}"
                f"  {r['verdict']}"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 sockets, one run")
    parser.add_argument("--sizes", help="comma-separated socket counts (default 1000,10000)")
    parser.add_argument("--repeats", type=int, help="runs per cell (default 3, quick 1)")
    parser.add_argument(
        "--stock-qasync", action="store_true", help="also run qasync's own QEventLoop (slow)"
    )
    parser.add_argument("--no-json", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    default_sizes = "200,1000" if args.quick else "1000,10000"
    sizes = [int(s) for s in (args.sizes or default_sizes).split(",")]
    repeats = args.repeats or (1 if args.quick else 3)
    modes = ["asyncio", "app"] + (["qasync"] if args.stock_qasync else [])
    write_json = not (args.quick or args.no_json)

    soft, hard = raise_nofile()
    info = machine()
    print(
        f"machine : {info['platform']}; {info['cpu']}; {info['cores']} cores "
        f"({info['usable_cores']} usable)"
    )
    print(f"software: {info['python']}; PySide6 {info['pyside6']}; qasync {info['qasync']}")
    load_before = load()
    print(f"load avg: {load_before} (1/5/15 min) before the runs; RLIMIT_NOFILE {soft}/{hard}")
    need = max(sizes) + 64
    if soft < need:
        print(f"RLIMIT_NOFILE {soft} is below the {need} descriptors needed", file=sys.stderr)
        return 1
    print(
        f"workload: create, connect, 4-byte echo, close of N sockets against an echo server "
        f"process; loops {', '.join(modes)}; {repeats} round(s), interleaved",
        flush=True,
    )

    plan = [(mode, count) for count in sizes for mode in modes]
    cells: dict[tuple[str, int, str], Cell] = {}
    started = time.monotonic()
    with EchoServer(len(plan) * repeats) as server:
        for round_no in range(1, repeats + 1):
            for mode, count in plan:
                watch = measure(mode, server.take_port(), count)
                for phase, seconds in watch.wall.items():
                    cell = cells.setdefault((mode, count, phase), Cell())
                    cell.runs.append(seconds)
                    cell.cpu_runs.append(watch.cpu[phase])
                shown = "  ".join(f"{p} {watch.wall[p]:.3f}" for p in PHASES)
                print(f"  round {round_no}: {mode:<8} N={count:>6,}: {shown} s", flush=True)
    took = time.monotonic() - started

    rows, missed = verdicts(cells, sizes)
    print()
    print(table(rows, repeats, args.stock_qasync))
    load_after = load()
    print(f"\nload avg: {load_after} after; {took:.0f} s in all")
    print(f"TARGETS MISSED: {', '.join(missed)}" if missed else "all targets met")

    if write_json:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "benchmark": "scale_core",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": info,
            "load_avg_before": load_before,
            "load_avg_after": load_after,
            "rlimit_nofile": [soft, hard],
            "repeats": repeats,
            "statistic": "best",
            "core_commit": core_commit(),
            "runs": {
                f"{mode}/{count}/{phase}": [round(s, 4) for s in cell.runs]
                for (mode, count, phase), cell in sorted(cells.items())
            },
            "cpu_runs": {
                f"{mode}/{count}/{phase}": [round(s, 4) for s in cell.cpu_runs]
                for (mode, count, phase), cell in sorted(cells.items())
            },
            "rows": [
                {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
                for row in rows
            ],
            "missed": missed,
        }
        RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
