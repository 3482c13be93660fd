"""Persistent UDP sockets: saved with the address and port they were bound to and their
multicast settings, restored bound again and receiving from real loopback peers; a taken port
leaves the socket restored but not bound, never on another port; bad entries skipped, named
and kept in the file as they were."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.net.test_udp import LOOPBACK, Peer, peers
from workbench.core.errors import NetError
from workbench.core.types import UdpSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.persist_udp import persisted_udp, restore_udp
from workbench.session.session import Session
from workbench.session.settings import PersistedUdp, Settings, SettingsStore

API = "chrome.sockets.udp"
#: Administratively scoped (RFC 2365), varied by process so parallel runs do not share it.
GROUP = f"239.254.{os.getpid() % 200 + 1}.17"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path / "cfg")


def udp_calls(session: Session) -> list[str]:
    return [e.text for e in session.call_log.entries() if e.text.startswith(API + ".")]


async def test_a_persistent_udp_socket_comes_back_bound_where_it_was(
    session: Session, store: SettingsStore, tmp_path: Path
) -> None:
    """Issue 10: 'A persistent UDP socket comes back bound to the same address and port'. It
    bound port 0: it comes back on the port it got, with its name, buffer size, groups, TTL,
    loopback, broadcast and pause; a socket that is not persistent is not saved."""
    udp = session.udp
    props = UdpSocketProperties(name="syslog", persistent=True, buffer_size=512)
    sid = (await udp.create(props)).socket_id
    assert await udp.set_multicast_time_to_live(sid, 4) == 0
    assert await udp.bind(sid, LOOPBACK, 0) == 0
    assert await udp.set_multicast_loopback_mode(sid, False) == 0
    assert await udp.join_group(sid, GROUP) == 0
    assert await udp.set_broadcast(sid, True) == 0
    await udp.set_paused(sid, True)
    other = (await udp.create(UdpSocketProperties(name="not kept"))).socket_id
    assert await udp.bind(other, LOOPBACK, 0) == 0
    record = udp.record(sid)
    assert record is not None and record.info.local_port
    port = record.info.local_port
    saved = persisted_udp(session)
    assert saved == [
        PersistedUdp(
            name="syslog", buffer_size=512, address=LOOPBACK, port=port, paused=True,
            groups=[GROUP], ttl=4, loopback=False, broadcast=True,
        )
    ]  # fmt: skip
    assert store.save(Settings(udp=saved)) is None
    await udp.close_all()  # the port is free again (D11)

    later = Session(TcpSockets(), capture_dir=tmp_path / "later")
    try:
        settings, message = store.load()
        assert message is None and settings.udp == saved
        restored = await restore_udp(later, settings.udp)
        assert restored.messages == [] and restored.skipped == [] and len(restored.keys) == 1
        sid = restored.keys[0].id
        again = later.udp.record(sid)
        assert again is not None and again.info.persistent and again.info.name == "syslog"
        assert again.info.buffer_size == 512 and again.info.paused
        assert (again.info.local_address, again.info.local_port) == (LOOPBACK, port)
        assert await later.udp.raw.get_joined_groups(sid) == [GROUP]
        assert udp_calls(later) == [
            f'{API}.create({{"name":"syslog","persistent":true,"bufferSize":512}}) → '
            f'{{"socketId":{sid}}}',
            f"{API}.setMulticastTimeToLive({sid}, 4) → 0",
            f"{API}.setMulticastLoopbackMode({sid}, false) → 0",
            f"{API}.setPaused({sid}, true) → undefined",
            f'{API}.bind({sid}, "127.0.0.1", {port}) → 0',
            f'{API}.joinGroup({sid}, "{GROUP}") → 0',
            f"{API}.setBroadcast({sid}, true) → 0",
        ]
        assert persisted_udp(later) == saved
        # Bound for real: a datagram to the saved port arrives once the user resumes.
        await later.udp.set_paused(sid, False)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.sendto(b"<14>hello", (LOOPBACK, port))
            await wait_for(lambda: again.datagrams_in == 1)
        assert again.received == len(b"<14>hello")
    finally:
        await later.udp.close_all()
        later.shutdown()


async def test_a_taken_port_leaves_the_socket_restored_but_not_bound(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """No fall-back to another port: the socket is there, unbound, its bind result -147 with
    the operating system's reason, the message says so, and the entry (groups and broadcast,
    which need a bound socket, included) is saved back on its own port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((LOOPBACK, 0))
        port = holder.getsockname()[1]
        saved = PersistedUdp(
            name="dns", address=LOOPBACK, port=port, groups=[GROUP], ttl=2, broadcast=True
        )
        with caplog.at_level(logging.WARNING, logger="workbench.session"):
            restored = await restore_udp(session, [saved])
    why = os.strerror(98)  # EADDRINUSE, in the operating system's words
    assert restored.messages == [
        f"The persistent UDP socket 'dns' (127.0.0.1:{port}) is restored but not bound "
        f"(-147 ADDRESS_IN_USE: {why}); bind again from its Bind panel."
    ]
    assert restored.messages[0] in caplog.text and restored.skipped == []
    record = session.udp.record(restored.keys[0].id)
    assert record is not None and not record.bound and record.info.persistent
    assert record.results["bind"] == NetError.ADDRESS_IN_USE and record.reasons["bind"] == why
    sid = record.key.id
    assert udp_calls(session)[-1] == (
        f'{API}.bind({sid}, "127.0.0.1", {port}) → -147 (net::ERR_ADDRESS_IN_USE: {why})'
    )
    assert not any("joinGroup" in call or "setBroadcast" in call for call in udp_calls(session))
    assert persisted_udp(session) == [saved]


async def test_a_group_the_core_refuses_is_named_and_kept(session: Session) -> None:
    """A bound socket joins the groups it can; one the core refuses (here of the other IP
    version than the bound address) is named, and stays in the entry for the next start."""
    saved = PersistedUdp(name="mixed", address=LOOPBACK, port=0, groups=[GROUP, "ff15::17"])
    restored = await restore_udp(session, [saved])
    why = "ff15::17 is of the other IP version than the socket's bound address"
    assert restored.messages == [
        "The persistent UDP socket 'mixed' (127.0.0.1:0) is restored without group ff15::17 "
        f"(-108 ADDRESS_INVALID: {why}); it is kept in the settings file as it is."
    ]
    sid = restored.keys[0].id
    assert await session.udp.raw.get_joined_groups(sid) == [GROUP]
    record = session.udp.record(sid)
    assert record is not None and record.bound and record.info.local_port
    assert persisted_udp(session) == [
        PersistedUdp(
            name="mixed", address=LOOPBACK, port=record.info.local_port, groups=saved.groups
        )
    ]
    await session.udp.close_all()


async def test_a_socket_that_never_bound_comes_back_not_bound(session: Session) -> None:
    restored = await restore_udp(session, [PersistedUdp(name="draft", ttl=9, loopback=True)])
    assert restored.messages == []
    record = session.udp.record(restored.keys[0].id)
    assert record is not None and not record.bound
    assert all(".bind(" not in call for call in udp_calls(session))
    assert persisted_udp(session) == [PersistedUdp(name="draft", ttl=9, loopback=True)]


async def test_a_refused_second_bind_leaves_the_saved_binding(session: Session) -> None:
    """D3: a bound socket keeps its binding when a second bind is refused, and so does what
    a restore binds again; a first bind the OS refused is remembered (the next start asks
    it again)."""
    udp = session.udp
    sid = (await udp.create(UdpSocketProperties(persistent=True))).socket_id
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((LOOPBACK, 0))
        taken = holder.getsockname()[1]
        assert await udp.bind(sid, LOOPBACK, taken) == NetError.ADDRESS_IN_USE
    record = udp.record(sid)
    assert record is not None and record.intent.bind == (LOOPBACK, taken)
    assert await udp.bind(sid, LOOPBACK, 0) == 0
    port = record.info.local_port
    assert record.intent.bind == (LOOPBACK, 0)
    assert await udp.bind(sid, LOOPBACK, taken) == NetError.CONNECTION_FAILED
    assert record.intent.bind == (LOOPBACK, 0) and record.info.local_port == port
    assert persisted_udp(session) == [PersistedUdp(address=LOOPBACK, port=port)]
    await udp.close_all()


#: Entries that cannot be restored, each with what its message must say is wrong.
BAD_UDP: list[tuple[dict[str, Any], str]] = [
    (
        {"name": "far port", "address": LOOPBACK, "port": 70000},
        "port must be in 0..65535, not 70000",
    ),
    (
        {"name": "text port", "address": LOOPBACK, "port": "53"},
        'port must be a whole number or null, not "53"',
    ),
    (
        {"name": "no port", "address": LOOPBACK},
        "an address and a port go together: one of them is missing",
    ),
    (
        {"name": "nul", "address": "127.0.0.1\x00x", "port": 53},
        "the address must not contain a NUL character",
    ),
    (
        {"name": "hot", "address": LOOPBACK, "port": 53, "ttl": 300},
        "ttl must be in 0..255, not 300",
    ),
    (
        {"name": "unicast", "address": LOOPBACK, "port": 53, "groups": ["10.0.0.1"]},
        'a group must be a multicast IP address, not "10.0.0.1"',
    ),
    (
        {"name": "by name", "address": LOOPBACK, "port": 53, "groups": ["mdns.local"]},
        'a group must be a multicast IP address, not "mdns.local"',
    ),
    (
        {"name": "loud", "address": LOOPBACK, "port": 53, "broadcast": "yes"},
        'broadcast must be true, false or null, not "yes"',
    ),
    ({"name": 7, "address": LOOPBACK, "port": 53}, "name must be text or null, not 7"),
    (
        {"name": "big", "address": LOOPBACK, "port": 53, "buffer_size": 1.5},
        "buffer_size must be a whole number or null, not 1.5",
    ),
]


def test_bad_entries_are_named_set_aside_and_written_back_untouched(tmp_path: Path) -> None:
    good = {"name": "ok", "address": LOOPBACK, "port": 5353, "groups": [GROUP]}
    entries = [good, *(entry for entry, _ in BAD_UDP), "not an object"]
    settings = Settings.from_json({"udp": entries})
    assert [entry.name for entry in settings.udp] == ["ok"]
    assert settings.kept_udp == [entry for entry, _ in BAD_UDP]
    assert len(settings.problems) == len(BAD_UDP)
    for message, (entry, problem) in zip(settings.problems, BAD_UDP, strict=True):
        label = PersistedUdp.from_json(entry)
        assert label is not None
        assert message == (
            f"The persistent UDP socket {label.label()} cannot be restored ({problem}); it is "
            "kept in the settings file as it is."
        )
    assert "'far port' (127.0.0.1:70000)" in settings.problems[0]
    store = SettingsStore(tmp_path / "cfg")
    assert store.save(settings) is None
    written = json.loads(store.path.read_text(encoding="utf-8"))["udp"]
    assert written == [PersistedUdp.from_json(good).to_json(), *settings.kept_udp]  # type: ignore[union-attr]


async def test_a_bad_entry_is_skipped_and_the_others_are_restored(session: Session) -> None:
    """An entry made in code (not read from the file) is checked again at restore: skipped
    with the message that names it, leaving no socket behind, the others bound."""
    first, second = PersistedUdp(name="a", address=LOOPBACK, port=0), PersistedUdp(name="c")
    bad = PersistedUdp(name="b", address=LOOPBACK, port=53, ttl=-1)
    restored = await restore_udp(session, [first, bad, second])
    assert restored.messages == [
        "The persistent UDP socket 'b' (127.0.0.1:53) cannot be restored (ttl must be in "
        "0..255, not -1); it is kept in the settings file as it is."
    ]
    assert restored.kept == [bad.to_json()]
    names = [session.udp.record(key.id).info.name for key in restored.keys]  # type: ignore[union-attr]
    assert names == ["a", "c"] and len(session.registry.udp_keys()) == 2
    bound = session.udp.record(restored.keys[0].id)
    assert bound is not None and bound.bound
    await session.udp.close_all()


def test_an_unnamed_entry_is_named_by_its_address_not_by_empty_quotes() -> None:
    unnamed = PersistedUdp(name="", address=LOOPBACK, port=5353)
    assert unnamed.label() == "127.0.0.1:5353"
    assert PersistedUdp(name="dns", address=LOOPBACK, port=5353).label() == "'dns' (127.0.0.1:5353)"


async def test_its_response_rules_come_back_with_it_and_answer(
    session: Session, store: SettingsStore, tmp_path: Path
) -> None:
    from workbench.core.rules import Match, MatchKind, Reply, Rule, RuleSet

    udp = session.udp
    sid = (await udp.create(UdpSocketProperties(name="pong", persistent=True))).socket_id
    assert await udp.bind(sid, LOOPBACK, 0) == 0
    ping = Rule(
        name="ping",
        match=Match(kind=MatchKind.REGEX, pattern=r"\APING"),
        reply=Reply(template="PONG"),
    )
    assert session.udp_rules.set_rules(sid, RuleSet(rules=(ping,))) == []
    saved = persisted_udp(session)
    assert saved[0].rules is not None
    assert store.save(Settings(udp=saved)) is None
    port = saved[0].port
    await udp.close_all()

    later = Session(TcpSockets(), capture_dir=tmp_path / "later")
    try:
        settings, _ = store.load()
        restored = await restore_udp(later, settings.udp)
        assert restored.messages == [] and len(restored.keys) == 1
        again = restored.keys[0].id
        assert later.udp_rules.ruleset(again) == RuleSet(rules=(ping,))
        with peers() as made:
            made.append(sender := Peer())
            sender.send(b"PING", port)
            assert await sender.wait(1) == [(b"PONG", (LOOPBACK, port))]  # the restored rule
        assert persisted_udp(later)[0].rules == saved[0].rules
    finally:
        await later.udp.close_all()
        later.shutdown()
