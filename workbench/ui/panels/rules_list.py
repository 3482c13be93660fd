"""The ordered list of a server's drafted rules: add, remove, move up and down, turn on and off,
each row with its live hit count and, when it has one, its problem.

A row is a :class:`DraftRule`: the rule as drafted, and ``applied``, its index in the rules in
force (the rules applied to the server) whose hit count it shows; a new row has none until the
rules are applied. Moving or editing a row keeps its count: it is still that rule.

Signals:
    selected(int): the current row changed (-1: none).
    changed(): rows were added, removed, moved or turned on or off.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from workbench.core.rules import MatchKind, Rule, RuleError, Then, Trigger
from workbench.ui.panels.rules_editor import MATCH_LABELS, THEN_LABELS
from workbench.ui.panels.widgets import ERROR_COLOR, describe, line

__all__ = ["DraftRule", "RulesList", "rule_summary"]

#: How much of a pattern or template a row shows.
_PREVIEW = 32


@dataclasses.dataclass
class DraftRule:
    rule: Rule
    applied: int | None = None


def _short(text: str) -> str:
    one = text.replace("\n", "⏎")
    return one if len(one) <= _PREVIEW else one[: _PREVIEW - 1] + "…"


def rule_summary(rule: Rule) -> str:
    """``PING: Regex (?i)\\APING\\Z → "+PONG", then close``: a row's text."""
    name = rule.name or "(unnamed)"
    if rule.trigger is Trigger.OPEN:
        when = "on open"
    elif rule.match.kind is MatchKind.ANY:
        when = "any frame"
    else:
        when = f"{MATCH_LABELS[rule.match.kind]} {_short(rule.match.pattern)}"
    if rule.from_frame > 1 and rule.trigger is Trigger.FRAME:
        when += f" from frame {rule.from_frame}"
    reply = f'"{_short(rule.reply.template)}"' if rule.reply.template else "nothing"
    then = "" if rule.then is Then.NOTHING else f", then {THEN_LABELS[rule.then].lower()}"
    more = ", continue" if rule.continue_matching else ""
    return f"{name}: {when} → {reply}{then}{more}"


class RulesList(QWidget):
    """The rows and their buttons; see the module docstring."""

    selected = Signal(int)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[DraftRule] = []
        self._hits: tuple[int, ...] = ()
        self._faults: dict[int, str] = {}
        self._problems: dict[int, RuleError] = {}
        self._filling = False
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.view = QListWidget()
        self.view.setObjectName("rulesList")
        describe(
            self.view,
            "Rules",
            "Tried top to bottom on each frame; the box turns a rule on or off; the count is "
            "its hits across the server's connections",
        )
        # Five rows in view at least: the editor goes under the list, so the list's height
        # is what the tab can spare (a preset's rules fit).
        self.view.setMinimumHeight(self.view.fontMetrics().lineSpacing() * 5 + 8)
        box.addWidget(self.view, 1)
        self.add_button = self._button("addRuleButton", "&Add", "Add a rule at the end")
        self.remove_button = self._button("removeRuleButton", "Remo&ve", "Remove the rule")
        self.up_button = self._button("moveRuleUpButton", "&Up", "Try the rule earlier")
        self.down_button = self._button("moveRuleDownButton", "Do&wn", "Try the rule later")
        #: The row of buttons under the list (the panel adds its Presets button to it).
        self.buttons = line(self.add_button, self.remove_button, self.up_button, self.down_button)
        box.addLayout(self.buttons)
        self.add_button.clicked.connect(lambda: self.add(Rule(name=f"rule {len(self.rows) + 1}")))
        self.remove_button.clicked.connect(self.remove_current)
        self.up_button.clicked.connect(lambda: self.move_current(-1))
        self.down_button.clicked.connect(lambda: self.move_current(1))
        self.view.currentRowChanged.connect(self._current_changed)
        self.view.itemChanged.connect(self._item_changed)
        self._update_buttons()

    def _button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        describe(button, text.replace("&", ""), tip)
        return button

    # -- rows ----------------------------------------------------------------------------------

    def current(self) -> int:
        return self.view.currentRow()

    def set_rows(self, rows: list[DraftRule]) -> None:
        """Show ``rows`` (the list is the caller's: edits go into it), the first selected."""
        self.rows = rows
        self._rebuild(0 if rows else -1)

    def add(self, rule: Rule) -> None:
        self.rows.append(DraftRule(rule))
        self._rebuild(len(self.rows) - 1)
        self.changed.emit()

    def remove_current(self) -> None:
        row = self.current()
        if 0 <= row < len(self.rows):
            del self.rows[row]
            self._rebuild(min(row, len(self.rows) - 1))
            self.changed.emit()

    def move_current(self, step: int) -> None:
        row = self.current()
        other = row + step
        if 0 <= row < len(self.rows) and 0 <= other < len(self.rows):
            self.rows[row], self.rows[other] = self.rows[other], self.rows[row]
            self._rebuild(other)
            self.changed.emit()

    def set_rule(self, row: int, rule: Rule) -> None:
        """The editor changed row ``row``'s rule."""
        if 0 <= row < len(self.rows):
            self.rows[row].rule = rule
            self._show_row(row)

    # -- what the rows show ----------------------------------------------------------------------

    def show_state(
        self, hits: tuple[int, ...], faults: dict[int, str], problems: dict[int, RuleError]
    ) -> None:
        """The live counts and faults of the rules in force, and the drafted rows' problems."""
        self._hits, self._faults, self._problems = hits, faults, problems
        for row in range(len(self.rows)):
            self._show_row(row)

    def _rebuild(self, current: int) -> None:
        self._filling = True
        try:
            self.view.clear()
            for _ in self.rows:
                item = QListWidgetItem()
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self.view.addItem(item)
            for row in range(len(self.rows)):
                self._show_row(row)
            self.view.setCurrentRow(current)
        finally:
            self._filling = False
        self._current_changed(current)

    def _show_row(self, row: int) -> None:
        if not 0 <= row < self.view.count():
            return
        item = self.view.item(row)
        draft = self.rows[row]
        text = f"{row + 1}. {rule_summary(draft.rule)}"
        tip = ""
        applied = draft.applied
        if applied is not None and applied < len(self._hits):
            hits = self._hits[applied]
            text += f"  · {hits:,} hit{'' if hits == 1 else 's'}"
            if applied in self._faults:
                text += "  · failed, disabled"
                tip = self._faults[applied]
        problem = self._problems.get(row)
        if problem is not None:
            text = f"⚠ {text}"
            tip = str(problem)
        filling, self._filling = self._filling, True
        try:
            if item.text() != text:
                item.setText(text)
            item.setToolTip(tip)
            item.setForeground(QBrush(QColor(ERROR_COLOR)) if tip else QBrush())
            state = Qt.CheckState.Checked if draft.rule.enabled else Qt.CheckState.Unchecked
            if item.checkState() != state:
                item.setCheckState(state)
        finally:
            self._filling = filling

    # -- reactions -----------------------------------------------------------------------------

    def _current_changed(self, row: int) -> None:
        if not self._filling:
            self._update_buttons()
            self.selected.emit(row)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        row = self.view.row(item)
        enabled = item.checkState() == Qt.CheckState.Checked
        if 0 <= row < len(self.rows) and self.rows[row].rule.enabled != enabled:
            self.rows[row].rule = dataclasses.replace(self.rows[row].rule, enabled=enabled)
            self._show_row(row)
            self.changed.emit()

    def _update_buttons(self) -> None:
        row = self.current()
        has = 0 <= row < len(self.rows)
        self.remove_button.setEnabled(has)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < len(self.rows) - 1)
