"""Persistent listening sockets: saved with their port and rules, restored listening and
answering real loopback clients; bad entries skipped, named and kept in the file as they were."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.net.test_tcp_server import clients, connect_plain, recv_exactly
from workbench.core.formatting import format_endpoint
from workbench.core.rules_presets import Preset, preset
from workbench.core.rules_store import ruleset_to_dict
from workbench.core.types import ServerSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.persist_servers import persisted_servers, restore_servers
from workbench.session.session import Session
from workbench.session.settings import PersistedServer, Settings, SettingsStore

LOOPBACK = "127.0.0.1"
REDIS = ruleset_to_dict(preset(Preset.REDIS))


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path / "cfg")


def free_port() -> int:
    """A port nothing listens on (bound and let go: no connection, so no TIME_WAIT)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def server_calls(session: Session) -> list[str]:
    return [
        e.text for e in session.call_log.entries() if e.text.startswith("chrome.sockets.tcpServer.")
    ]


async def ping(port: int) -> bytes:
    with clients() as made:
        client = await connect_plain(made, port)
        await asyncio.get_running_loop().sock_sendall(client, b"PING\r\n")
        return await recv_exactly(client, 7)


async def test_a_persistent_server_comes_back_on_the_port_it_got_with_its_rules(
    session: Session, store: SettingsStore, tmp_path: Path
) -> None:
    """Issue 9: 'A persistent server comes back listening on the same address and port, with
    its rules.' It listened on port 0: it comes back on the port it got."""
    servers = session.servers
    sid = (await servers.create(ServerSocketProperties(name="redis", persistent=True))).socket_id
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    assert session.rules.set_rules(sid, preset(Preset.REDIS)) == []
    other = (await servers.create(ServerSocketProperties(name="not kept"))).socket_id
    assert await servers.listen(other, LOOPBACK, 0) == 0
    record = servers.record(sid)
    assert record is not None and record.info.local_port
    port = record.info.local_port
    assert await ping(port) == b"+PONG\r\n"
    saved = persisted_servers(session)
    assert saved == [PersistedServer(name="redis", address=LOOPBACK, port=port, rules=REDIS)]
    assert store.save(Settings(servers=saved)) is None
    await servers.close_all()  # the port is free again (contract L8)

    tcp = TcpSockets()
    later = Session(tcp, capture_dir=tmp_path / "later")
    try:
        settings, message = store.load()
        assert message is None and settings.servers == saved
        restored = await restore_servers(later, settings.servers)
        assert restored.messages == [] and len(restored.keys) == 1
        again = later.registry.server(restored.keys[0])
        assert again is not None and again.info.persistent and again.info.name == "redis"
        assert (again.info.local_address, again.info.local_port) == (LOOPBACK, port)
        assert again.intent.rules == REDIS
        assert await ping(port) == b"+PONG\r\n"
        sid = restored.keys[0].id
        assert server_calls(later)[:2] == [
            f'chrome.sockets.tcpServer.create({{"name":"redis","persistent":true}}) → '
            f'{{"socketId":{sid}}}',
            f'chrome.sockets.tcpServer.listen({sid}, "127.0.0.1", {port}) → 0',
        ]
        assert persisted_servers(later) == saved
    finally:
        await later.servers.close_all()
        later.shutdown()
        await tcp.shutdown()


async def test_read_at_once_pause_and_backlog_come_back(session: Session) -> None:
    port = free_port()
    saved = PersistedServer(
        name="slow", address=LOOPBACK, port=port, backlog=3, read_at_once=False, paused=True
    )
    restored = await restore_servers(session, [saved])
    assert restored.messages == []
    record = session.registry.server(restored.keys[0])
    assert record is not None and record.info.paused and record.listening
    assert not record.intent.read_at_once and record.intent.listen == (LOOPBACK, port, 3)
    sid = record.key.id
    assert server_calls(session)[1:] == [
        f"chrome.sockets.tcpServer.setPaused({sid}, true) → undefined",
        f'chrome.sockets.tcpServer.listen({sid}, "127.0.0.1", {port}, 3) → 0',
    ]
    assert persisted_servers(session) == [saved]
    await session.servers.close_all()


async def test_a_server_that_never_listened_comes_back_not_listening(session: Session) -> None:
    restored = await restore_servers(session, [PersistedServer(name="draft", rules=REDIS)])
    assert restored.messages == []
    record = session.registry.server(restored.keys[0])
    assert record is not None and not record.listening
    assert session.rules.ruleset(record.key.id) == preset(Preset.REDIS)
    assert persisted_servers(session) == [PersistedServer(name="draft", rules=REDIS)]
    assert all("listen" not in call for call in server_calls(session))


async def test_a_taken_port_leaves_the_server_restored_but_not_listening(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """No fall-back to another port: the server and its rules are there, its listen() result
    is -147, the message says so, and the entry is saved back on its own port."""
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        port = holder.getsockname()[1]
        saved = PersistedServer(name="smtp", address=LOOPBACK, port=port, rules=REDIS)
        with caplog.at_level(logging.WARNING, logger="workbench.session"):
            restored = await restore_servers(session, [saved])
    assert restored.messages == [
        f"The persistent server 'smtp' (127.0.0.1:{port}) is restored but not listening "
        "(-147 ADDRESS_IN_USE: the address is already in use); listen again from its Listen "
        "panel."
    ]
    assert restored.messages[0] in caplog.text and restored.skipped == []
    record = session.registry.server(restored.keys[0])
    assert record is not None and not record.listening
    assert record.results["listen"] == -147
    assert session.rules.ruleset(record.key.id) == preset(Preset.REDIS)
    assert server_calls(session)[-1].endswith(
        f'listen({record.key.id}, "127.0.0.1", {port}) → -147 (net::ERR_ADDRESS_IN_USE)'
    )
    assert persisted_servers(session) == [saved]


async def test_a_rule_that_does_not_load_is_left_out_and_kept(
    session: Session, store: SettingsStore
) -> None:
    """The server is restored with the rules that load; the message names the others; the
    saved rules stay as they were, bad one included, until the user applies other rules."""
    rules: dict[str, Any] = json.loads(json.dumps(REDIS))
    rules["rules"].insert(0, {"name": "broken", "match": {"kind": "regex", "pattern": "("}})
    port = free_port()
    saved = PersistedServer(name="redis", address=LOOPBACK, port=port, rules=rules)
    restored = await restore_servers(session, [saved])
    assert restored.messages == [
        f"The persistent server 'redis' (127.0.0.1:{port}) is restored without the rules that "
        'do not load (rule 1 "broken": match, position 0: invalid regex: missing ), '
        "unterminated subpattern); they are kept in the settings file as they are."
    ]
    assert await ping(port) == b"+PONG\r\n"
    assert session.rules.ruleset(restored.keys[0].id) == preset(Preset.REDIS)
    assert persisted_servers(session) == [saved]
    await session.servers.close_all()


#: Entries that cannot be restored, each with what its message must say is wrong.
BAD_SERVERS: list[tuple[dict[str, Any], str]] = [
    (
        {"name": "by name", "address": "localhost", "port": 2525},
        "the address must be an IP address, not 'localhost'",
    ),
    (
        {"name": "nul", "address": "127.0.0.1\x00x", "port": 2525},
        "the address must not contain a NUL character",
    ),
    (
        {"name": "far port", "address": LOOPBACK, "port": 70000},
        "port must be in 0..65535, not 70000",
    ),
    (
        {"name": "text port", "address": LOOPBACK, "port": "2525"},
        'port must be a whole number or null, not "2525"',
    ),
    (
        {"name": "true port", "address": LOOPBACK, "port": True},
        "port must be a whole number or null, not true",
    ),
    (
        {"name": "no port", "address": LOOPBACK},
        "an address and a port go together: one of them is missing",
    ),
    (
        {"name": "backlog", "address": LOOPBACK, "port": 2525, "backlog": -1},
        "backlog must not be negative, not -1",
    ),
    (
        {"name": "yes", "address": LOOPBACK, "port": 2525, "read_at_once": "yes"},
        'read_at_once must be true or false, not "yes"',
    ),
    (
        {"name": "rules list", "address": LOOPBACK, "port": 2525, "rules": [1]},
        "rules must be an object or null, not [1]",
    ),
    (
        {"name": "rules v2", "address": LOOPBACK, "port": 2525, "rules": {"version": 2}},
        "its rules cannot be read: rules file: unknown version 2 (known: 1)",
    ),
    (
        {"name": "framing", "address": LOOPBACK, "port": 2525, "rules": {"framing": {"kind": "w"}}},
        "its rules cannot be read: framing kind: unknown framing kind 'w' (known: chunk, line, "
        "fixed)",
    ),
    ({"name": 7, "address": LOOPBACK, "port": 2525}, "name must be text or null, not 7"),
]


def skip_sentence(entry: dict[str, Any], problem: str) -> str:
    """The sentence naming ``entry``: its name and address:port, those of its values that
    have the right type (a NUL escaped)."""
    port = entry.get("port")
    port = port if isinstance(port, int) and not isinstance(port, bool) else None
    peer = format_endpoint(entry["address"], port).replace("\x00", "\\x00")
    shown = f"{entry['name']!r} ({peer})" if isinstance(entry["name"], str) else peer
    return (
        f"The persistent server {shown} cannot be restored ({problem}); "
        "it is kept in the settings file as it is."
    )


def test_each_bad_entry_is_named_with_what_is_wrong(store: SettingsStore) -> None:
    store.directory.mkdir()
    entries = [entry for entry, _ in BAD_SERVERS]
    store.path.write_text(json.dumps({"servers": entries}), encoding="utf-8")
    settings, message = store.load()
    assert settings.servers == [] and settings.kept_servers == entries
    assert message == " ".join(skip_sentence(e, p) for e, p in BAD_SERVERS)


def test_a_bad_entry_is_named_exactly() -> None:
    entry = PersistedServer.from_json({"name": "smtp", "address": LOOPBACK, "port": 70000})
    assert entry is not None and entry.problem() is not None
    assert entry.skip_message(entry.problem() or "") == (
        "The persistent server 'smtp' (127.0.0.1:70000) cannot be restored (port must be in "
        "0..65535, not 70000); it is kept in the settings file as it is."
    )


async def test_bad_entries_are_kept_byte_for_byte(session: Session, store: SettingsStore) -> None:
    """Loaded, restored and saved again: the good servers come back (one with a rule that
    does not load), the bad entries are skipped; the file is written back byte for byte."""
    rules: dict[str, Any] = json.loads(json.dumps(REDIS))
    rules["rules"].append({"name": "odd", "bogus": 1})
    good = [
        PersistedServer(name="a", address=LOOPBACK, port=free_port(), rules=rules),
        PersistedServer(name="draft"),
        PersistedServer(name="b", address=LOOPBACK, port=free_port(), backlog=5, paused=True),
    ]
    entries = [entry for entry, _ in BAD_SERVERS]
    assert store.save(Settings(servers=good, kept_servers=entries)) is None
    before = store.path.read_bytes()
    settings, message = store.load()
    assert settings.servers == good and settings.kept_servers == entries
    assert message is not None and message.count("cannot be restored") == len(entries)
    restored = await restore_servers(session, settings.servers)
    records = [session.registry.server(k) for k in restored.keys]
    assert [r.info.name for r in records if r is not None] == ["a", "draft", "b"]
    assert restored.skipped == [] and len(restored.messages) == 1
    assert "rule 2 \"odd\": rule: unknown field 'bogus'" in restored.messages[0]
    assert await ping(good[0].port or 0) == b"+PONG\r\n"
    settings.servers = persisted_servers(session)
    assert store.save(settings) is None
    assert store.path.read_bytes() == before
    await session.servers.close_all()


async def test_an_entry_the_core_refuses_is_skipped_and_the_rest_restored(
    session: Session,
) -> None:
    """Entries made in code (not read from the file) are checked too: one bad entry stops
    nothing, leaves no server, and is kept as it is."""
    bad = PersistedServer(name="bad", address="::1\x00", port=1)
    restored = await restore_servers(session, [PersistedServer(name="a"), bad])
    assert [k.id for k in restored.keys] == [k.id for k in session.registry.server_keys()]
    assert len(restored.keys) == 1
    assert restored.messages == [
        "The persistent server 'bad' ([::1\\x00]:1) cannot be restored (the address must not "
        "contain a NUL character); it is kept in the settings file as it is."
    ]
    assert restored.kept == [bad.to_json()]
