"""``chrome.sockets.tcpServer``'s own shape over a session: every method takes and returns what
``TcpServerSockets`` does, is logged in the call log the way Chrome developers read it, and is
remembered on the server's ``ServerRecord`` (its result per control, and the intent a restore
replays).

``chrome.sockets.tcpServer.listen(1, "127.0.0.1", 0) → 0``

It also answers the events: ``onAccept`` and ``onAcceptError`` are logged, and each accepted
socket of a server whose intent says "read at once" (the default) is resumed at once, because
Chrome starts them paused ('the client socket is initially paused and must be explictly
un-paused by the application to start receiving data').

``accepting`` (an ``Event[AcceptInfo]``) is dispatched for each socket a session server accepts,
synchronously inside ``onAccept``, before the resume is even scheduled: a listener that starts
reading the socket (the response rules attach their responder there) is in place before the
first byte is delivered. Only sockets the registry knows, of servers it knows, are announced.

TLS on accept (``set_tls``, the intent's ``ServerTls``): each accepted socket of such a server
is secured first, while it is still paused, with the extension call logged in Chrome's form
under the socket (``chrome.sockets.tcp.secureServer(7, {"certFile":"…","keyFile":"…"}) →
0``); only a socket whose handshake worked is then announced (``accepting``: its rules see
decrypted bytes only, and an ``open`` rule's greeting goes out over TLS) and resumed. Nothing
is read from the OS before the handshake (LS1: the ClientHello stays with the OS for OpenSSL),
so "read at once" keeps its meaning: the socket is resumed after the handshake, or left paused.
A failed handshake is that socket's result and error (its row shows it, e.g. ``Error:
SSL_PROTOCOL_ERROR``); it is not announced and touches neither the server nor other sockets.
The handshake is done here rather than as a hidden ``start-tls`` rule: the rules' hit counts
and indices stay the user's own, and a server without rules is secured too.

A ``ServerTls`` with ``on_accept`` False secures nothing on accept: its options are the
server's "Start TLS" options instead (``start_tls_options``), and ``start_tls_changed`` (the
server id) tells the response rules, which hand them to their ``start-tls`` rules
(``ServerRules.set_tls``); switching back to TLS on accept, or off, takes them away again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from workbench.core.errors import NetError, SocketNotFoundError
from workbench.core.events import Event
from workbench.core.types import (
    AcceptErrorInfo,
    AcceptInfo,
    ServerSecureOptions,
    ServerSocketInfo,
    ServerSocketProperties,
)
from workbench.net.tcp_server import TcpServerSockets
from workbench.session.call_log import CallLog, format_event, logged_call, result_with_name
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_kind import LoggedKind
from workbench.session.record import ServerRecord, ServerTls
from workbench.session.registry import Registry

__all__ = ["LoggedServers", "server_key"]

_API = SocketKind.TCP_SERVER.api
_TCP_API = SocketKind.TCP.api


def server_key(socket_id: int) -> SocketKey:
    return SocketKey(SocketKind.TCP_SERVER, socket_id)


def _code(result: int) -> tuple[str, bool]:
    return result_with_name(result), result == 0


def _put(
    table: dict[int, ServerSecureOptions], key: int, options: ServerSecureOptions | None
) -> bool:
    """``table[key]`` set to ``options`` (None: removed); whether it held one before."""
    had = table.pop(key, None) is not None
    if options is not None:
        table[key] = options
    return had


class LoggedServers(LoggedKind[ServerSocketProperties, ServerSocketInfo, ServerRecord]):
    """``TcpServerSockets``' calls, logged in ``call_log`` and remembered in ``registry``
    (which must watch ``raw``: ``Registry.watch_servers``); ``raw`` is the unlogged core.
    ``error_detail`` tells why the last listen() or accept failed; ``close`` removes the
    server's record, and the sockets it accepted stay (contract L9); ``disconnect`` stops
    listening. After ``detach``, a resume already under way finishes on its own: it is one
    synchronous core call, and its loop may be gone.

    Event: ``accepting`` (``AcceptInfo``): a session server accepted a socket, which is still
    paused; dispatched synchronously, before "read at once" schedules its resume (for a server
    with TLS on accept: once the handshake worked, see the module docstring).
    ``start_tls_changed`` (server id): ``start_tls_options`` of that server changed.

    ``cert_dir``: the built-in test CA's directory, where ``ServerTls.test_ca_names`` gets its
    certificate issued (the window's, shared with the tls-echo server); None: a TLS setting
    that asks the test CA is refused.
    """

    kind = SocketKind.TCP_SERVER
    # Listen and stop undo each other: after a stop, the listen's "OK" is history (and after
    # a new listen, the stop's).
    undoing = ("listen", "disconnect")
    raw: TcpServerSockets

    def __init__(
        self,
        raw: TcpServerSockets,
        call_log: CallLog,
        registry: Registry,
        *,
        cert_dir: Path | None = None,
    ) -> None:
        super().__init__(raw, call_log, registry)
        self.cert_dir = cert_dir
        # Resumes and handshakes of accepted sockets under way: kept so they are not collected.
        self._resuming: set[asyncio.Task[None]] = set()
        #: TLS on accept per server id: what ``secure_server`` is given.
        self._tls: dict[int, ServerSecureOptions] = {}
        #: per server id: what its "Start TLS" rules are to be given (``on_accept`` False).
        self._start_tls: dict[int, ServerSecureOptions] = {}
        self.accepting: Event[AcceptInfo] = Event("accepting")
        self.start_tls_changed: Event[int] = Event("startTlsChanged")
        self._listen(raw.on_accept, self._on_accept)
        self._listen(raw.on_accept_error, self._on_accept_error)

    def record(self, socket_id: int) -> ServerRecord | None:
        return self.registry.server(server_key(socket_id))

    def _keys(self) -> list[SocketKey]:
        return self.registry.server_keys()

    def _no_properties(self) -> ServerSocketProperties:
        return ServerSocketProperties()

    # -- calls --------------------------------------------------------------------------------

    async def listen(
        self, socket_id: int, address: str, port: int, backlog: int | None = None
    ) -> int:
        args: tuple[Any, ...] = (socket_id, address, port)
        if backlog is not None:
            args += (backlog,)
        record = self.record(socket_id)
        if record is not None:
            record.intent.listen = (address, port, backlog)
        code = await self._logged(
            socket_id,
            "listen",
            args,
            lambda: self.raw.listen(socket_id, address, port, backlog),
            _code,
        )
        self._remember(socket_id, "listen", code)
        return code

    async def disconnect(self, socket_id: int) -> None:
        """Stop listening: the port is free at once (contract L8)."""
        await self._logged(
            socket_id, "disconnect", (socket_id,), lambda: self.raw.disconnect(socket_id)
        )
        self._remember(socket_id, "disconnect", NetError.OK)

    def set_read_at_once(self, socket_id: int, on: bool) -> None:
        """Whether the sockets this server accepts from now on are resumed at once (on, the
        default) or left paused as Chrome starts them (off: back-pressure tests). Not a
        Chrome call: not logged; sockets accepted before keep their pause."""
        record = self.record(socket_id)
        if record is None:
            raise SocketNotFoundError()
        record.intent.read_at_once = on
        self.registry.mark(record.key)

    def set_tls(self, socket_id: int, tls: ServerTls | None) -> ServerSecureOptions | None:
        """Secure every socket the server accepts from now on with ``tls`` (None: plaintext);
        sockets accepted before are left as they are. With ``tls.on_accept`` False, nothing is
        secured on accept: the options become the server's "Start TLS" options (see the
        module). Not a Chrome call: not logged (each ``secureServer`` it causes is). The test
        CA's certificate is issued here, once, not per connection. Returns what
        ``secure_server`` will be given. Raises ``SocketNotFoundError``; ``ValueError`` when
        the test CA is asked without ``cert_dir``, ``OSError`` when its files cannot be
        written (nothing changes then)."""
        record = self.record(socket_id)
        if record is None:
            raise SocketNotFoundError()
        options = self.tls_options_for(tls)
        record.intent.tls = tls
        on_accept = options if tls is not None and tls.on_accept else None
        start_tls = options if tls is not None and not tls.on_accept else None
        _put(self._tls, socket_id, on_accept)
        had_start_tls = _put(self._start_tls, socket_id, start_tls)
        self.registry.mark(record.key)
        # Only a change of this setting's own: "Start TLS" options given to the rules
        # directly (``ServerRules.set_tls``) stay while this server never used it.
        if had_start_tls or start_tls is not None:
            self.start_tls_changed.dispatch(socket_id)
        return options

    def tls_options(self, socket_id: int) -> ServerSecureOptions | None:
        """What the sockets server ``socket_id`` accepts are secured with (None: plaintext)."""
        return self._tls.get(socket_id)

    def start_tls_options(self, socket_id: int) -> ServerSecureOptions | None:
        """What the "Start TLS" rules of server ``socket_id`` are to be given by its TLS
        setting (``on_accept`` False); None: the setting gives them nothing."""
        return self._start_tls.get(socket_id)

    def tls_options_for(self, tls: ServerTls | None) -> ServerSecureOptions | None:
        """``tls`` as ``secure_server``'s options: the test CA issues (or reuses) the
        certificate for its names. Raises as ``set_tls``."""
        if tls is None:
            return None
        if tls.test_ca_names:
            if self.cert_dir is None:
                raise ValueError("the built-in test CA has no directory in this session")
            from workbench.net.servers.certificates import issue_certificate

            cert_file, key_file = issue_certificate(self.cert_dir, tls.test_ca_names)
            return ServerSecureOptions(
                cert_file=str(cert_file), key_file=str(key_file), ca_file=tls.ca_file
            )
        assert tls.cert_file is not None and tls.key_file is not None  # ServerTls checks it
        return ServerSecureOptions(
            cert_file=tls.cert_file, key_file=tls.key_file, ca_file=tls.ca_file
        )

    # -- events -------------------------------------------------------------------------------

    def _on_accept(self, info: AcceptInfo) -> None:
        key = server_key(info.socket_id)
        self.call_log.add(key, format_event(_API, "onAccept", info))
        record = self.registry.server(key)
        client = self.registry.tcp_record(info.client_socket_id)
        if record is None or client is None:
            return
        options = self._tls.get(info.socket_id)
        if options is not None:
            self._track(self._secure_then_answer(info, record, options))
            return
        self._answer(info, record)

    def _answer(self, info: AcceptInfo, record: ServerRecord) -> None:
        """Announce the accepted socket, then resume it if the server reads at once."""
        # Before the resume below is scheduled (and a listener that raises cannot stop it:
        # Event logs it and goes on).
        self.accepting.dispatch(info)
        if not record.intent.read_at_once:
            client = self.registry.tcp_record(info.client_socket_id)
            if client is not None:  # the user wants it paused: a reconnect keeps it so
                client.intent.paused = True
            return
        self._track(self._resume(info.client_socket_id))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._resuming.add(task)
        task.add_done_callback(self._resuming.discard)

    async def _secure_then_answer(
        self, info: AcceptInfo, record: ServerRecord, options: ServerSecureOptions
    ) -> None:
        """TLS on accept: the handshake first, on the paused socket; the rules and the resume
        only once it worked. A failure is the socket's own result (see the module)."""
        cid = info.client_socket_id
        key = SocketKey.tcp(cid)
        tcp = self.raw.tcp
        try:
            code = await logged_call(
                self.call_log,
                _TCP_API,
                key,
                ("secureServer", (cid, options), lambda: tcp.secure_server(cid, options)),
                _code,
            )
        except SocketNotFoundError:
            return  # closed before its turn came
        if self.registry.tcp_record(cid) is None:
            return
        self.registry.set_result(key, "secure", code)
        self.registry.set_error(key, None if code == NetError.OK else code)
        if code == NetError.OK:
            self._answer(info, record)

    async def _resume(self, client_id: int) -> None:
        if self.registry.tcp_record(client_id) is None:
            return  # closed before its turn came
        tcp = self.raw.tcp
        with contextlib.suppress(SocketNotFoundError):
            await logged_call(
                self.call_log,
                _TCP_API,
                SocketKey.tcp(client_id),
                ("setPaused", (client_id, False), lambda: tcp.set_paused(client_id, False)),
                lambda _r: ("undefined  (the session reads accepted sockets at once)", True),
            )

    def _on_accept_error(self, info: AcceptErrorInfo) -> None:
        self._log_pausing_error("onAcceptError", info, "the server")
