"""Persistent UDP sockets: what the settings file keeps of them, and how they come back.

A persistent UDP socket is saved as the user asked for it (its ``UdpIntent``: the bind, the
pause, the groups joined, TTL, loopback and broadcast), with one exception: the address and
port are the ones it was bound to, so that a socket bound on port 0 comes back where its peers
know it is. A socket not bound at save is saved with the bind it last asked for. Every saved
socket is bound again at the next start, as every persistent server listens again.

If its port is taken at the next start, the socket is restored (with its name, buffer size,
TTL and loopback) but not bound, its Bind panel showing ``-147 ADDRESS_IN_USE``, and a message
says so. It is never bound to another port instead: its peers would send to a port that is not
the saved one, with nothing to tell them, and the entry would move to the new port at the next
save. Restored as it is, the entry is saved back unchanged: the groups and broadcast it could
not set on an unbound socket stay in its intent.

The calls a restore makes are the user's own, logged: ``create``, ``setMulticastTimeToLive``
and ``setMulticastLoopbackMode`` (which apply at bind, D9), ``setPaused`` (so that nothing is
read before the user's pause), ``bind``, then ``joinGroup`` per group and ``setBroadcast``,
which need a bound socket.
"""

from __future__ import annotations

from workbench.core.errors import NetError
from workbench.core.types import UdpSocketProperties
from workbench.session.keys import SocketKey
from workbench.session.logged_udp import LoggedUdp
from workbench.session.record import UdpRecord
from workbench.session.restored import RestoreReport, restore_each
from workbench.session.session import Session
from workbench.session.settings_udp import PersistedUdp
from workbench.session.udp_book import udp_key

__all__ = ["RestoredUdp", "persisted_udp", "restore_udp"]


def persisted_udp(session: Session) -> list[PersistedUdp]:
    """The persistent UDP sockets of ``session`` as the settings file keeps them."""
    result = []
    for key in session.registry.udp_keys():
        record = session.registry.udp(key)
        if record is None or not record.info.persistent:
            continue
        info, intent = record.info, record.intent
        address, port = intent.bind if intent.bind is not None else (None, None)
        if record.bound:
            # Where it is bound: a bind on port 0 (or to a name) comes back on the same port
            # and address.
            address, port = info.local_address, info.local_port
        result.append(
            PersistedUdp(
                name=info.name,
                buffer_size=info.buffer_size,
                address=address,
                port=port,
                paused=intent.paused and info.paused,
                groups=list(intent.groups),
                ttl=intent.ttl,
                loopback=intent.loopback,
                broadcast=intent.broadcast,
                rules=session.udp_rules.saved(key.id),
            )
        )
    return result


#: What ``restore_udp`` did.
RestoredUdp = RestoreReport[PersistedUdp]


async def restore_udp(session: Session, saved: list[PersistedUdp]) -> RestoredUdp:
    """Create, configure and bind again the persistent UDP sockets of the last session, in
    order, each call logged. One entry that cannot be restored never stops the others: it is
    skipped with a warning and leaves no socket behind."""
    return await restore_each(saved, lambda entry: _restore_one(session, entry))


async def _restore_one(session: Session, entry: PersistedUdp) -> tuple[SocketKey, list[str]]:
    """The entry's socket, created, with its rules, configured and bound; on a refusal of the
    core it is closed again before the error goes on."""
    udp = session.udp
    props = UdpSocketProperties(name=entry.name, persistent=True, buffer_size=entry.buffer_size)
    sid = (await udp.create(props)).socket_id
    notes: list[str] = []
    try:
        if entry.rules is not None:  # before bind: the first datagram is answered
            loaded = session.udp_rules.load_rules(sid, entry.rules)
            if loaded.problems:
                notes.append(entry.rules_left_out_message(loaded.problems))
        # Both answer 0 on an unbound socket and apply at bind (D9).
        if entry.ttl is not None:
            await udp.set_multicast_time_to_live(sid, entry.ttl)
        if entry.loopback is not None:
            await udp.set_multicast_loopback_mode(sid, entry.loopback)
        if entry.paused:
            await udp.set_paused(sid, True)
        if entry.address is not None and entry.port is not None:
            code = await udp.bind(sid, entry.address, entry.port)
            if code == NetError.OK:
                notes += await _join_and_broadcast(udp, sid, entry)
            else:
                notes.append(entry.not_bound_message(code, udp.error_detail(sid)))
        _keep_intent(udp.record(sid), entry)
    except (TypeError, ValueError):
        await udp.close(sid)
        raise
    return udp_key(sid), notes


async def _join_and_broadcast(udp: LoggedUdp, sid: int, entry: PersistedUdp) -> list[str]:
    """Join the entry's groups and set its broadcast on the bound socket; a message for each
    the core refused."""
    notes = []
    for group in entry.groups:
        code = await udp.join_group(sid, group)
        if code != NetError.OK:
            notes.append(entry.not_set_message(f"group {group}", code, udp.error_detail(sid)))
    if entry.broadcast is not None:
        code = await udp.set_broadcast(sid, entry.broadcast)
        if code != NetError.OK:
            what = f"broadcast {'on' if entry.broadcast else 'off'}"
            notes.append(entry.not_set_message(what, code, udp.error_detail(sid)))
    return notes


def _keep_intent(record: UdpRecord | None, entry: PersistedUdp) -> None:
    """What the user asked for stays the socket's intent, set or not: a group or broadcast
    that an unbound socket (its port taken) or the sandbox refused is saved back as it was,
    and the next start tries again."""
    if record is None:
        return
    record.intent.groups = list(entry.groups)
    record.intent.broadcast = entry.broadcast
    if entry.address is not None and entry.port is not None:
        record.intent.bind = (entry.address, entry.port)
