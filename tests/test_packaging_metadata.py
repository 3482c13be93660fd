"""The distribution's metadata and entry points agree with the package."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import workbench


def test_version_has_one_source() -> None:
    # pyproject.toml reads it from workbench.__version__; `make venv` reinstalls on a change.
    assert importlib.metadata.version("socket-workbench") == workbench.__version__


def test_gui_script_points_at_app_main() -> None:
    scripts = importlib.metadata.entry_points(group="gui_scripts", name="socket-workbench")
    assert [ep.value for ep in scripts] == ["workbench.app:main"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "workbench", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_line() -> None:
    proc = _run("--version")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith(f"socket-workbench {workbench.__version__} (Python 3.")
    assert "Qt 6." in line and "PySide6 6." in line and "OpenSSL" in line


def test_headless_self_test() -> None:
    proc = _run("--self-test")
    assert proc.returncode == 0, proc.stderr
    assert "self-test passed" in proc.stdout
