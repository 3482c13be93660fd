"""What the window asks of sockets: each command starts ONE coroutine through the
``TaskRunner`` (none once the window is closing), and says in the status bar how it went.

Pause/Resume, Disconnect and Close act on every selected socket; Send on the current one.
A selected server (a listening socket) is paused or resumed (it stops or starts accepting,
contract L7), disconnected (it stops listening and frees its port, L8) or closed (L9; the
sockets it accepted stay) through ``session.servers``. A selected UDP socket is paused or
resumed (D7) or closed (D11) through ``session.udp``; it has nothing to disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtWidgets import QWidget

from workbench.core.formatting import describe_result, format_endpoint, format_size
from workbench.session import SocketKey, SocketKind
from workbench.session.udp_send import Destination
from workbench.sockets import (
    SecureOptions,
    ServerSocketProperties,
    SocketNotFoundError,
    SocketProperties,
    UdpSocketProperties,
)
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.close_confirm import CloseConfirmation
from workbench.ui.current_socket import CurrentSocket
from workbench.ui.export_pcapng import PcapngExporter
from workbench.ui.global_keylog import GlobalKeylog
from workbench.ui.server_presets import PRESET_ADDRESS, ServerPreset, server_preset
from workbench.ui.socket_tabs import SocketTabs
from workbench.ui.window_actions import WindowActions, all_paused

if TYPE_CHECKING:
    from workbench.session.settings import Settings

__all__ = ["SocketCommands"]

#: ``showMessage(text, timeout_ms)`` of the window's status bar.
ShowMessage = Callable[[str, int], object]


async def _each(sids: Sequence[int], call: Callable[[int], Awaitable[object]]) -> None:
    """``call`` each socket in turn; one closed meanwhile is skipped (there is nothing left to
    do to it)."""
    for sid in sids:
        with contextlib.suppress(SocketNotFoundError):
            await call(sid)


#: One call for each kind of row it applies to, on that kind's id (a kind left out: its rows
#: are skipped, e.g. a UDP socket's Disconnect).
Calls = dict[SocketKind, Callable[[int], Awaitable[object]]]

#: The order the kinds are acted on: a server stops accepting before its connections are
#: acted on.
_ORDER = (SocketKind.TCP_SERVER, SocketKind.UDP, SocketKind.TCP)


async def _each_key(keys: Sequence[SocketKey], calls: Calls) -> None:
    """``_each`` for rows of every kind: the servers first, then the UDP sockets, then the
    TCP sockets."""
    for kind in _ORDER:
        call = calls.get(kind)
        if call is not None:
            await _each([k.id for k in keys if k.kind is kind], call)


class EvidenceHost(Protocol):
    """What ``SocketCommands.evidence`` needs of the window (a widget): the main window
    satisfies it, and this module need not import it."""

    @property
    def window_actions(self) -> WindowActions: ...

    @property
    def settings(self) -> Settings: ...

    def report_error(self, message: str, details: str = "") -> None: ...


class SocketCommands:
    """The commands of one window, on its session's sockets; ``show_message`` is the status
    bar's."""

    def __init__(
        self,
        session: SocketSession,
        runner: TaskRunner,
        current: CurrentSocket,
        tabs: SocketTabs,
        show_message: ShowMessage,
        send_failed: Callable[[int, str], object] | None = None,
        show_destination: Callable[[Destination], object] | None = None,
    ) -> None:
        self._session = session
        self._sockets = session.sockets
        self._runner = runner
        self._current = current
        self._tabs = tabs
        self._show_message = show_message
        #: ``(sid, text)``: a send failed; the composer says so beside its Send.
        self._send_failed = send_failed
        #: the composer's destination for a UDP row (a UDP server's "New socket" fills it).
        self._show_destination = show_destination
        self._stopped = False
        #: File → Export → pcapng… and the global TLS key log (``evidence``).
        self.exporter: PcapngExporter | None = None
        self.keylog: GlobalKeylog | None = None

    def evidence(self, window: EvidenceHost) -> SocketCommands:
        """Wire ``window``'s evidence actions: File → Export → pcapng… (the selected sockets,
        or all) and Edit → "Write TLS keys of every connection to…" (``TcpSockets.keylog_file``,
        kept in the window's settings). Returns these commands."""
        assert isinstance(window, QWidget), "the evidence dialogs belong to a window"
        actions = window.window_actions
        self.exporter = PcapngExporter(
            window,
            self._session.registry,
            self._current.selected_keys,
            self._start,
            self._show_message,
            window.report_error,
        )
        actions.export_pcapng_action.triggered.connect(self.exporter.ask)
        self.keylog = GlobalKeylog(
            window,
            actions.global_keylog_action,
            self._session.core.tcp,
            window.settings,
            self._show_message,
            window.report_error,
        )
        return self

    def stop(self) -> None:
        """The window is closing: start nothing more (an export under way stops)."""
        self._stopped = True
        if self.exporter is not None:
            self.exporter.stop()

    def _start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        if self._stopped:
            coro.close()
            return None
        task: asyncio.Task[Any] = self._runner.start(coro, name=name)
        return task

    # -- creating ---------------------------------------------------------------------------

    def new_socket(self) -> asyncio.Task[Any] | None:
        """Socket → New socket: the new row is selected, on its Connect tab, ready to type
        the address."""
        return self._start(self._new_socket(), "create")

    async def _new_socket(self) -> int:
        sid: int = (await self._sockets.create()).socket_id
        self._current.select(sid)
        self._tabs.show_panel(self._tabs.connect_panel)
        self._tabs.connect_panel.focus_address()
        return sid

    def new_server(self) -> asyncio.Task[Any] | None:
        """Socket → New server: the new server row is selected, on its Listen tab."""
        return self._start(self._new_server(), "create server")

    async def _new_server(self) -> int:
        server_id: int = (await self._session.servers.create()).socket_id
        self._current.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))
        self._tabs.show_panel(self._tabs.listen_panel)
        self._tabs.listen_panel.focus_port()
        return server_id

    def new_udp_socket(self) -> asyncio.Task[Any] | None:
        """Socket → New UDP socket: created through the logged session
        (``chrome.sockets.udp.create({})``), its row selected; its Bind tab, once there, is
        where its address and port are picked."""
        return self._start(self._new_udp_socket(), "create UDP socket")

    async def _new_udp_socket(self) -> int:
        udp_id: int = (await self._session.udp.create(UdpSocketProperties())).socket_id
        self._current.select_key(SocketKey(SocketKind.UDP, udp_id))
        return udp_id

    def new_server_from_preset(self, name: str) -> asyncio.Task[Any] | None:
        """Socket → New server from preset: a server row named after preset ``name``, with
        its rules (and TLS on accept for TLS echo), listening on 127.0.0.1 at a port the OS
        picks; it is selected on its Rules tab, where the user sees and edits how it works.
        A TLS preset whose test CA cannot issue a certificate creates nothing and says why."""
        entry = server_preset(name)
        tls = entry.server_tls()
        try:
            # Issued now, before there is a row: set_tls then reuses it.
            self._session.servers.tls_options_for(tls)
        except (ValueError, OSError) as exc:
            self._show_message(f"Cannot make the {entry.label} server: {exc}", 8000)
            return None
        return self._start(self._new_preset_server(entry), f"new {entry.label} server")

    async def _new_preset_server(self, entry: ServerPreset) -> int:
        servers = self._session.servers
        props = ServerSocketProperties(name=entry.label)
        server_id: int = (await servers.create(props)).socket_id
        # Rules and TLS before listen: the very first connection is answered by them.
        servers.set_tls(server_id, entry.server_tls())
        self._session.core.rules.set_rules(server_id, entry.ruleset())
        code = await servers.listen(server_id, PRESET_ADDRESS, 0)
        key = SocketKey(SocketKind.TCP_SERVER, server_id)
        self._current.select_key(key)
        if self._current.key == key:
            # The panel may have drafted the row (empty) before its rules were set.
            self._tabs.rules_panel.refresh_hits()
            self._tabs.show_panel(self._tabs.rules_panel)
        record = servers.record(server_id)
        port = record.info.local_port if record is not None else None
        if code == 0 and port is not None:
            where = format_endpoint(PRESET_ADDRESS, port)
            self._show_message(f"{entry.label} server listening on {where}", 5000)
        else:
            failed = describe_result(code)
            self._show_message(f"{entry.label} server: listen failed: {failed}", 8000)
        return server_id

    def new_socket_to(
        self,
        host: str,
        port: int,
        kind: str = "",
        ca_file: str | None = None,
        *,
        connect: bool = False,
    ) -> asyncio.Task[Any] | None:
        """A socket named ``kind`` (if any) with its Connect tab filled in; a ``tls-echo`` one
        also gets ``ca_file`` (the built-in servers' test CA) on its TLS tab. ``connect``:
        connect it too (and secure a ``tls-echo`` one with that CA)."""
        return self._start(
            self._new_socket_to(host, port, kind, ca_file, connect),
            f"new socket to {format_endpoint(host, port)}",
        )

    async def _new_socket_to(
        self, host: str, port: int, kind: str, ca_file: str | None, connect: bool
    ) -> int:
        sid: int = (await self._sockets.create(SocketProperties(name=kind or None))).socket_id
        self._current.select(sid)
        if kind == "tls-echo" and ca_file is not None:
            self._session.set_intent(sid, secure=SecureOptions(ca_file=ca_file))
            if sid == self._current.sid:
                self._tabs.tls_panel.set_ca_file(ca_file)
        self.prefill_peer(sid, host, port)
        if sid == self._current.sid:
            self._tabs.show_panel(self._tabs.connect_panel)
        if (
            connect
            and await self._sockets.connect(sid, host, port) == 0
            and (kind == "tls-echo" and ca_file is not None)
        ):
            await self._sockets.secure(sid, SecureOptions(ca_file=ca_file))
        return sid

    def restored(self, sid: int) -> None:
        """A restored socket has its settings (before it reconnects): the Connect tab shows its
        peer and, when it is the socket shown, the TLS tab its TLS settings and STARTTLS
        preset (it may have been shown before they were set)."""
        record = self._session.ui(sid)
        if record is not None and record.intent.peer is not None:
            self.prefill_peer(sid, *record.intent.peer)
        if sid == self._current.sid:
            self._tabs.tls_panel.reload()

    def prefill_peer(self, sid: int, host: str, port: int, dns: str = "any") -> None:
        """Remember where ``sid`` should connect; the Connect tab shows it."""
        self._session.set_intent(sid, peer=(host, port, dns))
        if sid == self._current.sid:
            self._tabs.show_peer(host, port, dns)

    # -- the selected sockets ---------------------------------------------------------------

    def toggle_pause(self) -> asyncio.Task[Any] | None:
        """Pause the selected sockets, or resume them when every one of them is paused."""
        keys = self._current.selected_keys()
        if not keys:
            return None
        pause = not all_paused([self._session.record_of(key) for key in keys])
        servers, udp = self._session.servers, self._session.udp

        async def run() -> None:
            # The session remembers the result beside the Pause control (Session.set_paused),
            # as it does for Disconnect.
            await _each_key(
                keys,
                {
                    SocketKind.TCP: lambda sid: self._sockets.set_paused(sid, pause),
                    SocketKind.TCP_SERVER: lambda sid: servers.set_paused(sid, pause),
                    SocketKind.UDP: lambda sid: udp.set_paused(sid, pause),
                },
            )
            if self._current.key in keys:
                self._tabs.tcp_panel.refresh()

        return self._start(run(), "pause" if pause else "resume")

    def disconnect_selected(self) -> asyncio.Task[Any] | None:
        keys = self._current.selected_keys()
        calls: Calls = {
            SocketKind.TCP: self._sockets.disconnect,
            SocketKind.TCP_SERVER: self._session.servers.disconnect,
        }
        return self._start(_each_key(keys, calls), "disconnect") if keys else None

    def close_selected(self) -> asyncio.Task[Any] | None:
        keys = self._current.selected_keys()
        calls: Calls = {
            SocketKind.TCP: self._sockets.close,
            SocketKind.TCP_SERVER: self._session.servers.close,
            SocketKind.UDP: self._session.udp.close,
        }
        return self._start(_each_key(keys, calls), "close") if keys else None

    def close_selected_asking(self, confirmation: CloseConfirmation) -> bool:
        """Close the highlighted sockets; when their captures (a TCP or UDP socket's) hold
        data, ask first. False when the question is asked (and the close waits for it)."""
        keys = self._current.selected_keys()
        captures = (self._session.capture_of(key) for key in keys)
        captured = sum(store.total_bytes for store in captures if store is not None)
        ids = [key.id for key in keys if key.kind is not SocketKind.TCP_SERVER]
        return confirmation.ask(ids, captured, self.close_selected)

    # -- the current socket -----------------------------------------------------------------

    def send(self, data: bytes) -> asyncio.Task[Any] | None:
        sid = self._current.sid
        if sid is None:
            return None
        return self._start(self._send(sid, data), f"send (socket {sid})")

    async def _send(self, sid: int, data: bytes) -> None:
        try:
            info = await self._sockets.send(sid, data)
        except SocketNotFoundError:
            return
        if info.result_code:
            text = f"Send on socket {sid} failed: {describe_result(info.result_code)}"
            self._show_message(text, 8000)
            if self._send_failed is not None:
                self._send_failed(sid, text)
        else:
            self._show_message(f"Sent {format_size(len(data))} on socket {sid}", 3000)

    def new_udp_socket_to(self, host: str, port: int, kind: str = "") -> asyncio.Task[Any] | None:
        """A built-in UDP server's "New socket": a UDP socket bound to 127.0.0.1 (a port the
        OS picks), selected, with that server as the composer's destination (``kind``, the
        server's, is not needed: a datagram is a datagram)."""
        where = format_endpoint(host, port)
        return self._start(self._new_udp_socket_to(host, port), f"UDP socket to {where}")

    async def _new_udp_socket_to(self, host: str, port: int) -> int:
        udp = self._session.udp
        udp_id: int = (await udp.create(UdpSocketProperties())).socket_id
        await udp.bind(udp_id, "127.0.0.1", 0)  # its result shows on the Bind tab
        self._current.select_key(SocketKey(SocketKind.UDP, udp_id))
        if self._show_destination is not None:
            self._show_destination(Destination(host, port))
        return udp_id
