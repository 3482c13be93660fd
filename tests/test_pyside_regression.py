"""Guards the PySide6 cap in pyproject.toml.

PySide6 6.12.0 on CPython 3.11 decrements None's refcount once for every Python callback run
from ``QTimer.singleShot`` or an overridden ``timerEvent``. qasync runs every asyncio callback
that way, so a qasync program dies with ``Fatal Python error: none_dealloc`` after roughly 10^5
loop turns. The app's loop (``workbench.app.make_event_loop``) runs every turn of callbacks
from one overridden ``timerEvent``, so it is checked too. CPython 3.12+ hides the bug (None is
immortal). The check runs in a child process because the failure is a fatal error, not an
exception.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TURNS = 300_000  # qasync loop turns: several times what kills an affected build
SINGLE_SHOTS = 100_000  # direct QTimer.singleShot(0, python_callable) round trips
SENTINEL = "PYSIDE-REGRESSION-OK"

CHILD = textwrap.dedent(
    f"""
    import asyncio
    import sys

    from PySide6.QtCore import QCoreApplication, QTimer

    import qasync  # after PySide6, so qasync binds to it

    from workbench.app import make_event_loop

    async def main() -> None:
        # Every await of sleep(0) is one turn: on qasync call_soon -> startTimer -> timerEvent,
        # on the app's loop one timerEvent of its turn timer.
        for _ in range({TURNS}):
            await asyncio.sleep(0)
        # And the other path: a chain of QTimer.singleShot(0, callable) callbacks.
        done = asyncio.get_running_loop().create_future()
        remaining = {SINGLE_SHOTS}

        def tick() -> None:
            nonlocal remaining
            remaining -= 1
            if remaining:
                QTimer.singleShot(0, tick)
            else:
                done.set_result(None)

        QTimer.singleShot(0, tick)
        await done

    before = sys.getrefcount(None)
    app = QCoreApplication([])
    factory = {{"qasync": qasync.QEventLoop, "app": make_event_loop}}[sys.argv[1]]
    with asyncio.Runner(loop_factory=lambda: factory(app)) as runner:
        runner.run(main())
    # Diagnostic only: on 3.12+ None is immortal and its refcount means nothing.
    print("refcount(None):", before, "->", sys.getrefcount(None))
    print({SENTINEL!r})
    """
)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("loop", ["qasync", "app"])
def test_qasync_survives_many_loop_turns(loop: str) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-W", "error", "-c", CHILD, loop],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    detail = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert "none_dealloc" not in proc.stderr, detail
    assert proc.returncode == 0, detail
    assert SENTINEL in proc.stdout, detail


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on 3.12+")
def test_installed_pyside6_is_outside_the_bad_range() -> None:
    version = importlib.metadata.version("PySide6-Essentials")
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) < (6, 12), (
        f"PySide6-Essentials {version} on Python 3.11 crashes qasync programs "
        "(none_dealloc); see the cap in pyproject.toml"
    )
