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

import asyncio
import contextlib
import faulthandler
import gc
import logging
import os
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

    from workbench.session.settings import PersistedServer, PersistedSocket, PersistedUdp
    from workbench.sockets import TcpSockets
    from workbench.ui.main_window import MainWindow

NAME = "socket-workbench"
LICENCE = "MIT"
#: The self-test's hard limit, in seconds (the whole run, servers and TLS included).
SELF_TEST_TIMEOUT = 45.0

_log = logging.getLogger("workbench.app")


def version_line() -> str:
    """One line: ours, then Python, Qt, PySide6, OpenSSL and the licence."""
    import platform  # here, not at the top: a plain start does not need it (issue 14)

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
      theme) and restore and reconnect the persistent sockets of the last session, and its
      persistent servers with their rules, listening again, and its persistent UDP sockets,
      bound again; the settings are saved when the window closes;
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
    if window.commands.keylog is not None:
        # K3: SSLKEYLOGFILE, as browsers and curl honour it, over the settings' key log.
        window.commands.keylog.apply_environment()
    if message:
        window.report_error(message)
    if servers:
        # A config directory we cannot write to (said once, above) cannot hold the test CA
        # either: the TLS echo then keeps it in a temporary directory (issue 8, item 24).
        writable = store is not None and store.writable()
        _attach_servers(window, store.directory if store is not None and writable else None)
    saved = list(settings.sockets) if restore_session else []
    saved_servers = list(settings.servers) if restore_session else []
    saved_udp = list(settings.udp) if restore_session else []
    wants_first_socket = first_start and servers
    window.setup_task = None
    if servers or saved or saved_servers or saved_udp or wants_first_socket:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            _log.warning("no running event loop: the window's set-up is skipped")
        else:
            window.setup_task = window.runner.start(
                _set_up(window, saved, wants_first_socket, saved_servers, saved_udp),
                name="window set-up",
            )
    return window


def _attach_servers(window: MainWindow, config_dir: Path | None) -> None:
    """The built-in servers, with their test CA in the config directory (kept, so a user can
    trust it once), or (no config directory, or a read-only one) in a temporary one that goes
    with the window."""
    from workbench.net.servers import ServerManager

    if config_dir is not None:
        window.attach_servers(ServerManager(config_dir / "test-ca"))
        return
    temp_cert_dir = tempfile.mkdtemp(prefix="socket-workbench-ca-")
    window.attach_servers(ServerManager(Path(temp_cert_dir)))
    window.shutDown.connect(lambda: shutil.rmtree(temp_cert_dir, ignore_errors=True))


async def _set_up(
    window: MainWindow,
    saved: list[PersistedSocket],
    first_socket: bool,
    saved_servers: list[PersistedServer],
    saved_udp: list[PersistedUdp] | None = None,
) -> None:
    """Start the echo server, restore the saved servers, the saved UDP sockets and then the
    saved sockets (a saved socket may be a client of a saved server), and on a first start (or
    when nothing was restored) give the user a socket pointing at the echo server."""
    from workbench.net.servers import ServerKind, ServerSpec

    echo = None
    manager = window.server_manager
    if manager is not None:
        try:
            echo = await manager.start(ServerSpec(ServerKind.ECHO))
        except OSError as exc:
            window.report_error(f"The built-in echo server could not start: {exc}")
    if saved_servers:
        await window.window_settings.restore_servers(saved_servers)
    if saved_udp:
        await window.window_settings.restore_udp(saved_udp)
    restored = await window.restore_sockets(saved) if saved else []
    settings = window.settings
    if first_socket and echo is not None and (not settings.first_start_done or not restored):
        task = window.new_socket_to(echo.host, echo.port, "echo")
        if task is not None:
            await task
    settings.first_start_done = True


# ---------------------------------------------------------------------------- self-test


async def _self_test_steps(say: Callable[[str], None]) -> None:
    from workbench.sockets import TcpSockets
    from workbench.ui.self_test import SelfTest, until

    window = build_main_window(TcpSockets(), servers=True)
    window.resize(1024, 700)
    window.show()
    try:
        await SelfTest(window, say).run()
    finally:
        window.close()
        await until("the window to close its sockets", lambda: window.shut_down)


def self_test(timeout: float = SELF_TEST_TIMEOUT) -> int:
    """Run the window offscreen through its own actions; 0 when everything echoed right."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _qt_env()

    # A hang that blocks the loop itself cannot be caught by asyncio's timeout.
    faulthandler.dump_traceback_later(timeout + 30, exit=True)
    started = time.monotonic()
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(f"  ✓ {line}", flush=True)

    print(f"{version_line()}: self-test", flush=True)
    app = _application([NAME])
    app.setQuitOnLastWindowClosed(False)  # the coroutine decides when it is over
    try:
        with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
            runner.run(asyncio.wait_for(_self_test_steps(say), timeout))
    except Exception as exc:  # a failed step, a time-out, an OS error: all the same here
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
    window = build_main_window(TcpSockets(), servers=True, restore_session=True, first_start=True)
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
    _resume_gc_after_first_paint(window)
    if os.environ.get("SOCKET_WORKBENCH_STARTUP_PROBE") == "1":
        _probe_first_paint(window)
    print(
        f"Socket Workbench {__version__} is running; Ctrl+C here closes it.",
        file=sys.stderr,
        flush=True,
    )
    try:
        await done
    finally:
        sigint.close()
        undo_hooks()
    return 0


_IMPORTED_AT = time.monotonic()


#: The cyclic garbage collector is back on by then even if the window never paints (a
#: start minimised, or on a platform that paints nothing for a hidden window).
GC_PAUSE_LIMIT_S = 2.0


def _resume_gc_after_first_paint(window: MainWindow) -> None:
    """Turn the garbage collector back on (``main`` turned it off) once the first frame is
    painted: until then the start allocates tens of thousands of objects (modules, classes,
    Qt wrappers, enums) that all stay alive, so every collection it triggers finds nothing
    and only costs time, about a tenth of the start on the machine of issue 14."""
    from workbench.ui.startup_probe import FirstPaintProbe

    def resume() -> None:
        if not gc.isenabled():
            gc.enable()

    FirstPaintProbe(window, resume)
    asyncio.get_running_loop().call_later(GC_PAUSE_LIMIT_S, resume)


def _probe_first_paint(window: MainWindow) -> None:
    """With ``SOCKET_WORKBENCH_STARTUP_PROBE=1``: print ``startup-probe window-shown <s>`` once
    the window has painted its first frame, then close (the tests start the whole program this
    way; ``benchmarks/startup.py`` watches the X server instead, as it does for other
    programs)."""
    from workbench.ui.startup_probe import FirstPaintProbe

    def report() -> None:
        print(f"startup-probe window-shown {_seconds_since_process_start():.3f}", flush=True)
        window.close()

    FirstPaintProbe(window, report)


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


def _application(argv: list[str]) -> QApplication:
    """The process's QApplication: the one there is (a test's), else a new one."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return QApplication(argv)
    if not isinstance(app, QApplication):
        raise RuntimeError(f"a {type(app).__name__} exists; the window needs a QApplication")
    return app


def run_app(argv: list[str]) -> int:
    _qt_env()
    from PySide6.QtCore import QCoreApplication

    # Before anything else is imported: PySide6 would keep every later module's source.
    import workbench.ui.pyside_feature  # noqa: F401

    QCoreApplication.setApplicationName(NAME)
    QCoreApplication.setOrganizationName("Socket Workbench")
    app = _application([sys.argv[0], *argv])
    app.setApplicationDisplayName("Socket Workbench")
    # Lets desktops match the window to its menu entry and icon (resources/*.desktop).
    app.setDesktopFileName("io.github.socketworkbench.SocketWorkbench")
    app.setQuitOnLastWindowClosed(False)  # the coroutine ends once the sockets are closed
    _setup_logging()
    with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
        return runner.run(_run_window(app))


def main(argv: list[str] | None = None) -> int:
    from workbench.core.limits import raise_fd_limit, tune_gc

    # Every socket costs a descriptor: a desktop's soft limit of 1,024 would end a test of
    # a thousand connections early, and the hard limit is there for the asking.
    raise_fd_limit()
    tune_gc()  # no full collections of a large heap while the window should move
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"]:
        # Conversations, headless: plain asyncio, no Qt imported (workbench.cli).
        from workbench.cli import main as run_conversations

        return run_conversations(args[1:])
    if not args:
        # A plain start: argparse (about 2 ms to import) is for the command line's options.
        # No cyclic garbage collection until the window's first frame (_run_window resumes it).
        gc.disable()
        return run_app([])
    return _run_command_line(args)


def _run_command_line(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog=NAME, description="Test TCP and TLS servers.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="drive the window offscreen against the built-in servers, print a transcript",
    )
    args, rest = parser.parse_known_args(argv)
    if args.version:
        print(version_line())
        return 0
    if args.self_test:
        return self_test()
    gc.disable()  # as on a plain start
    return run_app(rest)


if __name__ == "__main__":
    sys.exit(main())
