"""The editor of one response rule (docs/rules.md, "A rule"): what triggers it, what it
matches, what it replies, after how long, and what it does then.

The editor holds no rule of its own: ``set_rule`` fills the fields, every edit emits
``edited`` and ``rule()`` reads the fields back into a ``Rule``. The panel checks the whole
rule list (``check_rules``) and hands the selected rule's problem back with ``show_problem``,
which puts it beside its field: the pattern's under the pattern, the template's under the
template (its characters underlined in red, as the composer does), anything else at the
bottom.

Signals:
    edited(): a field changed (not when ``set_rule`` fills them).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core import codecs
from workbench.core.compose import MODES, line_ending_applies
from workbench.core.rules import (
    MAX_DELAY_MS,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleError,
    Then,
    Trigger,
)
from workbench.ui.composer_input import underline_error
from workbench.ui.panels.widgets import FieldError, column, compact_form, describe, form_row, line

__all__ = ["MATCH_LABELS", "THEN_LABELS", "TRIGGER_LABELS", "RuleEditor", "stacked"]

TRIGGER_LABELS = {Trigger.FRAME: "A frame arrives", Trigger.OPEN: "The connection opens"}
MATCH_LABELS = {
    MatchKind.ANY: "Any frame",
    MatchKind.EXACT: "Exactly",
    MatchKind.PREFIX: "Starts with",
    MatchKind.CONTAINS: "Contains",
    MatchKind.REGEX: "Regex",
    MatchKind.HEX: "Hex bytes (prefix)",
}
THEN_LABELS = {
    Then.NOTHING: "Nothing",
    Then.CLOSE: "Close (FIN)",
    Then.RESET: "Reset (RST)",
    Then.START_TLS: "Start TLS",
    Then.PAUSE: "Pause reading",
}
#: The highest "from frame" offered: a QSpinBox holds a C int.
_MAX_FROM_FRAME = 2**31 - 1


def stacked(fields: QLayout, error: FieldError) -> QVBoxLayout:
    """A row of fields with its error label underneath, in one form row."""
    box = QVBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(1)
    box.addLayout(fields)
    box.addWidget(error)
    return box


def _combo(name: str, items: dict[str, str] | tuple[str, ...]) -> QComboBox:
    """A combo box whose items carry their values (``dict``: value → label)."""
    box = QComboBox()
    box.setObjectName(name)
    pairs = items.items() if isinstance(items, dict) else ((i, i) for i in items)
    for value, label in pairs:
        box.addItem(label, str(value))
    return box


def _select(box: QComboBox, value: str) -> None:
    index = box.findData(str(value))
    box.setCurrentIndex(max(index, 0))


def _value(box: QComboBox) -> str:
    return str(box.currentData())


class RuleEditor(QWidget):
    """The fields of one rule; see the module docstring."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ruleEditor")
        self._filling = False
        self._enabled = True
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        form = compact_form(QFormLayout())
        outer.addLayout(form)
        outer.addStretch(1)  # the fields keep their height; the space goes below them
        self._build_head(form)
        self._build_match(form)
        self._build_reply(form)
        self._build_tail(form)
        self._kinds_changed()

    # -- building ----------------------------------------------------------------------------

    def _build_head(self, form: QFormLayout) -> None:
        self.name = QLineEdit()
        self.name.setObjectName("ruleName")
        self.name.setPlaceholderText("shown in the list and in the call log")
        describe(self.name, "Rule name", "The rule's name, shown in the list and the call log")
        form_row(form, "&Name:", self.name, self.name)
        self.trigger = _combo("ruleTrigger", {k.value: v for k, v in TRIGGER_LABELS.items()})
        describe(
            self.trigger,
            "Trigger",
            "A frame arrives: the rule matches received frames; the connection opens: the "
            "rule runs once when a client is accepted (a greeting)",
        )
        form_row(form, "&When:", self.trigger, self.trigger)
        for widget in (self.name,):
            widget.textEdited.connect(self._edited)
        self.trigger.currentIndexChanged.connect(self._trigger_changed)

    def _build_match(self, form: QFormLayout) -> None:
        self.match_kind = _combo("ruleMatchKind", {k.value: v for k, v in MATCH_LABELS.items()})
        describe(self.match_kind, "Match", "How the rule recognises a frame")
        self.pattern = QLineEdit()
        self.pattern.setObjectName("ruleMatchPattern")
        describe(
            self.pattern,
            "Match pattern",
            "Text, a Python regular expression (\\A…\\Z anchors, (?i) ignores case), or hex "
            "bytes the frame starts with",
        )
        self.match_encoding = _combo("ruleMatchEncoding", codecs.TEXT_ENCODINGS)
        describe(self.match_encoding, "Match encoding", "The encoding of the pattern's text")
        self.match_error = FieldError(self.pattern, "match pattern")
        self.match_error.setObjectName("ruleMatchError")
        form_row(
            form,
            "&Match:",
            stacked(
                line(self.match_kind, self.pattern, self.match_encoding, stretch=1),
                self.match_error,
            ),
            self.match_kind,
        )
        self.match_kind.currentIndexChanged.connect(self._kinds_changed)
        self.pattern.textEdited.connect(self._edited)
        self.match_encoding.currentIndexChanged.connect(self._edited)

    def _build_reply(self, form: QFormLayout) -> None:
        self.reply_mode = _combo("ruleReplyMode", MODES)
        describe(
            self.reply_mode, "Reply as", "Text, Hex bytes, or text with \\-escapes, as composed"
        )
        self.reply_encoding = _combo("ruleReplyEncoding", codecs.TEXT_ENCODINGS)
        describe(self.reply_encoding, "Reply encoding", "The encoding of the reply's text")
        self.line_ending = _combo("ruleReplyLineEnding", tuple(codecs.LINE_ENDINGS))
        describe(self.line_ending, "Reply line ending", "Added once after the reply")
        self.template = QPlainTextEdit()
        self.template.setObjectName("ruleReplyTemplate")
        self.template.setTabChangesFocus(True)
        self.template.setFixedHeight(self.template.fontMetrics().lineSpacing() * 3 + 12)
        describe(
            self.template,
            "Reply template",
            "What the rule sends. Placeholders: \\1…\\9 and \\g<name> (regex groups), {frame}, "
            "{hex}, {peer}, {socket_id}, {count}; {{ and }} for braces. Empty: send nothing",
        )
        self.reply_error = FieldError(self.template, "reply template")
        self.reply_error.setObjectName("ruleReplyError")
        form_row(
            form,
            "&Reply:",
            column(self.template, self.reply_error),
            self.template,
        )
        form.addRow("", line(self.reply_mode, self.reply_encoding, self.line_ending))
        self.reply_mode.currentIndexChanged.connect(self._kinds_changed)
        self.template.textChanged.connect(self._edited)
        self.reply_encoding.currentIndexChanged.connect(self._edited)
        self.line_ending.currentIndexChanged.connect(self._edited)

    def _build_tail(self, form: QFormLayout) -> None:
        self.delay = QSpinBox()
        self.delay.setObjectName("ruleDelay")
        self.delay.setRange(0, MAX_DELAY_MS)
        self.delay.setSuffix(" ms")
        describe(self.delay, "Delay", "Wait this long before sending the reply")
        self.from_frame = QSpinBox()
        self.from_frame.setObjectName("ruleFromFrame")
        self.from_frame.setRange(1, _MAX_FROM_FRAME)
        describe(
            self.from_frame,
            "From frame",
            "The rule applies from this frame of the connection on (1: every frame)",
        )
        self.then = _combo("ruleThen", {k.value: v for k, v in THEN_LABELS.items()})
        describe(self.then, "Then", "What the rule does after its reply")
        # Three short fields on one row: the editor sits under the rules list, and each row
        # it saves is a row of the Test area in view at 1280x800.
        from_label, then_label = QLabel("&From frame:"), QLabel("&Then:")
        from_label.setBuddy(self.from_frame)
        then_label.setBuddy(self.then)
        tail = line(self.delay, from_label, self.from_frame, then_label, self.then)
        tail.setSpacing(6)
        form_row(form, "&Delay:", tail, self.delay)
        self.continue_matching = QCheckBox("&Continue matching (try the next rules too)")
        self.continue_matching.setObjectName("ruleContinue")
        describe(
            self.continue_matching,
            "Continue matching",
            "Off: the first rule that matches ends the search; on: the next rules are tried too",
        )
        form.addRow("", self.continue_matching)
        self.other_error = FieldError(self, "rule")
        self.other_error.setObjectName("ruleError")
        form.addRow("", self.other_error)
        self.delay.valueChanged.connect(self._edited)
        self.from_frame.valueChanged.connect(self._edited)
        self.then.currentIndexChanged.connect(self._edited)
        self.continue_matching.toggled.connect(self._edited)

    # -- the rule ------------------------------------------------------------------------------

    def set_rule(self, rule: Rule | None) -> None:
        """Fill the fields with ``rule`` (``None``: empty and disabled)."""
        self._filling = True
        try:
            shown = rule if rule is not None else Rule()
            self._enabled = shown.enabled
            self.name.setText(shown.name)
            _select(self.trigger, shown.trigger)
            _select(self.match_kind, shown.match.kind)
            self.pattern.setText(shown.match.pattern)
            _select(self.match_encoding, shown.match.encoding)
            _select(self.reply_mode, shown.reply.mode)
            if self.template.toPlainText() != shown.reply.template:
                self.template.setPlainText(shown.reply.template)
            _select(self.reply_encoding, shown.reply.encoding)
            _select(self.line_ending, shown.reply.line_ending)
            self.delay.setValue(shown.delay_ms)
            self.from_frame.setValue(min(shown.from_frame, _MAX_FROM_FRAME))
            _select(self.then, shown.then)
            self.continue_matching.setChecked(shown.continue_matching)
            self._kinds_changed()
        finally:
            self._filling = False
        self.show_problem(None)
        self.setEnabled(rule is not None)

    def rule(self) -> Rule:
        """The rule the fields say (``enabled`` is the one given to ``set_rule``: the list's
        check box is its control)."""
        return Rule(
            name=self.name.text(),
            trigger=Trigger(_value(self.trigger)),
            match=Match(
                kind=MatchKind(_value(self.match_kind)),
                pattern=self.pattern.text(),
                encoding=_value(self.match_encoding),
            ),
            reply=Reply(
                mode=_value(self.reply_mode),
                template=self.template.toPlainText(),
                encoding=_value(self.reply_encoding),
                line_ending=_value(self.line_ending),
            ),
            delay_ms=self.delay.value(),
            then=Then(_value(self.then)),
            continue_matching=self.continue_matching.isChecked(),
            from_frame=self.from_frame.value(),
            enabled=self._enabled,
        )

    def show_problem(self, error: RuleError | None) -> None:
        """Put ``error`` (the selected rule's, or ``None``) beside its field."""
        field = error.field if error is not None else ""
        where = f"position {error.position}: " if error and error.position is not None else ""
        text = f"{where}{error.reason}" if error is not None else None
        self.match_error.set_error(text if field == "match" else None)
        self.reply_error.set_error(text if field == "reply" else None)
        other = None
        if error is not None and field not in ("match", "reply"):
            other = f"{field}: {text}" if field else text
        self.other_error.set_error(other)
        underline = None
        if error is not None and field == "reply" and error.position is not None:
            underline = codecs.InputError(error.position, error.length, error.reason)
        underline_error(self.template, underline)

    # -- reactions -----------------------------------------------------------------------------

    def _trigger_changed(self) -> None:
        """A rule on open has no frame: it matches ``any`` and runs before frame 1."""
        if not self._filling and _value(self.trigger) == Trigger.OPEN:
            self._filling = True
            try:
                _select(self.match_kind, MatchKind.ANY)
                self.from_frame.setValue(1)
            finally:
                self._filling = False
        self._kinds_changed()

    def _kinds_changed(self) -> None:
        """What applies depends on the kinds chosen: a pattern not for ``any``, an encoding
        not for hex, a line ending not in Hex mode, a match and "from frame" not on open
        (unless a rule came with them set: then they stay editable, to be fixed)."""
        on_open = _value(self.trigger) == Trigger.OPEN
        kind = _value(self.match_kind)
        self.match_kind.setEnabled(not on_open or kind != MatchKind.ANY)
        self.pattern.setEnabled(kind != MatchKind.ANY)
        self.match_encoding.setEnabled(kind not in (MatchKind.ANY, MatchKind.HEX))
        self.from_frame.setEnabled(not on_open or self.from_frame.value() != 1)
        mode = _value(self.reply_mode)
        self.reply_encoding.setEnabled(mode == "Text")
        self.line_ending.setEnabled(line_ending_applies(mode))
        self._edited()

    def _edited(self) -> None:
        if not self._filling:
            self.edited.emit()
