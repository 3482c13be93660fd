"""Persistent listening sockets: what the settings file keeps of them, and how they come back.

A persistent server is saved as the user asked for it (its ``ServerIntent``: the address, the
backlog, "read at once", the pause, the rules and TLS on accept), with one exception: the port
is the one it was listening on, so that a server that asked for port 0 comes back where its
clients know it is. A server not listening at save is saved with the port it last asked for.
Every saved server listens again at the next start, as every persistent socket reconnects.

If its port is taken at the next start, the server is restored (with its rules) but not
listening, its Listen panel showing ``-147 ADDRESS_IN_USE``, and a message says so. It does
not fall back to another port: clients would be pointed at a port that is not the saved one,
with nothing to tell them, and the saved entry would then move to the new port at the next
save. Restored as it is, the entry is saved back unchanged.
"""

from __future__ import annotations

from workbench.core.errors import NetError
from workbench.core.types import ServerSocketProperties
from workbench.session.keys import SocketKey
from workbench.session.logged_servers import server_key
from workbench.session.restored import RestoreReport, restore_each
from workbench.session.session import Session
from workbench.session.settings_servers import (
    PersistedServer,
    server_tls_from_json,
    server_tls_to_json,
)

__all__ = ["RestoredServers", "persisted_servers", "restore_servers"]


def persisted_servers(session: Session) -> list[PersistedServer]:
    """The persistent listening sockets of ``session`` as the settings file keeps them."""
    result = []
    for key in session.registry.server_keys():
        record = session.registry.server(key)
        if record is None or not record.info.persistent:
            continue
        info, intent = record.info, record.intent
        address, port, backlog = intent.listen if intent.listen is not None else (None, None, None)
        if record.listening:
            # The port it got: a listen on port 0 comes back on the same port.
            address = address if address is not None else info.local_address
            port = info.local_port
        result.append(
            PersistedServer(
                name=info.name,
                address=address,
                port=port,
                backlog=backlog,
                read_at_once=intent.read_at_once,
                paused=intent.paused and info.paused,
                rules=intent.rules,
                tls=server_tls_to_json(intent.tls),
            )
        )
    return result


#: What ``restore_servers`` did.
RestoredServers = RestoreReport[PersistedServer]


async def restore_servers(session: Session, saved: list[PersistedServer]) -> RestoredServers:
    """Create, configure and start listening the persistent servers of the last session, in
    order, each call logged. One entry that cannot be restored never stops the others: it is
    skipped with a warning and leaves no server behind."""
    return await restore_each(saved, lambda entry: _restore_one(session, entry))


async def _restore_one(session: Session, entry: PersistedServer) -> tuple[SocketKey, list[str]]:
    """The entry's server, created, with its rules, listening; on a refusal of the core it is
    closed again before the error goes on. TLS, the rules and the pause come before
    ``listen``, so that the first connection is already secured and answered (and a paused
    server accepts none). TLS that cannot be set up (the test CA without a directory or
    unwritable) skips the entry: a plaintext server where clients expect TLS is no restore."""
    servers = session.servers
    props = ServerSocketProperties(name=entry.name, persistent=True)
    sid = (await servers.create(props)).socket_id
    notes = []
    try:
        servers.set_read_at_once(sid, entry.read_at_once)
        if entry.tls is not None:
            try:
                servers.set_tls(sid, server_tls_from_json(entry.tls))
            except OSError as exc:  # the test CA's files cannot be written
                raise ValueError(f"its test certificate cannot be issued: {exc}") from None
        if entry.rules is not None:
            loaded = session.rules.load_rules(sid, entry.rules)
            if loaded.problems:
                notes.append(entry.rules_left_out_message(loaded.problems))
        if entry.paused:
            await servers.set_paused(sid, True)
        if entry.address is not None and entry.port is not None:
            code = await servers.listen(sid, entry.address, entry.port, entry.backlog)
            if code != NetError.OK:
                notes.append(entry.not_listening_message(code))
    except (TypeError, ValueError):
        await servers.close(sid)
        raise
    return server_key(sid), notes
