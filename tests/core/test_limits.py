"""workbench.core.limits: the descriptor limit and the collector thresholds the program sets
at start.

Each case runs in a subprocess: the limit belongs to the process, and the test suite's own
must stay as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import workbench

resource = pytest.importorskip("resource", reason="RLIMIT_NOFILE is POSIX only")

ROOT = Path(workbench.__file__).resolve().parent.parent


def run(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON value, returned here."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def hard_limit() -> int:
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[1])


@pytest.mark.skipif(hard_limit() < 300, reason="needs a hard RLIMIT_NOFILE of 300 or more")
def test_raise_fd_limit_lifts_the_soft_limit_to_the_hard_one() -> None:
    result = run("""
        import json, resource
        from workbench.core.limits import FD_LIMIT_CAP, raise_fd_limit
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # a desktop's low default
        old, new = raise_fd_limit()
        print(json.dumps({
            "old": old, "new": new, "now": resource.getrlimit(resource.RLIMIT_NOFILE),
            "hard": hard, "cap": FD_LIMIT_CAP, "infinity": resource.RLIM_INFINITY,
        }))
    """)
    expected = result["cap"] if result["hard"] == result["infinity"] else result["hard"]
    expected = min(expected, result["cap"])
    assert (result["old"], result["new"]) == (256, expected)
    assert result["now"] == [expected, result["hard"]]


@pytest.mark.skipif(hard_limit() < 300, reason="needs a hard RLIMIT_NOFILE of 300 or more")
def test_raise_fd_limit_stops_at_the_cap_and_never_lowers() -> None:
    result = run("""
        import json, resource
        from workbench.core.limits import raise_fd_limit
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        capped = raise_fd_limit(cap=300)
        after_cap = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        lower = raise_fd_limit(cap=100)  # below the soft limit: nothing to raise
        again = raise_fd_limit(cap=300)  # already there
        print(json.dumps({"capped": capped, "after_cap": after_cap, "lower": lower,
                          "again": again, "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))
    """)
    assert result["capped"] == [256, 300]
    assert result["after_cap"] == 300
    assert result["lower"] == [300, 300]
    assert result["again"] == [300, 300]
    assert result["soft"] == 300


def test_raise_fd_limit_lets_a_process_open_more_than_its_old_soft_limit(
    tmp_path: Path,
) -> None:
    if hard_limit() < 1200:
        pytest.skip("needs a hard RLIMIT_NOFILE of 1200 or more")
    result = run(f"""
        import json, os, resource
        from workbench.core.limits import raise_fd_limit
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        raise_fd_limit()
        fds = [os.open({str(tmp_path)!r}, os.O_RDONLY) for _ in range(1100)]
        print(json.dumps(len(fds)))
    """)
    assert result == 1100


def test_tune_gc_sets_the_window_thresholds_and_returns_the_old_ones() -> None:
    got = run(
        """
        import gc, json
        from workbench.core.limits import GC_THRESHOLDS, tune_gc
        gc.set_threshold(700, 10, 10)
        old = tune_gc()
        print(json.dumps([old, gc.get_threshold(), GC_THRESHOLDS]))
        """
    )
    old, now, wanted = got
    assert old == [700, 10, 10]
    assert now == wanted
    # A young generation far above CPython's 700, and full collections far rarer than
    # every 10 middle ones: the point of the setting (see GC_THRESHOLDS).
    assert wanted[0] > 700 and wanted[2] > 10


def test_the_program_tunes_the_collector_at_start() -> None:
    got = run(
        """
        import contextlib, gc, io, json
        from workbench.app import main
        from workbench.core.limits import GC_THRESHOLDS
        with contextlib.redirect_stdout(io.StringIO()):
            main(["--version"])
        print(json.dumps([gc.get_threshold(), GC_THRESHOLDS]))
        """
    )
    assert got[0] == got[1]
