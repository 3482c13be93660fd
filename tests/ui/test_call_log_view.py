"""workbench/ui/call_log_view.py: the call log pane over the Qt-free ``CallLog``.

The log is fed the way the session feeds it (``CallLog.add`` with a ``SocketKey``); the pane is
read the way a user reads it: the rows of the list, the filter, the clipboard, the scroll bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import shiboken6
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.session import CallLog, CallLogEntry, SocketKey, SocketKind
from workbench.ui.call_log_view import ENTRY_ROLE, CallLogModel, CallLogView, format_entry

DISPLAY = Qt.ItemDataRole.DisplayRole


# ------------------------------------------------------------------------------- helpers


@pytest.fixture
def log() -> CallLog:
    return CallLog()


@pytest.fixture
def view(qtbot: Any, log: CallLog) -> CallLogView:
    pane = CallLogView(log)
    qtbot.addWidget(pane)
    return pane


@pytest.fixture
def shown(qtbot: Any, log: CallLog) -> Iterator[CallLogView]:
    """The pane on screen, 400 by 160, in a layout-less host as inside the window's dock: a
    top-level pane would pass its size hints to the offscreen platform, which warns ("does
    not support propagateSizeHints()")."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(400, 160)
    pane = CallLogView(log, host)
    pane.setGeometry(0, 0, 400, 160)
    host.show()
    qtbot.waitExposed(host)
    yield pane  # the host stays referenced here: qtbot keeps only a weak reference


@pytest.fixture
def utc() -> Iterator[None]:
    """Timestamps shown in UTC, so that a known instant has a known text."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "UTC")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


def shown_rows(view: CallLogView) -> list[str]:
    """The text of every row the list shows, as displayed (timestamp included)."""
    model = view.list.model()
    return [model.index(row, 0).data(DISPLAY) for row in range(model.rowCount())]


def filter_items(view: CallLogView) -> list[tuple[str, int | None]]:
    return [(view.filter.itemText(i), view.filter.itemData(i)) for i in range(view.filter.count())]


def choose(view: CallLogView, socket_id: int | None) -> None:
    """Pick an entry of the filter combo box, as a user does."""
    index = view.filter.findData(socket_id)
    assert index >= 0, f"no filter entry for {socket_id!r}"
    view.filter.setCurrentIndex(index)


def select_rows(view: CallLogView, *rows: int) -> None:
    selection = view.list.selectionModel()
    model = view.list.model()
    for row in rows:
        selection.select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select)


def clipboard() -> str:
    return QGuiApplication.clipboard().text()


def scroll_bar(view: CallLogView) -> Any:
    return view.list.verticalScrollBar()


def at_end(view: CallLogView) -> bool:
    bar = scroll_bar(view)
    return bar.maximum() > 0 and bar.value() == bar.maximum()


# ------------------------------------------------------------------------------- format_entry


def test_an_entry_reads_time_with_milliseconds_then_the_call(utc: None) -> None:
    entry = CallLogEntry(3723.25, SocketKey.tcp(1), "chrome.sockets.tcp.create() → 1", True)
    assert format_entry(entry) == "01:02:03.250  chrome.sockets.tcp.create() → 1"
    late = CallLogEntry(59.9999, None, "x", False)
    assert format_entry(late) == "00:00:59.999  x"  # milliseconds are cut, never rounded up


# ------------------------------------------------------------------------------- CallLogModel


def test_the_model_starts_with_the_entries_already_logged(qtmodeltester: Any) -> None:
    log = CallLog()
    first = log.add(SocketKey.tcp(1), "one")
    second = log.add(None, "two", ok=False)
    model = CallLogModel(log)
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert model.rowCount(model.index(0, 0)) == 0  # a list: no row has children
    assert [model.index(r, 0).data(ENTRY_ROLE) for r in range(2)] == [
        first,
        second,
    ]


def test_the_model_shows_text_tooltip_and_accessible_text(utc: None, log: CallLog) -> None:
    model = CallLogModel(log)
    entry = log.add(SocketKey.tcp(3), 'chrome.sockets.tcp.connect(3, "h", 7) → 0')
    index = model.index(0, 0)
    assert index.data(DISPLAY) == format_entry(entry)
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == format_entry(entry)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == entry.text
    assert index.data(Qt.ItemDataRole.DecorationRole) is None
    assert model.data(QModelIndex(), DISPLAY) is None


def test_failed_calls_are_red_and_the_others_keep_the_theme_colour(log: CallLog) -> None:
    model = CallLogModel(log)
    log.add(SocketKey.tcp(1), 'chrome.sockets.tcp.connect(1, "h", 7) → 0')
    log.add(SocketKey.tcp(1), "chrome.sockets.tcp.send(1, <3 bytes>) → -15", ok=False)

    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    brush = model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush)
    color: QColor = brush.color()
    hue = color.hslHue()
    assert (hue <= 15 or hue >= 345) and color.hslSaturation() > 128, color.name()


def test_new_entries_are_appended_as_they_are_logged(qtbot: Any, qtmodeltester: Any) -> None:
    log = CallLog()
    model = CallLogModel(log)
    qtmodeltester.check(model)  # stays attached: every later change is checked too
    with qtbot.waitSignal(model.rowsInserted, timeout=WAIT_MS) as inserted:
        log.add(SocketKey.tcp(1), "first")
    assert inserted.args[1:] == [0, 0]
    with qtbot.waitSignal(model.rowsInserted, timeout=WAIT_MS) as inserted:
        log.add(SocketKey.tcp(2), "second")
    assert inserted.args[1:] == [1, 1]
    assert [model.index(r, 0).data(Qt.ItemDataRole.ToolTipRole) for r in range(2)] == [
        "first",
        "second",
    ]


def test_the_model_keeps_what_the_log_keeps(qtbot: Any, qtmodeltester: Any) -> None:
    log = CallLog(limit=100)
    model = CallLogModel(log)
    qtmodeltester.check(model)
    for i in range(100):
        log.add(SocketKey.tcp(1), f"call {i}")
    assert model.rowCount() == 100
    with qtbot.waitSignal(model.rowsRemoved, timeout=WAIT_MS):
        log.add(SocketKey.tcp(1), "call 100")  # one over the limit: the oldest go
    for i in range(101, 350):
        log.add(SocketKey.tcp(1), f"call {i}")

    entries = log.entries()
    assert model.rowCount() == len(entries) <= 100
    assert [model.index(r, 0).data(ENTRY_ROLE) for r in range(len(entries))] == (entries)
    assert model.index(model.rowCount() - 1, 0).data(Qt.ItemDataRole.ToolTipRole) == "call 349"


def test_clearing_the_log_empties_the_model(qtbot: Any, qtmodeltester: Any) -> None:
    log = CallLog()
    model = CallLogModel(log)
    qtmodeltester.check(model)
    for i in range(5):
        log.add(None, str(i))
    with qtbot.waitSignal(model.modelReset, timeout=WAIT_MS):
        log.clear()
    assert model.rowCount() == 0
    log.add(SocketKey.tcp(1), "after")
    assert model.rowCount() == 1


# ------------------------------------------------------------------------------- the view


def test_the_pane_lists_every_call_with_its_time(
    utc: None, view: CallLogView, log: CallLog
) -> None:
    entries = [log.add(SocketKey.tcp(1), "one"), log.add(None, "two", ok=False)]
    assert view.objectName() == "callLog"
    assert shown_rows(view) == [format_entry(e) for e in entries]
    assert view.lines() == ["one", "two"]  # lines() leaves the timestamps out


def test_the_filter_offers_all_sockets_then_each_socket_once(view: CallLogView) -> None:
    assert filter_items(view) == [("All sockets", None)]
    view.add_socket(1)
    view.add_socket(2)
    view.add_socket(1)
    assert filter_items(view) == [("All sockets", None), ("Socket 1", 1), ("Socket 2", 2)]
    assert view.filter.currentIndex() == 0  # adding a socket does not change the choice


def test_the_filter_shows_one_socket_or_all(view: CallLogView, log: CallLog) -> None:
    for sid in (1, 2):
        view.add_socket(sid)
    log.add(SocketKey.tcp(1), "create 1")
    log.add(SocketKey.tcp(2), "create 2")
    log.add(None, "not about a socket")
    log.add(SocketKey.tcp(1), "connect 1", ok=False)

    choose(view, 1)
    assert view.lines() == ["create 1", "connect 1"]
    log.add(SocketKey.tcp(2), "send 2")  # later calls are filtered as they come
    log.add(SocketKey.tcp(1), "send 1")
    assert view.lines() == ["create 1", "connect 1", "send 1"]
    assert len(shown_rows(view)) == 3

    choose(view, 2)
    assert view.lines() == ["create 2", "send 2"]

    choose(view, None)
    assert view.lines() == [
        "create 1",
        "create 2",
        "not about a socket",
        "connect 1",
        "send 2",
        "send 1",
    ]


def test_the_filter_tells_socket_kinds_apart(view: CallLogView, log: CallLog) -> None:
    # chrome.sockets.tcp, tcpServer and udp each count their ids from 1, so the log's entries
    # are keyed by (kind, id) (workbench/session/keys.py). "Socket 1" in this pane is the
    # TCP socket the window announced (socketAdded); a UDP socket 1 is another socket.
    view.add_socket(1)
    log.add(SocketKey.tcp(1), "chrome.sockets.tcp.create() → 1")
    log.add(SocketKey(SocketKind.UDP, 1), "chrome.sockets.udp.create() → 1")
    log.add(SocketKey(SocketKind.TCP_SERVER, 1), "chrome.sockets.tcpServer.create() → 1")
    choose(view, 1)
    assert view.lines() == ["chrome.sockets.tcp.create() → 1"]


def test_the_filter_shows_a_failed_call_in_red(view: CallLogView, log: CallLog) -> None:
    view.add_socket(4)
    log.add(SocketKey.tcp(4), "ok")
    log.add(SocketKey.tcp(4), "failed", ok=False)
    choose(view, 4)
    model = view.list.model()
    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    assert isinstance(model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole), QBrush)


def test_copy_without_a_selection_copies_every_shown_call(
    utc: None, view: CallLogView, log: CallLog
) -> None:
    view.add_socket(1)
    entries = [log.add(SocketKey.tcp(1), "a"), log.add(SocketKey.tcp(2), "b")]
    QGuiApplication.clipboard().setText("stale")

    text = view.copy()
    assert text == clipboard() == "\n".join(format_entry(e) for e in entries)

    choose(view, 1)
    assert view.copy() == clipboard() == format_entry(entries[0])


def test_copy_with_a_selection_copies_the_selected_calls_in_log_order(
    utc: None, view: CallLogView, log: CallLog
) -> None:
    entries = [log.add(SocketKey.tcp(1), f"call {i}") for i in range(5)]
    select_rows(view, 3, 1)  # selected bottom-up

    assert view.copy() == clipboard() == "\n".join(format_entry(entries[i]) for i in (1, 3))


def test_the_copy_button_the_context_menu_and_the_shortcut_copy(
    qtbot: Any, shown: CallLogView, log: CallLog
) -> None:
    view = shown
    log.add(SocketKey.tcp(1), "first")
    log.add(SocketKey.tcp(1), "second")

    QGuiApplication.clipboard().setText("stale")
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert [line.split("  ", 1)[1] for line in clipboard().splitlines()] == ["first", "second"]

    (menu_copy,) = [a for a in view.list.actions() if a.text() == "Copy"]
    assert menu_copy.shortcut() == QKeySequence(QKeySequence.StandardKey.Copy)
    select_rows(view, 1)
    QGuiApplication.clipboard().setText("stale")
    menu_copy.trigger()
    assert clipboard().endswith("  second") and "first" not in clipboard()

    select_rows(view, 0)
    view.window().activateWindow()
    view.list.setFocus()
    qtbot.waitUntil(view.list.hasFocus, timeout=WAIT_MS)
    QGuiApplication.clipboard().setText("stale")
    qtbot.keySequence(view.list, QKeySequence.StandardKey.Copy)
    assert [line.split("  ", 1)[1] for line in clipboard().splitlines()] == ["first", "second"]


def test_clear_forgets_every_call(qtbot: Any, view: CallLogView, log: CallLog) -> None:
    view.add_socket(1)
    for i in range(3):
        log.add(SocketKey.tcp(1), str(i))
    qtbot.mouseClick(view.clear_button, Qt.MouseButton.LeftButton)
    assert log.entries() == []
    assert view.lines() == [] and shown_rows(view) == []
    assert filter_items(view) == [("All sockets", None), ("Socket 1", 1)]  # sockets stay
    log.add(SocketKey.tcp(1), "after")
    assert view.lines() == ["after"]


def test_the_list_follows_the_end_until_the_user_scrolls_up(
    qtbot: Any, shown: CallLogView, log: CallLog
) -> None:
    view = shown
    bar = scroll_bar(view)

    for i in range(200):
        log.add(SocketKey.tcp(1), f"call {i}")
    qtbot.waitUntil(lambda: at_end(view), timeout=WAIT_MS)

    bar.setValue(0)  # the user scrolls up to read
    maximum = bar.maximum()
    for i in range(200, 400):
        log.add(SocketKey.tcp(1), f"call {i}")
    qtbot.waitUntil(lambda: bar.maximum() > maximum, timeout=WAIT_MS)
    assert bar.value() == 0  # the list stays where the user is reading

    bar.setValue(bar.maximum())  # back at the end: following again
    maximum = bar.maximum()
    log.add(SocketKey.tcp(1), "call 400")
    qtbot.waitUntil(lambda: bar.maximum() > maximum, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: at_end(view), timeout=WAIT_MS)  # at the next flush


def test_choosing_a_socket_scrolls_to_its_last_call(
    qtbot: Any, shown: CallLogView, log: CallLog
) -> None:
    view = shown
    view.add_socket(1)
    for i in range(300):
        log.add(SocketKey.tcp(1 + i % 2), f"call {i}")
    scroll_bar(view).setValue(0)

    choose(view, 1)
    qtbot.waitUntil(lambda: at_end(view), timeout=WAIT_MS)
    assert view.lines()[-1] == "call 298"


def test_the_view_trims_with_the_log(qtbot: Any, qtmodeltester: Any) -> None:
    log = CallLog(limit=50)
    view = CallLogView(log)
    qtbot.addWidget(view)
    qtmodeltester.check(view.proxy)
    view.add_socket(1)
    choose(view, 1)
    for i in range(200):
        log.add(SocketKey.tcp(1 + i % 2), f"call {i}")
    expected = [e.text for e in log.entries() if e.socket_id == 1]
    assert view.lines() == expected and expected[-1] == "call 198"
    choose(view, None)
    assert view.lines() == [e.text for e in log.entries()]


# ------------------------------------------------------------------------------- lifetime


def test_calls_logged_after_the_pane_is_deleted_do_not_fail(
    qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    log = CallLog()
    listeners = len(log.added.listeners)
    view = CallLogView(log)
    model = view.model
    log.add(SocketKey.tcp(1), "while shown")
    with qtbot.waitSignal(view.destroyed, timeout=WAIT_MS):
        view.deleteLater()
    assert not shiboken6.isValid(model)

    with caplog.at_level(logging.ERROR):
        log.add(SocketKey.tcp(1), "after the pane is gone")
        log.add(SocketKey.tcp(1), "and again")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert len(log.added.listeners) == listeners  # the dead model let go of the log
    assert [e.text for e in log.entries()][-1] == "and again"


def test_clearing_the_log_after_the_pane_is_deleted_does_not_fail(
    qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The call log outlives the pane (the session owns it): Clear from a script or a later
    # window must not run into the deleted model.
    log = CallLog()
    view = CallLogView(log)
    log.add(SocketKey.tcp(1), "while shown")
    with qtbot.waitSignal(view.destroyed, timeout=WAIT_MS):
        view.deleteLater()

    with caplog.at_level(logging.ERROR):
        log.clear()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert log.entries() == []
