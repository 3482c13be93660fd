"""packaging/launcher.py: without stdout (windowed Windows builds) the output goes to a file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from tests.packaging import load

launcher = load("launcher")


def test_log_directory_per_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert launcher.log_directory() == tmp_path / "Local" / "socket-workbench" / "logs"
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert launcher.log_directory() == tmp_path / "Library" / "Logs" / "socket-workbench"
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert launcher.log_directory() == tmp_path / "state" / "socket-workbench"


def test_needs_a_log_file_only_without_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not launcher._needs_log_file()
    monkeypatch.setattr(sys, "stdout", None)
    assert launcher._needs_log_file()


def test_log_file_keeps_the_previous_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(launcher, "log_directory", lambda: tmp_path / "logs")
    first = launcher._open_log()
    first.write("first run\n")
    first.close()
    second = launcher._open_log()
    second.write("second run\n")
    second.close()
    assert (tmp_path / "logs" / "socket-workbench.log").read_text() == "second run\n"
    assert (tmp_path / "logs" / "socket-workbench.log.1").read_text() == "first run\n"


def test_unwritable_log_directory_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(launcher, "log_directory", lambda: blocker / "logs")  # cannot mkdir
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    stream = launcher._open_log()
    stream.write("ok\n")
    stream.close()
    assert (tmp_path / "tmp" / "socket-workbench" / "socket-workbench.log").read_text() == "ok\n"

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(blocker))  # nothing writable
    stream = launcher._open_log()
    stream.write("discarded\n")  # os.devnull: the program still runs
    stream.close()
