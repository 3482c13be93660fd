"""Fixtures for the window's tests (pytest-qt, offscreen, real loopback peers).

How the loop works: ONE application loop (``workbench.app.make_event_loop``, a qasync
``QEventLoop``) bound to pytest-qt's ``qapp`` for the whole session (``_qloop_session``). The
function fixture ``qloop`` makes it the current loop *and* the running loop for the duration of
one test — the core calls ``asyncio.get_running_loop()``, and under pytest-qt nobody calls
``run_forever``; qasync's own ``already_running=True`` does the same, but for good, which would
break the core tests' ``asyncio.Runner`` after the first UI test. While
``qtbot.waitUntil``/``waitSignal`` wait, Qt's event loop runs, and with it every asyncio
callback (the loop runs them from a Qt timer and a Qt socket notifier).

The loop is never stopped or closed while tests run (that would make every later
``qtbot.waitSignal`` time out at once). Errors that reach the loop's exception handler (a task
that failed unobserved, "Task was destroyed but it is pending") fail the test that caused them.

Fixtures:
- ``qloop``: the running application loop for this test.
- ``aio``: ``aio(coro)`` runs a coroutine to its end while Qt waits; returns its result.
- ``workbench_window``: ``build_main_window(TcpSockets())``, shown, closed (sockets too) at
  teardown; ``make_window(**kwargs)`` the same with other arguments. The settings directory
  (``SOCKET_WORKBENCH_CONFIG_DIR``) is a temporary one in every UI test.
- ``pki``: trustme certificates (``tests.net.tls_peers.make_pki``).
- ``echo_server`` / ``tls_echo_server``: threaded loopback echo peers (``.port``).
- ``refused_port``: a loopback port where nothing listens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

# tests/conftest.py has set QT_QPA_PLATFORM=offscreen and QT_API=pyside6 already.
from PySide6.QtWidgets import QApplication

import pytest

from tests.conftest import TIMEOUT
from tests.net.tls_peers import (
    Pki,
    ThreadedServer,
    free_port,
    make_pki,
    plain_echo_handler,
    server_context,
    tls_echo_handler,
)

#: pytest-qt waits take milliseconds.
WAIT_MS = int(TIMEOUT * 1000)


_LOOPS: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(scope="session")
def _qloop_session(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    # One loop even when another test module imports these fixtures (tests/test_app.py).
    if not _LOOPS:
        from workbench.app import make_event_loop

        _LOOPS.append(make_event_loop(qapp))
    loop = _LOOPS[0]
    yield loop
    # The session is over: nothing waits on Qt any more (close() is idempotent).
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def qloop(_qloop_session: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    loop = _qloop_session
    errors: list[dict[str, Any]] = []

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(context)
        loop.default_exception_handler(context)

    previous = asyncio.events._get_running_loop()
    assert previous is None, f"a loop is already running: {previous!r}"
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    loop.set_exception_handler(handler)
    try:
        yield loop
    finally:
        loop.set_exception_handler(None)
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)
    if errors:
        described = "; ".join(f"{c.get('message')!s}: {c.get('exception')!r}" for c in errors)
        pytest.fail(f"{len(errors)} error(s) reached the loop's exception handler: {described}")


@pytest.fixture(autouse=True)
def _private_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No UI test ever touches the user's real settings."""
    path = tmp_path / "config"
    monkeypatch.setenv("SOCKET_WORKBENCH_CONFIG_DIR", str(path))
    return path


@pytest.fixture
def aio(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``aio(coro)`` runs a coroutine on the application loop while Qt waits; returns its
    result."""

    def run(coro: Coroutine[Any, Any, Any], timeout: int = WAIT_MS) -> Any:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    return run


def close_window(qtbot: Any, window: Any) -> None:
    """Close a window built by ``build_main_window`` and wait until its sockets are closed."""
    if not window.shut_down:
        window.close()
        qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)


@pytest.fixture
def make_window(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[Callable[..., Any]]:
    """``make_window(**build_main_window_kwargs)``: a shown window on a fresh ``TcpSockets``,
    closed (sockets and all) and deleted at teardown.

    Not ``qtbot.addWidget``: pytest-qt closes and deletes those before fixtures tear down,
    while the window's asynchronous shutdown still needs it.
    """
    from workbench.app import build_main_window
    from workbench.sockets import TcpSockets

    windows: list[Any] = []

    def make(**kwargs: Any) -> Any:
        window = build_main_window(TcpSockets(), **kwargs)
        windows.append(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        return window

    try:
        yield make
    finally:
        for window in windows:
            close_window(qtbot, window)
            window.deleteLater()


@pytest.fixture
def workbench_window(make_window: Callable[..., Any]) -> Any:
    """``build_main_window(TcpSockets())``: empty, no servers, no settings I/O."""
    return make_window()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("ui-pki")))


@pytest.fixture
def echo_server() -> Iterator[ThreadedServer]:
    server = ThreadedServer(plain_echo_handler, name="ui-echo").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_echo_server(pki: Pki) -> Iterator[ThreadedServer]:
    server = ThreadedServer(
        tls_echo_handler(server_context(pki.valid)), name="ui-tls-echo"
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def refused_port() -> int:
    return free_port()


# -- TLS inspection (tests/ui/tls_window.py) --------------------------------------------------


@pytest.fixture
def tls_tab(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """``tests.ui.tls_window.TlsTab``: the TLS tab on a session over a fresh core."""
    from tests.ui.tls_window import TlsTab

    tab = TlsTab(qtbot)
    yield tab
    tab.close()
    assert tab.failures == []


@pytest.fixture(scope="session")
def chain_pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """root → intermediate → leaf (``tests.ui.tls_window.ChainPki``)."""
    from tests.ui.tls_window import make_chain_pki

    return make_chain_pki(Path(tmp_path_factory.mktemp("ui-chain")))


@pytest.fixture
def s_server() -> Iterator[Callable[..., Any]]:
    """``s_server(cert_files, *args)``: a started ``openssl s_server``, stopped at teardown."""
    from tests.net.tls_peers import OpenSSLServer

    servers: list[OpenSSLServer] = []

    def start(cert: Any, *args: str) -> OpenSSLServer:
        server = OpenSSLServer(cert, *args).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
