"""The composition root from the outside: --version, --self-test, and Ctrl+C in the terminal.

The window that ``build_main_window`` builds (defaults, servers, first start, error hooks) is
tested in ``tests/ui/test_main_window.py``, next to the UI fixtures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import workbench
from tests.conftest import TIMEOUT
from workbench.app import version_line

WAIT_MS = int(TIMEOUT * 1000)



def _env(config_dir: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6",
                SOCKET_WORKBENCH_CONFIG_DIR=str(config_dir))


def test_version_line_names_every_version() -> None:
    line = version_line()
    assert line.startswith(f"socket-workbench {workbench.__version__} (Python 3.")
    for word in ("Qt 6.", "PySide6 6.", "OpenSSL", "licence MIT"):
        assert word in line
    assert "\n" not in line


def test_self_test_in_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "workbench", "--self-test"],
        env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed" in proc.stdout
    assert "secure() → 0" in proc.stdout
    assert "echoed de ad be ef 00 0a" in proc.stdout
    assert "Traceback" not in proc.stderr and "Task was destroyed" not in proc.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_in_the_terminal_closes_cleanly(tmp_path: Path, signum: int) -> None:
    lines: list[str] = []
    ready = threading.Event()
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "workbench"],
        env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as proc:

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.append(line)
                if "Ctrl+C here closes it" in line:
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert ready.wait(TIMEOUT * 6), "".join(lines)
            proc.send_signal(signum)
            assert proc.wait(timeout=TIMEOUT * 6) == 0, "".join(lines)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=TIMEOUT)
    text = "".join(lines)
    assert "Traceback" not in text and "Task was destroyed" not in text, text
    assert "Warning" not in text, text
    assert (tmp_path / "settings.json").exists()


def _start_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the whole program until its first frame is painted (the startup probe), then exit."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "workbench"],
        env=dict(env, SOCKET_WORKBENCH_STARTUP_PROBE="1"),
        capture_output=True, text=True, timeout=TIMEOUT * 12, check=False,
    )


def _started(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "startup-probe window-shown" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_corrupt_settings_file_starts_with_defaults_and_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text("{ this is not json", encoding="utf-8")
    proc = _start_once(_env(config))
    _started(proc)
    assert "settings" in proc.stderr.lower(), proc.stderr
    assert (config / "settings.json.broken").exists()


def test_unreadable_settings_file_starts_with_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "settings.json").mkdir(parents=True)  # a directory where the file should be
    proc = _start_once(_env(config))
    _started(proc)
    assert "settings" in proc.stderr.lower(), proc.stderr


def test_unwritable_config_dir_and_home_still_start(tmp_path: Path) -> None:
    # A file where the directories should be: unwritable even for root.
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    env = dict(_env(blocker / "config"), HOME=str(blocker / "home"),
               XDG_CONFIG_HOME=str(blocker / "xdg"), XDG_DATA_HOME=str(blocker / "data"))
    proc = _start_once(env)
    _started(proc)
    assert "could not" in proc.stderr.lower(), proc.stderr


def test_missing_ca_bundle_still_starts(tmp_path: Path) -> None:
    env = dict(_env(tmp_path / "config"), SSL_CERT_FILE=str(tmp_path / "no-bundle.pem"),
               SSL_CERT_DIR=str(tmp_path / "no-certs"))
    _started(_start_once(env))

