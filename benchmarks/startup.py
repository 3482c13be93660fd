"""How long the program takes to show its window, beside Packet Sender and a bare window.

Every program runs under its own Xvfb (one X server for the whole run), started in a clean
environment (no virtualenv on ``PATH``, no ``PYTHONPATH``) with a temporary HOME and settings
directory per program that its starts share, so that every counted start is a normal one, not
the first. The moments come from the X server, the same way for every program
(``benchmarks/_x11.py``): from just before the spawn to

- **mapped**: the program's first top-level window of at least 100 by 100 pixels is mapped;
- **shown**: that window's first frame is drawn into it (its first DAMAGE event).

``shown`` is the figure: our window is complete before it is mapped (``build_main_window``
returns every widget, and the first frame paints them). Then, in the first ``--rss-runs``
rounds, the benchmark waits ``IDLE_S`` seconds and reads the process's peak RSS (``VmHWM`` in
``/proc/<pid>/status``); then it sends SIGTERM (our program closes cleanly and saves its
settings; Packet Sender and the bare window just end).

Programs, started in turn round by round (after one warm-up start each, not counted):

- ``workbench (venv)``: ``.venv/bin/socket-workbench``, when the venv exists;
- ``workbench (package)``: when ``make package`` has built the tarball in ``dist/``, the
  packaged program unpacked into a temporary directory;
- ``--program PATH``: any other build of ours (repeatable);
- ``Packet Sender``: ``packetsender`` from ``PATH`` (Debian: ``apt-get install packetsender
  x11-xserver-utils``: it runs ``xrandr`` at every start to decide whether it has a display,
  and without ``xrandr`` it refuses to start);
- ``bare window``: ``benchmarks/_bare_window.py`` run by this interpreter: PySide6, qasync, a
  QApplication and an empty QMainWindow, the floor of any program built like ours.

    .venv/bin/python -m benchmarks.startup [--quick] [--runs N] [--rss-runs N] [--program PATH]

Targets (issue 14): the median ``shown`` of each of our programs at most 1.8 times Packet
Sender's, from the same run; idle peak RSS at most 90 MiB. A program that cannot be measured
(no window within a minute, or it exits) makes the exit code 1; so does a missing Xvfb.
Full runs write ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import workbench
from benchmarks._x11 import WindowWatcher, X11Error
from benchmarks.recv_throughput import core_commit, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
BARE_WINDOW = Path(__file__).resolve().parent / "_bare_window.py"
RATIO_TARGET = 1.8  # our median shown ÷ Packet Sender's
RSS_TARGET_MIB = 90.0
IDLE_S = 3.0  # after the first frame, before VmHWM is read
RUN_TIMEOUT = 60.0  # seconds for one start: far beyond any plausible start
REFERENCE = "Packet Sender"
BARE = "bare window"
OURS_PREFIX = "workbench"


class StartError(RuntimeError):
    pass


@dataclass
class Program:
    name: str
    argv: list[str]
    ours: bool
    shown_s: list[float] = field(default_factory=list)
    mapped_s: list[float] = field(default_factory=list)
    hwm_mib: list[float] = field(default_factory=list)
    error: str | None = None

    def median(self, which: str) -> float | None:
        values: list[float] = getattr(self, which)
        return statistics.median(values) if values else None


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A fresh Xvfb (1280 by 1024, 24 bits, no TCP); yields its display name."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise StartError("Xvfb is missing (Debian: apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=[write_fd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise StartError(f"Xvfb exited {proc.wait()} without a display")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def clean_env(home: Path, display: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "SOCKET_WORKBENCH_CONFIG_DIR": str(home / "config"),
    }


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise StartError("no VmHWM in /proc/<pid>/status")


def end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_once(
    program: Program, watcher: WindowWatcher, env: dict[str, str], rss: bool
) -> tuple[float, float, float | None]:
    """One start: (mapped, shown) seconds from the spawn, and the idle peak RSS when asked."""
    watcher.drain()
    started = time.perf_counter()
    proc = subprocess.Popen(
        program.argv,
        env=env,
        cwd=env["HOME"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        times = watcher.wait_for_window(RUN_TIMEOUT)
        if times is None:
            raise StartError(f"no window within {RUN_TIMEOUT:.0f} s (exit code {proc.poll()})")
        hwm = None
        if rss:
            time.sleep(max(0.0, times.painted + IDLE_S - time.perf_counter()))
            if proc.poll() is not None:
                raise StartError(f"exited {proc.returncode} while idle")
            hwm = peak_rss_mib(proc.pid)
        return times.mapped - started, times.painted - started, hwm
    finally:
        end(proc)


def unpack_package(into: Path) -> Path | None:
    """The packaged program from dist/, unpacked into ``into``; None when not built."""
    version = workbench.__version__
    tarball = ROOT / "dist" / f"socket-workbench-{version}-linux-x86_64.tar.gz"
    if not tarball.is_file():
        return None
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="tar")
    return into / f"socket-workbench-{version}" / "socket-workbench"


def programs(unpacked: Path, extra: list[Path]) -> list[Program]:
    found: list[Program] = []
    venv_program = ROOT / ".venv" / "bin" / "socket-workbench"
    if venv_program.exists():
        found.append(Program(f"{OURS_PREFIX} (venv)", [str(venv_program)], ours=True))
    packaged = unpack_package(unpacked)
    if packaged is not None:
        found.append(Program(f"{OURS_PREFIX} (package)", [str(packaged)], ours=True))
    else:
        print("(no dist/ tarball: run `make package` to measure the packaged program)")
    found += [Program(f"{OURS_PREFIX} ({p})", [str(p.resolve())], ours=True) for p in extra]
    reference = shutil.which("packetsender")
    if reference is None:
        print(
            "(Packet Sender is missing: apt-get install packetsender x11-xserver-utils; "
            "no ratios without it)"
        )
    else:
        found.append(Program(REFERENCE, [reference], ours=False))
    found.append(Program(BARE, [sys.executable, str(BARE_WINDOW)], ours=False))
    return found


def measure(progs: list[Program], runs: int, rss_runs: int) -> None:
    """Warm up every program, then ``runs`` rounds, each starting every program once."""
    with xvfb() as display, tempfile.TemporaryDirectory(prefix="startup-homes-") as homes:
        watcher = WindowWatcher(display)
        if not watcher.damage:
            print("(no DAMAGE: apt-get install libxdamage1; shown is the moment of mapping)")
        envs = {}
        for i, program in enumerate(progs):
            home = Path(homes) / str(i)
            home.mkdir()
            envs[program.name] = clean_env(home, display)
        try:
            for round_number in range(-1, runs):  # -1: the warm-up
                for program in progs:
                    if program.error is not None:
                        continue
                    rss = 0 <= round_number < rss_runs
                    try:
                        mapped, shown, hwm = start_once(program, watcher, envs[program.name], rss)
                    except (StartError, OSError) as exc:
                        program.error = str(exc)
                        continue
                    if round_number >= 0:
                        program.mapped_s.append(mapped)
                        program.shown_s.append(shown)
                        if hwm is not None:
                            program.hwm_mib.append(hwm)
                print(
                    f"  round {round_number + 1}/{runs} done"
                    if round_number >= 0
                    else "  warm-up done",
                    flush=True,
                )
        finally:
            watcher.close()


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(progs: list[Program]) -> list[dict[str, Any]]:
    reference = next((p for p in progs if p.name == REFERENCE and p.shown_s), None)
    ref_shown = reference.median("shown_s") if reference is not None else None
    print()
    print(
        f"{'program':<28} {'shown':>7} {'mapped':>7} {'min':>7} {'max':>7} {'ratio':>6} "
        f"{'peak RSS':>9}  targets (ratio ≤ {RATIO_TARGET}, RSS ≤ {RSS_TARGET_MIB:.0f} MiB)"
    )
    rows = []
    for p in progs:
        shown = p.median("shown_s")
        hwm = p.median("hwm_mib")
        ratio = shown / ref_shown if shown is not None and ref_shown else None
        verdicts = []
        if p.ours and ratio is not None:
            verdicts.append("ratio " + ("PASS" if ratio <= RATIO_TARGET else "MISS"))
        if p.ours and hwm is not None:
            verdicts.append("RSS " + ("PASS" if hwm <= RSS_TARGET_MIB else "MISS"))
        if p.error is not None:
            print(f"{p.name:<28} could not measure: {p.error}")
        else:
            print(
                f"{p.name:<28} {fmt(shown):>7} {fmt(p.median('mapped_s')):>7} "
                f"{fmt(min(p.shown_s, default=None)):>7} {fmt(max(p.shown_s, default=None)):>7} "
                f"{fmt(ratio, 2):>6} {fmt(hwm, 1):>5} MiB  {', '.join(verdicts)}"
            )
        rows.append(
            {
                "program": p.name,
                "argv": p.argv,
                "shown_s": p.shown_s,
                "mapped_s": p.mapped_s,
                "shown_median_s": shown,
                "mapped_median_s": p.median("mapped_s"),
                "ratio_to_packet_sender": ratio,
                "peak_rss_mib": p.hwm_mib,
                "peak_rss_median_mib": hwm,
                "error": p.error,
            }
        )
    print(
        "seconds from the spawn, medians; shown = the window's first frame drawn, mapped = the "
        f"window mapped; ratio = shown ÷ {REFERENCE}'s; peak RSS = VmHWM {IDLE_S:.0f} s after "
        "the first frame (median)"
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up time to the first shown window.")
    parser.add_argument("--quick", action="store_true", help="3 rounds, RSS in the first")
    parser.add_argument("--runs", type=int, default=9, help="counted starts per program")
    parser.add_argument("--rss-runs", type=int, default=3, help="rounds that also read RSS")
    parser.add_argument(
        "--program",
        type=Path,
        action="append",
        default=[],
        help="another build of ours to measure (repeatable)",
    )
    parser.add_argument("--no-json", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    rss_runs = 1 if args.quick else args.rss_runs
    write_json = not (args.quick or args.no_json)

    with tempfile.TemporaryDirectory(prefix="socket-workbench-unpacked-") as unpacked:
        progs = programs(Path(unpacked), args.program)
        names = ", ".join(p.name for p in progs)
        print(f"measuring {names}: {runs} rounds + 1 warm-up, under Xvfb", flush=True)
        try:
            measure(progs, runs, rss_runs)
        except (StartError, X11Error) as exc:
            print(f"could not run: {exc}")
            return 1
    rows = report(progs)
    if write_json:
        RESULTS.parent.mkdir(exist_ok=True)
        doc = {
            "benchmark": "startup",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "runs": runs,
            "rss_runs": rss_runs,
            "statistic": "median",
            "ratio_target": RATIO_TARGET,
            "rss_target_mib": RSS_TARGET_MIB,
            "core_commit": core_commit(),
            "version": workbench.__version__,
            "rows": rows,
        }
        RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if any(p.error is not None for p in progs) else 0


if __name__ == "__main__":
    sys.exit(main())
