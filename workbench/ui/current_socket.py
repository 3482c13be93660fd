"""The current socket: the one the panels, the data pane and the composer show.

It is the highlighted row the table's cursor is on, and nothing else: when no row is
highlighted (a click below the rows, a closed socket), there is no current socket and the
panels and actions have nothing to act on. A closed socket's neighbour does not silently
become the target. Whatever is current, the actions and the data pane's note follow it.

A row is a TCP socket, a listening socket (a server) or a UDP socket: ``key`` names any,
``sid`` is the TCP socket's id (``None`` on another row). A server row has no data, composer
or TCP panels of its own: the tabs show its Listen and Rules panels, in the room of the data
pane and the composer, hidden meanwhile. A UDP row (``udp_id``) has its UDP tabs, and its
datagrams in the data pane; the composer shows, told of it through ``udpChanged``.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from workbench.session import ServerRecord, SocketKey, SocketKind
from workbench.session.controls import AnyRecord, send_refusal
from workbench.ui.bridge import SocketSession
from workbench.ui.close_confirm import CloseConfirmation
from workbench.ui.composer import SendComposer
from workbench.ui.data_view import DataPane
from workbench.ui.socket_table import SocketTable
from workbench.ui.socket_tabs import SocketTabs
from workbench.ui.window_actions import WindowActions, action_states

__all__ = ["CurrentSocket"]


class CurrentSocket(QObject):
    """The window's current socket, and the views that follow it.

    Signals:
        changed(object): the current TCP socket id (``int`` or ``None``, also on a server row).
        keyChanged(object): the current row's ``SocketKey`` (or ``None``), whatever its kind.
        udpChanged(object): the current UDP socket id (``int``, or ``None`` when no UDP row
            is current): what the composer sends datagrams from.
    """

    changed = Signal(object)
    keyChanged = Signal(object)
    udpChanged = Signal(object)

    def __init__(
        self,
        session: SocketSession,
        table: SocketTable,
        tabs: SocketTabs,
        data_pane: DataPane,
        composer: SendComposer,
        actions: WindowActions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._table = table
        self._tabs = tabs
        self._data_pane = data_pane
        self._composer = composer
        self._actions = actions
        self._key: SocketKey | None = None
        self._sid: int | None = None
        table.currentKeyChanged.connect(self._cursor_moved)
        table.selectedSocketsChanged.connect(self._selection_changed)
        session.socketAdded.connect(self._added)
        session.socketRemoved.connect(self._removed)
        session.socketStatesChanged.connect(self._changed)
        session.dataArrived.connect(self._data_arrived)
        session.serverAdded.connect(self._server_added)
        session.serverRemoved.connect(self._server_removed)
        session.serversChanged.connect(self._servers_changed)
        session.udpAdded.connect(self._udp_added)
        session.udpRemoved.connect(self._udp_removed)
        session.udpChanged.connect(self._udp_changed)
        self.udpChanged.connect(composer.set_udp)  # the composer sends from the UDP row
        session.udpDataArrived.connect(self._udp_data_arrived)
        # The toolbar's Connect and Secure follow their tab's form as the tab's buttons do.
        tabs.connect_panel.formErrorChanged.connect(self.update_actions)
        tabs.tls_panel.formErrorChanged.connect(self.update_actions)

    @property
    def sid(self) -> int | None:
        """The current TCP socket (``None`` with no row, or a server row, current)."""
        return self._sid

    @property
    def key(self) -> SocketKey | None:
        """The current row's socket, whatever its kind."""
        return self._key

    @property
    def server_id(self) -> int | None:
        """The current server (``None`` unless a server row is current)."""
        key = self._key
        return key.id if key is not None and key.kind is SocketKind.TCP_SERVER else None

    @property
    def udp_id(self) -> int | None:
        """The current UDP socket (``None`` unless a UDP row is current)."""
        key = self._key
        return key.id if key is not None and key.kind is SocketKind.UDP else None

    @property
    def data_key(self) -> SocketKey | None:
        """The current row when it has data of its own (a TCP or a UDP socket), else None."""
        key = self._key
        return key if key is not None and key.kind is not SocketKind.TCP_SERVER else None

    def selected(self) -> list[int]:
        """The highlighted rows' TCP sockets."""
        return self._table.selected_ids()

    def selected_keys(self) -> list[SocketKey]:
        """The highlighted rows' sockets, of every kind: what the toolbar's actions act on,
        exactly."""
        return self._table.selected_keys()

    def _cursor_moved(self, key: SocketKey | None) -> None:
        # Qt moves the cursor to a neighbour when a row goes; only a highlighted row counts.
        self._follow(key if key is not None and key in self._table.selected_keys() else None)

    def _selection_changed(self) -> None:
        selected = self._table.selected_keys()
        if self._key is None or self._key not in selected:
            # The cursor may already be on the row that is highlighted now (Qt left it on a
            # neighbour of a removed row): then no cursor move is announced, only this.
            cursor = self._table.current_key()
            self._follow(cursor if cursor in selected else None)
        self.update_actions()

    def select(self, sid: int | None) -> None:
        """Make TCP socket ``sid`` the current (and only selected) row; ``None``: no socket."""
        self.select_key(SocketKey.tcp(sid) if sid is not None else None)

    def select_key(self, key: SocketKey | None) -> None:
        """Make ``key`` (a TCP socket, a server or a UDP socket) the current and only selected
        row."""
        if key is None:
            self._table.clearSelection()
            self._follow(None)
        else:
            self._table.select_key(key)

    def _exists(self, key: SocketKey) -> bool:
        return self._session.record_of(key) is not None

    def _follow(self, key: SocketKey | None) -> None:
        if key is not None and not self._exists(key):
            key = None
        sid = key.id if key is not None and key.kind is SocketKind.TCP else None
        udp_before = self.udp_id
        changed, key_changed = sid != self._sid, key != self._key
        self._key, self._sid = key, sid
        self._tabs.set_current(key)
        data_key = self.data_key
        self._data_pane.set_store(
            self._session.capture_of(data_key) if data_key is not None else None
        )
        self.update_note()
        # A file send keeps going to the socket it started on.
        self._composer.send_chunk = (
            functools.partial(self._session.sockets.send, sid) if sid is not None else None
        )
        # its history and its file send's progress; None on a UDP row (``udpChanged`` is)
        self._composer.set_socket(sid)
        self._data_pane.setEnabled(data_key is not None)
        # A server has no data and sends nothing: its tabs (Listen, Rules) take the room.
        server = key is not None and data_key is None
        if self._data_pane.isHidden() != server:
            self._data_pane.setHidden(server)
            self._composer.setHidden(server)
        self.update_actions()
        if changed:
            self.changed.emit(sid)
        if key_changed:
            self.keyChanged.emit(key)
        if self.udp_id != udp_before:
            self.udpChanged.emit(self.udp_id)

    # -- the session's signals --------------------------------------------------------------

    def _added(self, sid: int) -> None:
        # A socket that appears (made by a script, a restore, another part of the window) is
        # listed, not selected: selecting every new row would switch the panels under the
        # user's hands, and costs a panel refresh per socket. The first one is shown, so that
        # the window is never empty while it has sockets; New socket selects its own.
        if self._key is None:
            self.select(sid)

    def _server_added(self, server_id: int) -> None:
        if self._key is None:
            self.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))

    def _udp_added(self, udp_id: int) -> None:
        if self._key is None:
            self.select_key(SocketKey(SocketKind.UDP, udp_id))

    def _removed(self, sid: int) -> None:
        if sid == self._sid:
            self._lost()

    def _server_removed(self, server_id: int) -> None:
        if server_id == self.server_id:
            self._lost()

    def _udp_removed(self, udp_id: int) -> None:
        if udp_id == self.udp_id:
            self._lost()

    def _lost(self) -> None:
        # Nothing becomes the target in its place: the next action needs a new highlight.
        self._data_pane.set_store(None)
        self._table.clearSelection()
        self._follow(None)

    def _changed(self, sids: frozenset[int]) -> None:
        if self._sid in sids:
            self.update_note()
        # Pause reads Resume once every highlighted socket is paused: any of them counts.
        if self._sid in sids or not sids.isdisjoint(self._table.selected_ids()):
            self.update_actions()

    def _servers_changed(self, server_ids: frozenset[int]) -> None:
        selected = self._table.selected_keys()
        if any(k.kind is SocketKind.TCP_SERVER and k.id in server_ids for k in selected):
            self.update_actions()

    def _udp_changed(self, udp_ids: frozenset[int]) -> None:
        if self.udp_id in udp_ids:
            self.update_note()
        selected = self._table.selected_keys()
        if any(k.kind is SocketKind.UDP and k.id in udp_ids for k in selected):
            self.update_actions()

    def _data_arrived(self, sid: int) -> None:
        if sid == self._sid:
            self._data_pane.view.notify_grew()

    def _udp_data_arrived(self, udp_id: int) -> None:
        if udp_id == self.udp_id:
            self._data_pane.view.notify_grew()

    # -- its data ---------------------------------------------------------------------------

    def clear_data(self, confirmation: CloseConfirmation | None = None) -> None:
        """Forget the captured data (Clear data): the view shows the new, empty capture.
        With ``confirmation``, a capture that holds data is cleared once the user agrees."""
        key = self.data_key
        store = self._session.capture_of(key) if key is not None else None
        if key is None or store is None:
            return
        if confirmation is not None:

            def clear() -> None:
                # The box is not modal: only the socket asked about, if still the one shown.
                if self._key == key:
                    self.clear_data()

            confirmation.ask_clear(key.id, store.total_bytes, clear)
            return
        self._data_pane.set_store(None)
        self._data_pane.set_store(self._session.clear_capture_of(key))
        self.update_note()

    def save_data(self) -> QFileDialog | None:
        """The data pane's save dialog (non-modal), for the socket's own file name."""
        key = self.data_key
        if key is None:
            return None
        dialog: QFileDialog = self._data_pane.save_data_dialog()
        prefix = "udp" if key.kind is SocketKind.UDP else "socket"
        dialog.selectFile(f"{prefix}-{key.id}.bin")
        return dialog

    def copy_as_text(self) -> bool:
        """Copy the selection (or all the data) as text; False without a current socket."""
        if self.data_key is None:
            return False
        self._data_pane.view.copy_as_text()
        return True

    def copy_as_hex(self) -> bool:
        if self.data_key is None:
            return False
        self._data_pane.view.copy_as_hex()
        return True

    # -- what follows its state -------------------------------------------------------------

    def update_note(self) -> None:
        """The data pane's standing note: the capture limit was reached (non-modal)."""
        key = self.data_key
        record = self._session.record_of(key) if key is not None else None
        stopped = None if isinstance(record, ServerRecord | None) else record.capture_stopped
        if stopped is not None:
            self._data_pane.set_note(
                f"The capture stopped: {stopped}. Later bytes are counted, not "
                "kept; Clear data starts recording again."
            )
        else:
            self._data_pane.set_note("")

    def update_actions(self, *_args: object) -> None:
        record_of = self._session.record_of
        current = record_of(self._key) if self._key is not None else None
        selected: list[AnyRecord | None] = [record_of(key) for key in self.selected_keys()]
        states = action_states(current, selected)
        self._actions.update(
            states,
            connect_problem=self._tabs.connect_panel.form_error(),
            secure_problem=self._tabs.tls_panel.form_error(),
        )
        self._composer.set_target_available(states.send, send_refusal(current) or "")
