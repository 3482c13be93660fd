"""The composition root: the QApplication, the qasync loop, the window, the command line.

- ``build_main_window(sockets)`` builds an empty window on a given core (what tests use);
  keyword arguments turn on the built-in servers, the restored session and the first-start
  socket. Settings are read or written only when asked (``restore_session`` or
  ``settings_dir``); the directory defaults to ``$SOCKET_WORKBENCH_CONFIG_DIR`` or the per-user
  config directory.
- ``socket-workbench --version`` prints one line: ours, Python, Qt, PySide6, OpenSSL, licence.
- ``socket-workbench --self-test`` drives the real window offscreen through its own actions
  against the built-in echo and TLS echo servers and prints a transcript (exit 0 on success).
- ``socket-workbench`` runs the application: servers on, persistent sockets restored, one socket
  pointing at the echo server on first start; Ctrl+C in the terminal closes the window cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import logging
import os
import platform
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import __version__

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from workbench.sockets import TcpSockets
    from workbench.ui.main_window import MainWindow

NAME = "socket-workbench"
LICENCE = "MIT"
#: The self-test's hard limit, in seconds (the whole run, servers and TLS included).
SELF_TEST_TIMEOUT = 45.0

_log = logging.getLogger("workbench.app")


def version_line() -> str:
    """One line: ours, then Python, Qt, PySide6, OpenSSL and the licence."""
    import PySide6
    from PySide6 import QtCore

    return (
        f"{NAME} {__version__} (Python {platform.python_version()}, Qt {QtCore.qVersion()}, "
        f"PySide6 {PySide6.__version__}, {ssl.OPENSSL_VERSION}; licence {LICENCE})"
    )


def _qt_env() -> None:
    # Import PySide6 before qasync (or set QT_API): with several bindings installed, qasync
    # otherwise prefers PyQt.
    os.environ.setdefault("QT_API", "pyside6")


def make_event_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """The app's asyncio loop on ``app``'s Qt event loop: the only way the app, the
    self-test, the tests' Qt runners and ``make bench`` make it.

    qasync's loop with ``call_soon`` batched into one Qt timer per turn and, on Linux, every
    reader and writer in one epoll selector (``workbench/ui/event_loop.py`` says why).
    """
    _qt_env()
    from workbench.ui.event_loop import new_event_loop

    return new_event_loop(app)


# ------------------------------------------------------------------------------ the window


def build_main_window(
    sockets: TcpSockets,
    *,
    servers: bool = False,
    restore_session: bool = False,
    first_start: bool = False,
    settings_dir: Path | None = None,
    capture_dir: Path | None = None,
) -> MainWindow:
    """The window on ``sockets``; by default empty, with no settings I/O and no servers.

    - ``servers``: the built-in test servers (Tools → Local servers), echo started at once;
    - ``restore_session``: read the settings (window layout, recent peers, view preferences,
      theme) and restore and reconnect the persistent sockets of the last session; the settings
      are saved when the window closes;
    - ``first_start``: create one socket pointing at the echo server on the first start (or
      when no socket was restored);
    - ``settings_dir``: where the settings live (implies reading and saving them).

    Asynchronous set-up (servers, restored sockets) runs as ``window.setup_task``.
    """
    from workbench.session.settings import Settings, SettingsStore
    from workbench.ui.main_window import MainWindow

    store = None
    settings = Settings()
    message = None
    if restore_session or settings_dir is not None:
        store = SettingsStore(settings_dir)
        settings, message = store.load()
    window = MainWindow(sockets, settings=settings, store=store, capture_dir=capture_dir)
    if store is not None:
        window.restore_window_state()
    if message:
        window.report_error(message)
    cert_dir: Path | None = None
    temp_cert_dir: str | None = None
    if servers:
        from workbench.net.servers import ServerManager

        if store is not None:
            cert_dir = store.directory / "test-ca"
        else:
            temp_cert_dir = tempfile.mkdtemp(prefix="socket-workbench-ca-")
            cert_dir = Path(temp_cert_dir)
        window.attach_servers(ServerManager(cert_dir))
        if temp_cert_dir is not None:
            window.shutDown.connect(lambda: shutil.rmtree(temp_cert_dir, ignore_errors=True))

    saved = list(settings.sockets) if restore_session else []
    wants_first_socket = first_start and servers

    async def setup() -> None:
        echo = None
        if servers:
            from workbench.net.servers import ServerKind, ServerSpec

            try:
                echo = await window.server_manager.start(ServerSpec(ServerKind.ECHO))
            except OSError as exc:
                window.report_error(f"The built-in echo server could not start: {exc}")
        restored: list[int] = []
        if saved:
            restored = await window.restore_sockets(saved)
        if wants_first_socket and echo is not None and (
            not settings.first_start_done or not restored
        ):
            task = window.new_socket_to(echo.host, echo.port, "echo")
            if task is not None:
                await task
        settings.first_start_done = True

    window.setup_task = None
    if servers or saved or wants_first_socket:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            _log.warning("no running event loop: the window's set-up is skipped")
        else:
            window.setup_task = window.runner.start(setup(), name="window set-up")
    return window


# ---------------------------------------------------------------------------- self-test


class SelfTestError(AssertionError):
    pass


async def _until(what: str, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SelfTestError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _set_text(widget: Any, text: str) -> None:
    if hasattr(widget, "setPlainText"):
        widget.setPlainText(text)
    elif hasattr(widget, "setEditText"):
        widget.setEditText(text)
    else:
        widget.setText(text)


async def _self_test_steps(say: Callable[[str], None]) -> None:
    from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QWidget

    from workbench.net.servers import ServerKind, ServerSpec
    from workbench.sockets import TcpSockets

    window = build_main_window(TcpSockets(), servers=True)
    window.resize(1024, 700)
    window.show()
    try:
        await _until("the window's set-up", lambda: window.setup_task is None
                     or window.setup_task.done())
        manager = window.server_manager
        echo = manager.find(ServerKind.ECHO)
        if echo is None:
            raise SelfTestError("the built-in echo server did not start")
        tls = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        say(f"servers: echo on 127.0.0.1:{echo.port}, tls-echo on 127.0.0.1:{tls.port}")

        def find(kind: type, name: str) -> Any:
            widget = window.findChild(kind, name)
            if widget is None:
                raise SelfTestError(f"no {kind.__name__} named {name!r} in the window")
            return widget

        session = window.session

        async def new_socket() -> int:
            before = set(session.ids())
            window.new_action.trigger()
            await _until("the new socket", lambda: set(session.ids()) - before)
            sid = max(set(session.ids()) - before)
            await _until("the new socket to be selected", lambda: window.current_socket() == sid)
            return sid

        async def connect(sid: int, port: int) -> None:
            _set_text(find(QComboBox, "connectAddress"), "127.0.0.1")
            _set_text(find(QLineEdit, "connectPort"), str(port))
            find(QPushButton, "connectButton").click()
            await _until(f"socket {sid} to connect", lambda: (i := session.info(sid)) is not None
                         and i.connected)
            say(f"socket {sid}: connect(127.0.0.1, {port}) → 0, state "
                f"{session.state_text(sid)}")

        async def send(sid: int, mode: str, text: str, expected: bytes) -> None:
            store = session.captures(sid)
            before = store.bytes_in
            combo = find(QComboBox, "sendMode")
            combo.setCurrentIndex(combo.findText(mode))
            endings = find(QComboBox, "sendLineEnding")
            endings.setCurrentIndex(endings.findText("None"))
            _set_text(find(QWidget, "sendInput"), text)
            button = find(QPushButton, "sendButton")
            await _until("the Send button to accept the input", button.isEnabled)
            button.click()
            await _until(f"the echo of {text!r}",
                         lambda: store.bytes_in >= before + len(expected))
            total = store.total_bytes
            echoed = store.read(total - len(expected), len(expected))
            if echoed != expected:
                raise SelfTestError(f"echo mismatch: sent {expected!r}, got {echoed!r}")
            say(f"socket {sid}: sent {mode.lower()} {text!r} → echoed {expected.hex(' ')}")

        sid = await new_socket()
        await connect(sid, echo.port)
        await send(sid, "Text", "hello, workbench", b"hello, workbench")
        await send(sid, "Hex", "de ad be ef 00 0a", bytes.fromhex("deadbeef000a"))

        sid2 = await new_socket()
        await connect(sid2, tls.port)
        _set_text(find(QLineEdit, "tlsCaFile"), str(tls.ca_file))
        secure = find(QPushButton, "secureButton")
        await _until("the Secure button", secure.isEnabled)
        secure.click()
        await _until("the TLS handshake", lambda: (i := session.info(sid2)) is not None
                     and i.tls is not None)
        info = session.info(sid2)
        assert info is not None and info.tls is not None
        say(f"socket {sid2}: secure() → 0, {info.tls.version} {info.tls.cipher}, "
            f"verified={info.tls.verified}")
        await send(sid2, "Text", "secret over TLS", b"secret over TLS")
        failures = [e.text for e in window.call_log.entries() if not e.ok]
        if failures:
            raise SelfTestError(f"failed calls in the call log: {failures}")
        say(f"call log: {len(window.call_log.entries())} calls, none failed")
    finally:
        window.close()
        await _until("the window to close its sockets", lambda: window.shut_down)


def self_test(timeout: float = SELF_TEST_TIMEOUT) -> int:
    """Run the window offscreen through its own actions; 0 when everything echoed right."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _qt_env()
    from PySide6.QtWidgets import QApplication

    # A hang that blocks the loop itself cannot be caught by asyncio's timeout.
    faulthandler.dump_traceback_later(timeout + 30, exit=True)
    started = time.monotonic()
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(f"  ✓ {line}", flush=True)

    print(f"{version_line()}: self-test", flush=True)
    app = QApplication.instance() or QApplication([NAME])
    app.setQuitOnLastWindowClosed(False)  # the coroutine decides when it is over
    try:
        with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
            runner.run(asyncio.wait_for(_self_test_steps(say), timeout))
    except (SelfTestError, TimeoutError, OSError) as exc:
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        faulthandler.cancel_dump_traceback_later()
    print(f"self-test passed ({len(lines)} checks, {time.monotonic() - started:.1f} s)")
    return 0


# ---------------------------------------------------------------------------- application


#: The signals that close the window cleanly (sockets closed, settings saved): Ctrl+C in the
#: terminal, ``kill``/a session manager/systemd (SIGTERM), the terminal going away (SIGHUP).
CLOSING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _SigintBridge:
    """Ctrl+C in the terminal (and SIGTERM, SIGHUP): Python runs signal handlers only when it
    gets control, and Qt's event loop runs in C++; ``set_wakeup_fd`` + a ``QSocketNotifier``
    give it control."""

    def __init__(self, on_sigint: Callable[[], None]) -> None:
        from PySide6.QtCore import QSocketNotifier

        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._wsock.fileno())
        self._previous = {
            signum: signal.signal(signum, lambda *_: on_sigint()) for signum in CLOSING_SIGNALS
        }
        self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            self._rsock.recv(64)

    def close(self) -> None:
        self._notifier.setEnabled(False)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        signal.set_wakeup_fd(self._previous_fd)
        self._rsock.close()
        self._wsock.close()


async def _run_window(app: Any) -> int:
    from PySide6.QtCore import QTimer

    from workbench.sockets import TcpSockets
    from workbench.ui.errors import install_hooks
    from workbench.ui.main_window import window_icon
    from workbench.ui.theme import apply_theme

    loop = asyncio.get_running_loop()
    window = build_main_window(
        TcpSockets(), servers=True, restore_session=True, first_start=True
    )
    apply_theme(app, window.settings.theme)
    window.setWindowIcon(window_icon())
    undo_hooks = install_hooks(window.report_error, loop)
    done: asyncio.Future[None] = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    window.shutDown.connect(finished)
    sigint = _SigintBridge(lambda: QTimer.singleShot(0, window.close))
    window.show()
    if os.environ.get("SOCKET_WORKBENCH_STARTUP_PROBE") == "1":
        _probe_first_paint(window)
    print(f"Socket Workbench {__version__} is running; Ctrl+C here closes it.",
          file=sys.stderr, flush=True)
    try:
        await done
    finally:
        sigint.close()
        undo_hooks()
    return 0


_IMPORTED_AT = time.monotonic()


def _probe_first_paint(window: Any) -> None:
    """benchmarks/startup.py: print when the window has painted its first frame, then close."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                # The paint event is being handled: report once it is done.
                QTimer.singleShot(0, report)
            return False

    def report() -> None:
        print(f"startup-probe window-shown {_seconds_since_process_start():.3f}", flush=True)
        window.close()

    window._first_paint_probe = FirstPaint(window)
    window.installEventFilter(window._first_paint_probe)


def _seconds_since_process_start() -> float:
    """From the kernel's start time of this process where Linux tells it (so the interpreter's
    own start-up counts), else from when this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - started)
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


def _setup_logging() -> None:
    """Log to stderr; a windowed build (Windows, macOS app bundles) has no stderr, so its log
    goes to ``socket-workbench.log`` in the per-user data directory instead."""
    level_name = os.environ.get("SOCKET_WORKBENCH_LOG", "WARNING").upper()
    level = getattr(logging, level_name, logging.WARNING)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if sys.stderr is not None:
        logging.basicConfig(level=level, format=fmt)
        return
    from PySide6.QtCore import QStandardPaths

    folder = Path(
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
        or tempfile.gettempdir()
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=level, format=fmt, filename=folder / f"{NAME}.log")
    except OSError:
        logging.basicConfig(level=level, format=fmt, handlers=[logging.NullHandler()])


def run_app(argv: list[str]) -> int:
    _qt_env()
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setApplicationName(NAME)
    QCoreApplication.setOrganizationName("Socket Workbench")
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationDisplayName("Socket Workbench")
    # Lets desktops match the window to its menu entry and icon (resources/*.desktop).
    app.setDesktopFileName("io.github.socketworkbench.SocketWorkbench")
    app.setQuitOnLastWindowClosed(False)  # the coroutine ends once the sockets are closed
    _setup_logging()
    with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
        return runner.run(_run_window(app))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=NAME, description="Test TCP and TLS servers.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    parser.add_argument(
        "--self-test", action="store_true",
        help="drive the window offscreen against the built-in servers, print a transcript",
    )
    args, rest = parser.parse_known_args(argv)
    if args.version:
        print(version_line())
        return 0
    if args.self_test:
        return self_test()
    return run_app(rest)


if __name__ == "__main__":
    sys.exit(main())
