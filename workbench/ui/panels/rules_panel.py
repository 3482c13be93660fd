"""The response rules of one listening socket (objectName ``responseRules``; docs/rules.md).

The panel drafts a server's rules: its framing (``rulesFraming``: per chunk, per line, or a
fixed length), the ordered rule list (``rules_list``) and, for the selected rule, its editor
(``rules_editor``). Nothing reaches the server until Apply (``applyRulesButton``), which calls
``ServerRules.set_rules`` (``session.rules``): all or nothing, for the connections accepted from
then on. Every edit checks the whole draft (``check_rules``): a problem is shown beside its
field and marked on its row, and Apply is disabled while there is one. Revert brings back the
rules in force. The draft of each server is kept while the panel lives, so switching servers
loses no edit.

Presets (``rulesPresetsButton``) fill the draft with a built-in server's rules or one of the
README's examples; the Test area (``rules_trial``) runs the draft on sample input.

Live hit counts: ``ServerRules.hits_moved`` tells at most once between two reads of the counts,
and the panel reads them at the window's coalescing rate (``TICK_MS``), never per frame.

The panel works standalone: ``RulesPanel(session)`` with the window's ``SocketSession`` or a
plain ``Session``, then ``set_server(key_or_id)``.

UDP sockets: given the session's ``UdpRules`` (``RulesPanel(session, udp_rules=...)``), the
panel follows a UDP socket with ``set_udp(udp_id)`` (or ``set_target(SocketKey)`` for either
kind). Then each datagram is one frame: the framing reads "Per datagram" and cannot be
changed, the draft is checked with ``check_udp_rules`` (close, reset, start TLS and rules on
connection open are refused beside their field, with the reason), presets UDP cannot carry out
are disabled, and the Test area feeds the sample as one datagram. Apply answers the datagrams
received from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

import shiboken6
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import SocketNotFoundError
from workbench.core.events import Event
from workbench.core.rules import (
    MAX_FRAME_LIMIT,
    FrameKind,
    Framing,
    RuleError,
    RuleSet,
    check_rules,
)
from workbench.core.rules_presets import Preset, preset
from workbench.core.rules_udp import check_udp_rules
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.registry import Registry
from workbench.session.session import Session
from workbench.session.udp_rules import UdpRules
from workbench.ui.bridge import TICK_MS, SocketSession
from workbench.ui.panels.rules_editor import RuleEditor, stacked
from workbench.ui.panels.rules_list import DraftRule, RulesList
from workbench.ui.panels.rules_trial import RulesTrial
from workbench.ui.panels.section import Section
from workbench.ui.panels.widgets import (
    ERROR_COLOR,
    OK_COLOR,
    FieldError,
    ResultLabel,
    byte_count_suffix,
    compact_form,
    describe,
    form_row,
    line,
)
from workbench.ui.throttle import Throttle

__all__ = ["PRESET_MENU", "PRESET_N", "RulesPanel"]

#: The N of the "after N" presets, in the Rules tab and in Socket → New server from preset
#: (received chunks: the rule's "From frame", which the user can then edit).
PRESET_N = 3

#: The presets menu, in order: (preset, label).
PRESET_MENU: tuple[tuple[Preset, str], ...] = (
    (Preset.ECHO, "Echo"),
    (Preset.DISCARD, "Discard"),
    (Preset.CLOSE_AFTER, f"Close after {PRESET_N} frames"),
    (Preset.RESET_AFTER, f"Reset after {PRESET_N} frames"),
    (Preset.SMTP, "SMTP greeting"),
    (Preset.REDIS, "Redis PING → +PONG"),
    (Preset.HTTP, "HTTP 200"),
)

_FRAMINGS = {
    FrameKind.CHUNK: "Per received chunk",
    FrameKind.LINE: "Per line (LF or CRLF)",
    FrameKind.FIXED: "Fixed length",
}


class _RuleStore(Protocol):
    """What the panel needs of ``ServerRules`` and of ``UdpRules`` (by socket id)."""

    @property
    def hits_moved(self) -> Event[int]: ...

    def ruleset(self, socket_id: int, /) -> RuleSet | None: ...

    def set_rules(self, socket_id: int, ruleset: RuleSet, /) -> list[RuleError]: ...

    def hit_counts(self, socket_id: int, /) -> tuple[int, ...]: ...

    def faults(self, socket_id: int, /) -> dict[int, str]: ...


def _udp_ruleset(ruleset: RuleSet) -> RuleSet:
    """``ruleset`` as a UDP socket frames it: one frame per datagram."""
    return RuleSet(rules=ruleset.rules)


class _Draft:
    """A server's rules as drafted: framing and rows; ``applied`` is the rule set in force
    when the draft was made (or last applied), so the panel sees rules changed elsewhere."""

    def __init__(self, applied: RuleSet | None) -> None:
        shown = applied if applied is not None else RuleSet()
        self.framing = shown.framing
        self.rows = [DraftRule(rule, index) for index, rule in enumerate(shown.rules)]
        self.applied = applied
        self.edited = False

    def ruleset(self) -> RuleSet:
        return RuleSet(framing=self.framing, rules=tuple(row.rule for row in self.rows))


class RulesPanel(QWidget):
    """A server's (or a UDP socket's) response rules; see the module docstring."""

    def __init__(
        self,
        session: SocketSession | Session,
        parent: QWidget | None = None,
        *,
        udp_rules: UdpRules | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("responseRules")
        core = session.core if isinstance(session, SocketSession) else session
        self._server_rules = core.rules
        self._udp_rules = udp_rules
        self._rules: _RuleStore = core.rules
        self._registry = core.registry
        self._target: SocketKey | None = None
        self._sid: int | None = None
        self._drafts: dict[SocketKey, _Draft] = {}
        self._draft = _Draft(None)
        self._problems: list[RuleError] = []
        self._filling = False
        self._throttle = Throttle(self.refresh_hits, TICK_MS, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(self._build_framing())
        box.addLayout(self._build_rules(), 1)
        box.addLayout(self._build_apply())
        self.trial = RulesTrial(self._valid_draft)
        # Folded until wanted: the rules and their editor fill the tab at 1280x800.
        self.test_section = Section(
            "Test", "rulesTestSection", "Run the drafted rules on sample input, without a client"
        )
        QVBoxLayout(self.test_section.body).addWidget(self.trial)
        box.addWidget(self.test_section)
        self._stores: tuple[_RuleStore, ...] = (core.rules,)
        self._stores += (udp_rules,) if udp_rules is not None else ()
        for store in self._stores:
            store.hits_moved.add_listener(self._hits_moved)
        self._registry.removed.add_listener(self._removed)
        self.destroyed.connect(
            partial(_unlisten, self._stores, self._registry, self._hits_moved, self._removed)
        )
        self.set_server(None)

    # -- building ------------------------------------------------------------------------------

    def _build_framing(self) -> QFormLayout:
        form = compact_form(QFormLayout())
        self.framing = QComboBox()
        self.framing.setObjectName("rulesFraming")
        for kind, label in _FRAMINGS.items():
            self.framing.addItem(label, kind.value)
        describe(self.framing, "Framing", "How received bytes are cut into the frames rules match")
        self.frame_length = QSpinBox()
        self.frame_length.setObjectName("rulesFrameLength")
        self.frame_length.setRange(1, MAX_FRAME_LIMIT)
        byte_count_suffix(self.frame_length)
        describe(self.frame_length, "Frame length", "The length of each frame (fixed framing)")
        self.framing_error = FieldError(self.framing, "framing")
        self.framing_error.setObjectName("rulesFramingError")
        form_row(
            form,
            "F&raming:",
            stacked(line(self.framing, self.frame_length), self.framing_error),
            self.framing,
        )
        self.framing.currentIndexChanged.connect(self._framing_edited)
        self.frame_length.valueChanged.connect(self._framing_edited)
        return form

    def _build_rules(self) -> QVBoxLayout:
        self.rules_list = RulesList()
        self.presets = QToolButton()
        self.presets.setObjectName("rulesPresetsButton")
        self.presets.setText("&Presets")
        self.presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        describe(self.presets, "Presets", "Fill the list with a built-in server's rules")
        menu = QMenu(self.presets)
        menu.setObjectName("rulesPresetsMenu")
        self.preset_actions: dict[Preset, QAction] = {}
        for kind, label in PRESET_MENU:
            action = menu.addAction(label)
            action.setObjectName(f"rulesPreset_{kind.value}")
            action.triggered.connect(partial(self.load_preset, kind))
            self.preset_actions[kind] = action
        self.presets.setMenu(menu)
        buttons = self.rules_list.buttons
        buttons.insertWidget(buttons.count() - 1, self.presets)  # before the line's stretch
        self.editor = RuleEditor()
        # The editor under the list, not beside it: at 1280x800 the tab is about 640 pixels
        # wide, and the editor's match and reply rows need all of it.
        row = QVBoxLayout()
        row.addWidget(self.rules_list, 1)
        row.addWidget(self.editor)
        self.rules_list.selected.connect(self._selected)
        self.rules_list.changed.connect(self._rows_changed)
        self.editor.edited.connect(self._rule_edited)
        return row

    def _build_apply(self) -> QHBoxLayout:
        self.apply_button = QPushButton("Appl&y rules")
        self.apply_button.setObjectName("applyRulesButton")
        describe(
            self.apply_button,
            "Apply rules",
            "Use these rules for the connections the server accepts from now on",
        )
        self.revert_button = QPushButton("Re&vert")
        self.revert_button.setObjectName("revertRulesButton")
        describe(self.revert_button, "Revert", "Bring back the rules in force")
        self.result = ResultLabel("rules")
        self.result.setObjectName("rulesResult")
        self.result.setToolTip("Whether the rules were applied, or why not")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button.clicked.connect(self.revert)
        return line(self.apply_button, self.revert_button, self.result, stretch=2)

    # -- the server ----------------------------------------------------------------------------

    def server_id(self) -> int | None:
        """The listening socket shown (``None``: none, or a UDP socket)."""
        target = self._target
        return target.id if target is not None and target.kind is SocketKind.TCP_SERVER else None

    def udp_id(self) -> int | None:
        """The UDP socket shown (``None``: none, or a listening socket)."""
        target = self._target
        return target.id if target is not None and target.kind is SocketKind.UDP else None

    def target(self) -> SocketKey | None:
        return self._target

    def set_server(self, server: SocketKey | int | None) -> None:
        """Show the rules of listening socket ``server`` (its key or id; ``None``: none, the
        panel disables itself). Its draft is kept: coming back shows the edits."""
        if isinstance(server, SocketKey):
            if server.kind is not SocketKind.TCP_SERVER:
                raise ValueError(f"not a listening socket: {server}")
            server = server.id
        self.set_target(SocketKey(SocketKind.TCP_SERVER, server) if server is not None else None)

    def set_udp(self, udp_id: int | None) -> None:
        """Show the rules of UDP socket ``udp_id`` (``None``: none, the panel disables
        itself); ``RuntimeError`` if the panel was made without ``udp_rules``."""
        self.set_target(SocketKey(SocketKind.UDP, udp_id) if udp_id is not None else None)

    def set_target(self, key: SocketKey | None) -> None:
        """Show the rules of a listening socket or a UDP socket (``None``: none)."""
        if key is not None and key == self._target:
            return
        if key is not None and key.kind is SocketKind.UDP:
            if self._udp_rules is None:
                raise RuntimeError("this rules panel was made without the session's UdpRules")
            self._rules = self._udp_rules
        elif key is not None and key.kind is not SocketKind.TCP_SERVER:
            raise ValueError(f"no response rules on {key}")
        else:
            self._rules = self._server_rules
        self._target = key
        self._sid = key.id if key is not None else None
        if key is None:
            self._draft = _Draft(None)
        else:
            self._draft = self._drafts.setdefault(key, _Draft(self._rules.ruleset(key.id)))
        self._show_kind()
        self.setEnabled(key is not None)
        self.result.clear_result()
        self.trial.clear()
        self._show_draft()

    def _udp(self) -> bool:
        return self._target is not None and self._target.kind is SocketKind.UDP

    def _show_kind(self) -> None:
        """Framing, presets, the test and the tooltips for the kind of socket shown."""
        udp = self._udp()
        self.framing.setItemText(0, "Per datagram" if udp else _FRAMINGS[FrameKind.CHUNK])
        self.framing.setEnabled(not udp)
        for kind, action in self.preset_actions.items():
            action.setEnabled(not udp or not check_udp_rules(_udp_ruleset(preset(kind, PRESET_N))))
        self.trial.set_datagrams(udp)
        what = "datagrams the UDP socket receives" if udp else "connections the server accepts"
        self.apply_button.setToolTip(f"Use these rules for the {what} from now on")

    def ruleset(self) -> RuleSet:
        """The rules as drafted now (applied or not)."""
        return self._draft.ruleset()

    def problems(self) -> list[RuleError]:
        """The draft's problems (Apply is refused while there is one)."""
        return list(self._problems)

    def set_ruleset(self, ruleset: RuleSet) -> None:
        """Replace the draft by ``ruleset`` (not applied: Apply does that); on a UDP socket
        its framing is per datagram."""
        if self._udp():
            ruleset = _udp_ruleset(ruleset)
        draft = _Draft(None)
        draft.framing = ruleset.framing
        draft.rows = [DraftRule(rule) for rule in ruleset.rules]
        draft.applied = self._draft.applied
        draft.edited = True
        self._draft = draft
        if self._target is not None:
            self._drafts[self._target] = draft
        self._show_draft()

    def load_preset(self, kind: Preset | str, _checked: bool = False) -> None:
        """Fill the draft with a preset's rules (``PRESET_N`` for the "after N" ones)."""
        self.set_ruleset(preset(kind, PRESET_N))
        self.result.show_message("Preset loaded: Apply to use it.", None)

    # -- apply ---------------------------------------------------------------------------------

    def apply(self) -> list[RuleError]:
        """Apply the draft to the socket; its problems if it was refused (``[]``: applied)."""
        sid, target = self._sid, self._target
        if sid is None or target is None:
            return []
        try:
            problems = self._problems or self._rules.set_rules(sid, self.ruleset())
        except SocketNotFoundError:  # closed meanwhile: its removal clears the panel next
            what = "socket" if self._udp() else "server"
            self.result.show_message(f"Not applied: the {what} was closed.", ERROR_COLOR)
            return []
        if problems:
            noun = "problem" if len(problems) == 1 else "problems"
            self.result.show_message(
                f"Not applied: {len(problems)} {noun}. {problems[0]}", ERROR_COLOR
            )
            return list(problems)
        self._draft = self._drafts[target] = _Draft(self._rules.ruleset(sid))
        count = len(self._draft.rows)
        what = "datagrams received" if self._udp() else "connections accepted"
        self.result.show_message(
            f"Applied: {count} rule{'' if count == 1 else 's'}, for the {what} from now on.",
            OK_COLOR,
        )
        self._show_draft()
        return []

    def revert(self) -> None:
        """Drop the draft's edits: the rules in force again."""
        if self._sid is not None and self._target is not None:
            self._draft = self._drafts[self._target] = _Draft(self._rules.ruleset(self._sid))
            self.result.clear_result()
            self._show_draft()

    # -- live counts ---------------------------------------------------------------------------

    def refresh_hits(self) -> None:
        """Show the live hit counts and faults of the rules in force (and take rules applied
        elsewhere, unless the draft has edits)."""
        sid, target = self._sid, self._target
        if sid is None or target is None:
            return
        in_force = self._rules.ruleset(sid)
        if in_force != self._draft.applied and not self._draft.edited:
            self._draft = self._drafts[target] = _Draft(in_force)
            self._show_draft()
            return
        self.rules_list.show_state(
            self._rules.hit_counts(sid), self._rules.faults(sid), self._problem_rows()
        )

    def _hits_moved(self, socket_id: int) -> None:
        # Server and UDP ids are separate sequences: a move of the other kind's socket with
        # the same id costs one repaint at the tick, never a wrong one.
        if socket_id == self._sid:
            self._throttle()

    def _removed(self, key: SocketKey) -> None:
        self._drafts.pop(key, None)
        if key == self._target:
            self.set_target(None)

    def shutdown(self) -> None:
        """Stop listening to the session (the panel is going away, or is gone)."""
        if shiboken6.isValid(self._throttle):
            self._throttle.stop()
        _unlisten(self._stores, self._registry, self._hits_moved, self._removed)

    # -- the draft -----------------------------------------------------------------------------

    def _show_draft(self) -> None:
        self._filling = True
        try:
            framing = self._draft.framing
            self.framing.setCurrentIndex(max(0, self.framing.findData(framing.kind.value)))
            self.frame_length.setValue(max(1, min(framing.length, MAX_FRAME_LIMIT)))
            self.frame_length.setEnabled(framing.kind is FrameKind.FIXED)
        finally:
            self._filling = False
        self.rules_list.set_rows(self._draft.rows)
        self._check()

    def _framing_edited(self) -> None:
        if self._filling:
            return
        kind = FrameKind(str(self.framing.currentData()))
        self.frame_length.setEnabled(kind is FrameKind.FIXED)
        length = self.frame_length.value() if kind is FrameKind.FIXED else 0
        self._draft.framing = Framing(
            kind=kind, length=length, max_line=self._draft.framing.max_line
        )
        self._edited()

    def _selected(self, row: int) -> None:
        rows = self._draft.rows
        self.editor.set_rule(rows[row].rule if 0 <= row < len(rows) else None)
        self._show_selected_problem()

    def _rule_edited(self) -> None:
        self.rules_list.set_rule(self.rules_list.current(), self.editor.rule())
        self._edited()

    def _rows_changed(self) -> None:
        self._edited()

    def _edited(self) -> None:
        self._draft.edited = True
        self.result.clear_result()
        self._check()

    def _check(self) -> None:
        """Check the whole draft; show each problem where it belongs."""
        check = check_udp_rules if self._udp() else check_rules
        self._problems = check(self.ruleset())
        framing = next((p for p in self._problems if p.index is None), None)
        self.framing_error.set_error(str(framing) if framing is not None else None)
        self._show_selected_problem()
        self.apply_button.setEnabled(self._sid is not None and not self._problems)
        self.revert_button.setEnabled(self._sid is not None and self._draft.edited)
        self._show_state()

    def _show_state(self) -> None:
        sid = self._sid
        hits = self._rules.hit_counts(sid) if sid is not None else ()
        faults = self._rules.faults(sid) if sid is not None else {}
        self.rules_list.show_state(hits, faults, self._problem_rows())

    def _problem_rows(self) -> dict[int, RuleError]:
        return {p.index: p for p in self._problems if p.index is not None}

    def _show_selected_problem(self) -> None:
        self.editor.show_problem(self._problem_rows().get(self.rules_list.current()))

    def _valid_draft(self) -> RuleSet | None:
        return None if self._problems else self.ruleset()


def _unlisten(
    stores: tuple[_RuleStore, ...],
    registry: Registry,
    hits: Callable[[int], object],
    removed: Callable[[SocketKey], object],
    *_signal_args: object,
) -> None:
    """Remove the panel's listeners (also when Qt deletes it: no call into a dead widget)."""
    for store in stores:
        store.hits_moved.remove_listener(hits)
    registry.removed.remove_listener(removed)
