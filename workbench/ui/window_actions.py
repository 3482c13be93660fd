"""The window's actions, its menus and toolbar, and the socket table's context menu.

Every action acts on the selected sockets (Pause/Resume, Disconnect and Close act on all of
them) or on the current one; which of them apply is decided by ``action_states``, from the
sockets' state alone. A selected row may be a listening socket (a server): Pause/Resume then
pause or resume its accepting, Disconnect stops it listening, Close closes it; Connect, Secure
and Send never apply to it, and their tooltips say why (``disabled_reason``). A UDP row pauses
or resumes its reading and closes; it never connects, secures or disconnects (the tooltips say
why), and its datagrams are data the data actions act on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QStyle, QTableView, QToolBar

from workbench.session import SocketRecord, UdpRecord
from workbench.session.controls import (
    AnyRecord,
    Control,
    disabled_reason,
    enabled_controls,
    user_paused,
)
from workbench.session.settings import THEMES
from workbench.ui.server_presets import SERVER_PRESETS
from workbench.ui.theme import PaletteWatcher, palette_icon

__all__ = ["ActionStates", "ActionTarget", "WindowActions", "action_states", "all_paused"]

_SP = QStyle.StandardPixmap


@dataclasses.dataclass(frozen=True)
class ActionStates:
    """Which actions apply now."""

    connect: bool
    secure: bool
    #: Pause/Resume and Close: there are sockets to act on.
    selection: bool
    #: Disconnect: a highlighted socket is connected or connecting.
    disconnect: bool
    #: Clear, Save and the copies: there is a current socket (and its data).
    current: bool
    #: every selected socket is paused: Pause reads Resume.
    resume: bool
    #: the current socket is connected: the composer can send.
    send: bool
    #: (control, why) for the controls the current row's kind never offers (a server's
    #: Connect, Secure, Send; a UDP socket's Connect, Secure, Disconnect): the disabled
    #: action's tooltip.
    reasons: tuple[tuple[Control, str], ...] = ()


#: The actions whose tooltip says why a server or UDP row does not offer them.
_EXPLAINED = (Control.CONNECT, Control.SECURE, Control.SEND, Control.DISCONNECT)


def all_paused(records: Sequence[AnyRecord | None]) -> bool:
    """Every one is paused the way a user can resume (``user_paused``): Pause reads Resume."""
    return bool(records) and all(r is not None and user_paused(r) for r in records)


def action_states(
    current: AnyRecord | None, selected: Sequence[AnyRecord | None]
) -> ActionStates:
    """What applies to ``current`` (the socket the panels show) and ``selected`` (the sockets
    the table's actions act on), by the one rule the panels follow too (``enabled_controls``)."""
    # Connect and Secure use the tabs' forms, which are one socket's: with several rows
    # highlighted they would act on one of them only, so they wait for a single row.
    allowed = enabled_controls(current) if len(selected) <= 1 else frozenset()
    return ActionStates(
        connect=Control.CONNECT in allowed,
        secure=Control.SECURE in allowed,
        selection=bool(selected),
        disconnect=any(
            r is not None and Control.DISCONNECT in enabled_controls(r) for r in selected
        ),
        # A server has no data of its own: Clear, Save and the copies are its connections'.
        # A UDP socket's datagrams are its data.
        current=isinstance(current, SocketRecord | UdpRecord),
        resume=all_paused(selected),
        send=Control.SEND in allowed,
        reasons=tuple(
            (control, why)
            for control in _EXPLAINED
            if (why := disabled_reason(current, control)) is not None
        ),
    )


class ActionTarget(Protocol):
    """What the actions call: the window's commands."""

    def new_socket(self, *args: Any) -> object: ...
    def new_server(self, *args: Any) -> object: ...
    def new_udp_socket(self, *args: Any) -> object: ...
    def new_server_from_preset(self, name: str) -> object: ...
    def connect_current(self, *args: Any) -> object: ...
    def secure_current(self, *args: Any) -> object: ...
    def toggle_pause(self, *args: Any) -> object: ...
    def disconnect_selected(self, *args: Any) -> object: ...
    def close_selected(self, *args: Any) -> object: ...
    def clear_data(self, *args: Any) -> object: ...
    def save_data(self, *args: Any) -> object: ...
    def copy_as_text(self, *args: Any) -> object: ...
    def copy_as_hex(self, *args: Any) -> object: ...
    def find_in_data(self, *args: Any) -> object: ...
    def show_servers(self, *args: Any) -> object: ...
    def show_about(self, *args: Any) -> object: ...
    def set_theme(self, theme: str) -> None: ...
    def quit_window(self, *args: Any) -> object: ...


class WindowActions:
    """The actions (children of the window, which holds their shortcuts), the menus, the
    toolbar and the table's context menu, which all share them."""

    def __init__(self, window: QMainWindow, target: ActionTarget, theme: str) -> None:
        self._window = window
        #: the actions whose icon follows the palette, and that icon's name (``palette_icon``)
        self._palette_icons: dict[QAction, str] = {}
        #: each action's own (tool tip, status tip), shown while no form problem replaces them
        self._tips: dict[QAction, tuple[str, str]] = {}
        self._build_new_actions(target)
        self._build_socket_actions(target)
        self._build_preset_actions(target)
        self._build_data_actions(target)
        self._build_window_actions(target)
        self._build_theme_actions(target, theme)
        self._build_evidence_actions()
        self._palette_watcher = PaletteWatcher(window, self._redraw_icons)

    def _action(
        self,
        name: str,
        text: str,
        tip: str,
        slot: Callable[..., object],
        shortcut: str | QKeySequence.StandardKey | None = None,
        icon: QStyle.StandardPixmap | str | None = None,
    ) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})")
        self._tips[action] = (action.toolTip(), tip)
        if isinstance(icon, str):
            # Drawn in the palette's colours (the standard ones are black on any theme).
            self._palette_icons[action] = icon
            action.setIcon(palette_icon(icon, self._window.palette()))
        elif icon is not None:
            action.setIcon(self._window.style().standardIcon(icon))
        action.triggered.connect(slot)
        self._window.addAction(action)
        return action

    def _build_new_actions(self, t: ActionTarget) -> None:
        """New socket, New server, New UDP socket."""
        a = self._action
        self.new_action = a(
            "newSocketAction",
            "&New socket",
            "Create a new TCP socket",
            t.new_socket,
            "Ctrl+N",
            _SP.SP_FileIcon,
        )
        self.new_server_action = a(
            "newServerAction",
            "New se&rver",
            "Create a listening socket (chrome.sockets.tcpServer); its Listen tab picks the "
            "address and port",
            t.new_server,
            "Ctrl+Shift+N",
            _SP.SP_DriveNetIcon,
        )
        self.new_udp_action = a(
            "newUdpSocketAction",
            "New &UDP socket",
            "Create a UDP socket (chrome.sockets.udp); its Bind tab picks the address and port",
            t.new_udp_socket,
            "Ctrl+Shift+U",
            _SP.SP_ArrowRight,
        )

    def _build_socket_actions(self, t: ActionTarget) -> None:
        a = self._action
        self.connect_action = a(
            "connectAction",
            "&Connect",
            "Connect the selected socket to the address on the Connect tab",
            t.connect_current,
            "Ctrl+K",
            "play",
        )
        self.secure_action = a(
            "secureAction",
            "&Secure",
            "Start TLS on the selected socket with the TLS tab's settings",
            t.secure_current,
            "Ctrl+Shift+S",
            _SP.SP_DialogApplyButton,
        )
        self.pause_action = a(
            "pauseAction",
            "&Pause",
            "Pause or resume receiving on the selected sockets",
            t.toggle_pause,
            "Ctrl+P",
            "pause",
        )
        self.disconnect_action = a(
            "disconnectAction",
            "&Disconnect",
            "Disconnect the selected sockets (they stay in the table)",
            t.disconnect_selected,
            "Ctrl+D",
            "stop",
        )
        self.close_action = a(
            "closeSocketAction",
            "C&lose socket",
            "Close the selected sockets at once (no confirmation)",
            t.close_selected,
            QKeySequence.StandardKey.Delete,
            "close",
        )

    def _build_preset_actions(self, t: ActionTarget) -> None:
        """Socket → New server from preset: one action per preset (``server_presets``)."""
        self.preset_actions: dict[str, QAction] = {}
        for entry in SERVER_PRESETS:
            tip = f"A server on 127.0.0.1 with the {entry.label} rules: {entry.description()}"
            self.preset_actions[entry.name] = self._action(
                f"newServerPreset_{entry.name}",
                entry.label,
                tip,
                lambda _checked=False, name=entry.name: t.new_server_from_preset(name),
            )

    def _build_data_actions(self, t: ActionTarget) -> None:
        a = self._action
        self.clear_action = a(
            "clearDataAction",
            "Clear &data",
            "Forget the selected socket's captured data (asks first; there is no undo)",
            t.clear_data,
            "Ctrl+L",
            _SP.SP_DialogResetButton,
        )
        self.save_action = a(
            "saveDataAction",
            "&Save data…",
            "Save the selected socket's data as raw bytes or a hex dump",
            t.save_data,
            QKeySequence.StandardKey.Save,
            _SP.SP_DialogSaveButton,
        )
        self.copy_text_action = a(
            "copyAsTextAction",
            "Copy as &text (as shown)",
            "Copy the selection (or all the data) as the text view shows it: control characters"
            " and undecodable bytes as the same escapes",
            t.copy_as_text,
            "Ctrl+Shift+C",
        )
        self.copy_hex_action = a(
            "copyAsHexAction",
            "Copy as &hex",
            "Copy the selection (or all the data) as hex byte pairs",
            t.copy_as_hex,
            "Ctrl+Shift+H",
        )
        self.find_action = a(
            "findAction",
            "&Find…",
            "Find text or hex bytes in the selected socket's data",
            t.find_in_data,
            QKeySequence.StandardKey.Find,
        )

    def _build_window_actions(self, t: ActionTarget) -> None:
        a = self._action
        self.quit_action = a(
            "quitAction",
            "&Quit",
            "Close all sockets and quit (asks first when their captures hold data)",
            t.quit_window,
            QKeySequence.StandardKey.Quit,
        )
        self.servers_action = a(
            "localServersAction",
            "&Local servers",
            "Built-in echo, TLS echo, chargen and other test servers",
            t.show_servers,
            "Ctrl+Shift+L",
        )
        self.about_action = a(
            "aboutAction", "&About Socket Workbench", "Versions and licence", t.show_about
        )

    def _build_evidence_actions(self) -> None:
        """File → Export → pcapng… and the global TLS key log: connected by the window's
        commands (``SocketCommands.evidence``), which own what they do."""
        self.export_pcapng_action = QAction("&pcapng…", self._window)
        self.export_pcapng_action.setObjectName("exportPcapngAction")
        tip = (
            "Write the selected sockets (all of them when none is selected) to one pcapng "
            "file that Wireshark follows; TLS sockets as the plaintext the application saw"
        )
        self.export_pcapng_action.setToolTip(tip)
        self.export_pcapng_action.setStatusTip(tip)
        self._window.addAction(self.export_pcapng_action)
        self.global_keylog_action = QAction("Write TLS &keys of every connection to…", self._window)
        self.global_keylog_action.setObjectName("globalKeylogAction")
        self._window.addAction(self.global_keylog_action)

    def _build_theme_actions(self, t: ActionTarget, current: str) -> None:
        self.theme_group = QActionGroup(self._window)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            action = QAction(theme.capitalize(), self._window, checkable=True)
            action.setObjectName(f"theme{theme.capitalize()}Action")
            action.setToolTip(f"Use the {theme} theme")
            action.setChecked(theme == current)
            action.triggered.connect(lambda _checked=False, name=theme: t.set_theme(name))
            self.theme_group.addAction(action)
            self.theme_actions[theme] = action

    # -- where the actions show -------------------------------------------------------------

    def build_menus(self, call_log_dock: QDockWidget) -> None:
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([*self._new_actions(), self.close_action])
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        export_menu = file_menu.addMenu("E&xport")
        export_menu.setObjectName("exportMenu")
        export_menu.setToolTipsVisible(True)
        export_menu.addAction(self.export_pcapng_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.copy_text_action, self.copy_hex_action])
        edit_menu.addAction(self.find_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.clear_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.global_keylog_action)
        self.edit_menu = edit_menu
        socket_menu = bar.addMenu("&Socket")
        socket_menu.addActions(self._new_actions())
        presets = socket_menu.addMenu("New server from &preset")
        presets.setObjectName("newServerPresetMenu")
        presets.setToolTipsVisible(True)
        presets.addActions(list(self.preset_actions.values()))
        self.preset_menu = presets
        socket_menu.addSeparator()
        socket_menu.addActions(self._socket_actions())
        view_menu = bar.addMenu("&View")
        view_menu.addAction(call_log_dock.toggleViewAction())
        theme_menu = view_menu.addMenu("&Theme")
        theme_menu.addActions(list(self.theme_actions.values()))
        self.view_menu = view_menu
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(self.servers_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        for menu in (file_menu, edit_menu, socket_menu, view_menu, tools_menu, help_menu):
            menu.setToolTipsVisible(True)

    def add_edit_toggle(self, action: QAction) -> None:
        """Put a setting's checkable action at the end of the Edit menu, after a separator."""
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(action)

    def add_view_toggle(self, action: QAction) -> None:
        """Put a dock's show/hide action in the View menu, after the call log's."""
        self.view_menu.insertAction(self.view_menu.actions()[1], action)

    def build_toolbar(self) -> None:
        toolbar = QToolBar("Main toolbar", self._window)
        toolbar.setObjectName("mainToolbar")
        toolbar.setAccessibleName("Main toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        toolbar.addActions([*self._new_actions(), *self._socket_actions()])
        toolbar.addSeparator()
        toolbar.addActions(self._data_actions())
        self._window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def attach_table(self, table: QTableView) -> None:
        """Close's shortcut (Delete) on the table, and the table's context menu."""
        # Delete acts on the table only: in a text field it deletes characters.
        self.close_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._window.removeAction(self.close_action)
        table.addAction(self.close_action)
        self._table = table
        table.customContextMenuRequested.connect(self._popup_table_menu)

    def table_menu(self) -> QMenu:
        """The socket table's context menu (the same actions as the toolbar)."""
        menu = QMenu(self._window)
        menu.setObjectName("socketContextMenu")
        menu.setToolTipsVisible(True)
        menu.addActions(self._socket_actions())
        menu.addSeparator()
        menu.addActions(self._data_actions())
        menu.addSeparator()
        menu.addActions(self._new_actions())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu

    def _popup_table_menu(self, pos: QPoint) -> None:
        self.table_menu().popup(self._table.viewport().mapToGlobal(pos))

    def _new_actions(self) -> list[QAction]:
        """New socket, New server, New UDP socket."""
        return [self.new_action, self.new_server_action, self.new_udp_action]

    def _socket_actions(self) -> list[QAction]:
        return [
            self.connect_action,
            self.secure_action,
            self.pause_action,
            self.disconnect_action,
            self.close_action,
        ]

    def _data_actions(self) -> list[QAction]:
        return [self.clear_action, self.save_action, self.copy_text_action, self.copy_hex_action]

    # -- state ------------------------------------------------------------------------------

    def update(
        self,
        states: ActionStates,
        *,
        connect_problem: str | None = None,
        secure_problem: str | None = None,
    ) -> None:
        """Enable what ``states`` allows. ``connect_problem``/``secure_problem``: why the
        Connect/TLS tab's form cannot be used (its button is greyed): the action is greyed
        too, with that reason as its tips, rather than doing nothing when triggered. On a
        server row, the tips say why a server never connects or secures (``states.reasons``)."""
        reasons = dict(states.reasons)
        self._follow_form(
            self.connect_action, states.connect, connect_problem, "Connect",
            reasons.get(Control.CONNECT),
        )
        self._follow_form(
            self.secure_action, states.secure, secure_problem, "TLS", reasons.get(Control.SECURE)
        )
        for action in (self.close_action, self.pause_action):
            action.setEnabled(states.selection)
        # A UDP row's Disconnect says why it has none (its reason), unless another
        # highlighted row can disconnect.
        why_not = None if states.disconnect else reasons.get(Control.DISCONNECT)
        self._follow_form(self.disconnect_action, states.disconnect, None, "", why_not)
        text = "&Resume" if states.resume else "&Pause"
        if self.pause_action.text() != text:
            # Only on a change: a new text or icon relayouts the toolbar and the window.
            self.pause_action.setText(text)
            self._palette_icons[self.pause_action] = "play" if states.resume else "pause"
            self._set_palette_icon(self.pause_action)
        for action in (*self._data_actions(), self.find_action):
            action.setEnabled(states.current)

    def _follow_form(
        self,
        action: QAction,
        allowed: bool,
        problem: str | None,
        tab: str,
        reason: str | None = None,
    ) -> None:
        action.setEnabled(allowed and problem is None)
        tool_tip, status_tip = self._tips[action]
        if reason is not None:
            tool_tip = status_tip = reason
        elif allowed and problem is not None:
            tool_tip = status_tip = f"{problem} (the {tab} tab)"
        if action.toolTip() != tool_tip:
            action.setToolTip(tool_tip)
            action.setStatusTip(status_tip)

    def _redraw_icons(self) -> None:
        for action in self._palette_icons:
            self._set_palette_icon(action)

    def _set_palette_icon(self, action: QAction) -> None:
        action.setIcon(palette_icon(self._palette_icons[action], self._window.palette()))

    def check_theme(self, theme: str) -> None:
        if theme in self.theme_actions:
            self.theme_actions[theme].setChecked(True)
