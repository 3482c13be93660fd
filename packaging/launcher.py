"""The frozen program's entry script: ``workbench.app:main``, as the ``socket-workbench`` command.

A windowed build on Windows (and an app started from the Finder on macOS) has no usable
standard output: on Windows ``sys.stdout`` and ``sys.stderr`` are None. There, everything the
program prints or logs goes to a log file instead (the previous run's is kept as ``.1``):

- Windows: ``%LOCALAPPDATA%\\socket-workbench\\logs\\socket-workbench.log``
- macOS: ``~/Library/Logs/socket-workbench/socket-workbench.log``
- elsewhere (only when the streams are missing): ``$XDG_STATE_HOME/socket-workbench/`` or
  ``~/.local/state/socket-workbench/``

If that directory cannot be written, the temporary directory is used; if that fails too, the
output is discarded: a missing log never stops the program.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

NAME = "socket-workbench"


def log_directory() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / NAME / "logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / NAME
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / NAME


def _needs_log_file() -> bool:
    if sys.stdout is None or sys.stderr is None:
        return True
    # A .app started from the Finder has its streams on /dev/null.
    return (
        sys.platform == "darwin"
        and getattr(sys, "frozen", False)
        and ".app/Contents/" in sys.executable
        and not sys.stderr.isatty()
    )


def _open_log() -> object:
    for directory in (log_directory(), Path(tempfile.gettempdir()) / NAME):
        path = directory / f"{NAME}.log"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.replace(path.with_name(path.name + ".1"))
            return open(path, "w", encoding="utf-8", buffering=1)
        except OSError:
            continue
    return open(os.devnull, "w", encoding="utf-8")


def main() -> int:
    if _needs_log_file():
        stream = _open_log()
        sys.stdout = sys.stderr = stream  # type: ignore[assignment]
    from workbench.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
