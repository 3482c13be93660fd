"""The send composer (workbench/ui/composer.py and its parts): exact bytes per mode and line
ending, invalid input refused with an underline and a reason, history, a 10 MB paste, and Send
file… with progress and cancel. (The Qt-free halves have their own tests:
tests/core/test_compose.py and tests/session/test_file_send.py.)"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QTextCharFormat
from PySide6.QtWidgets import QLabel, QWidget

import pytest

from tests.conftest import TIMEOUT
from tests.net.tls_peers import ThreadedServer
from tests.ui.test_main_window import connect_to, new_socket, send
from workbench.core.types import SendInfo
from workbench.session import file_send as file_send_module
from workbench.ui import composer as composer_module
from workbench.ui import composer_file
from workbench.ui.bridge import TaskRunner
from workbench.ui.composer import SendComposer
from workbench.ui.main_window import MainWindow

WAIT_MS = int(TIMEOUT * 1000)


@pytest.fixture
def composer(qtbot: Any) -> Iterator[SendComposer]:
    # In a layout-less host, as inside the window (a top-level widget makes the offscreen
    # platform warn about size hints).
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(700, 200)
    c = SendComposer(host)
    c.setGeometry(0, 0, 700, 200)
    host.show()
    qtbot.waitExposed(host)
    yield c
    c.shutdown()


class Sent:
    """Records every ``sendRequested``."""

    def __init__(self, composer: SendComposer) -> None:
        self.items: list[bytes] = []
        composer.sendRequested.connect(self.items.append)


def type_in(qtbot: Any, c: SendComposer, text: str) -> None:
    c.input.clear()
    c.input.setFocus()
    if text.isascii():
        qtbot.keyClicks(c.input, text)
    else:  # QTest can only type ASCII
        c.input.insertPlainText(text)


CASES = [
    ("Text", "None", "hello", b"hello"),
    ("Text", "LF", "hello", b"hello\n"),
    ("Text", "CR", "héllo", "héllo".encode() + b"\r"),
    ("Text", "CRLF", "GET / HTTP/1.0", b"GET / HTTP/1.0\r\n"),
    ("Hex", "None", "68 65 6c 6c 6f", b"hello"),
    ("Hex", "None", "68656C6C6F", b"hello"),
    ("Hex", "None", "0x68,0x65", b"he"),
    ("Hex", "None", "00 ff 0d 0a", b"\x00\xff\r\n"),
    ("Escaped", "None", r"a\r\n\t\0\\\x7fz", b"a\r\n\t\x00\\\x7fz"),
    ("Escaped", "CR", r"\xff\xfe", b"\xff\xfe\r"),
]


@pytest.mark.parametrize(("mode", "ending", "text", "expected"), CASES)
def test_each_mode_and_line_ending_sends_exact_bytes(
    qtbot: Any, composer: SendComposer, mode: str, ending: str, text: str, expected: bytes
) -> None:
    composer.mode.setCurrentText(mode)
    composer.line_ending.setCurrentText(ending)
    type_in(qtbot, composer, text)
    assert composer.send_button.isEnabled()
    with qtbot.waitSignal(composer.sendRequested, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [expected]


def test_the_line_ending_box_has_a_label_that_leads_the_keyboard_to_it(
    qtbot: Any, composer: SendComposer
) -> None:
    label = composer.findChild(QLabel, "sendLineEndingLabel")
    assert label is not None and label.isVisible()
    assert label.text().replace("&", "") == "Line ending:"
    assert label.buddy() is composer.line_ending
    # Its mnemonic (Alt+G) moves the focus to the box.
    composer.window().activateWindow()
    composer.input.setFocus()
    qtbot.waitUntil(composer.input.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(composer.input, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(composer.line_ending.hasFocus, timeout=WAIT_MS)


def test_hex_mode_sends_exactly_the_bytes_typed_and_says_the_line_ending_is_not_used(
    qtbot: Any, composer: SendComposer
) -> None:
    # Issue 8, item 18: "0x68,0x65 6c6c6F" sent 7 bytes (CRLF was appended silently).
    sent = Sent(composer)
    composer.line_ending.setCurrentText("CRLF")
    composer.mode.setCurrentText("Hex")
    assert not composer.line_ending.isEnabled()
    assert "Hex" in composer.line_ending.toolTip()
    type_in(qtbot, composer, "0x68,0x65 6c6c6F")
    assert composer.current_bytes() == b"hello"
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.items == [b"hello"]

    # Text mode appends it again, and the box says so.
    composer.mode.setCurrentText("Text")
    assert composer.line_ending.isEnabled() and "Hex" not in composer.line_ending.toolTip()
    type_in(qtbot, composer, "hello")
    assert composer.send()
    assert sent.items[-1] == b"hello\r\n"


def test_ctrl_enter_sends_and_enter_makes_a_new_line(qtbot: Any, composer: SendComposer) -> None:
    sent = Sent(composer)
    type_in(qtbot, composer, "one")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    qtbot.keyClicks(composer.input, "two")
    assert sent.items == []
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.items == [b"one\ntwo"]


def test_nul_and_non_ascii_text(qtbot: Any, composer: SendComposer) -> None:
    sent = Sent(composer)
    composer.set_text("a\x00b \u20ac \U0001f600")
    assert composer.send()
    assert sent.items == ["a\x00b \u20ac \U0001f600".encode()]


def underline(c: SendComposer) -> tuple[int, int] | None:
    """(start, end) of the red wavy underline in the input, if any."""
    sels = c.input.extraSelections()
    if not sels:
        return None
    [sel] = sels
    assert sel.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    return sel.cursor.selectionStart(), sel.cursor.selectionEnd()


@pytest.mark.parametrize(
    ("mode", "text", "where", "span"),
    [
        ("Hex", "68 65 6g 6c", "position 7", (7, 8)),
        ("Hex", "68 656", "position 5", (5, 6)),
        ("Escaped", r"ok\q", "position 2", (2, 4)),
        ("Escaped", "x\\x4", "position 1", (1, 4)),
        ("Hex", "\U0001f600 zz", "position 0", (0, 2)),  # an emoji is 2 UTF-16 units in Qt
    ],
)
def test_invalid_input_is_underlined_explained_and_not_sent(
    qtbot: Any,
    composer: SendComposer,
    mode: str,
    text: str,
    where: str,
    span: tuple[int, int],
) -> None:
    sent = Sent(composer)
    composer.mode.setCurrentText(mode)
    type_in(qtbot, composer, text)
    assert not composer.is_valid()
    assert not composer.send_button.isEnabled()
    assert where in composer.error_label.text()
    assert underline(composer) == span
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not composer.send()
    assert sent.items == []

    # Fixing it (here: switching to Text, where anything goes) clears the error.
    composer.mode.setCurrentText("Text")
    assert composer.is_valid() and composer.send_button.isEnabled()
    assert composer.error_label.text() == "" and underline(composer) is None


def test_empty_input_cannot_be_sent_unless_a_line_ending_is_chosen(
    composer: SendComposer,
) -> None:
    sent = Sent(composer)
    assert not composer.send_button.isEnabled() and not composer.send()
    composer.line_ending.setCurrentText("CRLF")
    assert composer.send()
    assert sent.items == [b"\r\n"]


def test_no_target_no_send(qtbot: Any, composer: SendComposer) -> None:
    sent = Sent(composer)
    type_in(qtbot, composer, "x")
    composer.set_target_available(False)
    assert not composer.send_button.isEnabled() and not composer.send()
    composer.set_target_available(True)
    assert composer.send()
    assert sent.items == [b"x"]


def test_history_up_and_down(qtbot: Any, composer: SendComposer) -> None:
    sent = Sent(composer)
    for text in ("first", "second"):
        type_in(qtbot, composer, text)
        qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    composer.mode.setCurrentText("Hex")
    type_in(qtbot, composer, "74 68 69 72 64")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.items == [b"first", b"second", b"third"]
    type_in(qtbot, composer, "draft")

    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "74 68 69 72 64"
    assert composer.mode.currentText() == "Hex"
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "second"
    assert composer.mode.currentText() == "Text"
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)  # stays at the oldest
    assert composer.input.toPlainText() == "first"
    qtbot.keyClick(composer.input, Qt.Key.Key_Down)
    assert composer.input.toPlainText() == "second"
    qtbot.keyClick(composer.input, Qt.Key.Key_Down)
    qtbot.keyClick(composer.input, Qt.Key.Key_Down)
    assert composer.input.toPlainText() == "draft"  # back to what was being typed
    assert composer.mode.currentText() == "Hex"

    # In a multi-line input, Up moves the cursor until the first line.
    composer.set_text("line one\nline two")
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "line one\nline two"
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "74 68 69 72 64"


def test_history_is_per_socket_and_each_entry_comes_back_in_its_mode(
    qtbot: Any, composer: SendComposer
) -> None:
    sent = Sent(composer)
    composer.set_socket(1)
    composer.set_text("one", mode="Text")
    assert composer.send()
    composer.set_text("6f 6e 65", mode="Hex")
    assert composer.send()

    composer.set_socket(2)
    composer.set_text("draft", mode="Text")
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "draft"  # socket 1's entries are not socket 2's
    assert composer.history() == []
    composer.set_text("two", mode="Text")
    assert composer.send()
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "two"
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert composer.input.toPlainText() == "two"  # the oldest of socket 2's

    composer.set_socket(1)
    composer.set_text("", mode="Text")
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert (composer.input.toPlainText(), composer.mode.currentText()) == ("6f 6e 65", "Hex")
    qtbot.keyClick(composer.input, Qt.Key.Key_Up)
    assert (composer.input.toPlainText(), composer.mode.currentText()) == ("one", "Text")
    assert composer.history() == [("one", "Text"), ("6f 6e 65", "Hex")]
    assert sent.items == [b"one", b"one", b"two"]


def test_long_input_is_validated_after_a_pause(qtbot: Any, composer: SendComposer) -> None:
    composer.mode.setCurrentText("Hex")
    text = "ab " * 5000 + "zz"
    composer.input.setPlainText(text)
    assert not composer.is_valid()  # pending: checked once typing pauses
    qtbot.waitUntil(lambda: composer.error() is not None, timeout=WAIT_MS)
    assert composer.error().position == len(text) - 2
    composer.input.setPlainText(text[:-2])
    qtbot.waitUntil(composer.is_valid, timeout=WAIT_MS)
    assert composer.current_bytes() == b"\xab" * 5000


def paste(c: SendComposer, text: str) -> None:
    mime = QMimeData()
    mime.setText(text)
    c.input.insertFromMimeData(mime)


def test_a_10_mb_paste_is_held_aside_checked_in_the_background_and_sent(
    qtbot: Any, composer: SendComposer
) -> None:
    sent = Sent(composer)
    composer.mode.setCurrentText("Hex")
    big = "68 65 6c 6c 6f " * 700_000  # 10.5 MB of text
    paste(composer, big)
    assert composer.has_payload()
    # The editor shows a summary, not 10 MB (Qt would spend seconds per keystroke on it).
    assert composer.input.document().characterCount() < 1000
    assert composer.input.isReadOnly()
    qtbot.waitUntil(composer.is_valid, timeout=WAIT_MS)
    assert composer.send()
    assert sent.items == [b"hello" * 700_000]

    # Invalid bytes at the very end of a huge paste are found and explained.
    composer.clear_payload()
    paste(composer, big + "6g")
    qtbot.waitUntil(lambda: composer.error() is not None, timeout=WAIT_MS)
    assert f"position {len(big) + 1}" in composer.error_label.text()
    assert not composer.send_button.isEnabled() and not composer.send()
    assert len(sent.items) == 1

    # Text mode: a large paste with NULs and odd characters goes out as UTF-8.
    composer.mode.setCurrentText("Text")
    qtbot.waitUntil(composer.is_valid, timeout=WAIT_MS)
    composer.clear_payload()
    assert not composer.has_payload() and not composer.input.isReadOnly()
    weird = "\x00\ufffd\U0001f600x" * 100_000
    paste(composer, weird)
    qtbot.waitUntil(composer.is_valid, timeout=WAIT_MS)
    assert composer.send()
    assert sent.items[-1] == weird.encode()


def test_a_long_error_message_is_one_line_with_the_whole_message_reachable(
    qtbot: Any, composer: SendComposer
) -> None:
    # Issue 8, item 18: the message for a large invalid paste wrapped to three lines and was
    # clipped to the first by the composer's one row of controls.
    composer.parentWidget().resize(600, 200)
    composer.setGeometry(0, 0, 600, 200)
    composer.mode.setCurrentText("Hex")
    big = "68 65 6c 6c 6f " * 20_000
    paste(composer, big + "6g")
    qtbot.waitUntil(lambda: composer.error() is not None, timeout=WAIT_MS)
    label = composer.error_label
    message = label.text()
    assert f"position {len(big) + 1}" in message
    assert label.toolTip() == message and label.accessibleDescription() == message
    metrics = label.fontMetrics()
    assert metrics.horizontalAdvance(message) > label.contentsRect().width()  # too long...
    shown = label.shown_text()  # ...so shown elided, on one line that is not clipped
    assert shown.endswith("…") and shown[:-1] in message
    assert metrics.horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.contentsRect().height() >= metrics.height()


def test_a_paste_that_fits_goes_into_the_editor(composer: SendComposer) -> None:
    paste(composer, "abc")
    assert not composer.has_payload()
    assert composer.input.toPlainText() == "abc"


# ------------------------------------------------------------------------------- send file


class FakePeer:
    """``send_chunk`` for the composer: collects the chunks; can stop after some."""

    def __init__(self, cancel_after: int | None = None, fail_after: int | None = None) -> None:
        self.chunks: list[bytes] = []
        self.composer: SendComposer | None = None
        self.cancel_after = cancel_after
        self.fail_after = fail_after

    async def send_chunk(self, data: bytes) -> SendInfo:
        await asyncio.sleep(0)  # a real send yields to the loop too
        if self.fail_after is not None and len(self.chunks) >= self.fail_after:
            return SendInfo(result_code=-101)
        self.chunks.append(data)
        if self.cancel_after is not None and len(self.chunks) == self.cancel_after:
            assert self.composer is not None
            self.composer.cancel_file_send()  # as if the user clicked Cancel meanwhile
        return SendInfo(result_code=0, bytes_sent=len(data))


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(3 * 2**20 + 12345))
    return path


@pytest.fixture
def runner(qloop: asyncio.AbstractEventLoop) -> Iterator[TaskRunner]:
    r = TaskRunner()
    failures: list[str] = []
    r.failed.connect(failures.append)
    yield r
    assert failures == []


def test_send_file_streams_in_chunks_with_progress(
    qtbot: Any,
    composer: SendComposer,
    runner: TaskRunner,
    big_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []
    real_open = open

    class CountingFile:
        def __init__(self, path: str, mode: str) -> None:
            self._f = real_open(path, mode)

        def read(self, n: int) -> bytes:
            reads.append(n)
            return self._f.read(n)

        def __enter__(self) -> CountingFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

    monkeypatch.setattr(file_send_module, "open", CountingFile, raising=False)
    peer = FakePeer()
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    progress: list[tuple[int, int]] = []
    composer.fileSendProgress.connect(lambda done, total: progress.append((done, total)))
    size = big_file.stat().st_size
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS) as blocker:
        composer.send_file_requested(str(big_file))
        assert composer.is_sending_file()
        assert composer.progress.isVisible() and composer.cancel_button.isVisible()
        assert not composer.file_button.isEnabled()
    assert blocker.args == [str(big_file), size, ""]
    assert b"".join(peer.chunks) == big_file.read_bytes()
    assert max(map(len, peer.chunks)) == composer_module.FILE_CHUNK  # never the whole file
    assert set(reads) == {composer_module.FILE_CHUNK}
    assert progress[-1] == (size, size)
    assert composer.progress.value() == composer.progress.maximum()
    assert not composer.cancel_button.isVisible() and composer.file_button.isEnabled()


def test_cancel_stops_a_file_send_early(
    qtbot: Any, composer: SendComposer, runner: TaskRunner, big_file: Path
) -> None:
    peer = FakePeer(cancel_after=2)
    peer.composer = composer
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS) as blocker:
        composer.send_file_requested(str(big_file))
    assert blocker.args == [str(big_file), 2 * composer_module.FILE_CHUNK, "cancelled"]
    assert len(peer.chunks) == 2
    assert "cancelled" in composer.error_label.text()
    assert not composer.is_sending_file() and composer.file_button.isEnabled()


def test_a_failed_chunk_stops_the_file_send(
    qtbot: Any, composer: SendComposer, runner: TaskRunner, big_file: Path
) -> None:
    peer = FakePeer(fail_after=1)
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS) as blocker:
        composer.send_file_requested(str(big_file))
    assert blocker.args == [str(big_file), composer_module.FILE_CHUNK, "send failed with -101"]
    assert "-101" in composer.error_label.text()


def test_send_file_without_a_socket_or_file(composer: SendComposer, tmp_path: Path) -> None:
    composer.send_file_requested(str(tmp_path / "missing"))
    assert "no socket" in composer.error_label.text()
    composer.send_chunk = FakePeer().send_chunk
    composer.send_file_requested(str(tmp_path / "missing"))
    assert "Cannot read" in composer.error_label.text()
    assert not composer.is_sending_file()


def test_the_file_dialog_is_not_modal(
    qtbot: Any, composer: SendComposer, runner: TaskRunner, big_file: Path
) -> None:
    peer = FakePeer()
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    dialog = composer.choose_file()
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.windowModality() != Qt.WindowModality.ApplicationModal
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS):
        dialog.fileSelected.emit(str(big_file))
    dialog.reject()
    assert b"".join(peer.chunks) == big_file.read_bytes()


def test_a_lone_surrogate_is_refused_with_a_message_not_dropped(
    qtbot: Any, composer: SendComposer
) -> None:
    sent = Sent(composer)
    composer.set_text("a\x00b\udcff", mode="Text")
    qtbot.waitUntil(lambda: composer.error() is not None, timeout=WAIT_MS)
    message = composer.error_label.text()
    assert message.startswith("Cannot send: position 3: ") and "DCFF" in message.upper()
    assert not composer.send_button.isEnabled() and not composer.send()
    assert sent.items == []
    assert "lone surrogate" in composer.input.toPlainText()  # it says why it is held aside

    # Discarding it gives the editor back; ordinary text sends again.
    composer.clear_payload()
    composer.set_text("ok", mode="Text")
    assert composer.is_valid() and composer.send()
    assert sent.items == [b"ok"]


def test_send_file_progress_text_fits_the_bar(
    qtbot: Any,
    composer: SendComposer,
    runner: TaskRunner,
    big_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A file of nearly 1 TiB, as far as the progress text is concerned.
    real_getsize = os.path.getsize
    monkeypatch.setattr(
        os.path,
        "getsize",
        lambda p: 1023 * 2**30 + 2**29 if str(p) == str(big_file) else real_getsize(p),
    )
    peer = FakePeer(cancel_after=2)
    peer.composer = composer
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    texts: list[tuple[str, int, int]] = []

    def seen(_sent: int, _size: int) -> None:
        bar = composer.progress
        texts.append(
            (
                bar.text(),
                bar.fontMetrics().horizontalAdvance(bar.text()),
                bar.contentsRect().width(),
            )
        )

    composer.fileSendProgress.connect(seen)
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS):
        composer.send_file_requested(str(big_file))
    assert texts and texts[0][0] == "256.0 KiB / 1023.5 GiB"  # 2 GiB+ sizes: qint64
    for text, needed, width in texts:
        assert needed + 8 <= width, (text, needed, width)
    assert "bytes sent" in composer.progress.toolTip()


class SwitchingPeer(FakePeer):
    """``send_chunk`` that shows another socket while the file is being sent to socket 1,
    and notes what the composer shows on each."""

    def __init__(self, composer: SendComposer) -> None:
        super().__init__()
        self.composer = composer
        self.seen: list[tuple[int | None, bool, bool]] = []

    async def send_chunk(self, data: bytes) -> SendInfo:
        info = await super().send_chunk(data)
        c = self.composer
        assert c is not None
        if len(self.chunks) in (2, 4):
            c.set_socket(2 if len(self.chunks) == 2 else 1)
            self.seen.append((c.socket(), c.progress.isVisible(), c.cancel_button.isVisible()))
        return info


def test_file_send_progress_is_per_socket_and_clears_itself(
    qtbot: Any,
    composer: SendComposer,
    runner: TaskRunner,
    big_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 8, item 19: "Sent 10.0 MiB" never cleared, and showed on every socket.
    monkeypatch.setattr(composer_file, "CLEAR_MS", 200)
    peer = SwitchingPeer(composer)
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    composer.set_socket(1)
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS):
        composer.send_file_requested(str(big_file))
    # On socket 2 neither the bar nor Cancel; back on socket 1, both.
    assert peer.seen == [(2, False, False), (1, True, True)]
    assert b"".join(peer.chunks) == big_file.read_bytes()
    assert composer.progress.isVisible() and composer.progress.text().startswith("Sent ")
    composer.set_socket(2)
    assert not composer.progress.isVisible()
    composer.set_socket(1)
    assert composer.progress.isVisible()
    qtbot.waitUntil(lambda: not composer.progress.isVisible(), timeout=WAIT_MS)
    composer.set_socket(2)
    composer.set_socket(1)
    assert not composer.progress.isVisible()  # cleared for good


def test_a_file_send_failure_is_told_on_its_own_socket(
    qtbot: Any, composer: SendComposer, runner: TaskRunner, big_file: Path
) -> None:
    peer = FakePeer(fail_after=1)
    composer.runner = runner
    composer.send_chunk = peer.send_chunk
    composer.set_socket(1)
    composer.set_text("ok")
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS):
        composer.send_file_requested(str(big_file))
        composer.set_socket(2)
    assert composer.error_label.text() == ""
    composer.set_socket(1)
    assert "-101" in composer.error_label.text()


def test_the_window_gives_each_socket_its_own_history(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    composer = window.composer
    first, second = new_socket(qtbot, window), new_socket(qtbot, window)
    for sid in (first, second):
        window.select_socket(sid)
        connect_to(qtbot, window, sid, echo_server.port)
        assert composer.socket() == sid
    window.select_socket(first)
    send(qtbot, window, "Hex", "0x68,0x65 6c6c6F", ending="CRLF")
    assert composer.history() == [("0x68,0x65 6c6c6F", "Hex")]
    window.select_socket(second)
    assert composer.socket() == second and composer.history() == []
    window.select_socket(first)
    assert composer.history() == [("0x68,0x65 6c6c6F", "Hex")]
