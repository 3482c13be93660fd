"""A listening socket under load in the window: many clients, each sending a line every 10 ms
to a server whose response rule echoes it.

The window (``build_main_window``, offscreen unless ``QT_QPA_PLATFORM`` says otherwise) runs on
the app's own loop (``workbench.app.make_event_loop``) with the app's collector thresholds. Its
session creates a server on 127.0.0.1, port 0, with the echo preset (``rules_presets.ECHO``:
every chunk back to its sender), "read at once" on. A client process (its own GIL) opens N
connections to it, then for ``--seconds`` sends one line on every connection every 10 ms and
reads the echoes; it stops by itself at the end and reports what it sent and got back.

Measured in the window's process while the lines flow: the loop's lateness (a 10 ms precise
``QTimer``: p50, p99, max). From the client: lines sent and echoed per second, and the bytes
that came back against the bytes sent once the clients stop (everything must come back).

    .venv/bin/python -m benchmarks.server_load [--quick] [--clients N] [--seconds S]

Target (issue 9, "Bad input and limits"): 1,000 connections, a line per 10 ms each, an echo
rule: the window stays responsive, loop lateness p99 under 50 ms. A miss is printed, not an
error: the exit code is 0 unless the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtWidgets import QApplication  # after the environment: QT_API

from benchmarks.recv_throughput import load, machine
from benchmarks.window_scale import LatenessProbe
from workbench.app import make_event_loop
from workbench.core.limits import raise_fd_limit, tune_gc

TARGET_P99_MS = 50.0
INTERVAL_S = 0.010

# The clients: N connections, a line per connection every INTERVAL_S for SECONDS, echoes read
# as they come; then a drain (every byte sent must come back) and one JSON line on stdout.
CLIENTS = r"""
import json, selectors, socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
seconds, interval = float(sys.argv[3]), float(sys.argv[4])
socks = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    socks.append(s)
print("connected", flush=True)
sys.stdin.readline()  # go
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
sent = got = lines = 0
late_ticks = 0
start = time.perf_counter()
next_tick = start
end = start + seconds
def read(timeout):
    global got
    for key, _ in sel.select(timeout):
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            continue
        got += len(data)
while True:
    now = time.perf_counter()
    if now >= end:
        break
    if now >= next_tick:
        if now - next_tick > interval:
            late_ticks += 1
        for i, s in enumerate(socks):
            line = b"line %d from client %d\n" % (lines, i)
            try:
                s.send(line)
                sent += len(line)
            except BlockingIOError:
                pass
        lines += 1
        next_tick += interval
        if next_tick < now:
            next_tick = now  # behind: do not burst to catch up
    read(max(0.0, min(next_tick, end) - time.perf_counter()))
elapsed = time.perf_counter() - start
drain_until = time.perf_counter() + 30
while got < sent and time.perf_counter() < drain_until:
    read(0.05)
for s in socks:
    s.close()
print(json.dumps({"sent": sent, "got": got, "ticks": lines, "late_ticks": late_ticks,
                  "elapsed": elapsed}), flush=True)
"""


@dataclass
class Result:
    clients: int
    seconds: float
    lateness_ms: list[float] = field(default_factory=list)
    client: dict[str, Any] = field(default_factory=dict)
    accepted: int = 0
    error: str = ""

    def p(self, q: float) -> float:
        if not self.lateness_ms:
            return 0.0
        ordered = sorted(self.lateness_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _until(cond: Any, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.01)


async def run(clients: int, seconds: float) -> Result:
    from workbench.app import build_main_window
    from workbench.core.rules_presets import Preset, preset
    from workbench.sockets import TcpSockets

    result = Result(clients, seconds)
    window = build_main_window(TcpSockets(), servers=False)
    window.show()
    session = window.session.core
    probe = LatenessProbe()
    proc: subprocess.Popen[str] | None = None
    try:
        sid = (await session.servers.create()).socket_id
        if await session.servers.listen(sid, "127.0.0.1", 0, backlog=clients) != 0:
            raise RuntimeError("listen failed")
        record = session.servers.record(sid)
        assert record is not None and record.info.local_port
        if session.rules.set_rules(sid, preset(Preset.ECHO)):
            raise RuntimeError("the echo preset did not apply")
        proc = subprocess.Popen(
            [sys.executable, "-c", CLIENTS, str(record.info.local_port), str(clients),
             str(seconds), str(INTERVAL_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        loop = asyncio.get_running_loop()
        line = await loop.run_in_executor(None, proc.stdout.readline)
        if line.strip() != "connected":
            raise RuntimeError(f"the clients did not connect: {line!r}")
        await _until(lambda: (session.servers.record(sid) or record).accepted >= clients, 60)
        result.accepted = (session.servers.record(sid) or record).accepted
        probe.start()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        report = await loop.run_in_executor(None, proc.stdout.readline)
        probe.stop()
        result.client = json.loads(report)
    except Exception as exc:  # a benchmark reports, it does not crash
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        probe.stop()
        result.lateness_ms = probe.samples
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        done = asyncio.get_running_loop().create_future()
        window.shutDown.connect(lambda: done.done() or done.set_result(None))
        window.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done, 120)
    return result


def report(results: list[Result]) -> str:
    lines = [
        "| clients | seconds | lines sent/s | bytes back / sent | client ticks late "
        "| lateness p50 / p99 / max, ms | target |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        c = r.client
        if r.error or not c:
            lines.append(f"| {r.clients:,} | {r.seconds:g} | - | - | - | - | could not run: "
                         f"{r.error} |")
            continue
        rate = c["ticks"] * r.clients / c["elapsed"] if c["elapsed"] else 0.0
        verdict = "met" if r.p(0.99) < TARGET_P99_MS else "**missed**"
        lines.append(
            f"| {r.clients:,} | {r.seconds:g} | {rate:,.0f} | {c['got']:,} / {c['sent']:,} "
            f"| {c['late_ticks']} of {c['ticks']} "
            f"| {r.p(0.5):.1f} / {r.p(0.99):.1f} / {max(r.lateness_ms, default=0):.1f} "
            f"| p99 < 50 ms: {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 clients for 3 s")
    parser.add_argument("--clients", default="", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=0.0, help="how long lines flow")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.clients.split(",") if n] or (
        [100] if args.quick else [100, 1000])
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    raise_fd_limit()
    tune_gc()  # as the app does at start (``workbench.app.main``)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    results = []
    for n in counts:
        with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
            results.append(runner.run(run(n, seconds)))
    print(f"machine: {machine()}  load: {load()}")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
