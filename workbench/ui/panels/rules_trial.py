"""The rules' test area: sample input in, what the rules would do out (``try_rules``).

The sample is typed as the composer takes input (Text, Hex, Escaped: ``PING\\r\\n``) and fed
to a new connection in one piece, with the rules as drafted in the panel, applied or not;
live hit counts are not touched. The output lists each frame and what each rule does with it
(``Trial.describe``), and below it every byte the rules would send, escaped and in hex.

"Then the client closes" feeds the end of the stream too: the last, unterminated frame is
matched, as on a real connection, where a reply to it can no longer be sent.

For a UDP socket (``set_datagrams(True)``) the sample is one datagram (``try_udp_rules``): one
frame, whatever its bytes, and no end of stream to feed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QWidget,
)

from workbench.core import codecs
from workbench.core.compose import MODES, encode_input
from workbench.core.formatting import format_size
from workbench.core.rules import RuleError, RuleSet, Trial, try_rules
from workbench.core.rules_udp import try_udp_rules
from workbench.ui.composer_input import underline_error
from workbench.ui.panels.widgets import FieldError, column, compact_form, describe, form_row, line

__all__ = ["RulesTrial", "sent_text"]

#: The most sent bytes shown in the output (a reply may be up to 16 MiB).
_SHOWN = 4096


def sent_text(data: bytes) -> str:
    """The bytes a trial would send: escaped, then as hex pairs (the first ``_SHOWN``)."""
    if not data:
        return "Nothing would be sent."
    more = f" (the first {format_size(_SHOWN)} shown)" if len(data) > _SHOWN else ""
    head = data[:_SHOWN]
    return (
        f"Would send {format_size(len(data))}{more}:\n"
        f"{codecs.escape_bytes(head)}\n{codecs.hex_pairs(head)}"
    )


class RulesTrial(QWidget):
    """Sample input, Test, and what the rules would do; ``source`` gives the drafted rules
    (``None``: they have problems, and the test says so)."""

    def __init__(self, source: Callable[[], RuleSet | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rulesTrial")
        self._source = source
        self._datagrams = False
        form = compact_form(QFormLayout(self))
        self.sample = QPlainTextEdit()
        self.sample.setObjectName("rulesTestInput")
        self.sample.setTabChangesFocus(True)
        self.sample.setFixedHeight(self.sample.fontMetrics().lineSpacing() * 3 + 12)
        self.sample.setPlaceholderText("PING\\r\\n")
        describe(self.sample, "Sample input", "What a client sends, in the mode chosen beside")
        self.mode = QComboBox()
        self.mode.setObjectName("rulesTestMode")
        self.mode.addItems(list(MODES))
        self.mode.setCurrentText("Escaped")
        describe(self.mode, "Sample as", "Text (UTF-8), Hex bytes, or text with \\-escapes")
        self.ends = QCheckBox("Then the client &closes")
        self.ends.setObjectName("rulesTestEnds")
        describe(
            self.ends,
            "Then the client closes",
            "Feed the end of the stream too: the last unterminated frame is matched",
        )
        self.button = QPushButton("&Test")
        self.button.setObjectName("rulesTestButton")
        describe(self.button, "Test the rules", "Run the drafted rules on the sample input")
        self.error = FieldError(self.sample, "sample input")
        self.error.setObjectName("rulesTestError")
        form_row(form, "&Sample:", column(self.sample, self.error), self.sample)
        form.addRow("", line(self.mode, self.ends, self.button))
        self.output = QPlainTextEdit()
        self.output.setObjectName("rulesTestOutput")
        self.output.setReadOnly(True)
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.output, "Test result", "Each frame, and what each rule does with it")
        form.addRow(self.output)
        self.button.clicked.connect(self._test_clicked)
        self.sample.textChanged.connect(lambda: self._sample_error(None))
        self.mode.currentIndexChanged.connect(lambda _i: self._sample_error(None))

    def _test_clicked(self) -> None:
        self.run()
        # At 1280x800 the output sits under the tab's fold once Test unfolds: a click that
        # changed nothing in view would look like it did nothing.
        page = self.parentWidget()
        while page is not None and not isinstance(page, QScrollArea):
            page = page.parentWidget()
        contents = page.widget() if page is not None else None
        if page is not None and contents is not None:
            # Not ensureWidgetVisible: for a text box it shows only the cursor's line.
            top = self.output.mapTo(contents, QPoint(0, 0))
            page.ensureVisible(top.x(), top.y() + self.output.height(), 0, 0)
            page.ensureVisible(top.x(), top.y(), 0, 0)  # the first lines win

    def sample_bytes(self) -> bytes | None:
        """The sample as bytes (``None``: it does not parse; the error is shown)."""
        try:
            data = encode_input(self.sample.toPlainText(), self.mode.currentText(), "None")
        except codecs.InputError as exc:
            self._sample_error(exc)
            return None
        self._sample_error(None)
        return data

    def run(self) -> Trial | None:
        """Test the drafted rules on the sample; the trial, or ``None`` if it could not run."""
        ruleset = self._source()
        if ruleset is None:
            self.output.setPlainText("The rules have problems: fix them to test them.")
            return None
        sample = self.sample_bytes()
        if sample is None:
            self.output.setPlainText("")
            return None
        try:
            if self._datagrams:
                trial = try_udp_rules(ruleset, [sample])
            else:
                trial = try_rules(ruleset, sample, end_of_stream=self.ends.isChecked())
        except RuleError as exc:  # the source checked them: only if the engine disagrees
            self.output.setPlainText(f"The rules cannot run: {exc}")
            return None
        lines = trial.describe() or ["no frame: the sample holds no whole frame"]
        self.output.setPlainText("\n".join([*lines, "", sent_text(trial.sent)]))
        return trial

    def clear(self) -> None:
        self.output.clear()

    def set_datagrams(self, on: bool) -> None:
        """Test as a UDP socket (the sample is one datagram) or as a connection."""
        self._datagrams = on
        self.ends.setVisible(not on)
        what = "What a sender sends, as one datagram" if on else "What a client sends"
        self.sample.setToolTip(f"{what}, in the mode chosen beside")

    def _sample_error(self, error: codecs.InputError | None) -> None:
        self.error.set_error(str(error) if error is not None else None)
        underline_error(self.sample, error)
