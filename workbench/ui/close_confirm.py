"""Closing a socket, clearing its data or quitting throws captured data away for good, so each
asks first when there is data to lose. A non-modal box (``open()``, never ``exec()``), with
"Don't ask again" kept in the settings (one setting, ``confirm_close``, for all three).

Quitting also loses unsaved work of other kinds (the Conversations pane's text): each such
``UnsavedWork`` asks its own question first, whatever ``confirm_close`` says (that setting
is about captured data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QMessageBox, QWidget

from workbench.core.formatting import format_size
from workbench.session.settings import Settings

__all__ = ["CloseConfirmation", "UnsavedWork"]

_Button = QMessageBox.StandardButton


class UnsavedWork(Protocol):
    """Work that quitting would lose and that asks about it on its own."""

    @property
    def unsaved(self) -> bool: ...

    def ask_then(self, proceed: Callable[[], object], doing: str) -> bool:
        """Run ``proceed`` now (True) or once the user said to (False)."""
        ...


class CloseConfirmation:
    """The window's confirmations; ``box`` is the one open now (``None`` when none is)."""

    def __init__(self, parent: QWidget, settings: Settings) -> None:
        self._parent = parent
        self._settings = settings
        self.box: QMessageBox | None = None
        self._unsaved: list[UnsavedWork] = []
        #: The Edit menu's way back from "Don't ask again": the same setting, checkable.
        self.ask_action = QAction("&Ask before discarding captured data", parent)
        self.ask_action.setObjectName("confirmDiscardAction")
        self.ask_action.setCheckable(True)
        self.ask_action.setChecked(settings.confirm_close)
        self.ask_action.setToolTip(
            "Ask before closing a socket, clearing its data or quitting throws captured data away"
        )
        self.ask_action.toggled.connect(self._set_asking)

    def _set_asking(self, on: bool) -> None:
        self._settings.confirm_close = on

    def ask(self, sids: Sequence[int], captured: int, close: Callable[[], object]) -> bool:
        """Run ``close`` now when nothing would be lost or the user said not to ask; else ask,
        and run it once the user says Close. True when it ran (or will not be asked)."""
        which = f"socket {sids[0]}" if len(sids) == 1 else f"{len(sids)} sockets"
        return self._ask(
            captured,
            "Close sockets",
            f"Close {which}? {format_size(captured)} of captured data will be gone; "
            "there is no undo.",
            _Button.Close,
            close,
        )

    def add_unsaved(self, work: UnsavedWork) -> None:
        """Quitting asks about ``work`` too (before the captured data)."""
        self._unsaved.append(work)

    def asks_quit(self, captured: int) -> bool:
        """Whether quitting now, with ``captured`` bytes in all, would ask anything."""
        data = captured > 0 and self._settings.confirm_close
        return data or any(work.unsaved for work in self._unsaved)

    def ask_quit(self, sockets: int, captured: int, quit_now: Callable[[], object]) -> bool:
        """Quitting: unsaved work asks first; then ``sockets`` sockets hold ``captured`` bytes
        in all (persistent ones too: only their settings outlive the window, never their
        captures)."""
        holds = "1 socket holds" if sockets == 1 else f"{sockets} sockets hold"

        def ask_data() -> bool:
            return self._ask(
                captured,
                "Quit",
                f"Quit? {holds} {format_size(captured)} of captured data; it will be gone.",
                "&Quit",
                quit_now,
            )

        return self._unsaved_first(list(self._unsaved), ask_data)

    def _unsaved_first(self, works: list[UnsavedWork], then: Callable[[], bool]) -> bool:
        """Each of ``works`` asks in turn (when it has anything unsaved), then ``then``."""
        if not works:
            return then()
        head, rest = works[0], works[1:]
        if not head.unsaved:
            return self._unsaved_first(rest, then)
        head.ask_then(lambda: self._unsaved_first(rest, then), "quitting")
        return False

    def ask_clear(self, sid: int, captured: int, clear: Callable[[], object]) -> bool:
        """Clear data on socket ``sid``, whose capture holds ``captured`` bytes."""
        return self._ask(
            captured,
            "Clear data",
            f"Clear the {format_size(captured)} captured on socket {sid}? There is no undo.",
            "C&lear",
            clear,
        )

    def _ask(
        self,
        captured: int,
        title: str,
        text: str,
        yes: QMessageBox.StandardButton | str,
        run: Callable[[], object],
    ) -> bool:
        if captured == 0 or not self._settings.confirm_close:
            run()
            return True
        if self.box is not None:
            # One question at a time: a second Ctrl+Q while the box is open only raises it.
            self.box.raise_()
            self.box.activateWindow()
            return False
        box = QMessageBox(QMessageBox.Icon.Question, title, text, _Button.NoButton, self._parent)
        box.setObjectName("closeConfirmation")
        accept: QAbstractButton | None
        if isinstance(yes, str):
            accept = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        else:
            box.addButton(yes)
            accept = box.button(yes)
        box.addButton(_Button.Cancel)
        box.setDefaultButton(_Button.Cancel)
        again = QCheckBox("Don't ask again")
        again.setObjectName("closeConfirmationDontAsk")
        box.setCheckBox(again)

        def answered(_result: int) -> None:
            self.box = None
            if box.clickedButton() is accept:
                if again.isChecked():
                    self.ask_action.setChecked(False)  # and so the setting
                run()

        box.finished.connect(answered)
        self.box = box
        box.open()
        return False

    def accept_button(self) -> QAbstractButton | None:
        """The open box's button that goes ahead (Close, Quit or Clear)."""
        box = self.box
        if box is None:
            return None
        for button in box.buttons():
            if (
                box.buttonRole(button)
                in (QMessageBox.ButtonRole.AcceptRole, QMessageBox.ButtonRole.RejectRole)
                and box.standardButton(button) != _Button.Cancel
            ):
                return button
        return None
