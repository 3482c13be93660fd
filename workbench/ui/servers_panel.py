"""Tools → Local servers: the built-in test peers, one row per kind.

Each row: the server's name, its setting (N bytes for close-after and reset-after, the drip
interval for slow-drip), a Start/Stop toggle, its state, bound port, open connections and
traffic, "New socket to this server" and, for tls-echo, "Trust this test CA".

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
from typing import Any

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

from workbench.net.servers import (
    KIND_DESCRIPTIONS,
    RunningServer,
    ServerKind,
    ServerManager,
    ServerSpec,
)

__all__ = ["REFRESH_MS", "ServerRow", "ServersPanel", "format_bytes", "object_prefix"]

_log = logging.getLogger("workbench.ui.servers")

#: Counters repaint at 4 Hz: plenty for a person, nothing for the loop.
REFRESH_MS = 250
_ERROR_COLOR = "#d1242f"
_NO_PORT = "—"

_TITLES: dict[ServerKind, str] = {
    ServerKind.ECHO: "Echo",
    ServerKind.TLS_ECHO: "TLS echo",
    ServerKind.DISCARD: "Discard",
    ServerKind.CHARGEN: "Chargen",
    ServerKind.CLOSE_AFTER: "Close after N",
    ServerKind.RESET_AFTER: "Reset after N",
    ServerKind.SLOW_DRIP: "Slow drip",
}


def object_prefix(kind: ServerKind | str) -> str:
    """``"tls-echo"`` → ``"tlsEchoServer"``: the start of every object name in that row
    (``tlsEchoServerToggle``, ``…Port``, ``…Connections``, ``…NewSocket``, ``…TrustCa``)."""
    first, *rest = ServerKind(kind).value.split("-")
    return first + "".join(part.capitalize() for part in rest) + "Server"


def format_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


@dataclasses.dataclass
class ServerRow:
    """The widgets of one kind's row (tests and the window may reach them here)."""

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
    pending: str | None = None  # "start" or "stop" while that task runs
    error: str | None = None  # why the last start failed


def _describe(widget: QWidget, name: str, tip: str) -> None:
    widget.setAccessibleName(name)
    widget.setToolTip(tip)


def _set_text(label: QLabel | QToolButton, text: str) -> None:
    if label.text() != text:
        label.setText(text)


class ServersPanel(QWidget):
    """The built-in test servers with start/stop, port, connections and shortcuts.

    Signals:
        newSocketRequested(str host, int port, str kind): "New socket to this server".
        trustCaRequested(str ca_path): "Trust this test CA" — the path of the CA's PEM file.
    """

    newSocketRequested = Signal(str, int, str)
    trustCaRequested = Signal(str)

    def __init__(self, manager: ServerManager, runner: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serversPanel")
        self.setAccessibleName("Local servers")
        self.setToolTip("Built-in test servers on this machine's loopback address")
        self._manager = manager
        self._runner = runner
        self._rows: dict[ServerKind, ServerRow] = {}
        self._dirty = False

        grid = QGridLayout()
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        headers = ("Server", "Setting", "", "State", "Port", "Clients", "Traffic", "", "")
        for column, text in enumerate(headers):
            if text:
                header = QLabel(f"<b>{text}</b>")
                header.setAccessibleName(f"{text} column")
                grid.addWidget(header, 0, column)
        for line, kind in enumerate(ServerKind, start=1):
            row = self._make_row(kind)
            self._rows[kind] = row
            widgets: list[QWidget | None] = [
                row.title, row.setting, row.toggle, row.state, row.port,
                row.connections, row.traffic, row.new_socket, row.trust_ca,
            ]
            for column, widget in enumerate(widgets):
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

    def _make_row(self, kind: ServerKind) -> ServerRow:
        prefix = object_prefix(kind)
        title_text = _TITLES[kind]
        description = KIND_DESCRIPTIONS[kind]

        title = QLabel(title_text)
        title.setObjectName(f"{prefix}Title")
        _describe(title, f"{title_text} server", description)

        setting: QSpinBox | None = None
        if kind in (ServerKind.CLOSE_AFTER, ServerKind.RESET_AFTER):
            setting = QSpinBox()
            setting.setRange(0, 2**31 - 1)
            setting.setValue(ServerSpec(kind).n)
            setting.setSuffix(" bytes")
            what = "closes" if kind is ServerKind.CLOSE_AFTER else "resets"
            _describe(
                setting,
                f"{title_text}: bytes before it {what}",
                f"How many bytes the server echoes before it {what} the connection "
                "(applies at the next start)",
            )
        elif kind is ServerKind.SLOW_DRIP:
            setting = QSpinBox()
            setting.setRange(1, 60_000)
            setting.setValue(round(ServerSpec(kind).interval * 1000))
            setting.setSuffix(" ms")
            _describe(
                setting,
                "Slow drip: interval between bytes",
                "Milliseconds between two bytes (applies at the next start)",
            )
        if setting is not None:
            setting.setObjectName(f"{prefix}Setting")
            setting.setKeyboardTracking(False)
            setting.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

        toggle = QToolButton()
        toggle.setText("Start")
        toggle.setObjectName(f"{prefix}Toggle")
        toggle.setCheckable(True)
        _describe(
            toggle,
            f"Run the {title_text} server",
            f"Start or stop the {title_text} server on 127.0.0.1 (a free port)",
        )
        toggle.clicked.connect(functools.partial(self._toggled, kind))

        state = QLabel("Stopped")
        state.setObjectName(f"{prefix}State")
        state.setTextFormat(Qt.TextFormat.PlainText)
        state.setWordWrap(True)  # a failure's reason wraps rather than widening the panel
        state.setMaximumWidth(240)
        _describe(state, f"{title_text} server state", "Stopped, starting, running or stopping")

        port = QLabel(_NO_PORT)
        port.setObjectName(f"{prefix}Port")
        port.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        _describe(port, f"{title_text} server port", "The port it listens on (on 127.0.0.1)")

        connections = QLabel("0")
        connections.setObjectName(f"{prefix}Connections")
        _describe(connections, f"{title_text} server connections", "Connections open now")

        traffic = QLabel("")
        traffic.setObjectName(f"{prefix}Traffic")
        _describe(
            traffic,
            f"{title_text} server traffic",
            "Bytes the server received and sent since it started",
        )

        new_socket = QToolButton()
        new_socket.setText("New socket")
        new_socket.setObjectName(f"{prefix}NewSocket")
        _describe(
            new_socket,
            f"New socket to the {title_text} server",
            "New socket to this server: creates a socket with this address and port filled in",
        )
        new_socket.clicked.connect(functools.partial(self._new_socket, kind))

        trust: QToolButton | None = None
        if kind is ServerKind.TLS_ECHO:
            trust = QToolButton()
            trust.setText("Trust CA")
            trust.setObjectName(f"{prefix}TrustCa")
            _describe(
                trust,
                "Trust this test CA",
                "Trust this test CA: puts the private Socket Workbench Test CA into the "
                "TLS panel's CA file, so the TLS echo server's certificate verifies",
            )
            trust.clicked.connect(self._trust_ca)

        for button in (toggle, new_socket, trust):
            if button is not None:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
                button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab
        return ServerRow(
            kind=kind, title=title, setting=setting, toggle=toggle, state=state, port=port,
            connections=connections, traffic=traffic, new_socket=new_socket, trust_ca=trust,
        )

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
        task: asyncio.Task[Any] = self._runner.start(
            self._start(kind), name=f"start the {kind.value} server"
        )
        return task

    def stop_server(self, kind: ServerKind | str) -> asyncio.Task[Any] | None:
        kind = ServerKind(kind)
        row = self._rows[kind]
        server = self._manager.find(kind)
        if row.pending is not None or server is None:
            self.refresh()
            return None
        row.pending = "stop"
        self.refresh()
        task: asyncio.Task[Any] = self._runner.start(
            self._stop(kind, server), name=f"stop the {kind.value} server"
        )
        return task

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
        self.newSocketRequested.emit(server.host, server.port, kind.value)

    def _trust_ca(self) -> None:
        row = self._rows[ServerKind.TLS_ECHO]
        server = self._manager.find(ServerKind.TLS_ECHO)
        if server is not None and server.ca_file is not None:
            path = server.ca_file
        else:
            try:
                # Made on first use; generating a P-256 CA and leaf takes milliseconds.
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
            self._paint(row, self._manager.find(kind))
        if self._manager.servers and not self._timer.isActive():
            self._timer.start()

    def _paint(self, row: ServerRow, server: RunningServer | None) -> None:
        running = server is not None
        title = _TITLES[row.kind]
        toggle = row.toggle
        if toggle.isChecked() != (running or row.pending == "start"):
            toggle.blockSignals(True)
            toggle.setChecked(running or row.pending == "start")
            toggle.blockSignals(False)
        _set_text(toggle, "Stop" if running else "Start")
        toggle.setEnabled(row.pending is None)
        toggle.setAccessibleName(
            f"Stop the {title} server" if running else f"Start the {title} server"
        )
        if row.setting is not None:
            row.setting.setEnabled(not running and row.pending is None)

        if row.pending == "start":
            state, color = "Starting…", ""
        elif row.pending == "stop":
            state, color = "Stopping…", ""
        elif running:
            state, color = "Running", ""
        elif row.error:
            state, color = f"Failed: {row.error}", _ERROR_COLOR
        else:
            state, color = "Stopped", ""
        _set_text(row.state, state)
        style = f"color: {color};" if color else ""
        if row.state.styleSheet() != style:
            row.state.setStyleSheet(style)
        row.state.setToolTip(state if row.error else "Stopped, starting, running or stopping")

        if server is None:
            _set_text(row.port, _NO_PORT)
            _set_text(row.connections, "0")
            _set_text(row.traffic, "")
        else:
            _set_text(row.port, str(server.port))
            _set_text(row.connections, str(server.connections))
            traffic = f"in {format_bytes(server.bytes_in)} · out {format_bytes(server.bytes_out)}"
            if server.blocked:
                traffic += " (blocked)"
            _set_text(row.traffic, traffic)
            tip = "Bytes the server received and sent since it started"
            if server.blocked:
                tip += f"; {server.blocked} connection(s) wait for the client to read"
            if row.traffic.toolTip() != tip:
                row.traffic.setToolTip(tip)
        row.new_socket.setEnabled(running and row.pending is None)
        tip = (
            f"New socket to this server: {server.host} port {server.port}"
            if server is not None
            else "New socket to this server (start it first)"
        )
        if row.new_socket.toolTip() != tip:
            row.new_socket.setToolTip(tip)
