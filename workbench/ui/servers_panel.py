"""Tools → Local servers: the built-in test peers, one row per kind.

Each row: the server's name, its setting (N bytes for close-after and reset-after, the drip
interval for slow-drip, the delay for UDP reply-after), a Start/Stop toggle, its state, bound
port, open connections and traffic, "New socket to this server" and, for tls-echo, "Trust this
test CA". The UDP servers (UDP echo, UDP reply after N ms) have no connections: their Clients
cell shows a dash, their traffic counts datagrams too, and their "New socket" asks for a UDP
socket (``newUdpSocketRequested``), not a TCP one. A kind that a
preset of rules expresses (``server_presets``) also has "As a server row": the same server as a
row of the socket table, whose rules the user can see and edit. Chargen and slow drip have no
such preset: no rule sends without being sent to, so they stay code.

The panel is an adapter over ``ServerManager``: what a row shows comes from the manager, so a
server started elsewhere (the window's first-start echo) shows up too. The manager calls its
listeners on a start, a stop and every connection opened or closed; the panel only marks
itself dirty then, and ONE timer at 4 Hz repaints (it also refreshes the byte counters, which
change far too often to be announced).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.formatting import format_endpoint, format_size
from workbench.net.servers import (
    KIND_DESCRIPTIONS,
    MAX_REPLY_DELAY_MS,
    RunningServer,
    ServerKind,
    ServerManager,
    ServerSpec,
)
from workbench.ui.server_presets import dock_preset

__all__ = [
    "PANEL_TIP",
    "REFRESH_MS",
    "ServerRow",
    "ServersPanel",
    "TaskStarter",
    "object_prefix",
]

_log = logging.getLogger("workbench.ui.servers")

#: Counters repaint at 4 Hz: plenty for a person, nothing for the loop.
REFRESH_MS = 250
_ERROR_COLOR = "#d1242f"
_NO_PORT = "—"
_STATE_TIP = "Stopped, starting, running or stopping"
_TRAFFIC_TIP = "Bytes the server received and sent since it started"
_NO_CONNECTIONS = "UDP has no connections: each datagram is answered to its sender"

#: The panel's (and its dock's) tooltip: where the rule-made versions of these servers are.
PANEL_TIP = (
    "Built-in test servers on this machine's loopback address. Echo, TLS echo, discard, "
    'close-after-N and reset-after-N are also presets ("As a server row", or Socket → New '
    "server from preset): a server row whose rules you can see and edit. Chargen's endless "
    "stream and slow drip's timed bytes answer nothing, so no rule expresses them: they stay "
    "built-in code. UDP echo and UDP reply after N ms answer datagrams, each to its sender."
)

_TITLES: dict[ServerKind, str] = {
    ServerKind.ECHO: "Echo",
    ServerKind.TLS_ECHO: "TLS echo",
    ServerKind.DISCARD: "Discard",
    ServerKind.CHARGEN: "Chargen",
    ServerKind.CLOSE_AFTER: "Close after N",
    ServerKind.RESET_AFTER: "Reset after N",
    ServerKind.SLOW_DRIP: "Slow drip",
    ServerKind.UDP_ECHO: "UDP echo",
    ServerKind.UDP_REPLY_AFTER: "UDP reply after N ms",
}


class TaskStarter(Protocol):
    """What the panel needs of the window's task runner (``workbench.ui.bridge.TaskRunner``):
    it keeps the task referenced and reports an exception that ends it."""

    def start(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]: ...


def object_prefix(kind: ServerKind | str) -> str:
    """``"tls-echo"`` → ``"tlsEchoServer"``: the start of every object name in that row
    (``tlsEchoServerToggle``, ``…Port``, ``…Connections``, ``…NewSocket``, ``…TrustCa``)."""
    first, *rest = ServerKind(kind).value.split("-")
    return first + "".join(part.capitalize() for part in rest) + "Server"


def _describe(widget: QWidget, name: str, tip: str) -> None:
    widget.setAccessibleName(name)
    widget.setToolTip(tip)


def _set_text(label: QLabel | QToolButton, text: str) -> None:
    if label.text() != text:
        label.setText(text)


def _set_tip(widget: QWidget, tip: str) -> None:
    if widget.toolTip() != tip:
        widget.setToolTip(tip)


def _label(object_name: str, text: str, name: str, tip: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    _describe(label, name, tip)
    return label


def _button(object_name: str, text: str, name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(object_name)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab
    _describe(button, name, tip)
    return button


def _spin_box(low: int, high: int, value: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    box.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return box


def _make_setting(kind: ServerKind, prefix: str) -> QSpinBox | None:
    """The spin box of the one setting a kind has, if it has one."""
    title = _TITLES[kind]
    if kind in (ServerKind.CLOSE_AFTER, ServerKind.RESET_AFTER):
        what = "closes" if kind is ServerKind.CLOSE_AFTER else "resets"
        setting = _spin_box(0, 2**31 - 1, ServerSpec(kind).n, " bytes")
        _describe(
            setting,
            f"{title}: bytes before it {what}",
            f"How many bytes the server echoes before it {what} the connection "
            "(applies at the next start)",
        )
    elif kind is ServerKind.SLOW_DRIP:
        setting = _spin_box(1, 60_000, round(ServerSpec(kind).interval * 1000), " ms")
        _describe(
            setting,
            "Slow drip: interval between bytes",
            "Milliseconds between two bytes (applies at the next start)",
        )
    elif kind is ServerKind.UDP_REPLY_AFTER:
        setting = _spin_box(0, MAX_REPLY_DELAY_MS, ServerSpec(kind).delay_ms, " ms")
        _describe(
            setting,
            "UDP reply after: delay",
            "Milliseconds between a datagram's arrival and its reply, for testing time-outs "
            "(applies at the next start)",
        )
    else:
        return None
    setting.setObjectName(f"{prefix}Setting")
    return setting


def _make_state(prefix: str, title: str) -> QLabel:
    state = _label(f"{prefix}State", "Stopped", f"{title} server state", _STATE_TIP)
    state.setTextFormat(Qt.TextFormat.PlainText)
    state.setWordWrap(True)  # a failure's reason wraps rather than widening the panel
    state.setMaximumWidth(240)
    return state


def _make_port(kind: ServerKind, prefix: str, title: str) -> QLabel:
    tip = "The UDP port it receives on" if kind.udp else "The port it listens on"
    port = _label(f"{prefix}Port", _NO_PORT, f"{title} server port", f"{tip} (on 127.0.0.1)")
    port.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return port


def _make_as_row(kind: ServerKind, prefix: str) -> QToolButton | None:
    entry = dock_preset(kind.value)
    if entry is None:
        return None
    return _button(
        f"{prefix}AsRow",
        "As a server row",
        f"{_TITLES[kind]} as a server row",
        f"As a server row: a listening socket in the socket table doing the same with rules "
        f"you can see and edit ({entry.label}: {entry.description()})",
    )


def _make_trust_ca(kind: ServerKind, prefix: str) -> QToolButton | None:
    if kind is not ServerKind.TLS_ECHO:
        return None
    return _button(
        f"{prefix}TrustCa",
        "Trust CA",
        "Trust this test CA",
        "Trust this test CA: puts the private Socket Workbench Test CA into the "
        "TLS panel's CA file, so the TLS echo server's certificate verifies",
    )


@dataclasses.dataclass
class ServerRow:
    """The widgets of one kind's row (tests and the window may reach them here), and what the
    row waits for. ``paint`` shows a server (None: not running) in them."""

    kind: ServerKind
    title: QLabel
    setting: QSpinBox | None
    toggle: QToolButton
    state: QLabel
    port: QLabel
    connections: QLabel
    traffic: QLabel
    new_socket: QToolButton
    trust_ca: QToolButton | None
    #: "As a server row": None for a kind no preset expresses (chargen, slow drip)
    as_row: QToolButton | None
    pending: str | None = None  # "start" or "stop" while that task runs
    error: str | None = None  # why the last start failed

    @classmethod
    def build(cls, kind: ServerKind) -> ServerRow:
        """The row's widgets, named ``object_prefix(kind)`` + Title, Setting, Toggle, State,
        Port, Connections, Traffic, NewSocket, TrustCa and AsRow; no signal connected yet."""
        prefix, title = object_prefix(kind), _TITLES[kind]
        toggle = _button(
            f"{prefix}Toggle",
            "Start",
            f"Run the {title} server",
            f"Start or stop the {title} server on 127.0.0.1 (a free port)",
        )
        toggle.setCheckable(True)
        return cls(
            kind=kind,
            title=_label(f"{prefix}Title", title, f"{title} server", KIND_DESCRIPTIONS[kind]),
            setting=_make_setting(kind, prefix),
            toggle=toggle,
            state=_make_state(prefix, title),
            port=_make_port(kind, prefix, title),
            connections=_label(
                f"{prefix}Connections",
                _NO_PORT if kind.udp else "0",
                f"{title} server connections",
                _NO_CONNECTIONS if kind.udp else "Connections open now",
            ),
            traffic=_label(f"{prefix}Traffic", "", f"{title} server traffic", _TRAFFIC_TIP),
            new_socket=_button(
                f"{prefix}NewSocket",
                "New socket",
                f"New socket to the {title} server",
                "New socket to this server: creates a socket with this address and port filled in",
            ),
            trust_ca=_make_trust_ca(kind, prefix),
            as_row=_make_as_row(kind, prefix),
        )

    def widgets(self) -> list[QWidget | None]:
        """The row's widgets in column order (None: an empty cell)."""
        return [
            self.title,
            self.setting,
            self.toggle,
            self.state,
            self.port,
            self.connections,
            self.traffic,
            self.new_socket,
            self.trust_ca,
            self.as_row,
        ]

    def paint(self, server: RunningServer | None) -> None:
        """Show ``server`` (the kind's running server, None when there is none)."""
        self._paint_toggle(server is not None)
        self._paint_state(server is not None, server.keylog_file if server is not None else None)
        self._paint_counters(server)
        self.new_socket.setEnabled(server is not None and self.pending is None)
        _set_tip(
            self.new_socket,
            f"New socket to this server: {format_endpoint(server.host, server.port)}"
            if server is not None
            else "New socket to this server (start it first)",
        )

    def _paint_toggle(self, running: bool) -> None:
        title = _TITLES[self.kind]
        checked = running or self.pending == "start"
        if self.toggle.isChecked() != checked:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(checked)
            self.toggle.blockSignals(False)
        _set_text(self.toggle, "Stop" if running else "Start")
        self.toggle.setEnabled(self.pending is None)
        self.toggle.setAccessibleName(
            f"Stop the {title} server" if running else f"Start the {title} server"
        )
        if self.setting is not None:
            self.setting.setEnabled(not running and self.pending is None)

    def _paint_state(self, running: bool, keylog: str | None = None) -> None:
        tip = _STATE_TIP
        if self.pending == "start":
            state, color = "Starting…", ""
        elif self.pending == "stop":
            state, color = "Stopping…", ""
        elif running and keylog:
            # K4's mark, as a secured socket's row carries it: these keys decrypt its traffic.
            state, color = "Running, keys logged", ""
            tip = f"Its TLS handshakes write their keys to {keylog} (the global TLS key log)"
        elif running:
            state, color = "Running", ""
        elif self.error:
            state, color = f"Failed: {self.error}", _ERROR_COLOR
        else:
            state, color = "Stopped", ""
        _set_text(self.state, state)
        style = f"color: {color};" if color else ""
        if self.state.styleSheet() != style:
            self.state.setStyleSheet(style)
        _set_tip(self.state, state if self.error else tip)

    def _paint_counters(self, server: RunningServer | None) -> None:
        udp = self.kind.udp
        if server is None:
            _set_text(self.port, _NO_PORT)
            _set_text(self.connections, _NO_PORT if udp else "0")
            _set_text(self.traffic, "")
            return
        _set_text(self.port, str(server.port))
        _set_text(self.connections, _NO_PORT if udp else str(server.connections))
        traffic = f"in {format_size(server.bytes_in)} · out {format_size(server.bytes_out)}"
        tip = _TRAFFIC_TIP
        if udp:
            traffic = _datagram_traffic(server)
            tip += " (datagrams in brackets)"
        if server.blocked:
            traffic += " (blocked)"
            tip += f"; {server.blocked} connection(s) wait for the client to read"
        _set_text(self.traffic, traffic)
        _set_tip(self.traffic, tip)


def _datagram_traffic(server: RunningServer) -> str:
    text = (
        f"in {format_size(server.bytes_in)} ({server.datagrams_in}) · "
        f"out {format_size(server.bytes_out)} ({server.datagrams_out})"
    )
    return f"{text} · {server.dropped} dropped" if server.dropped else text


class ServersPanel(QWidget):
    """The built-in test servers with start/stop, port, connections and shortcuts.

    Signals:
        newSocketRequested(str host, int port, str kind): "New socket to this server" (a TCP
            server).
        newUdpSocketRequested(str host, int port, str kind): "New socket to this server" for a
            UDP server: a UDP socket whose destination is ``host``:``port``.
        trustCaRequested(str ca_path): "Trust this test CA" — the path of the CA's PEM file.
        serverRowRequested(str preset): "As a server row" — the name of the preset
            (``server_presets``) that expresses the row's kind.
    """

    newSocketRequested = Signal(str, int, str)
    newUdpSocketRequested = Signal(str, int, str)
    trustCaRequested = Signal(str)
    serverRowRequested = Signal(str)

    def __init__(
        self, manager: ServerManager, runner: TaskStarter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("serversPanel")
        self.setAccessibleName("Local servers")
        self.setToolTip(PANEL_TIP)
        self._manager = manager
        self._runner = runner
        self._rows = {kind: self._connected(ServerRow.build(kind)) for kind in ServerKind}
        self._dirty = False
        self._lay_out()

        self._timer = QTimer(self)
        self._timer.setObjectName("serversRefreshTimer")
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)

        # The manager outlives the panel: its listener must not keep the panel alive, nor call
        # into a deleted one.
        ref = weakref.ref(self)

        def listener(_server: RunningServer) -> None:
            panel = ref()
            if panel is not None and shiboken6.isValid(panel):
                panel._changed()

        self._listener = listener
        manager.add_listener(listener)
        self.destroyed.connect(functools.partial(manager.remove_listener, listener))
        self.refresh()

    # -- building ------------------------------------------------------------------------

    def _connected(self, row: ServerRow) -> ServerRow:
        row.toggle.clicked.connect(functools.partial(self._toggled, row.kind))
        row.new_socket.clicked.connect(functools.partial(self._new_socket, row.kind))
        if row.trust_ca is not None:
            row.trust_ca.clicked.connect(self._trust_ca)
        entry = dock_preset(row.kind.value)
        if row.as_row is not None and entry is not None:
            row.as_row.clicked.connect(functools.partial(self.serverRowRequested.emit, entry.name))
        return row

    def _lay_out(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        headers = ("Server", "Setting", "", "State", "Port", "Clients", "Traffic", "", "", "")
        for column, text in enumerate(headers):
            if text:
                header = QLabel(f"<b>{text}</b>")
                header.setAccessibleName(f"{text} column")
                grid.addWidget(header, 0, column)
        for line, row in enumerate(self._rows.values(), start=1):
            for column, widget in enumerate(row.widgets()):
                if widget is not None:
                    grid.addWidget(widget, line, column)
        # Spare width goes to an empty last column: the columns stay together on the left.
        grid.setColumnStretch(len(headers), 1)
        grid.setRowStretch(len(self._rows) + 1, 1)

        inner = QWidget()
        inner.setLayout(grid)
        scroll = QScrollArea()
        scroll.setObjectName("serversScroll")
        scroll.setAccessibleName("Local servers list")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # -- public --------------------------------------------------------------------------

    @property
    def manager(self) -> ServerManager:
        return self._manager

    def row(self, kind: ServerKind | str) -> ServerRow:
        return self._rows[ServerKind(kind)]

    def spec(self, kind: ServerKind | str) -> ServerSpec:
        """The spec the row would start now, with its setting."""
        kind = ServerKind(kind)
        setting = self._rows[kind].setting
        if setting is None:
            return ServerSpec(kind)
        if kind is ServerKind.UDP_REPLY_AFTER:
            return ServerSpec(kind, delay_ms=setting.value())
        if kind is ServerKind.SLOW_DRIP:
            return ServerSpec(kind, interval=setting.value() / 1000)
        return ServerSpec(kind, n=setting.value())

    def start_server(self, kind: ServerKind | str) -> asyncio.Task[Any] | None:
        """Start a kind's server as its toggle does; None when it runs or is busy."""
        kind = ServerKind(kind)
        row = self._rows[kind]
        if row.pending is not None or self._manager.find(kind) is not None:
            self.refresh()
            return None
        row.pending = "start"
        row.error = None
        self.refresh()
        return self._runner.start(self._start(kind), name=f"start the {kind.value} server")

    def stop_server(self, kind: ServerKind | str) -> asyncio.Task[Any] | None:
        kind = ServerKind(kind)
        row = self._rows[kind]
        server = self._manager.find(kind)
        if row.pending is not None or server is None:
            self.refresh()
            return None
        row.pending = "stop"
        self.refresh()
        return self._runner.start(self._stop(kind, server), name=f"stop the {kind.value} server")

    def shutdown(self) -> None:
        """Stop repainting and listening (the window stops the servers it owns itself)."""
        self._timer.stop()
        self._manager.remove_listener(self._listener)

    # -- slots ---------------------------------------------------------------------------

    def _toggled(self, kind: ServerKind) -> None:
        # clicked(bool) has a clicked() overload, and PySide picks that one for a partial: the
        # button's own state says what the click asked for.
        if self._rows[kind].toggle.isChecked():
            self.start_server(kind)
        else:
            self.stop_server(kind)

    def _new_socket(self, kind: ServerKind) -> None:
        server = self._manager.find(kind)
        if server is None:
            self.refresh()
            return
        signal = self.newUdpSocketRequested if kind.udp else self.newSocketRequested
        signal.emit(server.host, server.port, kind.value)

    def _trust_ca(self) -> None:
        row = self._rows[ServerKind.TLS_ECHO]
        server = self._manager.find(ServerKind.TLS_ECHO)
        if server is not None and server.ca_file is not None:
            path = server.ca_file
        else:
            try:
                # Made on first use, at once: importing trustme and making a P-256 CA and
                # leaf take some tens of milliseconds, once.
                path = str(self._manager.certificates().ca_file)
            except OSError as exc:
                row.error = f"cannot write the test CA: {exc.strerror or exc}"
                self.refresh()
                return
        self.trustCaRequested.emit(path)

    # -- tasks ---------------------------------------------------------------------------

    async def _start(self, kind: ServerKind) -> None:
        error: str | None = None
        try:
            await self._manager.start(self.spec(kind))
        except OSError as exc:
            # Shown beside the toggle; an unexpected exception goes on to the task runner.
            error = f"{exc.strerror or exc}"
            _log.warning("cannot start the %s server: %s", kind.value, exc)
        finally:
            self._done(kind, error)

    async def _stop(self, kind: ServerKind, server: RunningServer) -> None:
        try:
            await self._manager.stop(server)
        finally:
            self._done(kind, None)

    def _done(self, kind: ServerKind, error: str | None) -> None:
        if not shiboken6.isValid(self):
            return
        row = self._rows[kind]
        row.pending = None
        row.error = error
        self.refresh()

    # -- repainting ----------------------------------------------------------------------

    def _changed(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def _tick(self) -> None:
        self.refresh()
        if not self._dirty and not self._manager.servers:
            self._timer.stop()

    def refresh(self) -> None:
        """Repaint every row from the manager now."""
        self._dirty = False
        for kind, row in self._rows.items():
            row.paint(self._manager.find(kind))
        if self._manager.servers and not self._timer.isActive():
            self._timer.start()
