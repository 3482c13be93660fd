"""The window with thousands of sockets: what each phase costs per socket, and how late the
event loop runs meanwhile.

An echo server runs in another process on loopback (``scale_core``'s). The window
(``build_main_window``, offscreen unless ``QT_QPA_PLATFORM`` says otherwise) runs on the app's
own event loop (``workbench.app.make_event_loop``), with the app's garbage collector thresholds
(``workbench.core.limits.tune_gc``). For N
sockets (1,000 and 10,000 side by side), through the window's own session, as a user's clicks
would go:

- create: N ``create()`` calls, each a new row;
- connect: N ``connect()`` calls to the echo server, 256 at a time;
- one change on every row shows: every socket is paused on the core, then the time until the
  table model has announced a ``dataChanged`` for every row and the view has painted;
- close: the window's ``close()`` until it says every socket is closed (``shutDown``).

Throughout, a 10 ms precise ``QTimer`` records the loop's lateness (p50, p99, max).

    .venv/bin/python -m benchmarks.window_scale [--quick] [--sizes 1000,10000]

Targets (issue 7): one change on every row shows within 1 s; lateness p99 under 50 ms
throughout; closing under 5 s; the cost per socket does not grow with N. A miss is printed,
not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QModelIndex, Qt, QTimer  # after the environment: QT_API
from PySide6.QtWidgets import QApplication

from benchmarks.recv_throughput import load, machine
from benchmarks.scale_core import EchoServer
from workbench.app import make_event_loop
from workbench.core.limits import raise_fd_limit, tune_gc

BATCH = 256
#: A script that creates or changes sockets lets the loop run after this many.
SCRIPT_BATCH = 64
INTERVAL_MS = 10
TARGET_SHOW_S = 1.0
TARGET_P99_MS = 50.0
TARGET_CLOSE_S = 5.0


@dataclass
class Phase:
    name: str
    seconds: float
    #: the loop's worst lateness while the phase ran, ms
    worst_ms: float = 0.0


@dataclass
class Run:
    n: int
    phases: list[Phase] = field(default_factory=list)
    lateness_ms: list[float] = field(default_factory=list)
    error: str = ""

    def p(self, q: float) -> float:
        if not self.lateness_ms:
            return 0.0
        ordered = sorted(self.lateness_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LatenessProbe:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.samples.append(max(0.0, (now - self._last) * 1000 - INTERVAL_MS))
        self._last = now


async def _until(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.001)


async def run_window(n: int, port: int) -> Run:
    from workbench.app import build_main_window
    from workbench.sockets import TcpSockets

    run = Run(n)
    tcp = TcpSockets()
    window = build_main_window(tcp)
    window.show()
    probe = LatenessProbe()
    probe.start()
    sockets = window.session.sockets
    mark = 0

    def phase(name: str, seconds: float) -> None:
        nonlocal mark
        worst = max(probe.samples[mark:], default=0.0)
        mark = len(probe.samples)
        run.phases.append(Phase(name, seconds, worst))

    try:
        started = time.perf_counter()
        ids = []
        for i in range(n):
            ids.append((await sockets.create()).socket_id)
            if i % SCRIPT_BATCH == SCRIPT_BATCH - 1:
                await asyncio.sleep(0.001)  # a script that lets the window breathe
        phase("create", time.perf_counter() - started)

        started = time.perf_counter()
        for i in range(0, n, BATCH):
            codes = await asyncio.gather(
                *(sockets.connect(sid, "127.0.0.1", port) for sid in ids[i:i + BATCH])
            )
            if any(codes):
                raise RuntimeError(f"connect failed: {sorted(set(codes))}")
        phase("connect", time.perf_counter() - started)
        await _until(lambda: window.model.rowCount() == n, 30)

        changed: set[int] = set()

        def seen(top: QModelIndex, bottom: QModelIndex, *_: Any) -> None:
            changed.update(range(top.row(), bottom.row() + 1))

        window.model.dataChanged.connect(seen)
        started = time.perf_counter()
        for i, sid in enumerate(ids):
            await tcp.set_paused(sid, True)
            if i % SCRIPT_BATCH == SCRIPT_BATCH - 1:
                await asyncio.sleep(0.001)
        changes_made = time.perf_counter()
        await _until(lambda: len(changed) == n, 60)
        window.table.viewport().repaint()
        phase("change every row (made)", changes_made - started)
        phase("…then shown", time.perf_counter() - changes_made)

        started = time.perf_counter()
        done = asyncio.get_running_loop().create_future()
        window.shutDown.connect(lambda: done.done() or done.set_result(None))
        window.close()
        await asyncio.wait_for(done, 120)
        phase("close the window", time.perf_counter() - started)
    except Exception as exc:  # a benchmark reports, it does not crash
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        probe.stop()
        run.lateness_ms = probe.samples
        if not window.shut_down:
            window.close()
    return run


def report(runs: list[Run]) -> str:
    lines = ["| phase | " + " | ".join(f"{r.n:,} sockets: s (µs/socket) [worst lateness, ms]"
                                       for r in runs) + " |",
             "|---|" + "---:|" * len(runs)]
    names = [p.name for p in runs[0].phases] if runs and runs[0].phases else []
    for i, name in enumerate(names):
        cells = []
        for r in runs:
            if i < len(r.phases):
                s = r.phases[i].seconds
                worst = r.phases[i].worst_ms
                cells.append(f"{s:.3f} ({s / r.n * 1e6:.0f}) [{worst:.0f}]")
            else:
                cells.append("-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| loop lateness p50 / p99 / max, ms | " + " | ".join(
        f"{r.p(0.5):.1f} / {r.p(0.99):.1f} / {max(r.lateness_ms, default=0):.1f}"
        for r in runs) + " |")
    for r in runs:
        if r.error:
            lines.append(f"\n{r.n} sockets: could not finish: {r.error}")
        shown = next((p.seconds for p in r.phases if p.name == "…then shown"), None)
        close = next((p.seconds for p in r.phases if p.name == "close the window"), None)
        misses = []
        if shown is not None and shown > TARGET_SHOW_S:
            misses.append(f"a change on every row took {shown:.2f} s to show (target 1 s)")
        if r.p(0.99) > TARGET_P99_MS:
            misses.append(f"lateness p99 {r.p(0.99):.0f} ms (target 50 ms)")
        if close is not None and close > TARGET_CLOSE_S:
            misses.append(f"closing took {close:.1f} s (target 5 s)")
        if misses:
            lines.append(f"{r.n} sockets: MISSED: " + "; ".join(misses))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 sockets")
    parser.add_argument("--sizes", default="", help="comma-separated socket counts")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s] or (
        [200, 1000] if args.quick else [1000, 10_000])
    raise_fd_limit()  # the echo server process inherits it
    tune_gc()  # as the app does at start (``workbench.app.main``)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    # Closing the window between runs must not end the application (and so the loop).
    app.setQuitOnLastWindowClosed(False)
    runs = []
    with EchoServer(len(sizes)) as server:
        for n in sizes:
            port = server.take_port()
            with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
                runs.append(runner.run(run_window(n, port)))
    print(f"machine: {machine()}  load: {load()}")
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
