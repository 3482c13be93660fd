"""Run every benchmark in this folder and print their tables: ``make bench``.

    .venv/bin/python benchmarks/run.py                 # all benchmarks, full sizes
    .venv/bin/python benchmarks/run.py --quick         # smaller sizes, one repeat: a smoke run
    .venv/bin/python benchmarks/run.py --only recv_throughput

A benchmark is any module ``benchmarks/NAME.py`` (other than this file and names starting with
``_``) that runs as ``python -m benchmarks.NAME [--quick]``. Each runs in its own process, one
after the other. A missed target is not a failure: the exit code is non-zero only when a
benchmark could not run (it crashed or exited non-zero itself).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def discover() -> list[str]:
    """The benchmark module names, sorted."""
    return sorted(
        p.stem for p in HERE.glob("*.py") if p.stem != "run" and not p.stem.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    names = discover()
    parser = argparse.ArgumentParser(description="Run Socket Workbench's benchmarks.")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and one repeat (a smoke run)"
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        choices=names,
        help=f"run only this benchmark (repeatable); one of: {', '.join(names)}",
    )
    args = parser.parse_args(argv)
    selected = args.only or names
    failed: list[str] = []
    for name in selected:
        print(f"=== {name}{' (quick)' if args.quick else ''} ===", flush=True)
        cmd = [sys.executable, "-m", f"benchmarks.{name}"]
        if args.quick:
            cmd.append("--quick")
        start = time.monotonic()
        rc = subprocess.call(cmd, cwd=ROOT)
        took = time.monotonic() - start
        if rc != 0:
            failed.append(name)
            print(f"=== {name}: could not run (exit code {rc}) after {took:.0f} s ===\n")
        else:
            print(f"=== {name}: done in {took:.0f} s ===\n", flush=True)
    if failed:
        print(f"benchmarks that did not run to the end: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
