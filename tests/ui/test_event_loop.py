"""The app's event loop (``workbench.app.make_event_loop``, ``workbench/ui/event_loop.py``).

These tests drive the loop one turn of Qt's event loop at a time: ``qapp.processEvents()``
with the loop not running, from plain (not ``async``) test functions, so nothing here is a
nested loop inside a coroutine. A turn is observed by what ran, never by how long it took; the
budget test makes each callback cost at least a known time and counts how many fit in a turn.
I/O goes through real ``socket.socketpair()`` sockets.

Most tests run on the app's loop and on the batching alone (``BatchedEventLoop`` over qasync's
own I/O, what Windows and macOS get; Windows itself is not tested here). ``APP_LOOP_ONLY``
marks what only the app's loop promises.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import inspect
import os
import selectors
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import shiboken6
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

import pytest
import qasync

from tests.conftest import TIMEOUT
from workbench.app import make_event_loop
from workbench.ui import event_loop as loop_module
from workbench.ui.event_loop import CHECKED_QASYNC, ONE_SELECTOR, TURN_BUDGET

#: Loops made here stay alive to the end of the session, as the harness's do
#: (tests/conftest.py ``_QASYNC_LOOPS``): qasync's timer QObject must not be freed by the
#: garbage collector from another thread.
_KEEP: list[asyncio.AbstractEventLoop] = []

#: More turns than any of these tests needs; reaching it means something never ran.
MAX_TURNS = 10_000

#: For what only the app's loop promises (on Linux: one selector, asyncio's order of I/O).
APP_LOOP_ONLY = pytest.mark.parametrize("loop", ["app"], indirect=True)


@pytest.fixture(params=["app", "batched"])
def loop(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Any]:
    """A fresh loop, closed after the test: ``app`` is ``make_event_loop``'s (on Linux the
    epoll loop), ``batched`` the batching alone over qasync's own I/O (what Windows and macOS
    get). Anything that reaches its exception handler fails the test (a test that expects
    errors installs a handler of its own)."""
    make = make_event_loop if request.param == "app" else loop_module.BatchedEventLoop
    new = make(qapp)
    _KEEP.append(new)
    errors: list[dict[str, Any]] = []
    new.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        yield new
    finally:
        new.close()
    assert not errors, f"the loop's exception handler was called: {errors}"


@pytest.fixture
def pairs() -> Iterator[Callable[[], tuple[socket.socket, socket.socket]]]:
    """``pair()``: a connected, non-blocking ``socket.socketpair()``, closed after the test."""
    made: list[socket.socket] = []

    def pair() -> tuple[socket.socket, socket.socket]:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        made.extend((a, b))
        return a, b

    yield pair
    for sock in made:
        sock.close()


def turn(qapp: QApplication) -> None:
    """One pass of Qt's event loop; it does not wait for events."""
    qapp.processEvents()


def turn_until(qapp: QApplication, predicate: Callable[[], object]) -> int:
    """Turn until ``predicate`` holds; the number of turns it took."""
    for turns in range(1, MAX_TURNS + 1):
        turn(qapp)
        if predicate():
            return turns
    raise AssertionError(f"still false after {MAX_TURNS} turns of Qt's event loop: {predicate}")


def spin(seconds: float) -> None:
    """Keep the CPU busy (a callback that costs at least ``seconds``; not a wait)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


# ------------------------------------------------------------------------ callbacks and turns


def test_callbacks_run_in_fifo_order(qapp: QApplication, loop: Any) -> None:
    ran: list[int] = []
    for i in range(500):
        loop.call_soon(ran.append, i)
    turn_until(qapp, lambda: len(ran) == 500)
    assert ran == list(range(500))


def test_a_callback_queued_during_an_iteration_runs_in_a_later_turn(
    qapp: QApplication, loop: Any
) -> None:
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        loop.call_soon(ran.append, "queued by first")

    loop.call_soon(first)
    loop.call_soon(ran.append, "second")
    turn_until(qapp, lambda: "second" in ran)
    assert ran == ["first", "second"]  # the turn that ran "second" did not run the new one
    turn_until(qapp, lambda: len(ran) == 3)
    assert ran == ["first", "second", "queued by first"]


def test_call_later_without_a_delay_is_a_callback_of_the_next_iteration(
    qapp: QApplication, loop: Any
) -> None:
    ran: list[str] = []
    loop.call_later(0, ran.append, "later(0)")
    loop.call_soon(ran.append, "soon")
    loop.call_at(loop.time() - 1, ran.append, "at(past)")
    turn_until(qapp, lambda: len(ran) == 3)
    assert ran == ["later(0)", "soon", "at(past)"]


def test_debug_mode_checks_callbacks_and_logs_slow_ones(
    qapp: QApplication, loop: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def coroutine_function() -> None:
        pass

    loop.set_debug(True)
    assert loop.get_debug()
    with pytest.raises(TypeError, match="coroutines cannot be used with call_soon"):
        loop.call_soon(coroutine_function)
    with pytest.raises(TypeError, match="callable"):
        loop.call_soon_threadsafe("not callable")
    loop.slow_callback_duration = 0  # every callback is slow
    ran: list[str] = []
    loop.call_soon(ran.append, "slow")
    turn_until(qapp, lambda: bool(ran))
    assert [r.levelname for r in caplog.records if "took" in r.getMessage()] == ["WARNING"]
    loop.set_debug(False)
    loop.call_soon("not checked").cancel()  # as asyncio: unchecked outside debug mode


def test_a_delayed_callback_runs_from_a_qt_timer(qapp: QApplication, loop: Any) -> None:
    ran: list[str] = []
    loop.call_later(0.001, ran.append, "delayed")
    _wait_for_events(qapp, lambda: bool(ran))
    assert ran == ["delayed"]


def test_cancelling_a_delayed_callback_stops_its_qt_timer(qapp: QApplication, loop: Any) -> None:
    """10,000 TLS handshakes each cancel a 60 s timeout: those must not stay behind as Qt
    timers. (Asyncio tells the loop through its private ``_timer_handle_cancelled``.)"""
    dispatcher = qapp.eventDispatcher()
    timers = loop._delay_timers  # the loop's own QObject for delayed callbacks

    handles = [loop.call_later(60, lambda: None) for _ in range(99)]
    assert isinstance(handles[0], asyncio.TimerHandle)
    assert handles[0].when() == pytest.approx(loop.time() + 60, abs=1)
    handles.append(loop.call_later(10**9, lambda: None))  # longer than one Qt timer can be
    assert len(dispatcher.registeredTimers(timers)) == 100
    for handle in handles:
        handle.cancel()
    assert dispatcher.registeredTimers(timers) == []


def test_cancelled_handles_do_not_run(qapp: QApplication, loop: Any) -> None:
    ran: list[str] = []
    loop.call_soon(ran.append, "cancelled before the turn").cancel()
    loop.call_later(0, ran.append, "cancelled call_later(0)").cancel()
    loop.call_later(0.001, ran.append, "cancelled delayed").cancel()
    victim = None

    def cancel_the_next_one() -> None:
        assert victim is not None
        victim.cancel()
        ran.append("canceller")

    loop.call_soon(cancel_the_next_one)
    victim = loop.call_soon(ran.append, "cancelled by an earlier callback of its iteration")
    loop.call_soon(ran.append, "last")
    turn_until(qapp, lambda: "last" in ran)
    # Let the cancelled delayed callback's time pass, with a later one as the marker.
    loop.call_later(0.005, ran.append, "marker")
    _wait_for_events(qapp, lambda: "marker" in ran)
    assert ran == ["canceller", "last", "marker"]


def test_call_soon_threadsafe_wakes_an_idle_loop(qapp: QApplication, loop: Any) -> None:
    # Nothing is queued on this loop, so its turn timer is not running: only the wake-up of
    # call_soon_threadsafe can make the callback run before the guard timer fires.
    ran: list[tuple[str, int]] = []
    main = threading.get_ident()
    thread = threading.Thread(
        target=lambda: loop.call_soon_threadsafe(
            lambda sender: ran.append((sender, threading.get_ident())), "thread"
        )
    )
    thread.start()
    woke = _wait_for_events(qapp, lambda: bool(ran))
    thread.join()
    assert woke, "call_soon_threadsafe did not wake the idle loop"
    assert ran == [("thread", main)]  # run by the loop, in the loop's thread


def test_call_soon_threadsafe_keeps_the_context(qapp: QApplication, loop: Any) -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="default")
    context = contextvars.copy_context()
    context.run(var.set, "from the context")
    seen: list[str] = []
    handle = loop.call_soon_threadsafe(lambda: seen.append(var.get()), context=context)
    assert isinstance(handle, asyncio.Handle)
    turn_until(qapp, lambda: bool(seen))
    assert seen == ["from the context"]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_a_signal_handler_runs_as_a_callback(qapp: QApplication, loop: Any) -> None:
    ran: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, ran.append, "signal")
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        turn_until(qapp, lambda: bool(ran))
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert ran == ["signal"]


def test_an_exception_in_a_callback_reaches_the_exception_handler_and_the_loop_goes_on(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    ran: list[str] = []
    failure = ValueError("from a callback")

    def fail() -> None:
        raise failure

    loop.call_soon(fail)
    loop.call_soon(ran.append, "after")
    turn_until(qapp, lambda: "after" in ran)
    assert [c.get("exception") for c in contexts] == [failure]

    # An I/O callback that raises: the same handler, and the loop still runs.
    a, b = pairs()
    io_failure = OSError("from an I/O callback")

    def read_and_fail() -> None:
        loop.remove_reader(a)
        a.recv(16)
        raise io_failure

    loop.add_reader(a, read_and_fail)
    b.send(b"x")
    turn_until(qapp, lambda: len(contexts) == 2)
    assert contexts[1].get("exception") is io_failure
    loop.call_soon(ran.append, "still running")
    turn_until(qapp, lambda: "still running" in ran)


def test_a_turn_stops_running_callbacks_after_its_budget(qapp: QApplication, loop: Any) -> None:
    cost = TURN_BUDGET / 4  # each callback keeps the CPU at least this long
    most = 4 + 1  # callbacks that fit in one turn's budget, and the one that crosses it
    ran: list[int] = []

    def slow(i: int) -> None:
        spin(cost)
        ran.append(i)

    total = 6 * most
    for i in range(0, total, 3):  # call_later(0) and call_at(now) join the same queue
        loop.call_soon(slow, i)
        loop.call_later(0, slow, i + 1)
        loop.call_at(loop.time(), slow, i + 2)
    per_turn: list[int] = []
    while len(ran) < total and len(per_turn) < MAX_TURNS:
        before = len(ran)
        turn(qapp)
        per_turn.append(len(ran) - before)
    assert ran == list(range(total))
    assert max(per_turn) <= most, per_turn
    assert len([n for n in per_turn if n]) >= total // most, per_turn


# ---------------------------------------------------------------------------------- I/O


@APP_LOOP_ONLY
def test_an_io_callback_runs_after_the_callbacks_queued_before_it(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """asyncio's order: callbacks already queued, then the I/O callbacks of the next poll;
    callbacks queued by an I/O callback run before the following poll."""
    a, b = pairs()
    ran: list[str] = []

    def read_one_byte() -> None:
        data = a.recv(1)
        ran.append(f"read {data.decode()}")
        loop.call_soon(ran.append, f"queued after {data.decode()}")
        if data == b"2":
            loop.remove_reader(a)

    b.send(b"12")
    loop.call_soon(ran.append, "queued first")
    loop.add_reader(a, read_one_byte)
    turn_until(qapp, lambda: len(ran) == 5)
    assert ran == ["queued first", "read 1", "queued after 1", "read 2", "queued after 2"]


def test_removing_a_reader_or_writer_from_its_own_callback(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    a, b = pairs()
    calls: list[str] = []

    def on_readable() -> None:
        calls.append("read")
        assert loop.remove_reader(a) is True

    def on_writable() -> None:
        calls.append("write")
        assert loop.remove_writer(b) is True

    loop.add_reader(a, on_readable)
    loop.add_writer(b, on_writable)
    b.send(b"unread")  # stays unread: a reader still registered would run again
    turn_until(qapp, lambda: len(calls) == 2)
    for _ in range(50):  # every turn polls the selector (a level-triggered epoll)
        turn(qapp)
    assert sorted(calls) == ["read", "write"]
    assert a.recv(16) == b"unread"


def test_a_callback_removing_another_ready_descriptor_stops_it_in_the_same_turn(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    (a1, b1), (a2, b2) = pairs(), pairs()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        loop.remove_reader(a1)
        loop.remove_reader(a2)

    def second() -> None:
        ran.append("second")
        loop.remove_reader(a1)
        loop.remove_reader(a2)

    loop.add_reader(a1, first)
    loop.add_reader(a2, second)
    b1.send(b"x")
    b2.send(b"x")  # both are ready before the turn that polls them
    turn_until(qapp, lambda: bool(ran))
    for _ in range(50):
        turn(qapp)
    assert ran in (["first"], ["second"])


@APP_LOOP_ONLY
def test_a_reader_removing_the_writer_of_its_descriptor(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    a, b = pairs()
    ran: list[str] = []

    def on_readable() -> None:
        ran.append("read")
        loop.remove_reader(a)
        loop.remove_writer(a)

    loop.add_reader(a, on_readable)
    loop.add_writer(a, lambda: ran.append("write"))  # a is writable at once
    b.send(b"x")
    turn_until(qapp, lambda: "read" in ran)
    for _ in range(50):
        turn(qapp)
    # Readable and writable came in one event, reader first: the writer was gone by then.
    assert ran == ["read"]


def test_replacing_a_reader_from_a_callback_runs_the_new_one(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    a, b = pairs()
    ran: list[str] = []

    def new_reader() -> None:
        ran.append(f"new {a.recv(1).decode()}")
        if len(ran) == 3:
            loop.remove_reader(a)

    def old_reader() -> None:
        ran.append(f"old {a.recv(1).decode()}")
        loop.add_reader(a, new_reader)

    loop.add_reader(a, old_reader)
    b.send(b"123")
    turn_until(qapp, lambda: len(ran) == 3)
    assert ran == ["old 1", "new 2", "new 3"]


@APP_LOOP_ONLY
def test_a_turn_stops_running_io_callbacks_after_its_budget(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    cost = TURN_BUDGET / 4
    most = 4 + 1
    total = 6 * most
    ran: list[int] = []

    def slow_reader(i: int, sock: socket.socket) -> None:
        spin(cost)
        loop.remove_reader(sock)
        ran.append(i)

    for i in range(total):
        a, b = pairs()
        loop.add_reader(a, slow_reader, i, a)
        b.send(b"x")
    per_turn: list[int] = []
    while len(ran) < total and len(per_turn) < MAX_TURNS:
        before = len(ran)
        turn(qapp)
        per_turn.append(len(ran) - before)
    assert sorted(ran) == list(range(total))  # each exactly once
    assert max(per_turn) <= most, per_turn


def test_asyncio_streams_over_a_socket_pair(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Transports, protocols and tasks on top: a 1 MiB echo through asyncio's streams."""
    a, b = pairs()
    payload = bytes(range(256)) * 4096

    async def echo() -> bytes:
        reader_a, writer_a = await asyncio.open_connection(sock=a)
        reader_b, writer_b = await asyncio.open_connection(sock=b)

        async def bounce() -> None:
            while data := await reader_b.read(65536):
                writer_b.write(data)
                await writer_b.drain()
            writer_b.close()
            await writer_b.wait_closed()

        bouncer = asyncio.create_task(bounce())
        receiver = asyncio.create_task(reader_a.read())
        writer_a.write(payload)
        await writer_a.drain()
        writer_a.write_eof()
        received = await receiver
        await bouncer
        writer_a.close()
        await writer_a.wait_closed()
        return received

    assert loop.run_until_complete(asyncio.wait_for(echo(), TIMEOUT)) == payload


# ---------------------------------------------------------------------------------- closing


def test_closing_the_loop_with_callbacks_pending_is_clean(
    qapp: QApplication, loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    a, b = pairs()
    ran: list[object] = []

    class Payload:
        pass

    payload = Payload()
    dropped = weakref.ref(payload)
    loop.call_soon(ran.append, payload)
    del payload
    for i in range(10):
        loop.call_soon(ran.append, f"soon {i}")
    loop.call_later(0.001, ran.append, "delayed")
    loop.add_reader(a, lambda: ran.append("read"))
    b.send(b"x")
    loop.close()
    assert loop.is_closed()
    assert dropped() is None  # the queued callbacks are gone, not merely never run
    loop.close()  # a second close does nothing
    # The delayed callback's time passes, with a Qt timer of our own as the marker.
    marker: list[bool] = []
    QTimer.singleShot(5, lambda: marker.append(True))
    _wait_for_events(qapp, lambda: bool(marker))
    for _ in range(50):
        turn(qapp)
    assert ran == []
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(ran.append, "after close")
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon_threadsafe(ran.append, "after close")
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_later(1, ran.append, "after close")
    # The sockets are the caller's: still open and usable.
    assert a.recv(1) == b"x"


def test_closing_the_loop_from_one_of_its_callbacks(qapp: QApplication, loop: Any) -> None:
    ran: list[str] = []
    timers = loop._delay_timers  # the loop's own QObject for delayed callbacks
    loop.call_later(60, ran.append, "delayed")
    loop.call_soon(ran.append, "before")
    loop.call_soon(loop.close)
    loop.call_soon(ran.append, "after close")
    turn_until(qapp, lambda: loop.is_closed())
    # Deleted only once the slot has returned, but with no Qt timer left from the moment
    # the loop closed.
    assert shiboken6.isValid(timers)
    assert qapp.eventDispatcher().registeredTimers(timers) == []
    for _ in range(50):
        turn(qapp)
    assert ran == ["before"]


def test_a_closed_loop_freed_from_another_thread_leaves_no_qt_timer_behind(
    qapp: QApplication,
) -> None:
    """A closed loop sits in reference cycles, so whichever thread the garbage collector runs
    in frees it; its Qt timers must be gone by then (Qt warns, and can crash, otherwise)."""
    new = make_event_loop(qapp)
    new.call_later(60, lambda: None)  # a delayed callback: a Qt timer of qasync's
    new.call_soon(lambda: None)  # the turn timer
    new.close()
    freed = weakref.ref(new)
    del new
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    assert freed() is None
    for _ in range(10):
        turn(qapp)


# ---------------------------------------------------------------------------------- versions


def test_qasync_is_the_checked_release() -> None:
    version = importlib.metadata.version("qasync")
    assert version == CHECKED_QASYNC or version.startswith(f"{CHECKED_QASYNC}."), (
        f"workbench/ui/event_loop.py was written and checked against qasync {CHECKED_QASYNC}.x "
        f"and qasync {version} is installed: re-check every '# WORKAROUND:' in it against the "
        "new release (this file's other tests), then move CHECKED_QASYNC and the pin in "
        "pyproject.toml"
    )


@APP_LOOP_ONLY
def test_the_asyncio_and_qasync_internals_the_loop_relies_on(loop: Any) -> None:
    def missing(what: str) -> str:
        return (
            f"{what}: the asyncio or qasync internals workbench/ui/event_loop.py relies on "
            "(its '# WORKAROUND:' comments) have changed"
        )

    handle = asyncio.Handle(lambda: None, (), loop, None)
    assert handle._cancelled is False, missing("Handle._cancelled")
    handle.cancel()
    assert handle._cancelled is True, missing("Handle._cancelled")
    assert callable(getattr(asyncio.Handle, "_run", None)), missing("Handle._run")
    assert "app" in inspect.signature(qasync.QEventLoop.__init__).parameters, missing(
        "qasync's QEventLoop(app)"
    )
    assert callable(getattr(qasync.QEventLoop, "_add_callback", None)), missing(
        "qasync's _add_callback(handle, delay), which asyncio's signal handling calls"
    )
    assert callable(getattr(asyncio.base_events.BaseEventLoop, "_timer_handle_cancelled", None)), (
        missing("BaseEventLoop._timer_handle_cancelled")
    )
    if not ONE_SELECTOR:
        return
    base = asyncio.selector_events.BaseSelectorEventLoop
    assert issubclass(qasync.QEventLoop, base), missing("qasync's loop is asyncio's selector loop")
    for name in ("_add_reader", "_remove_reader", "_add_writer", "_remove_writer"):
        assert getattr(loop_module.EpollEventLoop, name) is getattr(base, name), missing(name)
    # _make_self_pipe runs once asyncio has stored its selector, and registers the self-pipe.
    assert isinstance(loop._selector, selectors.EpollSelector), missing("_make_self_pipe")
    assert loop._selector.get_key(loop._ssock.fileno()).data[0] is not None, missing(
        "the self-pipe's reader in self._selector"
    )


@APP_LOOP_ONLY
def test_every_reader_and_writer_is_in_the_one_selector(
    loop: Any, pairs: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    if not ONE_SELECTOR:
        pytest.skip("one selector on Linux only; qasync keeps its own I/O elsewhere")
    a, b = pairs()
    loop.add_reader(a, lambda: None)
    loop.add_writer(b, lambda: None)
    registered = {key.fd: key.events for key in loop._selector.get_map().values()}
    assert registered[a.fileno()] == selectors.EVENT_READ
    assert registered[b.fileno()] == selectors.EVENT_WRITE
    assert loop._read_notifiers == {} and loop._write_notifiers == {}  # none of qasync's
    loop.remove_reader(a)
    loop.remove_writer(b)
    assert {a.fileno(), b.fileno()}.isdisjoint(key.fd for key in loop._selector.get_map().values())


# ---------------------------------------------------------------------------------- helpers


def _wait_for_events(qapp: QApplication, predicate: Callable[[], object]) -> bool:
    """Let Qt wait for events (blocking) until ``predicate`` holds; False if a guard timer of
    ``TIMEOUT`` seconds fired first."""
    expired: list[bool] = []
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: expired.append(True))
    guard.start(int(TIMEOUT * 1000))
    try:
        while not predicate() and not expired:
            qapp.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        guard.stop()
    return bool(predicate())
