"""How long the program takes to show its window: the virtualenv program and the packaged one.

Each program is started RUNS times (after one warm-up start that is not counted), offscreen
(``QT_QPA_PLATFORM=offscreen``), with a temporary HOME and settings directory shared by its
runs (so every counted start is a normal start, not the first one), in a clean environment
(``env -i`` style: no virtualenv on ``PATH``, no ``PYTHONPATH``).

The program reports the moment itself (protocol agreed with workbench/app.py): with
``SOCKET_WORKBENCH_STARTUP_PROBE=1`` it prints one line

    startup-probe window-shown <seconds>

after the main window's first show/paint, ``<seconds>`` counted from its process start as
measured inside, and exits 0 at once. Two figures per start:

- ``inside``: the program's own number;
- ``wall``: from just before the spawn (``subprocess.Popen``) to reading that line here.

Programs: ``.venv/bin/socket-workbench`` (the virtualenv install) and, when
``dist/socket-workbench-<v>-linux-x86_64.tar.gz`` exists (``make package``), the packaged
program unpacked into a temporary directory. ``--program PATH`` adds any other.

    .venv/bin/python -m benchmarks.startup [--quick] [--runs N] [--program PATH] [--no-json]

Target (issue 4): the packaged program shows its window within 1 s, median of the starts.
A program that never prints the probe line (an app.py without the protocol) is reported as
such and makes the exit code 1. Full runs write ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import workbench
from benchmarks.recv_throughput import core_commit, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
PROBE_ENV = "SOCKET_WORKBENCH_STARTUP_PROBE"
PROBE_PREFIX = "startup-probe window-shown "
TARGET_S = 1.0
RUN_TIMEOUT = 60.0  # seconds for one start: far beyond any plausible start


class ProbeError(RuntimeError):
    pass


@dataclass
class Result:
    name: str
    program: str
    inside_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    error: str | None = None

    def median(self, which: str) -> float | None:
        values = getattr(self, f"{which}_s")
        return statistics.median(values) if values else None


def clean_env(home: Path) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "SOCKET_WORKBENCH_CONFIG_DIR": str(home / "config"),
        PROBE_ENV: "1",
    }
    return env


def start_once(program: Path, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """One start: (inside seconds, wall seconds). Raises ProbeError without a probe line."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(program)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    wall: float | None = None
    inside: float | None = None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = started + RUN_TIMEOUT
    try:
        while inside is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise ProbeError(f"no probe line within {RUN_TIMEOUT:.0f} s")
            if not selector.select(remaining):
                continue
            line = proc.stdout.readline()
            if not line:  # EOF: the program ended without the line
                proc.wait(timeout=10)
                err = proc.stderr.read().strip().splitlines()[-3:]
                raise ProbeError(
                    f"exited {proc.returncode} without a probe line"
                    + (f": {' / '.join(err)}" if err else "")
                )
            if line.startswith(PROBE_PREFIX):
                wall = time.perf_counter() - started
                inside = float(line[len(PROBE_PREFIX) :].split()[0])
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired as exc:
            raise ProbeError("printed the probe line but did not exit within 10 s") from exc
        if rc != 0:
            raise ProbeError(f"printed the probe line, then exited {rc}")
    finally:
        selector.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert wall is not None
    return inside, wall


def measure(name: str, program: Path, runs: int) -> Result:
    result = Result(name=name, program=str(program))
    with tempfile.TemporaryDirectory(prefix="socket-workbench-startup-") as tmp:
        home = Path(tmp)
        env = clean_env(home)
        try:
            start_once(program, env, home)  # warm-up: first start, disk cache
            for _ in range(runs):
                inside, wall = start_once(program, env, home)
                result.inside_s.append(inside)
                result.wall_s.append(wall)
        except (ProbeError, OSError) as exc:
            result.error = str(exc)
    return result


def unpack_package(into: Path) -> Path | None:
    """The packaged program from dist/, unpacked into ``into``; None when not built."""
    version = workbench.__version__
    tarball = ROOT / "dist" / f"socket-workbench-{version}-linux-x86_64.tar.gz"
    if not tarball.is_file():
        return None
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="tar")
    return into / f"socket-workbench-{version}" / "socket-workbench"


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up time to the first shown window.")
    parser.add_argument("--quick", action="store_true", help="3 starts per program")
    parser.add_argument("--runs", type=int, default=7, help="counted starts per program")
    parser.add_argument(
        "--program",
        type=Path,
        action="append",
        default=[],
        help="another program to measure (repeatable)",
    )
    parser.add_argument("--no-json", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    write_json = not (args.quick or args.no_json)

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="socket-workbench-unpacked-") as unpacked:
        programs: list[tuple[str, Path]] = []
        venv_program = ROOT / ".venv" / "bin" / "socket-workbench"
        if venv_program.exists():
            programs.append(("virtualenv", venv_program))
        packaged = unpack_package(Path(unpacked))
        if packaged is not None:
            programs.append(("packaged", packaged))
        else:
            print("(no dist/ tarball: run `make package` to measure the packaged program)")
        programs += [(str(p), p.resolve()) for p in args.program]
        for name, program in programs:
            print(f"measuring {name}: {program} ({runs} starts + 1 warm-up)", flush=True)
            results.append(measure(name, program, runs))

    print()
    print(
        f"{'program':<12} {'inside median':>14} {'wall median':>12} {'wall min':>9} "
        f"{'wall max':>9}  target (< {TARGET_S:.0f} s, wall median)"
    )
    failed = False
    rows: list[dict[str, Any]] = []
    for r in results:
        if r.error is not None:
            failed = True
            print(f"{r.name:<12} could not measure: {r.error}")
        else:
            wall = r.median("wall")
            verdict = "PASS" if wall is not None and wall < TARGET_S else "MISS"
            print(
                f"{r.name:<12} {fmt(r.median('inside')):>14} {fmt(wall):>12} "
                f"{fmt(min(r.wall_s)):>9} {fmt(max(r.wall_s)):>9}  {verdict}"
            )
        rows.append(
            {
                "program": r.name,
                "path": r.program,
                "inside_s": r.inside_s,
                "wall_s": r.wall_s,
                "inside_median_s": r.median("inside"),
                "wall_median_s": r.median("wall"),
                "error": r.error,
            }
        )
    print(
        "seconds; inside = the program's own figure from its process start; wall = from "
        "spawn to its probe line"
    )
    if write_json and results:
        RESULTS.parent.mkdir(exist_ok=True)
        doc = {
            "benchmark": "startup",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "runs": runs,
            "statistic": "median",
            "target_s": TARGET_S,
            "core_commit": core_commit(),
            "version": workbench.__version__,
            "rows": rows,
        }
        RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
