"""The composition root from the outside: --version, --self-test, and Ctrl+C in the terminal.

The window that ``build_main_window`` builds (defaults, servers, first start, error hooks) is
tested in ``tests/ui/test_main_window.py``, next to the UI fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import workbench
from tests.conftest import TIMEOUT
from workbench.app import version_line

WAIT_MS = int(TIMEOUT * 1000)


def _env(config_dir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        QT_API="pyside6",
        SOCKET_WORKBENCH_CONFIG_DIR=str(config_dir),
    )


def test_version_line_names_every_version() -> None:
    line = version_line()
    assert line.startswith(f"socket-workbench {workbench.__version__} (Python 3.")
    for word in ("Qt 6.", "PySide6 6.", "OpenSSL", "licence MIT"):
        assert word in line
    assert "\n" not in line


def test_self_test_in_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "workbench", "--self-test"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
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
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 12,
        check=False,
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
    env = dict(
        _env(blocker / "config"),
        HOME=str(blocker / "home"),
        XDG_CONFIG_HOME=str(blocker / "xdg"),
        XDG_DATA_HOME=str(blocker / "data"),
    )
    proc = _start_once(env)
    _started(proc)
    assert "could not" in proc.stderr.lower(), proc.stderr


def test_missing_ca_bundle_still_starts(tmp_path: Path) -> None:
    env = dict(
        _env(tmp_path / "config"),
        SSL_CERT_FILE=str(tmp_path / "no-bundle.pem"),
        SSL_CERT_DIR=str(tmp_path / "no-certs"),
    )
    _started(_start_once(env))


#: Run in a child process: builds the window on a read-only config directory, lets the
#: set-up finish, echoes through the TLS echo server with its CA, and prints what it saw.
_READ_ONLY_CHILD = r"""
import asyncio, json, logging, os, ssl, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from workbench.app import build_main_window, make_event_loop
from workbench.net.servers import ServerKind, ServerSpec
from workbench.net.tcp import TcpSockets

config = Path(sys.argv[1])
seen = []
class Keep(logging.Handler):
    def emit(self, record): seen.append(record.getMessage())
logging.getLogger().addHandler(Keep())
app = QApplication([])

async def main():
    window = build_main_window(TcpSockets(), servers=True, settings_dir=config)
    await window.setup_task
    tls = await window.server_manager.start(ServerSpec(ServerKind.TLS_ECHO))
    context = ssl.create_default_context(cafile=tls.ca_file)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        tls.host, tls.port, ssl=context, server_hostname="localhost"), 20)
    writer.write(b"ping\n")
    echoed = await asyncio.wait_for(reader.readexactly(5), 20)
    writer.close()
    window.close()
    return {"echoed": echoed.decode(), "ca_dir": str(Path(tls.ca_file).parent),
            "naming": [m for m in seen if str(config) in m]}

with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
    print(json.dumps(runner.run(main())), flush=True)
os._exit(0)
"""


def _make_read_only(directory: Path) -> Callable[[], object]:
    """``directory`` made read-only (mode 0500; for root, whom the mode does not stop, the
    immutable attribute), and how to undo it; a skip when that is impossible here."""
    directory.chmod(0o500)
    if os.geteuid() != 0:
        return lambda: directory.chmod(0o700)
    # Root passes mode checks; dropping to "nobody" (setpriv) was tried, but under it the
    # window's Qt event loop never completed a TLS handshake, so the kernel stops root here.
    chattr = shutil.which("chattr")
    if (
        chattr is None
        or subprocess.run(
            [chattr, "+i", str(directory)], capture_output=True, check=False
        ).returncode
        != 0
    ):
        directory.chmod(0o700)
        pytest.skip(
            "running as root, whom a 0500 directory does not stop, and chattr +i "
            "(an immutable directory) is not available on this file system"
        )

    def undo() -> None:
        subprocess.run([chattr, "-i", str(directory)], check=False)
        directory.chmod(0o700)

    return undo


def test_read_only_config_dir_is_said_once_and_tls_echo_still_serves(tmp_path: Path) -> None:
    """Issue 8, item 24: one message at start names the read-only directory, and the TLS echo
    server keeps its CA in a temporary directory instead."""
    config = tmp_path / "config"
    config.mkdir()
    undo = _make_read_only(config)
    try:
        env = dict(_env(config), PYTHONPATH=str(Path(workbench.__file__).parent.parent))
        proc = subprocess.run(
            [sys.executable, "-c", _READ_ONLY_CHILD, str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        undo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["echoed"] == "ping\n"
    assert not seen["ca_dir"].startswith(str(config))
    assert len(seen["naming"]) == 1, seen["naming"]
    assert "read-only" in seen["naming"][0]
    assert list(config.iterdir()) == []


# ------------------------------------------------------------------ a quick start (issue 14)

#: Imported by PySide6's own signature loader (argparse) or by nothing yet; popped from
#: ``sys.modules`` before the program is imported, so that their return means our code did it.
_PRELOADED = ("argparse", "platform")
#: What only one feature needs: the command line's options, the About box and --version, the
#: test CA (cryptography, trustme), and a running built-in server.
_NOT_AT_START = (
    "argparse",
    "platform",
    "cryptography",
    "trustme",
    "workbench.net.servers.peers",
    "workbench.net.servers.certificates",
)

_PRELUDE = f"""
import json, sys
import PySide6.QtWidgets, qasync  # what a bare PySide6 + qasync window imports too
for name in {_PRELOADED!r}:
    sys.modules.pop(name, None)
def imported():
    return sorted(n for n in {_NOT_AT_START!r} if n in sys.modules)
"""

_BUILD_WINDOW = (
    _PRELUDE
    + """
import asyncio
from pathlib import Path
from workbench.app import _application, build_main_window, make_event_loop
from workbench.sockets import TcpSockets

async def build():
    window = build_main_window(
        TcpSockets(), servers=True, restore_session=True, first_start=True,
        settings_dir=Path(sys.argv[1]),
    )
    found = imported()  # before anything else runs: what building the window imported
    names = sorted(w.objectName() for w in window.findChildren(PySide6.QtWidgets.QWidget))
    await window.setup_task
    echo = window.server_manager.find("echo")
    window.close()
    while not window.shut_down:
        await asyncio.sleep(0.01)
    print(json.dumps({"imported": found, "names": names, "echo": echo is not None}))

app = _application(["test"])
with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
    runner.run(build())
"""
)

_PLAIN_START = (
    _PRELUDE
    + """
import atexit
from workbench.app import main
import gc
atexit.register(lambda: print("imported " + json.dumps(imported()), flush=True))
atexit.register(lambda: print(f"gc enabled {gc.isenabled()}", flush=True))
sys.exit(main([]))
"""
)


def test_build_main_window_imports_no_feature_module(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", _BUILD_WINDOW, str(tmp_path)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 12,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["imported"] == []
    # Still the whole window: the servers' dock (a stable object name) is there at once, and
    # the echo server starts once the loop runs (and imports what it needs then).
    assert {"serversDock", "socketTable", "callLogDock"} <= set(result["names"])
    assert result["echo"] is True


def test_plain_start_imports_no_feature_module_before_it_ends(tmp_path: Path) -> None:
    # The whole program, from main() with no arguments to its first frame (the probe closes
    # it there); the echo server, started once the window shows, needs none of these either.
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PLAIN_START],
        env=dict(_env(tmp_path), SOCKET_WORKBENCH_STARTUP_PROBE="1"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 12,
        check=False,
    )
    _started(proc)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("imported ")]
    assert lines, proc.stdout + proc.stderr
    # The echo server may have started between the first frame and the exit (peers).
    assert set(json.loads(lines[-1].removeprefix("imported "))) <= {"workbench.net.servers.peers"}
    # main() pauses the garbage collector for the start; the first frame resumes it.
    assert "gc enabled True" in proc.stdout
