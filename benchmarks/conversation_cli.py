"""Headless conversations: ``socket-workbench run`` from start to finish.

The program (the venv's ``socket-workbench`` entry point) starts, reads a one-step
conversation (send ``ping``, expect it back), runs it against an echo server on 127.0.0.1 (a
thread of this process, already listening) and exits. The figure is the wall time of the
whole process, best and median of the runs, against the target of issue 11: under 0.3 s.
Beside it, the same for ``python -c pass`` (the interpreter's own start) on this machine.

    .venv/bin/python -m benchmarks.conversation_cli [--quick] [--runs N]

Every run must exit 0 and print the step as passed; otherwise the benchmark fails.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET = 0.3


def echo_server() -> tuple[socket.socket, int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1]


def program() -> list[str]:
    script = Path(sys.executable).with_name("socket-workbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workbench"]


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    return time.perf_counter() - start, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 20")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 20)
    listener, port = echo_server()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ping.toml"
        path.write_text(
            f"host = \"127.0.0.1\"\nport = {port}\n[[steps]]\nsend = 'ping\\n'\n"
            "[[steps]]\nexpect = 'ping'\n",
            encoding="utf-8",
        )
        cmd = [*program(), "run", str(path), "--quiet"]
        timed(cmd)  # warm the page cache (and compile anything not compiled yet)
        times = []
        for _ in range(runs):
            took, done = timed(cmd)
            if done.returncode != 0 or "1 of 1 conversations passed" not in done.stdout:
                print(f"the run failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
                return 1
            times.append(took)
        bare = [timed([sys.executable, "-c", "pass"])[0] for _ in range(runs)]
    listener.close()
    best, median = min(times), statistics.median(times)
    verdict = "met" if best < TARGET else "MISSED"
    print(
        f"socket-workbench run, one conversation ({runs} runs): best {best * 1000:.0f} ms, "
        f"median {median * 1000:.0f} ms; target < {TARGET * 1000:.0f} ms: {verdict}"
    )
    print(
        f"python -c pass: best {min(bare) * 1000:.0f} ms, "
        f"median {statistics.median(bare) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
