"""The app's asyncio loop on Qt: qasync's ``QEventLoop``, made to scale to 10,000 sockets.

qasync 0.28 makes the core 4 to 10 times slower at 10,000 sockets (issue 14), for two reasons
of its own:

- every ``call_soon`` starts a Qt timer of its own (``startTimer(0)``, a ``timerEvent`` into
  Python, ``killTimer``), at a cost per callback that grows with the number pending;
- every ``add_reader``/``add_writer`` creates a ``QSocketNotifier`` and every removal destroys
  one, at a cost that grows with the number of registered descriptors.

Upstream has no fix: qasync PR 123 (open) adds a zero timer for immediate callbacks, for
ordering rather than speed, and PR 58 (a timer pool) was closed. So this module subclasses
qasync's loop:

- ``BatchedEventLoop`` (every platform) puts ``call_soon`` callbacks in one deque, run by one
  zero-interval Qt timer, one iteration per turn of Qt's event loop. As in asyncio's
  ``_run_once``, an iteration runs only the callbacks queued before it started, so a callback
  that queues another cannot starve Qt. A turn stops after ``TURN_BUDGET`` seconds and the
  iteration goes on in the next turn, so a burst of 10,000 callbacks does not freeze the
  window. ``call_soon_threadsafe`` queues its callback and wakes Qt with a queued signal.
  Delayed callbacks (``call_later``, ``call_at``) keep a Qt timer each, as in qasync, but
  their own: when it fires, the callback joins the queue (asyncio too runs a due timer with
  the next iteration's callbacks), and cancelling the handle stops the timer, so that 10,000
  TLS handshakes do not leave 10,000 Qt timers behind for a minute.
- ``EpollEventLoop`` (Linux) adds one ``selectors.EpollSelector`` for every reader and writer,
  watched by one ``QSocketNotifier`` on the epoll descriptor. An iteration runs its callbacks,
  then polls the selector and runs the I/O callbacks at once, in the same turn: the epoll
  descriptor is level-triggered, so deferring them would make Qt report it again and again
  until they ran. That is asyncio's order too: callbacks queued by an I/O callback run before
  the next poll. The I/O callbacks share the turn's budget; those left over run in the next
  turn, before anything else of the next iteration. While they queue no callbacks (a stream
  being read), the turn polls again within its budget, as asyncio's next iterations would,
  instead of paying a pass of Qt's event loop per read.

On Windows qasync's loop is a proactor (IOCP) with I/O of its own, which stays as it is:
``new_event_loop`` gives it the batching only, and so it does on macOS (kqueue), where one
notifier on the selector's descriptor has not been measured. The figures in the README and
``benchmarks/README.md`` are from Linux.

Where this reaches into asyncio or qasync, a ``# WORKAROUND:`` comment says why;
``tests/ui/test_event_loop.py`` checks the versions and internals it was written against.
"""

from __future__ import annotations

import asyncio
import asyncio.selector_events
import collections
import logging
import math
import selectors
import sys
import time
from collections.abc import Callable
from contextvars import Context
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QSocketNotifier, Qt, QTimerEvent, Signal

import qasync  # type: ignore[import-untyped]  # qasync ships no type information

_log = logging.getLogger("workbench.ui.event_loop")

#: The longest one turn runs callbacks before it lets Qt paint and handle input (seconds).
#: A turn always runs at least one callback; a turn of the epoll loop at least one callback
#: and one I/O callback.
TURN_BUDGET = 0.004

#: The qasync release series this module was written against (tests/ui/test_event_loop.py).
CHECKED_QASYNC = "0.28"

#: Whether the I/O goes through one selector: Linux (epoll). Elsewhere qasync keeps its own
#: I/O (IOCP on Windows; one notifier per descriptor on macOS, not measured there).
ONE_SELECTOR = sys.platform.startswith("linux") and hasattr(selectors, "EpollSelector")

# WORKAROUND: asyncio's own reader/writer bookkeeping in self._selector, which qasync's
# _QEventLoop replaces with one QSocketNotifier per descriptor (the cost this module exists to
# avoid; upstream context: https://github.com/CabbageDevelopment/qasync/pull/123 and the closed
# https://github.com/CabbageDevelopment/qasync/pull/58). Typed Any: typeshed has no private
# methods.
_ASYNCIO_SELECTOR_LOOP: Any = asyncio.selector_events.BaseSelectorEventLoop

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class _TurnTimer(QObject):
    """One zero-interval Qt timer; its ``timerEvent`` runs one turn of the loop.

    Signals: ``wake()``, emitted by ``call_soon_threadsafe`` from any thread and connected to
    the loop's arming, which then runs in this object's (the loop's) thread and wakes Qt.
    """

    wake = Signal()

    def __init__(self, on_turn: Callable[[], None]) -> None:
        super().__init__()
        self._on_turn = on_turn

    def timerEvent(self, event: QTimerEvent) -> None:
        self._on_turn()


#: The longest interval of one Qt timer (a signed 32-bit count of milliseconds: 24.8 days).
_LONGEST_QT_INTERVAL_MS = 2**31 - 1


class _DelayTimers(QObject):
    """One Qt timer per delayed callback; when one fires, its handle goes to ``on_due``."""

    def __init__(self, on_due: Callable[[asyncio.TimerHandle], None]) -> None:
        super().__init__()
        self._on_due = on_due
        self._handles: dict[int, asyncio.TimerHandle] = {}
        #: id(handle) -> Qt timer id (a TimerHandle's hash and equality change with its state).
        self._timer_ids: dict[int, int] = {}

    def add(self, handle: asyncio.TimerHandle, delay: float) -> None:
        # Whole milliseconds, rounded up and precise: never before the time asked for. A Qt
        # interval is an int of milliseconds: a longer delay takes more than one timer.
        interval = min(math.ceil(delay * 1000), _LONGEST_QT_INTERVAL_MS)
        timer_id = self.startTimer(interval, Qt.TimerType.PreciseTimer)
        self._handles[timer_id] = handle
        self._timer_ids[id(handle)] = timer_id

    def cancel(self, handle: asyncio.TimerHandle) -> None:
        timer_id = self._timer_ids.pop(id(handle), None)
        if timer_id is not None:
            del self._handles[timer_id]
            self.killTimer(timer_id)

    def stop_all(self) -> None:
        for timer_id in self._handles:
            self.killTimer(timer_id)
        self._handles.clear()
        self._timer_ids.clear()

    def timerEvent(self, event: QTimerEvent) -> None:
        timer_id = event.timerId()
        self.killTimer(timer_id)
        handle = self._handles.pop(timer_id, None)
        if handle is None:
            return
        del self._timer_ids[id(handle)]
        remaining = handle.when() - time.monotonic()  # qasync's clock, the loop's time()
        if remaining > 1:  # a delay longer than one Qt timer's
            self.add(handle, remaining)
        else:
            self._on_due(handle)


class BatchedEventLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync is untyped
    """qasync's loop with ``call_soon`` batched into one Qt timer (every platform)."""

    def __init__(self, app: QCoreApplication) -> None:
        # Before qasync's __init__: asyncio's proactor __init__ (Windows) already calls
        # call_soon.
        self._soon: collections.deque[asyncio.Handle] = collections.deque()
        #: Callbacks of the current iteration not yet run (0: the next turn starts one).
        self._todo = 0
        self._turn_timer = _TurnTimer(self._turn)
        # Queued, whichever thread emits: _arm starts a Qt timer, which only its thread may.
        self._turn_timer.wake.connect(self._arm, Qt.ConnectionType.QueuedConnection)
        self._turn_timer_id = 0
        self._delay_timers = _DelayTimers(self._queue)
        self._debug_checks = False
        #: How many of this loop's Qt slots are on the stack: closing from inside one of them
        #: must not delete the QObject that runs it.
        self._in_slot = 0
        super().__init__(app)

    # -- immediate callbacks -----------------------------------------------------------------

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        """'Schedule the callback to be called with args arguments at the next iteration of
        the event loop. Callbacks are called in the order in which they are registered.'"""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self._debug_checks:
            _check_callback(callback, "call_soon")
        handle = asyncio.Handle(callback, args, self, context)
        self._soon.append(handle)
        if not self._turn_timer_id:
            self._arm()
        return handle

    def call_soon_threadsafe(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        """'A thread-safe variant of call_soon().' A deque's append is atomic; the signal
        reaches the loop's thread as a queued call, which wakes an idle Qt."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self._debug_checks:
            _check_callback(callback, "call_soon_threadsafe")
        handle = asyncio.Handle(callback, args, self, context)
        self._soon.append(handle)
        self._turn_timer.wake.emit()
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """'Schedule callback to be called after the given delay number of seconds.'"""
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """'Schedule callback to be called at the given absolute timestamp when.' A Qt timer
        of its own until then; one already due joins the queue at once."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self._debug_checks:
            _check_callback(callback, "call_at")
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        delay = when - self.time()
        if delay > 0:
            self._delay_timers.add(handle, delay)
        else:
            self._queue(handle)
        return handle

    # WORKAROUND: asyncio's TimerHandle.cancel() reports to the loop through this private
    # method (BaseEventLoop counts cancelled timers there): here it stops the Qt timer.
    # https://github.com/python/cpython/blob/3.11/Lib/asyncio/events.py (TimerHandle.cancel)
    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self._delay_timers.cancel(handle)

    # WORKAROUND: asyncio's Unix signal handling (add_signal_handler) queues its callbacks
    # through this private method (_add_callback_signalsafe), which qasync turns into a Qt
    # timer each. https://github.com/python/cpython/blob/3.11/Lib/asyncio/base_events.py
    def _add_callback(self, handle: asyncio.Handle, delay: float = 0) -> None:
        if not handle.cancelled():
            self._queue(handle)

    def _queue(self, handle: asyncio.Handle) -> None:
        self._soon.append(handle)
        if not self._turn_timer_id:
            self._arm()

    def set_debug(self, enabled: bool) -> None:
        self._debug_checks = bool(enabled)
        super().set_debug(enabled)

    # -- turns -------------------------------------------------------------------------------

    def _arm(self) -> None:
        if not self._turn_timer_id and not self.is_closed():
            self._turn_timer_id = self._turn_timer.startTimer(0)

    def _disarm(self) -> None:
        if self._turn_timer_id:
            self._turn_timer.killTimer(self._turn_timer_id)
            self._turn_timer_id = 0

    def _turn(self) -> None:
        """The timer's slot: one iteration, or as much of it as the budget allows."""
        self._in_slot += 1
        try:
            self._run_callbacks(time.monotonic() + TURN_BUDGET)
        finally:  # KeyboardInterrupt and SystemExit come through Handle._run
            self._in_slot -= 1
            if not self._soon:
                self._disarm()

    def _run_callbacks(self, deadline: float) -> bool:
        """Run the current iteration's callbacks until ``deadline``; True once all have run.

        An iteration is the callbacks queued before it started: those they queue wait for the
        next one."""
        ready = self._soon
        if not self._todo:
            self._todo = len(ready)
        clock = time.monotonic
        popleft = ready.popleft
        debug = self._debug_checks
        while self._todo and ready:  # ``ready`` empties if a callback closes the loop
            self._todo -= 1
            handle = popleft()
            # WORKAROUND: Handle._cancelled and Handle._run are how asyncio's own _run_once
            # skips and runs a handle; there is no public way to run one. _run passes an
            # exception to the loop's exception handler and returns.
            # https://github.com/python/cpython/blob/3.11/Lib/asyncio/base_events.py (_run_once)
            if handle._cancelled:
                continue
            if debug:
                self._run_timed(handle)
            else:
                handle._run()
            if clock() >= deadline:
                break
        if not ready:
            self._todo = 0
        return not self._todo

    def _run_timed(self, handle: asyncio.Handle) -> None:
        """Debug mode, as asyncio's: 'Log callbacks taking longer than 100ms to run.'"""
        started = time.monotonic()
        handle._run()  # WORKAROUND: see _run_callbacks
        took = time.monotonic() - started
        if took >= self.slow_callback_duration:
            _log.warning("Executing %r took %.3f seconds", handle, took)

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """'Close the event loop.' Callbacks still queued are dropped, as asyncio drops them."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        self._disarm()
        self._delay_timers.stop_all()
        self._soon.clear()
        self._todo = 0
        super().close()
        self._release(self._turn_timer)
        self._release(self._delay_timers)

    def _release(self, obj: QObject) -> None:
        """Delete one of the loop's QObjects now, in the loop's thread: a closed loop sits in
        reference cycles, and the garbage collector may free it from whichever thread it runs
        in, where a QObject with timers must not die ("Timers cannot be stopped from another
        thread", and Qt later fires a deleted object)."""
        if not shiboken6.isValid(obj):
            return
        if self._in_slot:
            obj.deleteLater()  # closed from one of its own callbacks: once the slot returns
        else:
            shiboken6.delete(obj)


def _check_callback(callback: object, method: str) -> None:
    """What asyncio checks of a callback in debug mode (BaseEventLoop._check_callback)."""
    if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
        raise TypeError(f"coroutines cannot be used with {method}()")
    if not callable(callback):
        raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")


class EpollEventLoop(BatchedEventLoop):
    """The batched loop with every reader and writer in one epoll selector (Linux)."""

    #: asyncio's attribute: ours from _make_self_pipe on; asyncio's close() sets it to None.
    _selector: selectors.EpollSelector | None

    def __init__(self, app: QCoreApplication) -> None:
        #: Ready descriptors of the current iteration whose callbacks have not run yet.
        self._io_backlog: list[tuple[selectors.SelectorKey, int]] = []
        super().__init__(app)
        assert self._selector is not None
        self._io_notifier = QSocketNotifier(self._selector.fileno(), QSocketNotifier.Type.Read)
        self._io_notifier.activated.connect(self._on_io_ready)

    # WORKAROUND: asyncio's BaseSelectorEventLoop.__init__ stores qasync's selector (one
    # QSocketNotifier per descriptor) in self._selector and then calls _make_self_pipe, which
    # registers the loop's first descriptor (asyncio's self-pipe). So this is where the epoll
    # selector takes its place, before anything is registered.
    # https://github.com/python/cpython/blob/3.11/Lib/asyncio/selector_events.py
    def _make_self_pipe(self) -> None:
        self._selector = selectors.EpollSelector()
        super()._make_self_pipe()

    # WORKAROUND: asyncio's reader/writer methods (_add_reader, _remove_reader, _add_writer,
    # _remove_writer), which keep the handles in self._selector, instead of qasync's (see
    # _ASYNCIO_SELECTOR_LOOP). asyncio's transports call these private names directly, and
    # the public add_reader & co. call them too.
    # https://github.com/python/cpython/blob/3.11/Lib/asyncio/selector_events.py
    _add_reader = _ASYNCIO_SELECTOR_LOOP._add_reader
    _remove_reader = _ASYNCIO_SELECTOR_LOOP._remove_reader
    _add_writer = _ASYNCIO_SELECTOR_LOOP._add_writer
    _remove_writer = _ASYNCIO_SELECTOR_LOOP._remove_writer

    def _turn(self) -> None:
        """One iteration (callbacks, then I/O), or as much of it as the budget allows."""
        self._in_slot += 1
        try:
            deadline = time.monotonic() + TURN_BUDGET
            if self._io_backlog or not self._soon or self._run_callbacks(deadline):
                ran = self._run_io(deadline)
                # While I/O callbacks queue nothing (a stream being read, say), poll again
                # within the budget: asyncio's next iterations, minus a pass of Qt's loop each.
                while ran and not self._soon and not self._io_backlog:
                    if time.monotonic() >= deadline:
                        break
                    ran = self._run_io(deadline)
        finally:  # KeyboardInterrupt and SystemExit come through Handle._run
            self._in_slot -= 1
            if self._soon or self._io_backlog:
                self._arm()
            elif self._turn_timer_id:
                self._disarm()

    def _on_io_ready(self) -> None:
        """The notifier's slot. While the timer runs, its turns poll the selector (at the end
        of each iteration, as asyncio does), so that Qt's pass runs one turn, not two."""
        if not self._turn_timer_id:
            self._turn()

    def _run_io(self, deadline: float) -> bool:
        """Poll the selector (unless ready descriptors are left over) and run the I/O
        callbacks until ``deadline``; False when there were none."""
        events = self._io_backlog
        if events:
            self._io_backlog = []
        else:
            selector = self._selector
            if selector is None:  # closed by a callback
                return False
            try:
                events = selector.select(0)
            except InterruptedError:
                return False
        clock = time.monotonic
        debug = self._debug_checks
        for index, (key, mask) in enumerate(events):
            reader, writer = key.data
            # WORKAROUND: Handle._cancelled/_run, as in _run_callbacks. A handle cancelled by
            # an earlier callback (its reader removed or replaced) is skipped.
            if mask & _READ and reader is not None:
                if reader._cancelled:
                    self._drop_cancelled(key.fd, reader, _READ)
                elif debug:
                    self._run_timed(reader)
                else:
                    reader._run()
            if mask & _WRITE and writer is not None:
                if writer._cancelled:
                    self._drop_cancelled(key.fd, writer, _WRITE)
                elif debug:
                    self._run_timed(writer)
                else:
                    writer._run()
            if clock() >= deadline or self._selector is None:
                if self._selector is not None:  # not closed by a callback: finish next turn
                    self._io_backlog = events[index + 1 :]
                break
        return bool(events)

    def _drop_cancelled(self, fd: int, handle: asyncio.Handle, event: int) -> None:
        """Unregister a handle cancelled without its reader or writer being removed, as
        asyncio does when it comes up; only if it is still the registered one, as an earlier
        callback may have registered another on the same descriptor."""
        selector = self._selector
        if selector is None:
            return
        try:
            reader, writer = selector.get_key(fd).data
        except KeyError:
            return
        if event == _READ and reader is handle:
            self._remove_reader(fd)
        elif event == _WRITE and writer is handle:
            self._remove_writer(fd)

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        # Before the epoll descriptor closes, or Qt warns about an invalid socket.
        self._io_notifier.setEnabled(False)
        self._io_backlog = []
        super().close()
        self._release(self._io_notifier)


def new_event_loop(app: QCoreApplication) -> asyncio.AbstractEventLoop:
    """The loop for this platform over ``app`` (``workbench.app.make_event_loop``)."""
    loop: asyncio.AbstractEventLoop
    loop = EpollEventLoop(app) if ONE_SELECTOR else BatchedEventLoop(app)
    return loop
