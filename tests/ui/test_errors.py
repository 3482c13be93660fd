"""workbench/ui/errors.py: the error banner, and the hooks that bring unexpected errors to it.

The banner is read the way a user reads it (its text, its buttons, the details box); the hooks
are driven by real failures: a Qt slot that raises, an asyncio callback that raises, a task
whose failure nobody retrieved. The window's own wiring of both is tested in
tests/ui/test_main_window.py.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton, QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.ui.errors import ErrorBanner, install_hooks

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
LEFT = Qt.MouseButton.LeftButton


# ------------------------------------------------------------------------------- helpers


@pytest.fixture
def banner(qtbot: Any) -> Iterator[ErrorBanner]:
    """The banner in a layout-less host, as at the top of the window: a top-level banner
    would pass its size hints to the offscreen platform, which warns ("does not support
    propagateSizeHints()")."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(700, 200)
    strip = ErrorBanner(host)
    strip.setGeometry(0, 0, 700, 60)
    host.show()
    qtbot.waitExposed(host)
    yield strip  # the host stays referenced here: qtbot keeps only a weak reference
    for box in host.findChildren(QMessageBox):
        box.close()


def text_of(banner: ErrorBanner) -> str:
    label = banner.findChild(QLabel, "errorBannerText")
    assert label is not None
    return str(label.text())


def button(banner: ErrorBanner, name: str) -> QPushButton:
    found = banner.findChild(QPushButton, name)
    assert found is not None, name
    return found


def details_box(qtbot: Any, banner: ErrorBanner) -> QMessageBox:
    """Click Details… and return the box it opened."""
    before = set(banner.window().findChildren(QMessageBox))
    qtbot.mouseClick(button(banner, "errorBannerDetails"), LEFT)
    (box,) = set(banner.window().findChildren(QMessageBox)) - before
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    return box


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "workbench.ui" and r.levelno >= logging.ERROR]


@pytest.fixture
def hooks(
    banner: ErrorBanner, qloop: asyncio.AbstractEventLoop
) -> Iterator[Callable[..., Callable[[], None]]]:
    """``hooks(report=banner.report)`` installs the hooks on the test's loop, from the test
    body (pytest-qt puts its own excepthook back between setup and call); undone at the end
    whatever happens."""
    undos: list[Callable[[], None]] = []

    def install(report: Callable[[str, str], None] = banner.report) -> Callable[[], None]:
        undo = install_hooks(report, qloop)
        undos.append(undo)
        return undo

    try:
        yield install
    finally:
        for undo in reversed(undos):
            undo()


# ------------------------------------------------------------------------------- the banner


def test_the_banner_is_hidden_until_something_goes_wrong(banner: ErrorBanner) -> None:
    assert banner.objectName() == "errorBanner"
    assert banner.accessibleName() == "Error message"
    assert not banner.isVisible()
    assert banner.messages == []


def test_a_report_shows_the_message_and_announces_it(qtbot: Any, banner: ErrorBanner) -> None:
    with qtbot.waitSignal(banner.reported, timeout=WAIT_MS) as reported:
        banner.report("Could not save the data to /x: disk full")
    assert reported.args == ["Could not save the data to /x: disk full"]
    assert banner.isVisible()
    assert text_of(banner) == "Could not save the data to /x: disk full"
    assert button(banner, "errorBannerDismiss").isVisible()
    # One short message without details: nothing more to show.
    assert not button(banner, "errorBannerDetails").isVisible()
    assert banner.messages == [("Could not save the data to /x: disk full", "")]
    assert QApplication.activeModalWidget() is None


def test_the_strip_shows_the_first_line_and_the_tooltip_all_of_it(banner: ErrorBanner) -> None:
    banner.report("first line\nsecond line", "a traceback")
    assert text_of(banner) == "first line"
    label = banner.findChild(QLabel, "errorBannerText")
    assert label is not None and label.toolTip() == "first line\nsecond line"
    assert button(banner, "errorBannerDetails").isVisible()  # there are details


def test_a_long_message_is_cut_and_offers_details(banner: ErrorBanner) -> None:
    message = "x" * 1000
    banner.report(message)
    assert text_of(banner) == "x" * 300
    assert button(banner, "errorBannerDetails").isVisible()


def test_an_empty_message_still_says_error(banner: ErrorBanner) -> None:
    banner.report("")
    assert text_of(banner) == "Error"
    assert banner.isVisible()


def test_several_messages_are_counted_and_kept(qtbot: Any, banner: ErrorBanner) -> None:
    banner.report("first")
    with qtbot.waitSignal(banner.reported, timeout=WAIT_MS) as reported:
        banner.report("second")
    assert reported.args == ["second"]
    assert text_of(banner) == "second  (2 messages)"  # the newest, and how many there are
    assert button(banner, "errorBannerDetails").isVisible()  # the others are in the details
    banner.report("")
    assert text_of(banner) == "Error  (3 messages)"
    assert banner.messages == [("first", ""), ("second", ""), ("", "")]


def test_dismiss_hides_and_forgets(qtbot: Any, banner: ErrorBanner) -> None:
    banner.report("first")
    banner.report("second")
    qtbot.mouseClick(button(banner, "errorBannerDismiss"), LEFT)
    assert not banner.isVisible()
    assert banner.messages == []
    banner.report("third")  # counting starts again
    assert banner.isVisible()
    assert text_of(banner) == "third"


# QMessageBox fixes its own size when shown; the offscreen platform cannot take a top-level
# window's size hints and says so. Only that message is let through; any other fails.
OFFSCREEN_SIZE_HINTS = "^This plugin does not support propagateSizeHints\\(\\)$"


@pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS)
def test_details_open_a_box_that_does_not_block_the_window(qtbot: Any, banner: ErrorBanner) -> None:
    banner.report("Could not restore socket 3", "Traceback (most recent call last): ...")
    banner.report("Second failure")

    box = details_box(qtbot, banner)
    assert not box.isModal()
    assert QApplication.activeModalWidget() is None
    assert box.windowTitle() == "Socket Workbench — error details"
    assert box.text() == "Something went wrong; the window keeps working."
    assert box.detailedText() == (
        "Could not restore socket 3\nTraceback (most recent call last): ...\n\nSecond failure"
    )
    # The window keeps working while the box is open.
    banner.report("Third failure")
    assert text_of(banner) == "Third failure  (3 messages)"
    with qtbot.waitSignal(box.destroyed, timeout=WAIT_MS):  # closed, it is deleted
        box.close()


@pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS)
def test_details_show_the_last_twenty_messages(qtbot: Any, banner: ErrorBanner) -> None:
    for i in range(25):
        banner.report(f"failure {i}")
    box = details_box(qtbot, banner)
    assert box.detailedText().split("\n\n") == [f"failure {i}" for i in range(5, 25)]
    box.close()


# ------------------------------------------------------------------------------- the hooks


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_reaches_the_banner_and_the_log(
    qtbot: Any,
    banner: ErrorBanner,
    hooks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks()
    ran_after: list[str] = []

    def broken_slot() -> None:
        raise ZeroDivisionError("in a slot")

    with qtbot.waitSignal(banner.reported, timeout=WAIT_MS):
        QTimer.singleShot(0, broken_slot)
    assert text_of(banner) == "Unexpected error: ZeroDivisionError: in a slot"
    ((_, details),) = banner.messages
    assert details.startswith("Traceback (most recent call last):")
    assert "broken_slot" in details and details.rstrip().endswith("ZeroDivisionError: in a slot")
    (record,) = error_records(caplog)
    assert "unexpected error in a Qt slot" in record.getMessage()
    assert "ZeroDivisionError: in a slot" in record.getMessage()

    # The program goes on: the next slot runs.
    QTimer.singleShot(0, lambda: ran_after.append("next slot"))
    qtbot.waitUntil(lambda: ran_after == ["next slot"], timeout=WAIT_MS)


def test_an_exception_in_a_loop_callback_reaches_the_banner_and_the_log(
    qtbot: Any,
    banner: ErrorBanner,
    hooks: Callable[..., Any],
    qloop: asyncio.AbstractEventLoop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks()

    def broken_callback() -> None:
        raise KeyError("missing")

    with qtbot.waitSignal(banner.reported, timeout=WAIT_MS):
        qloop.call_soon(broken_callback)
    ((message, details),) = banner.messages
    assert message.startswith("Exception in callback")
    assert message.endswith(": KeyError: 'missing'")
    assert "broken_callback" in details and "KeyError: 'missing'" in details
    (record,) = error_records(caplog)
    assert record.getMessage().startswith("asyncio: Exception in callback")

    # The loop goes on: the next callback and a task run.
    async def later() -> str:
        await asyncio.sleep(0)
        return "done"

    task = qloop.create_task(later())
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result() == "done"


def test_a_task_failure_nobody_retrieved_reaches_the_banner(
    qtbot: Any, banner: ErrorBanner, hooks: Callable[..., Any], qloop: asyncio.AbstractEventLoop
) -> None:
    hooks()

    async def broken() -> None:
        raise ValueError("deliberate")

    task = qloop.create_task(broken())
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    with qtbot.waitSignal(banner.reported, timeout=WAIT_MS):
        del task  # asyncio reports the unretrieved exception when the task is freed
        gc.collect()
    ((message, details),) = banner.messages
    assert message == "Task exception was never retrieved: ValueError: deliberate"
    assert "ValueError: deliberate" in details


def test_a_loop_error_without_an_exception_is_shown_by_its_message(
    banner: ErrorBanner, hooks: Callable[..., Any], qloop: asyncio.AbstractEventLoop
) -> None:
    hooks()
    qloop.call_exception_handler({"message": "Unclosed transport"})
    qloop.call_exception_handler({})
    assert banner.messages == [("Unclosed transport", ""), ("asyncio error", "")]


def test_keyboard_interrupt_goes_to_the_previous_hook(
    banner: ErrorBanner, hooks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[ExcInfo] = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info))
    hooks()
    interrupt = KeyboardInterrupt()
    sys.excepthook(KeyboardInterrupt, interrupt, None)
    assert seen == [(KeyboardInterrupt, interrupt, None)]
    assert banner.messages == []


def test_a_reporter_that_fails_does_not_take_the_program_down(
    hooks: Callable[..., Any],
    qloop: asyncio.AbstractEventLoop,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "excepthook", lambda *info: None)  # the hook must not chain

    def broken_report(message: str, details: str) -> None:
        raise RuntimeError("the banner is gone")

    hooks(report=broken_report)
    error = ValueError("first")
    sys.excepthook(ValueError, error, None)  # must not raise
    qloop.call_exception_handler({"message": "second", "exception": ValueError("second")})
    failures = [r for r in error_records(caplog) if r.getMessage() == "could not show the error"]
    assert len(failures) == 2
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)


@pytest.fixture(params=["asyncio", "qasync"])
def any_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """A plain asyncio loop, or the qasync loop the program runs on."""
    if request.param == "qasync":
        yield request.getfixturevalue("qloop")
        return
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


class Handler:
    """An exception handler that records the messages it is given."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, loop: Any, context: dict[str, Any]) -> None:
        self.messages.append(str(context.get("message")))


def test_undo_puts_back_what_was_there(
    banner: ErrorBanner, any_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which handler is installed is read from who receives an error, not from
    # get_exception_handler(): qasync's loop overrides the setter only, so its getter
    # always answers None.
    def previous_hook(*info: Any) -> None:
        pass

    previous = Handler()
    monkeypatch.setattr(sys, "excepthook", previous_hook)
    any_loop.set_exception_handler(previous)
    try:
        undo = install_hooks(banner.report, any_loop)
        assert sys.excepthook is not previous_hook
        any_loop.call_exception_handler({"message": "while installed"})
        assert banner.messages == [("while installed", "")] and previous.messages == []

        undo()
        assert sys.excepthook is previous_hook
        any_loop.call_exception_handler({"message": "after undo"})
        assert previous.messages == ["after undo"]
        assert banner.messages == [("while installed", "")]
    finally:
        any_loop.set_exception_handler(None)


def test_undo_leaves_a_hook_installed_later_alone(
    banner: ErrorBanner, any_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def later_hook(*info: Any) -> None:
        pass

    later = Handler()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    try:
        undo = install_hooks(banner.report, any_loop)
        sys.excepthook = later_hook
        any_loop.set_exception_handler(later)
        undo()
        assert sys.excepthook is later_hook
        any_loop.call_exception_handler({"message": "after undo"})
        assert later.messages == ["after undo"] and banner.messages == []
    finally:
        any_loop.set_exception_handler(None)


def test_without_a_loop_only_the_excepthook_is_installed(
    banner: ErrorBanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.new_event_loop()
    handler = Handler()
    loop.set_exception_handler(handler)
    asyncio.set_event_loop(loop)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    undo = install_hooks(banner.report)
    try:
        loop.call_exception_handler({"message": "not for the banner"})
        assert handler.messages == ["not for the banner"]
        sys.excepthook(OSError, OSError("no space"), None)
        assert banner.messages == [("Unexpected error: OSError: no space", "OSError: no space\n")]
    finally:
        undo()
        asyncio.set_event_loop(None)
        loop.close()
