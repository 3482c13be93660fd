"""Event-loop latency and memory while a socket floods the data view.

A sender process (``benchmarks.recv_throughput.Sender``: its own process, so it does not share
our GIL) sends TOTAL bytes as fast as loopback allows. The receiver is the window's own path:
``TcpSockets`` on the app's loop (``workbench.app.make_event_loop``) over a ``QApplication``
(offscreen unless ``QT_QPA_PLATFORM`` says otherwise), a ``SocketSession`` that appends every
chunk to the socket's ``CaptureStore`` and coalesces ``dataArrived`` at ~40 Hz, and the data
view in hex mode following the tail (``notify_grew`` → one repaint tick at ≤ 30 Hz). Two setups:

- ``window``: the whole window (``workbench.app.build_main_window``), socket created and
  connected through its session, selected, the view in hex mode;
- ``data view``: just a ``SocketSession`` and a ``DataPane`` (the view's own cost, without
  the table, panels and call log).

Measured while the bytes arrive:

- latency: a 10 ms ``QTimer`` (PreciseTimer) records when it fires; its lateness is the
  interval beyond 10 ms. p50 / p99 / max. (An idle row gives the floor of the platform.)
- repaints: paint events of the view's viewport per second (≤ ~30: the view's throttle);
- memory: the process RSS (``/proc/self/statm``) sampled every 100 ms; "growth" is the
  largest RSS minus the RSS when the first 10% had arrived (the warm-up allocations of
  sockets, stores and first paints are not growth).

    .venv/bin/python -m benchmarks.ui_latency [--quick] [--mib N] [--only window|view]
                                              [--view-mode Hex|Text]

Targets (issue 3, Speed): p99 lateness < 50 ms; memory flat, taken as a growth < 32 MiB while
1 GiB arrives. A miss is printed, not an error: the exit code is 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QEvent, QObject, Qt, QTimer  # after the environment: QT_API
from PySide6.QtWidgets import QApplication, QWidget

from benchmarks.recv_throughput import Sender, load, machine
from workbench.app import make_event_loop
from workbench.sockets import NetError, TcpSockets

MIB = 2**20
MB = 10**6
INTERVAL_MS = 10
RSS_EVERY = 10  # sample the RSS every 10th tick (100 ms)
P99_TARGET_MS = 50.0
GROWTH_TARGET = 32 * MIB
RUN_TIMEOUT = 600.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@dataclass
class Result:
    setup: str
    total: int
    seconds: float = 0.0
    lateness_ms: list[float] = field(default_factory=list)
    rss: list[tuple[int, int]] = field(default_factory=list)  # (bytes received, rss)
    paints: int = 0  # paint events of the data view's viewport during the run
    error: str = ""

    def pct(self, q: float) -> float:
        if not self.lateness_ms:
            return float("nan")
        data = sorted(self.lateness_ms)
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def growth(self) -> int:
        after = [r for got, r in self.rss if got >= self.total // 10]
        if not after:
            return 0
        return max(after) - after[0]

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.setup == "idle":
            return "baseline"
        ok = self.pct(0.99) < P99_TARGET_MS and self.growth < GROWTH_TARGET
        return "PASS" if ok else "MISS"


class PaintCounter(QObject):
    """Counts the paint events of a widget (proof that the view really repaints)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


class Probe:
    """A 10 ms timer that measures its own lateness, and samples the RSS."""

    def __init__(self, received: Callable[[], int]) -> None:
        self.received = received
        self.lateness_ms: list[float] = []
        self.rss: list[tuple[int, int]] = []
        self._last = 0.0
        self._ticks = 0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.rss.append((self.received(), rss()))
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.rss.append((self.received(), rss()))

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000 - INTERVAL_MS))
        self._last = now
        self._ticks += 1
        if self._ticks % RSS_EVERY == 0:
            self.rss.append((self.received(), rss()))


async def wait_until(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        await asyncio.sleep(0.02)


async def run_idle(seconds: float) -> Result:
    result = Result("idle", 0)
    probe = Probe(lambda: 0)
    probe.start()
    await asyncio.sleep(seconds)
    probe.stop()
    result.seconds = seconds
    result.lateness_ms, result.rss = probe.lateness_ms, probe.rss
    return result


VIEW_MODE = "Hex"


async def run_window(port: int, total: int, capture_dir: Path) -> Result:
    from workbench.app import build_main_window

    result = Result("window", total)
    window = build_main_window(TcpSockets(), capture_dir=capture_dir)
    window.resize(1280, 800)
    window.show()
    try:
        session = window.session
        sid = (await window.sockets.create()).socket_id
        await wait_until(lambda: sid in session, 5)
        window.select_socket(sid)
        window.data_pane.mode_combo.setCurrentText(VIEW_MODE)
        paints = PaintCounter(window.data_view.viewport())
        await measure(result, session, sid, port, window.sockets.connect)
        result.paints = paints.count
    finally:
        window.close()
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: bool(window.shut_down), 30)
        window.deleteLater()
    return result


async def run_view(port: int, total: int, capture_dir: Path) -> Result:
    from workbench.ui.bridge import SocketSession
    from workbench.ui.data_view import DataPane

    result = Result("data view", total)
    tcp = TcpSockets()
    session = SocketSession(tcp, capture_dir=capture_dir)
    pane = DataPane()
    pane.resize(1000, 700)
    pane.show()
    pane.mode_combo.setCurrentText(VIEW_MODE)
    try:
        sid = (await session.sockets.create()).socket_id
        await wait_until(lambda: sid in session, 5)
        pane.set_store(session.captures(sid))
        session.dataArrived.connect(lambda s: pane.notify_grew() if s == sid else None)
        paints = PaintCounter(pane.view.viewport())
        await measure(result, session, sid, port, session.sockets.connect)
        result.paints = paints.count
    finally:
        pane.set_store(None)
        await session.close_all()
        session.shutdown()
        await tcp.shutdown()
        pane.deleteLater()
    return result


async def measure(result: Result, session: Any, sid: int, port: int, connect: Any) -> None:
    def received() -> int:
        return int(session.counters(sid)[0])

    probe = Probe(received)
    probe.start()
    t0 = time.perf_counter()
    code = await connect(sid, "127.0.0.1", port)
    if code != NetError.OK:
        raise RuntimeError(f"connect returned {code}")
    await wait_until(lambda: received() >= result.total, RUN_TIMEOUT)
    result.seconds = time.perf_counter() - t0
    probe.stop()
    result.lateness_ms, result.rss = probe.lateness_ms, probe.rss
    if received() != result.total:
        raise RuntimeError(f"received {received()} bytes, expected {result.total}")


def table(rows: list[Result]) -> str:
    head = ("setup", "MiB", "MB/s", "paints/s", "ticks", "p50 ms", "p99 ms", "max ms",
            "RSS start MiB", "RSS max MiB", "growth MiB", "result")
    lines = []
    for r in rows:
        rss_values = [v for _, v in r.rss] or [0]
        lines.append((
            r.setup,
            str(r.total // MIB),
            "-" if not r.total or not r.seconds else f"{r.total / r.seconds / MB:.0f}",
            "-" if not r.total or not r.seconds else f"{r.paints / r.seconds:.0f}",
            str(len(r.lateness_ms)),
            f"{r.pct(0.50):.1f}",
            f"{r.pct(0.99):.1f}",
            f"{max(r.lateness_ms, default=float('nan')):.1f}",
            f"{rss_values[0] / MIB:.0f}",
            f"{max(rss_values) / MIB:.0f}",
            "-" if not r.total else f"{r.growth / MIB:.1f}",
            r.verdict + (f" ({r.error})" if r.error else ""),
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if 0 < i < len(head) - 1 else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), sep, *(fmt(line) for line in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB per setup (a smoke run)")
    parser.add_argument("--mib", type=int, help="MiB per setup (default 1024, quick 128)")
    parser.add_argument("--only", choices=("window", "view"), action="append",
                        help="run only this setup (repeatable)")
    parser.add_argument("--view-mode", choices=("Hex", "Text"), default="Hex",
                        help="the data view's mode (default Hex, as the target says)")
    args = parser.parse_args(argv)
    global VIEW_MODE
    VIEW_MODE = args.view_mode
    mib = args.mib or (128 if args.quick else 1024)
    total = mib * MIB
    setups = args.only or ["view", "window"]

    info = machine()
    print(f"machine : {info['platform']}; {info['cpu']}; {info['cores']} cores "
          f"({info['usable_cores']} usable)")
    print(f"software: {info['python']}; PySide6 {info['pyside6']}; qasync {info['qasync']}; "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")
    print(f"load avg: {load()} (1/5/15 min) before the runs")
    print(f"workload: {mib} MiB per setup from a loopback sender process (random bytes); data "
          f"view in {VIEW_MODE} mode following the tail; a {INTERVAL_MS} ms QTimer measures "
          "its lateness",
          flush=True)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rows: list[Result] = []
    runners = {"window": run_window, "view": run_view}
    # Closing a setup's top-level widget must not quit the application (and with it the loop).
    app.setQuitOnLastWindowClosed(False)
    with (
        tempfile.TemporaryDirectory(prefix="ui-latency-") as tmp,
        Sender(total) as sender,
        asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner,
    ):
        rows.append(runner.run(run_idle(1.0 if args.quick else 3.0)))
        for name in setups:
            try:
                row = runner.run(runners[name](sender.port, total, Path(tmp) / name))
            except Exception as exc:  # report and go on with the next setup
                row = Result("window" if name == "window" else "data view", total,
                             error=f"{type(exc).__name__}: {exc}")
            rows.append(row)
            print(f"  {row.setup}: {row.seconds:.1f} s, p99 {row.pct(0.99):.1f} ms, "
                  f"growth {row.growth / MIB:.1f} MiB {row.error}", flush=True)
    print()
    print(table(rows))
    print(f"\ntargets: p99 lateness < {P99_TARGET_MS:.0f} ms; RSS growth after the first 10% "
          f"< {GROWTH_TARGET // MIB} MiB")
    missed = [r.setup for r in rows if r.verdict in ("MISS", "ERROR")]
    print(f"TARGETS MISSED: {', '.join(missed)}" if missed else "all targets met")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
