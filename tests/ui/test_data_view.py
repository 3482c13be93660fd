"""The data view (workbench/ui/data_view.py): hex and text rows, find, selection, copy, save,
follow-tail, and a 1 GiB capture that opens and scrolls without reading more than the screen."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QCheckBox, QWidget

import pytest

from tests.conftest import TIMEOUT
from workbench.core import codecs
from workbench.core.capture import CaptureStore, Direction, Record
from workbench.ui import composer_file, data_view
from workbench.ui.data_view import DataPane, DataView, display_text, header_text

WAIT_MS = int(TIMEOUT * 1000)
T0 = 1_700_000_000.0  # a fixed timestamp; records one second apart never merge


# ------------------------------------------------------------------------------- helpers


def fill(store: CaptureStore, chunks: list[tuple[Direction, bytes]]) -> list[Record]:
    return [store.append(d, data, T0 + i) for i, (d, data) in enumerate(chunks)]


def expected_hex(store: CaptureStore) -> list[str]:
    """Every row of the capture in hex mode, built from the codecs alone."""
    width = codecs.offset_width(max(0, store.total_bytes - 1))
    lines = []
    for i in range(store.record_count):
        rec = store.record(i)
        lines.append(header_text(rec))
        data = store.read(rec.stream_offset, rec.size)
        lines += [
            codecs.hex_dump_line(data[k : k + 16], rec.stream_offset + k, width)
            for k in range(0, len(data), 16)
        ]
    return lines


def text_rows(data: bytes, newline: bytes = b"\n") -> list[bytes]:
    """Split like the view does for one-line-per-row text (lines shorter than 128 bytes)."""
    rows, start = [], 0
    while start < len(data):
        i = data.find(newline, start)
        end = len(data) if i < 0 else i + len(newline)
        rows.append(data[start:end])
        start = end
    return rows


def last_line(view: DataView) -> str:
    lines = view.visible_lines()
    return lines[-1] if lines else ""


@pytest.fixture
def store() -> Iterator[CaptureStore]:
    s = CaptureStore()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def pane(qtbot: Any) -> Iterator[DataPane]:
    # In a layout-less host, as inside the window: a top-level pane would pass its size hints
    # to the offscreen platform, which warns ("does not support propagateSizeHints()").
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 600)
    p = DataPane(host)
    p.setGeometry(0, 0, 900, 600)
    host.show()
    qtbot.waitExposed(host)
    yield p
    p.set_store(None)


# ------------------------------------------------------------------------------- hex mode


def test_hex_rows_match_the_codecs_format(pane: DataPane, store: CaptureStore) -> None:
    fill(
        store,
        [
            (Direction.IN, bytes(range(40))),
            (Direction.OUT, b"hello world\n\x00\x01\x02"),
            (Direction.IN, b"x"),
        ],
    )
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    lines = view.visible_lines()
    expected = expected_hex(store)
    assert lines[: len(expected)] == expected
    assert lines[1] == (
        "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"
    )
    assert lines[0].startswith("\u25c0 ") and "received 40 bytes" in lines[0]
    assert "sent 15 bytes" in lines[4] and lines[4].startswith("\u25b6 ")
    assert "received 1 byte" in lines[6]
    stamp = time.strftime("%H:%M:%S", time.localtime(T0 + 1)) + ".000"
    assert stamp in lines[4]


def test_received_and_sent_have_different_readable_colours(pane: DataPane) -> None:
    view = pane.view
    for base in ("#ffffff", "#1e1e1e"):
        pal = QPalette(view.palette())
        pal.setColor(QPalette.ColorRole.Base, base)
        view.setPalette(pal)
        rec_in = view.direction_colour(Direction.IN)
        rec_out = view.direction_colour(Direction.OUT)
        assert rec_in != rec_out
        bg = pal.color(QPalette.ColorRole.Base)
        for colour in (rec_in, rec_out):
            assert abs(colour.lightness() - bg.lightness()) > 90, (base, colour.name())


def test_the_view_follows_the_tail_unless_scrolled_up(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    view = pane.view
    view.set_store(store)
    fill(store, [(Direction.IN, bytes(1000))])
    view.notify_grew()
    qtbot.waitUntil(lambda: last_line(view).startswith("000003e0"), timeout=WAIT_MS)
    assert view.is_following_tail()

    # More arrives: the view moves on by itself.
    store.append(Direction.OUT, b"tail!", T0 + 5)
    view.notify_grew()
    qtbot.waitUntil(lambda: "|tail!|" in last_line(view), timeout=WAIT_MS)

    # The user scrolls up: new data no longer moves the view.
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert not view.is_following_tail()
    top = view.top_offset()
    before = view.verticalScrollBar().maximum()
    store.append(Direction.IN, bytes(5000), T0 + 6)
    view.notify_grew()
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > before, timeout=WAIT_MS)
    assert view.top_offset() == top
    assert not view.is_following_tail()

    # End goes back to the tail and following resumes.
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.is_following_tail()
    last = view.visible_rows()[-1]
    assert last[2] + len(last[3]) == store.total_bytes


class PaintCounter(QObject):
    """Counts the paint events of a widget."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_notify_grew_shows_new_bytes_at_once_and_paints_once(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    view = pane.view
    paints = PaintCounter(view.viewport())
    view.set_store(store)
    store.append(Direction.IN, b"start\n", T0)
    view.notify_grew()
    qtbot.waitUntil(lambda: paints.count >= 1, timeout=WAIT_MS)

    # No timer of the view's own: each notification shows the new bytes before it returns
    # (the session's dataArrived is the one coalescing point), and Qt merges the repaints.
    paints.count = 0
    for i in range(300):
        store.append(Direction.IN, b"%d\n" % i, T0)
        view.notify_grew()
        last = view.visible_rows()[-1]
        assert last[2] + len(last[3]) == store.total_bytes
    assert view.is_following_tail()
    qtbot.waitUntil(lambda: paints.count >= 1, timeout=WAIT_MS)
    assert paints.count == 1
    assert last_line(view).endswith("299.|")


def test_scrolling_keys(qtbot: Any, pane: DataPane, store: CaptureStore) -> None:
    fill(store, [(Direction.IN, bytes(16 * 500))])
    view = pane.view
    view.set_store(store)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.visible_rows()[0][1] == -1  # the header row
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.visible_rows()[0][1] == 0
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.visible_rows()[0][1] == 16
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.visible_rows()[0][1] == 0
    page = len(view.visible_lines())
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert view.visible_rows()[0][1] == 16 * (page - 2)  # a page minus one row
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert view.visible_rows()[0][1] == 0
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.visible_rows()[-1][2] == 16 * 499


# ------------------------------------------------------------------------------- text mode


SAMPLES = {
    "UTF-8": "héllo wörld\nsecond line €\n",
    "Latin-1": "héllo wörld\nsecond line\n",
    "ASCII": "hello world\nsecond line\n",
    "UTF-16LE": "héllo wörld\nsecond €\n",
    "UTF-16BE": "héllo wörld\nsecond €\n",
}


@pytest.mark.parametrize("encoding", codecs.TEXT_ENCODINGS)
def test_text_mode_decodes_each_encoding(
    pane: DataPane, store: CaptureStore, encoding: str
) -> None:
    text = SAMPLES[encoding]
    data = text.encode(encoding)
    fill(store, [(Direction.IN, data), (Direction.OUT, "ok\n".encode(encoding))])
    pane.encoding_combo.setCurrentText(encoding)
    pane.mode_combo.setCurrentText("Text")
    view = pane.view
    assert view.mode() == "Text" and view.encoding() == encoding
    view.set_store(store)
    view.scroll_to_start()
    assert view.visible_lines()[:5] == [
        header_text(store.record(0)),
        *text.splitlines(),
        header_text(store.record(1)),
        "ok",
    ]


def test_invalid_bytes_and_controls_are_visible_in_text_mode(
    pane: DataPane, store: CaptureStore
) -> None:
    data = b"ok\xff\xfeend\x00nul\r\n\tafter\x1b[0m\n"
    fill(store, [(Direction.IN, data)])
    pane.mode_combo.setCurrentText("Text")
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    pictures = view._pictures()  # control pictures where the font has them, else escapes
    rows = [display_text(codecs.decode_visible(r, "UTF-8"), pictures) for r in text_rows(data)]
    lines = view.visible_lines()
    assert lines[1:3] == rows
    first = lines[1]
    assert "\\xff\\xfe" in first and "\ufffd" not in first
    if pictures:
        assert "\u2400" in first and "\u240d" in first  # ␀ ␍
        assert lines[2].startswith("\u2192after\u241b")  # tab shown as →, ESC as ␛
    else:
        assert first == "ok\\xff\\xfeend\\0nul\\r"
        assert lines[2].startswith("\u2192after\\e")  # tab shown as →, ESC as \e


def test_chargen_lines_are_rows_and_a_wrapped_line_is_marked(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    lines = [bytes(33 + (i + k) % 94 for k in range(72)) + b"\r\n" for i in range(6)]
    fill(store, [(Direction.IN, b"".join(lines)), (Direction.IN, b"L" * 200 + b"\n")])
    pane.mode_combo.setCurrentText("Text")
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    rows = view.visible_rows()
    assert [r[3] for r in rows[1:7]] == lines  # one row a line: no break inside a line
    assert [r[3] for r in rows[8:10]] == [b"L" * 128, b"L" * 72 + b"\n"]
    assert view.visible_lines()[9] == "L" * 72  # the mark is painted, not part of the text

    image = view.viewport().grab().toImage()
    base = view.palette().color(QPalette.ColorRole.Base).rgb()
    height = view.row_height()

    def gutter_inked(row: int) -> bool:  # anything painted left of the row's text?
        x1 = view.cell_rect(rows[row][2]).left()  # type: ignore[union-attr]
        pixels = (
            image.pixel(x, y) for x in range(x1) for y in range(row * height, (row + 1) * height)
        )
        return any(px != base for px in pixels)

    assert not gutter_inked(1) and not gutter_inked(8)
    assert gutter_inked(9)  # the continued row
    view.set_selection(rows[9][2], rows[9][2] + 3)
    assert view.copy_as_text() and QGuiApplication.clipboard().text() == "LLL"


def test_long_lines_wrap_without_splitting_characters(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    # "a" then 200 two-byte characters: a fixed break at 128 falls inside one of them.
    text = "a" + "é" * 200 + "€" * 50 + "\n"
    data = text.encode()
    fill(store, [(Direction.IN, data)])
    pane.mode_combo.setCurrentText("Text")
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    rows = view.visible_rows()[1:]
    assert "".join(view.visible_lines()[1:]) == text[:-1]
    assert all("\\x" not in line for line in view.visible_lines())
    assert all(len(r[3]) <= data_view.TEXT_ROW_BYTES + 3 for r in rows)
    assert len(rows) == 5  # 552 bytes: breaks near 128, 256, 384 and 512
    # Scrolling back up a row at a time finds the same rows as going down (each row is found
    # from the bytes around it).
    fill(store, [(Direction.IN, data * 100)])
    view.notify_grew()
    qtbot.keyClick(view, Qt.Key.Key_Home)
    down = []
    for _ in range(30):
        down.append(view.visible_rows()[0])
        qtbot.keyClick(view, Qt.Key.Key_Down)
    up = []
    for _ in range(30):
        qtbot.keyClick(view, Qt.Key.Key_Up)
        up.append(view.visible_rows()[0])
    assert up[::-1] == down
    for row in down:
        row[3].decode("utf-8")  # no row splits a character (this raises if one does)


def test_mode_switch_keeps_the_position(pane: DataPane, store: CaptureStore) -> None:
    lines = b"".join(b"line %04d\n" % i for i in range(2000))
    fill(store, [(Direction.IN, lines)])
    view = pane.view
    view.set_store(store)
    view.scroll_to_offset(10 * 1000)
    top = view.top_offset()
    assert 9000 < top <= 10 * 1000
    pane.mode_combo.setCurrentText("Text")
    text_top = view.top_offset()
    assert top - 10 < text_top <= top  # the start of the line that held the top byte
    assert any(line == "line 1000" for line in view.visible_lines())
    view.set_mode("Hex")  # directly: the pane's combo follows
    assert pane.mode_combo.currentText() == "Hex"
    assert view.top_offset() <= text_top < view.top_offset() + 16


# ------------------------------------------------------------------------------- find


def test_find_across_record_boundaries_scrolls_to_the_match(
    pane: DataPane, store: CaptureStore
) -> None:
    filler = b"." * 20_000
    fill(
        store,
        [
            (Direction.IN, filler + b"needle-AB"),
            (Direction.OUT, b"CD-rest"),
            (Direction.IN, filler + b"AB"),
            (Direction.OUT, b"CD"),
        ],
    )
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    first = len(filler) + len(b"needle-")
    assert view.find(b"ABCD")
    assert view.selected_range() == (first, first + 4)
    assert not view.is_following_tail()
    shown = {row[2] // 16 for row in view.visible_rows() if row[1] >= 0}
    assert first // 16 in shown

    second = store.total_bytes - 4
    assert view.find(b"ABCD")
    assert view.selected_range() == (second, second + 4)
    assert any(row[2] <= second < row[2] + len(row[3]) for row in view.visible_rows())

    assert view.find(b"ABCD")  # wraps around to the first
    assert view.selected_range() == (first, first + 4)
    assert view.find(b"ABCD", backwards=True)  # and back, wrapping the other way
    assert view.selected_range() == (second, second + 4)
    assert view.find(b"ABCD", backwards=True)
    assert view.selected_range() == (first, first + 4)

    assert not view.find(b"not there")
    assert view.selected_range() is None  # the old match does not stay highlighted
    assert pane.message_label.text() == "Not found"


def test_find_field_takes_text_or_hex(qtbot: Any, pane: DataPane, store: CaptureStore) -> None:
    fill(store, [(Direction.IN, b"\x00\x01GET /\r\n\xff\xfe")])
    pane.set_store(store)
    qtbot.keyClicks(pane.find_input, "GET /")
    qtbot.keyClick(pane.find_input, Qt.Key.Key_Return)
    assert pane.view.selected_range() == (2, 7)

    pane.find_input.setText("hex: 0d 0a ff")
    pane.find_next.click()
    assert pane.view.selected_range() == (7, 10)

    pane.find_input.setText("00 01")
    pane.find_kind.setCurrentText("Hex")
    pane.find_prev.click()
    assert pane.view.selected_range() == (0, 2)

    pane.find_input.setText("0d 0g")
    pane.find_next.click()
    assert pane.view.selected_range() == (0, 2)
    assert "position 4" in pane.message_label.text()


def test_find_ignores_case_unless_match_case_and_not_found_clears_the_match(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    fill(store, [(Direction.IN, b"Hello WORLD hello\r\n"), (Direction.OUT, b"He")])
    pane.set_store(store)
    match_case = pane.findChild(QCheckBox, "findMatchCase")
    assert match_case is not None and not match_case.isChecked()  # off by default

    pane.find_input.setText("world")
    pane.find_next.click()
    assert pane.view.selected_range() == (6, 11)
    pane.find_input.setText("HELLO")
    pane.find_next.click()
    assert pane.view.selected_range() == (12, 17)
    pane.find_prev.click()
    assert pane.view.selected_range() == (0, 5)

    match_case.setChecked(True)
    pane.find_next.click()
    assert pane.view.selected_range() is None  # nothing but the old match was there
    assert pane.message_label.text() == "Not found"
    pane.find_input.setText("hello")
    pane.find_next.click()
    assert pane.view.selected_range() == (12, 17)

    match_case.setChecked(False)
    pane.find_input.setText("hex: 77 6f 72")  # hex is exact whatever the box says
    pane.find_next.click()
    assert pane.view.selected_range() is None
    pane.find_input.setText("hex: 57 4f 52")
    pane.find_next.click()
    assert pane.view.selected_range() == (6, 9)


# ------------------------------------------------------------------------------- selection


def test_mouse_drag_and_shift_click_select_bytes(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    fill(store, [(Direction.IN, bytes(range(64)))])
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    vp = view.viewport()

    def centre(offset: int, ascii_column: bool = False) -> QPoint:
        rect = view.cell_rect(offset, ascii_column=ascii_column)
        assert rect is not None
        return rect.center()

    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=centre(2))
    qtbot.mouseMove(vp, centre(5))
    qtbot.mouseMove(vp, centre(20))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=centre(20))
    assert view.selected_range() == (2, 21)

    qtbot.mouseClick(
        vp,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        pos=centre(40, ascii_column=True),
    )
    assert view.selected_range() == (2, 41)

    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=centre(9))
    assert view.selected_range() is None
    qtbot.mouseClick(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=centre(3)
    )
    assert view.selected_range() == (3, 10)

    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert view.selected_range() == (0, 64)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert view.selected_range() is None


def test_mouse_selection_in_text_mode_follows_characters(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    fill(store, [(Direction.IN, "añb€c\n".encode())])
    pane.mode_combo.setCurrentText("Text")
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    vp = view.viewport()
    # "a" is byte 0, "ñ" bytes 1-2, "b" byte 3, "€" bytes 4-6, "c" byte 7.
    start = view.cell_rect(1)
    end = view.cell_rect(4)
    assert start is not None and end is not None
    press = QPoint(start.left() + 1, start.center().y())
    release = QPoint(end.right(), end.center().y())
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=press)
    qtbot.mouseMove(vp, release)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=release)
    assert view.selected_range() == (1, 7)
    view.copy_as_text()
    assert QGuiApplication.clipboard().text() == "ñb€"


def test_double_click_on_a_header_selects_the_record(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    fill(store, [(Direction.IN, b"first"), (Direction.OUT, b"second")])
    view = pane.view
    view.set_store(store)
    view.scroll_to_start()
    y = view.visible_rows().index((1, -1, 5, b"")) * view.row_height() + 2
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(30, y))
    assert view.selected_range() == (5, 11)


# ------------------------------------------------------------------------------- copy


def test_copy_as_hex_and_text(pane: DataPane, store: CaptureStore) -> None:
    fill(store, [(Direction.IN, b"hello"), (Direction.OUT, b" world\r\n\x00!")])
    view = pane.view
    view.set_store(store)
    clipboard = QGuiApplication.clipboard()

    assert view.copy_as_hex()  # nothing selected: the whole capture
    assert clipboard.text() == "68 65 6c 6c 6f 20 77 6f 72 6c 64 0d 0a 00 21"
    assert view.copy_as_text()
    # As the text view shows it: pictures where the font has them, else C escapes.
    assert clipboard.text() in ("hello world\u240d\n\u2400!", "hello world\\r\n\\0!")

    view.set_selection(3, 8)  # across the record boundary
    assert view.copy_as_hex()
    assert clipboard.text() == "6c 6f 20 77 6f"
    assert view.copy_as_text()
    assert clipboard.text() == "lo wo"


def test_copy_is_capped_with_a_message(
    pane: DataPane, store: CaptureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_view, "COPY_TEXT_CAP", 1000)
    monkeypatch.setattr(data_view, "COPY_HEX_CAP", 100)
    fill(store, [(Direction.IN, b"a" * 5000)])
    pane.set_store(store)
    assert pane.view.copy_as_text()
    assert QGuiApplication.clipboard().text() == "a" * 1000
    assert "first" in pane.message_label.text() and "Save data" in pane.message_label.text()
    assert pane.view.copy_as_hex()
    assert QGuiApplication.clipboard().text() == " ".join(["61"] * 100)


# ------------------------------------------------------------------------------- save


def test_save_raw_and_hex_dump(
    qtbot: Any, pane: DataPane, store: CaptureStore, tmp_path: Path
) -> None:
    data = [
        (Direction.IN, os.urandom(70_000)),
        (Direction.OUT, b"GET / HTTP/1.0\r\n\r\n"),
        (Direction.IN, b""),
    ]
    fill(store, data[:2])
    view = pane.view
    view.set_store(store)
    raw = tmp_path / "raw.bin"
    view.save_data(raw, as_hex_dump=False)
    assert raw.read_bytes() == data[0][1] + data[1][1]
    dump = tmp_path / "dump.txt"
    view.save_data(dump, as_hex_dump=True)
    assert dump.read_text(encoding="utf-8") == "\n".join(expected_hex(store)) + "\n"

    # The window's way: in slices, with progress and a finished signal.
    raw2 = tmp_path / "raw2.bin"
    progress: list[tuple[int, int]] = []
    view.saveProgress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(view.saveFinished, timeout=WAIT_MS) as blocker:
        view.start_save(raw2, as_hex_dump=False)
    assert blocker.args == [str(raw2), ""]
    assert raw2.read_bytes() == raw.read_bytes()
    assert progress[-1] == (store.total_bytes, store.total_bytes)

    with qtbot.waitSignal(view.saveFinished, timeout=WAIT_MS) as blocker:
        view.start_save(tmp_path / "no-such-dir" / "x.bin", as_hex_dump=False)
    assert blocker.args[1] != ""
    assert "Could not save" in pane.message_label.text()


def test_save_dialog_is_not_modal(
    qtbot: Any, pane: DataPane, store: CaptureStore, tmp_path: Path
) -> None:
    fill(store, [(Direction.IN, b"abc")])
    pane.set_store(store)
    dialog = pane.save_data_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.windowModality() != Qt.WindowModality.ApplicationModal  # open(), not exec()
    target = tmp_path / "dump.txt"
    dialog.selectNameFilter(data_view.HEX_FILTER)
    with qtbot.waitSignal(pane.view.saveFinished, timeout=WAIT_MS):
        dialog.fileSelected.emit(str(target))
    assert target.read_text(encoding="utf-8").splitlines()[1].startswith("00000000  61 62 63")
    dialog.reject()


def test_the_save_dialog_remembers_its_folder_and_gives_the_type_its_extension(
    qtbot: Any, pane: DataPane, store: CaptureStore, tmp_path: Path
) -> None:
    """A tester saved "dump" as a hex dump and got a file without ".txt", and every dialog
    opened in the working folder again."""
    fill(store, [(Direction.IN, b"abc")])
    pane.set_store(store)
    dialog = pane.save_data_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.defaultSuffix() == "bin"  # the first type: raw bytes
    dialog.filterSelected.emit(data_view.HEX_FILTER)  # as when the user picks it
    assert dialog.defaultSuffix() == "txt"
    folder = tmp_path / "saves"
    folder.mkdir()
    dialog.selectNameFilter(data_view.RAW_FILTER)
    with qtbot.waitSignal(pane.view.saveFinished, timeout=WAIT_MS):
        dialog.fileSelected.emit(str(folder / "a.bin"))
    dialog.reject()
    again = pane.save_data_dialog()
    qtbot.waitUntil(again.isVisible, timeout=WAIT_MS)
    assert again is not dialog
    assert Path(again.directory().absolutePath()) == folder
    again.reject()


# ------------------------------------------------------------------------------- big captures


GIB = 2**30


@pytest.fixture(scope="module")
def gib_store() -> Iterator[CaptureStore]:
    """1 GiB in 1 MiB records, alternating direction; the file is deleted afterwards."""
    s = CaptureStore()
    block = bytearray(os.urandom(1 << 20))
    try:
        for i in range(GIB >> 20):
            block[:8] = i.to_bytes(8, "big")
            s.append(Direction.IN if i % 3 else Direction.OUT, bytes(block), T0 + i)
        yield s
    finally:
        s.close()


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_a_1_gib_capture_opens_and_scrolls_reading_only_the_screen(
    qtbot: Any,
    pane: DataPane,
    gib_store: CaptureStore,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    read_bytes = 0
    original = CaptureStore.read

    def counting_read(self: CaptureStore, offset: int, size: int) -> bytes:
        nonlocal read_bytes
        data = original(self, offset, size)
        read_bytes += len(data)
        return data

    monkeypatch.setattr(CaptureStore, "read", counting_read)
    view = pane.view
    pane.mode_combo.setCurrentText(mode)
    before = rss()
    view.set_store(gib_store)
    view.repaint()
    assert view.visible_lines()[-1]  # the tail is on screen
    last = view.visible_rows()[-1]
    assert last[2] + len(last[3]) == GIB

    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # the user drags the scrollbar to the middle
    view.repaint()
    middle = view.top_offset()
    assert abs(middle - GIB // 2) < GIB // 100
    assert not view.is_following_tail()

    view.scroll_to_start()
    view.repaint()
    assert view.visible_rows()[0][:3] == (0, -1, 0)
    view.scroll_to_end()
    view.repaint()
    assert view.is_following_tail()
    for _ in range(20):
        qtbot.keyClick(view, Qt.Key.Key_PageUp)
    view.repaint()
    assert view.top_offset() < GIB

    # What the view read is a few screens' worth (in 64 KiB blocks), not the capture.
    assert read_bytes < 8 * 2**20, read_bytes
    assert rss() - before < 32 * 2**20


@pytest.mark.slow
def test_find_streams_through_a_1_gib_capture(pane: DataPane, gib_store: CaptureStore) -> None:
    view = pane.view
    view.set_store(gib_store)
    view.scroll_to_start()
    needle = (700).to_bytes(8, "big")  # the first bytes of record 700
    before = rss()
    assert view.find(needle)
    assert view.selected_range() == (700 << 20, (700 << 20) + 8)
    assert any(r[2] == 700 << 20 for r in view.visible_rows())
    assert rss() - before < 64 * 2**20


class _HugeStore:
    """A fake capture of 3 records of 40 GiB: more rows than a QScrollBar int can count.

    ``hex_ends`` is the real store's cumulative hex-row column, which ``LineIndex`` reads.
    """

    SIZE = 40 * GIB

    closed = False

    def __init__(self) -> None:
        self.record_count = 3
        self.total_bytes = 3 * self.SIZE
        rows = 1 + self.SIZE // 16
        self.hex_ends = [rows, 2 * rows, 3 * rows]

    def record(self, i: int) -> Record:
        return Record(i, Direction(i % 2), T0 + i, i * self.SIZE, self.SIZE)

    def record_at(self, offset: int) -> Record:
        return self.record(min(offset // self.SIZE, 2))

    def read(self, offset: int, size: int) -> bytes:
        size = max(0, min(size, self.total_bytes - offset))
        return bytes((offset + k) % 251 for k in range(size))


@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_more_rows_than_a_scrollbar_can_count(qtbot: Any, pane: DataPane, mode: str) -> None:
    huge: Any = _HugeStore()
    view = pane.view
    pane.mode_combo.setCurrentText(mode)
    view.set_store(huge)
    bar = view.verticalScrollBar()
    assert 0 < bar.maximum() <= 2**31 - 1
    last = view.visible_rows()[-1]
    assert last[2] + len(last[3]) == huge.total_bytes
    bar.setValue(bar.maximum() // 2)
    assert abs(view.top_offset() - huge.total_bytes // 2) < GIB
    if mode == "Hex":
        line = view.visible_lines()[1]
        assert line.startswith(f"{view.visible_rows()[1][2]:010x}  ")  # 10 offset digits
    bar.setValue(0)
    assert view.visible_rows()[0][:3] == (0, -1, 0)
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.is_following_tail()
    view.set_store(None)


def test_an_empty_view_and_no_store(qtbot: Any, pane: DataPane, store: CaptureStore) -> None:
    view = pane.view
    assert view.visible_lines() == []
    assert not view.copy_as_text() and not view.find(b"x")
    view.set_store(store)
    assert view.visible_lines() == []
    view.notify_grew()
    view.repaint()
    store.append(Direction.IN, b"late", T0)
    view.notify_grew()
    qtbot.waitUntil(lambda: len(view.visible_lines()) == 2, timeout=WAIT_MS)


def test_copy_as_text_copies_nul_cr_and_invalid_bytes_as_the_view_shows_them(
    pane: DataPane, store: CaptureStore
) -> None:
    fill(store, [(Direction.IN, b"a\x00b\r\nc\xffd")])
    view = pane.view
    view.set_store(store)
    view.set_mode("Text")
    shown = view.visible_lines()[1:]  # (after the header row)
    assert view.copy_as_text()
    copied = QGuiApplication.clipboard().text()
    assert copied == "\n".join(shown)
    if "\\0" in shown[0]:  # the font has no control pictures: C escapes, in both
        assert copied == "a\\0b\\r\nc\\xffd"
    else:
        assert copied == "a\u2400b\u240d\nc\\xffd"


def test_context_menu_copies(qtbot: Any, pane: DataPane, store: CaptureStore) -> None:
    fill(store, [(Direction.IN, b"abc")])
    pane.set_store(store)
    # (Popping it up on the offscreen platform only earns warnings: it cannot grab the
    # keyboard. The menu's contents are what matter.)
    menu = pane.view.context_menu()
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Copy as text (as shown)", "Copy as hex", "", "Select all", "Save data…"]
    menu.actions()[1].trigger()
    assert QGuiApplication.clipboard().text() == "61 62 63"
    menu.actions()[3].trigger()
    assert pane.view.selected_range() == (0, 3)
    menu.deleteLater()


def test_save_received_only_sent_only_or_both(
    qtbot: Any, pane: DataPane, store: CaptureStore, tmp_path: Path
) -> None:
    fill(
        store,
        [
            (Direction.IN, b"in-1 "),
            (Direction.OUT, b"out-1 "),
            (Direction.IN, b"in-2"),
            (Direction.OUT, b"out-2"),
        ],
    )
    pane.set_store(store)
    view = pane.view
    view.save_data(tmp_path / "in.bin", as_hex_dump=False, direction=Direction.IN)
    assert (tmp_path / "in.bin").read_bytes() == b"in-1 in-2"
    view.save_data(tmp_path / "out.bin", as_hex_dump=False, direction=Direction.OUT)
    assert (tmp_path / "out.bin").read_bytes() == b"out-1 out-2"

    # Through the dialog: each file type saves what it says.
    expected = {
        data_view.RAW_FILTER: b"in-1 out-1 in-2out-2",
        data_view.RAW_IN_FILTER: b"in-1 in-2",
        data_view.RAW_OUT_FILTER: b"out-1 out-2",
    }
    for name_filter, content in expected.items():
        dialog = pane.save_data_dialog()
        qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
        assert name_filter in dialog.nameFilters()
        assert data_view.HEX_FILTER in dialog.nameFilters()
        dialog.selectNameFilter(name_filter)
        target = tmp_path / f"{len(content)}.bin"
        with qtbot.waitSignal(view.saveFinished, timeout=WAIT_MS) as blocker:
            dialog.fileSelected.emit(str(target))
        assert blocker.args == [str(target), ""]
        assert target.read_bytes() == content, name_filter
        assert f"Saved {len(content):,} bytes" in pane.message_label.text()
        dialog.reject()


def test_saved_clears_itself_like_sent_and_leaves_later_messages(
    qtbot: Any, pane: DataPane, store: CaptureStore, tmp_path: Path
) -> None:
    """Issue 8, item 19: "Saved 24 bytes…" never cleared. It goes ``composer_file.CLEAR_MS``
    after it shows, as "Sent 10.0 MiB" does; the timer is driven here, not waited for."""
    fill(store, [(Direction.IN, b"0123456789" * 2), (Direction.OUT, b"ping")])
    pane.set_store(store)
    label, timer = pane.message_label, pane.message_timer

    def save(path: Path) -> None:
        with qtbot.waitSignal(pane.view.saveFinished, timeout=WAIT_MS) as done:
            pane.view.start_save(path, as_hex_dump=False)
        assert done.args == [str(path), ""]

    save(tmp_path / "a.bin")
    assert label.text() == f"Saved 24 bytes to {tmp_path / 'a.bin'}" and not label.isHidden()
    assert timer.isActive() and timer.interval() == composer_file.CLEAR_MS == 4000
    timer.timeout.emit()  # its time is up
    assert label.text() == "" and label.isHidden()

    # A message shown after "Saved …" is not the timer's to clear.
    save(tmp_path / "b.bin")
    pane.find_input.setText("not there")
    pane.find_next.click()
    assert label.text() == "Not found"
    timer.timeout.emit()
    assert label.text() == "Not found" and not label.isHidden()

    # A failed save's message stays: it is not "Saved …".
    timer.stop()
    with qtbot.waitSignal(pane.view.saveFinished, timeout=WAIT_MS):
        pane.view.start_save(tmp_path / "no-such-dir" / "c.bin", as_hex_dump=False)
    assert label.text().startswith("Could not save ") and not timer.isActive()

    # Another capture shown clears it at once, as it does every message of this one.
    save(tmp_path / "d.bin")
    with CaptureStore(tmp_path / "other.raw") as other:
        pane.set_store(other)
        assert label.text() == "" and label.isHidden()
        pane.set_store(None)


def test_saving_onto_the_capture_file_itself_is_refused(
    qtbot: Any, pane: DataPane, tmp_path: Path
) -> None:
    path = tmp_path / "capture.raw"
    with CaptureStore(path) as kept:
        kept.append(Direction.IN, b"keep me", T0)
        pane.set_store(kept)
        with qtbot.waitSignal(pane.view.saveFinished, timeout=WAIT_MS) as blocker:
            pane.view.start_save(path, as_hex_dump=False)
        assert blocker.args[0] == str(path) and "own data file" in blocker.args[1]
        assert pane.message_label.text().startswith(f"Could not save {path}: ")
        assert kept.read(0, kept.total_bytes) == b"keep me"
        assert not pane.view.is_saving()
        pane.set_store(None)


def test_a_growing_tail_moves_the_scrollbar_only_where_it_shows(
    qtbot: Any, pane: DataPane, store: CaptureStore
) -> None:
    view = pane.view
    view.set_store(store)
    bar = view.verticalScrollBar()
    # A small capture: each grow moves the slider, so the bar follows at once.
    store.append(Direction.IN, bytes(2048), T0)
    view.notify_grew()
    qtbot.waitUntil(bar.isVisible, timeout=WAIT_MS)  # shown by the scroll area's layout
    small = bar.maximum()
    assert small > 0 and bar.value() == small
    store.append(Direction.IN, bytes(2048), T0 + 1)
    view.notify_grew()
    assert bar.maximum() > small and bar.value() == bar.maximum()

    # A big one: the slider is as short as it gets and pinned to the end, and another 4 KiB
    # would not move a pixel of it; the bar is left as it is, the rows are not.
    store.append(Direction.IN, bytes(8 << 20), T0 + 2)
    view.notify_grew()
    big = bar.maximum()
    assert big > bar.height() * 100 and bar.value() == big
    store.append(Direction.OUT, b"tail!", T0 + 3)
    view.notify_grew()
    assert view.is_following_tail() and "|tail!|" in last_line(view)
    assert bar.maximum() == big

    # The user reaches for it: it catches up before it acts.
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=QPoint(bar.width() // 2, 1))
    assert bar.maximum() > big
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=QPoint(bar.width() // 2, 1))
