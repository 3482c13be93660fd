"""Persistent sockets: what the settings file keeps of them, and how they come back.

A persistent socket is saved as the user asked for it (its ``SocketIntent``: the peer, the TLS
settings and whether TLS was on, the STARTTLS preset its Secure ran, the options, the pause),
not as it happens to be at quit: a TLS socket that was disconnected at quit still comes back
as TLS, secured the same way (the preset's exchange first, then the handshake). Every saved
socket is reconnected at the next start, disconnected or not at quit: persistence is the user
saying "I want this connection", and the Connect tab still has Disconnect for the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from workbench.core.errors import NetError
from workbench.core.types import SecureOptions, SocketProperties
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.restored import RestoreReport, restore_each
from workbench.session.session import Session
from workbench.session.settings import PersistedSocket, secure_from_json, secure_to_json

if TYPE_CHECKING:
    from workbench.net.servers import ServerManager

__all__ = [
    "BuiltinServers",
    "ManagedServers",
    "Restored",
    "persisted_sockets",
    "restore_persistent",
    "restore_sockets",
]

_log = logging.getLogger("workbench.session")

#: The addresses the built-in servers listen on.
LOOPBACK = ("127.0.0.1", "localhost")


class BuiltinServers(Protocol):
    """Where the built-in servers are now: their ports change at every start."""

    def kind_at(self, host: str | None, port: int | None) -> str | None:
        """The kind of the running built-in server at ``host:port``, if it is one."""

    async def port_of(self, kind: str) -> int | None:
        """The current port of the built-in server ``kind``, started if need be."""


def persisted_sockets(
    session: Session, servers: BuiltinServers | None = None
) -> list[PersistedSocket]:
    """The persistent sockets of ``session`` as the settings file keeps them."""
    result = []
    for key in session.registry:
        record = session.registry.get(key)
        if record is None or key.kind is not SocketKind.TCP or not record.info.persistent:
            continue
        info, intent = record.info, record.intent
        host, port, dns = intent.peer if intent.peer is not None else (None, None, "any")
        result.append(
            PersistedSocket(
                name=info.name,
                buffer_size=info.buffer_size,
                host=host,
                port=port,
                dns=dns,
                secure=secure_to_json(intent.secure),
                was_secure=intent.tls,
                starttls=intent.starttls,
                options={name: list(args) for name, args in intent.options.items()},
                user_paused=intent.paused and info.paused,
                server=servers.kind_at(host, port) if servers is not None else None,
            )
        )
    return result


#: What ``restore_persistent`` did (the window shows its messages).
Restored = RestoreReport[PersistedSocket]


async def restore_sockets(
    session: Session,
    saved: list[PersistedSocket],
    servers: BuiltinServers | None = None,
    on_created: Callable[[SocketKey], object] | None = None,
) -> list[SocketKey]:
    """Create, configure and reconnect the persistent sockets of the last session, in order.
    ``on_created`` hears each new socket before it connects (the window pre-fills its form).
    An entry that cannot be restored is skipped with a warning (``restore_persistent`` says
    which); the others are restored."""
    return (await restore_persistent(session, saved, servers, on_created)).keys


async def restore_persistent(
    session: Session,
    saved: list[PersistedSocket],
    servers: BuiltinServers | None = None,
    on_created: Callable[[SocketKey], object] | None = None,
) -> Restored:
    """``restore_sockets``, saying which entries were skipped and why: one bad entry never
    stops the others (issue 8, item 3)."""

    async def one(entry: PersistedSocket) -> tuple[SocketKey, list[str]]:
        return await _restore_one(session, entry, servers, on_created), []

    return await restore_each(saved, one)


async def _restore_one(
    session: Session,
    entry: PersistedSocket,
    servers: BuiltinServers | None,
    on_created: Callable[[SocketKey], object] | None,
) -> SocketKey:
    """The entry's socket, created and reconnected; on a refusal of the core it is closed
    again before the error goes on, so that a skipped entry leaves no socket behind."""
    options = secure_from_json(entry.secure)
    props = SocketProperties(name=entry.name, persistent=True, buffer_size=entry.buffer_size)
    key = await session.create(props)
    try:
        session.set_intent(key, secure=options, tls=entry.was_secure, starttls=entry.starttls)
        session.set_intent(key, options=entry.checked_options())
        if entry.host is not None and entry.port is not None:
            port = entry.port
            if entry.server is not None and entry.host in LOOPBACK and servers is not None:
                # A built-in server gets a new free port at every start: follow it.
                port = await servers.port_of(entry.server) or port
            session.set_intent(key, peer=(entry.host, port, entry.dns))
        if on_created is not None:
            on_created(key)
        if entry.host is not None and entry.port is not None:
            await _reconnect(session, key, entry, options)
    except (TypeError, ValueError):
        await session.close(key)
        raise
    return key


async def _reconnect(
    session: Session, key: SocketKey, entry: PersistedSocket, options: SecureOptions | None
) -> None:
    record = session.registry[key]
    assert record.intent.peer is not None
    host, port, dns = record.intent.peer
    if await session.connect(key, host, port, dns) != NetError.OK:
        return
    if entry.was_secure and await _secure(session, key, entry.starttls, options) != 0:
        return
    for name, args in record.intent.options.items():
        await session.set_option(key, name, *args)
    if entry.user_paused:
        await session.set_paused(key, True)


async def _secure(
    session: Session, key: SocketKey, starttls: str | None, options: SecureOptions | None
) -> int:
    """Secure as the user last did: the same STARTTLS preset's exchange first, if any."""
    if starttls is None:
        return await session.secure(key, options or SecureOptions())
    return await session.starttls(key, starttls, options or SecureOptions())


class ManagedServers:
    """``BuiltinServers`` over the window's ``ServerManager``."""

    def __init__(self, manager: ServerManager, report: Callable[[str], object] | None = None):
        self.manager = manager
        self._report = report

    def kind_at(self, host: str | None, port: int | None) -> str | None:
        if host not in LOOPBACK or port is None:
            return None
        for server in self.manager.servers:
            # A TCP socket's peer is never a UDP server, whatever port number they share.
            if server.running and server.port == port and not server.kind.udp:
                return str(server.kind.value)
        return None

    async def port_of(self, kind: str) -> int | None:
        from workbench.net.servers import ServerKind, ServerSpec

        try:
            server_kind = ServerKind(kind)
        except ValueError:
            return None
        server = self.manager.find(server_kind)
        if server is None:
            try:
                server = await self.manager.start(ServerSpec(server_kind))
            except OSError as exc:
                message = f"The built-in {kind} server could not start: {exc}"
                _log.warning("%s", message)
                if self._report is not None:
                    self._report(message)
                return None
        return int(server.port)
