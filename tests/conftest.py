"""Test harness shared by the whole suite.

Async tests are plain ``async def test_...`` functions. Every one of them runs twice, once on
a stock asyncio loop and once on the application's Qt loop, ``workbench.app.make_event_loop``
(a subclass of qasync's ``QEventLoop``); the test ids end in ``[asyncio]`` / ``[qasync]``.
``@pytest.mark.asyncio_only`` keeps a test on the asyncio loop only.

Each run gets a fresh loop from ``asyncio.Runner``, with ``debug=True`` (house style: core
tests run with asyncio's debug mode). After the test body, the hook awaits ``tcp.shutdown()``
in the same loop when the test used the ``tcp`` fixture, then closes the runner.

Exceptions that reach the loop's exception handler (a task that failed with nobody awaiting it,
a callback that raised) fail the test. A test that expects such errors requests the
``loop_errors`` fixture — a list of the handler's context dicts — and checks it itself.

Fixtures stay synchronous (the loop exists only while the test body runs): ``tcp`` builds a
``TcpSockets`` outside the loop, which binds to the running loop lazily; async setup belongs in
the test or in a helper it awaits.

Helpers for test modules (``from tests.conftest import TIMEOUT, wait_for, Recorder``):

- ``TIMEOUT``: the one unit for every wait, scaled by ``WORKBENCH_TEST_TIMEOUT_SCALE``.
- ``await wait_for(predicate)``: poll until a condition holds or fail.
- ``await assert_stays(predicate, duration)``: the only honest way to assert that something
  does *not* happen: the condition must hold during the whole window, while the loop runs.
- ``Recorder(tcp)``: records ``on_receive`` / ``on_receive_error`` per socket and in order.

Fixed sleeps that an assertion relies on are forbidden: no call of time.sleep in tests unless the
line says ``# sleep-ok`` and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

# Must be set before anything imports Qt or qasync: offscreen needs no display, and with
# several bindings installed qasync would otherwise prefer PyQt. The screen is a desktop's
# (1920x1200), not offscreen's default 800x600: the window fits itself onto its screen.
os.environ["QT_QPA_PLATFORM"] = (
    f"offscreen:configfile={os.path.join(os.path.dirname(__file__), 'offscreen-screen.json')}"
)
os.environ["QT_API"] = "pyside6"

#: One unit of waiting, in seconds. Slow machines (CI under load, valgrind, coverage) set
#: WORKBENCH_TEST_TIMEOUT_SCALE=3 instead of editing tests.
TIMEOUT_SCALE = float(os.environ.get("WORKBENCH_TEST_TIMEOUT_SCALE", "1.0"))
TIMEOUT = 5.0 * TIMEOUT_SCALE
#: Upper bound for a whole async test (body plus ``tcp.shutdown()``), so a hang fails fast.
TEST_TIMEOUT = 30.0 * TIMEOUT_SCALE
#: Polling period of ``wait_for``; short enough to be invisible in the suite's run time.
POLL = 0.005

LOOP_KINDS = ("asyncio", "qasync")

#: Every qasync loop the harness created, kept alive for the whole session on purpose.
#: A closed ``QEventLoop`` sits in reference cycles, so the cyclic GC frees it whenever some
#: thread happens to allocate — often a peer thread. qasync's own loop kept the Qt timers of
#: its delayed callbacks on a QObject that was then destroyed outside the GUI thread, and the
#: next ``QTimerInfoList::activateTimers`` in the main thread dereferenced the freed object
#: (a segfault we hit after ~60 qasync tests). The app's loop stops and deletes its timers
#: when it closes (tests/ui/test_event_loop.py); the list stays as a second guard.
_QASYNC_LOOPS: list[asyncio.AbstractEventLoop] = []


# ---------------------------------------------------------------------------------------------
# Helpers for test modules
# ---------------------------------------------------------------------------------------------


async def wait_for(
    predicate: Callable[[], object],
    timeout: float | None = None,
    message: str | Callable[[], str] = "",
) -> None:
    """Poll ``predicate`` on the running loop until it is true; fail after ``timeout``."""
    timeout = TIMEOUT if timeout is None else timeout
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            text = message() if callable(message) else message
            name = getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout:.2f}s waiting for {name}. {text}")
        await asyncio.sleep(POLL)


async def assert_stays(
    predicate: Callable[[], object],
    duration: float | None = None,
    message: str | Callable[[], str] = "",
) -> None:
    """Assert that ``predicate`` holds for the whole of ``duration`` while the loop runs.

    A negative assertion ("no event arrives while paused") needs an observation window; this
    is it, spelled out, so nobody mistakes it for a sleep the test depends on to pass.
    """
    duration = 0.2 * TIMEOUT_SCALE if duration is None else duration
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    while True:
        if not predicate():
            text = message() if callable(message) else message
            name = getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"{name} stopped holding. {text}")
        if loop.time() >= deadline:
            return
        await asyncio.sleep(POLL)


class Recorder:
    """Records the events of one ``TcpSockets`` instance.

    ``data[id]`` is the concatenation of every chunk, ``chunks[id]`` the chunks themselves,
    ``errors[id]`` the result codes of ``on_receive_error``, and ``log`` an ordered list of
    ``("receive", id, len)``, ``("error", id, code)`` and ``("mark", label, None)`` entries so a
    test can check the order of events relative to its own steps (``mark``).
    """

    def __init__(self, tcp: Any) -> None:
        self.tcp = tcp
        self.data: dict[int, bytearray] = {}
        self.chunks: dict[int, list[bytes]] = {}
        self.errors: dict[int, list[int]] = {}
        self.log: list[tuple[str, Any, Any]] = []
        tcp.on_receive.add_listener(self._on_receive)
        tcp.on_receive_error.add_listener(self._on_receive_error)

    def _on_receive(self, info: Any) -> None:
        data = bytes(info.data)
        self.data.setdefault(info.socket_id, bytearray()).extend(data)
        self.chunks.setdefault(info.socket_id, []).append(data)
        self.log.append(("receive", info.socket_id, len(data)))

    def _on_receive_error(self, info: Any) -> None:
        self.errors.setdefault(info.socket_id, []).append(info.result_code)
        self.log.append(("error", info.socket_id, info.result_code))

    def mark(self, label: str) -> None:
        self.log.append(("mark", label, None))

    def received(self, socket_id: int) -> bytes:
        return bytes(self.data.get(socket_id, b""))

    def errors_of(self, socket_id: int) -> list[int]:
        return list(self.errors.get(socket_id, []))

    def events_of(self, socket_id: int) -> list[tuple[str, Any, Any]]:
        return [e for e in self.log if e[0] != "mark" and e[1] == socket_id]

    async def wait_bytes(self, socket_id: int, n: int, timeout: float | None = None) -> bytes:
        """Wait until at least ``n`` bytes were received on ``socket_id``; return them all."""

        def enough() -> bool:
            return len(self.data.get(socket_id, b"")) >= n

        await wait_for(
            enough,
            timeout,
            lambda: (
                f"socket {socket_id}: got {len(self.data.get(socket_id, b''))} of {n} "
                f"bytes; errors {self.errors_of(socket_id)}"
            ),
        )
        return self.received(socket_id)

    async def wait_error(self, socket_id: int, timeout: float | None = None) -> int:
        """Wait for the first ``on_receive_error`` of ``socket_id``; return its code."""

        def has_error() -> bool:
            return bool(self.errors.get(socket_id))

        await wait_for(
            has_error,
            timeout,
            lambda: (
                f"socket {socket_id}: no on_receive_error; "
                f"received {len(self.data.get(socket_id, b''))} bytes"
            ),
        )
        return self.errors[socket_id][0]

    def close(self) -> None:
        self.tcp.on_receive.remove_listener(self._on_receive)
        self.tcp.on_receive_error.remove_listener(self._on_receive_error)


# ---------------------------------------------------------------------------------------------
# Markers, parametrization, fixtures
# ---------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "asyncio_only: run this async test on the asyncio loop only, not on qasync"
    )
    config.addinivalue_line("markers", "slow: a test that takes seconds rather than milliseconds")


def _is_async_test(function: object) -> bool:
    return inspect.iscoroutinefunction(function)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not _is_async_test(metafunc.function):
        return
    kinds = list(LOOP_KINDS)
    if metafunc.definition.get_closest_marker("asyncio_only") is not None:
        kinds = ["asyncio"]
    if "loop_kind" not in metafunc.fixturenames:
        # The test does not name the fixture itself; add it so every async test is parametrized.
        metafunc.fixturenames.append("loop_kind")
    metafunc.parametrize("loop_kind", kinds, indirect=True)


@pytest.fixture
def loop_kind(request: pytest.FixtureRequest) -> str:
    """``"asyncio"`` or ``"qasync"``: the loop this async test runs on."""
    kind = getattr(request, "param", "asyncio")
    if kind == "qasync":
        # Import order matters: PySide6 first, then qasync (QT_API is set above as well).
        import PySide6.QtWidgets  # noqa: F401

        # pytest-qt's session QApplication; qasync's loop runs on it.
        request.getfixturevalue("qapp")
    return str(kind)


@pytest.fixture(autouse=True)
def _async_loop_setup(request: pytest.FixtureRequest) -> str | None:
    """Set up ``loop_kind`` (and with it the QApplication) for async tests that don't name it."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or "loop_kind" not in callspec.params:
        return None
    return str(request.getfixturevalue("loop_kind"))


@pytest.fixture
def tcp() -> Any:
    """A fresh ``TcpSockets``; the harness awaits ``tcp.shutdown()`` after the test body."""
    from workbench.sockets import TcpSockets

    return TcpSockets()


@pytest.fixture
def loop_errors() -> list[dict[str, Any]]:
    """Contexts passed to the loop's exception handler during the test.

    Requesting this fixture means the test checks them itself; otherwise any entry fails the
    test.
    """
    return []


@contextlib.contextmanager
def _runner(kind: str) -> Iterator[asyncio.Runner]:
    if kind == "asyncio":
        runner = asyncio.Runner(debug=True)
    elif kind == "qasync":
        import PySide6.QtWidgets

        from workbench.app import make_event_loop

        app = PySide6.QtWidgets.QApplication.instance()
        assert app is not None, "the loop_kind fixture should have created the QApplication"

        # Runner.close() ends with QEventLoop.close(), which only disconnects qasync's own
        # signal, stops its timers and drops the app reference: it never calls app.exit() or
        # quit(), so the session QApplication (and later qtbot waits) stay usable. The loop's
        # own stop() does call app.exit(), but only from inside the app.exec() that
        # run_until_complete started, and QCoreApplication.exec() clears quitNow on return.
        # (qasync's own debug mode is broken: it calls asyncio.get_event_loop() in the timer
        # handler of delayed callbacks, which raises after the loop stopped. The app's loop
        # runs its delayed callbacks itself.)
        def qasync_loop() -> asyncio.AbstractEventLoop:
            loop = make_event_loop(app)
            _QASYNC_LOOPS.append(loop)
            return loop

        runner = asyncio.Runner(loop_factory=qasync_loop, debug=True)
    else:  # pragma: no cover - guarded by parametrization
        raise ValueError(f"unknown loop kind {kind!r}")
    try:
        yield runner
    finally:
        runner.close()


async def _run_async_test(
    test: Callable[..., Awaitable[None]],
    kwargs: dict[str, Any],
    tcp: Any,
    errors: list[dict[str, Any]],
) -> None:
    loop = asyncio.get_running_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(context)
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        async with asyncio.timeout(TEST_TIMEOUT):
            await test(**kwargs)
    except BaseException as failure:
        if tcp is not None:
            try:
                async with asyncio.timeout(TIMEOUT):
                    await tcp.shutdown()
            except Exception as cleanup_error:  # keep the test's own failure in front
                failure.add_note(f"tcp.shutdown() after the failure also raised {cleanup_error!r}")
        raise
    if tcp is not None:
        async with asyncio.timeout(TIMEOUT):
            await tcp.shutdown()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    test = pyfuncitem.obj
    if not _is_async_test(test):
        return None
    funcargs = pyfuncitem.funcargs
    params = inspect.signature(test).parameters
    kwargs = {name: funcargs[name] for name in params if name in funcargs}
    kind = funcargs["_async_loop_setup"]
    errors: list[dict[str, Any]] = funcargs.get("loop_errors", [])
    with _runner(kind) as runner:
        runner.run(_run_async_test(test, kwargs, funcargs.get("tcp"), errors))
    if "loop_errors" not in funcargs and errors:
        described = "; ".join(f"{c.get('message')!s}: {c.get('exception')!r}" for c in errors)
        pytest.fail(
            f"{len(errors)} error(s) reached the event loop's exception handler: {described}"
            " (request the loop_errors fixture if the test expects them)",
            pytrace=False,
        )
    return True
