"""Response rules on a session's listening sockets, against real loopback clients (plain
sockets): rules are applied all or nothing, attached to each accepted socket before the session
reads it, faults are written to the call log, and the rules are remembered on the server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.test_tcp_server import clients, connect_plain, recv_exactly, recv_to_eof
from workbench.core.errors import SocketNotFoundError
from workbench.core.rules import (
    FrameKind,
    Framing,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleSet,
    Then,
    Trigger,
)
from workbench.core.rules_presets import Preset, preset
from workbench.core.rules_store import ruleset_to_dict
from workbench.net.tcp import TcpSockets
from workbench.session.logged_servers import server_key
from workbench.session.session import Session

LOOPBACK = "127.0.0.1"
LINES = Framing(kind=FrameKind.LINE)


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


@contextlib.asynccontextmanager
async def listening(session: Session) -> AsyncIterator[tuple[int, int]]:
    """A session server on the loopback and a free port (port 0): (id, port); closed at the
    end, in the test's loop."""
    sid = (await session.servers.create()).socket_id
    try:
        assert await session.servers.listen(sid, LOOPBACK, 0) == 0
        record = session.servers.record(sid)
        assert record is not None and record.info.local_port
        yield sid, record.info.local_port
    finally:
        await session.servers.close_all()


def regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


def crlf(template: str) -> Reply:
    return Reply(template=template, line_ending="CRLF")


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, data)


async def test_redis_ping_is_answered_pong(session: Session) -> None:
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, preset(Preset.REDIS)) == []
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"PING\r\n")
            assert await recv_exactly(client, 7) == b"+PONG\r\n"
            # redis-cli's form: the third line of the RESP array is PING.
            await send(client, b"*1\r\n$4\r\nPING\r\n")
            assert await recv_exactly(client, 7) == b"+PONG\r\n"
        assert session.rules.hit_counts(sid) == (2,)


async def test_what_a_rule_sends_is_in_the_accepted_socket_s_capture_and_count(
    session: Session,
) -> None:
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, preset(Preset.REDIS)) == []
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"PING\r\n")
            assert await recv_exactly(client, 7) == b"+PONG\r\n"
            records = [session.registry.get(key) for key in session.registry]
            accepted = next(r for r in records if r is not None and r.server == server_key(sid))
            await wait_for(lambda: accepted.sent == 7)
            store = accepted.capture
            assert store.bytes_out == 7 and store.bytes_in == 6
            assert store.read(0, 13) == b"PING\r\n+PONG\r\n"


async def test_a_regex_rule_answers_with_a_captured_group(session: Session) -> None:
    rules = RuleSet(
        framing=LINES,
        rules=(Rule(name="hello", match=regex(r"\AHELLO (\w+)\Z"), reply=crlf(r"hi \1 {count}")),),
    )
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, rules) == []
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"HELLO world\nnot this\nHELLO again\n")
            assert await recv_exactly(client, 24) == b"hi world 1\r\nhi again 2\r\n"


async def test_a_close_rule_closes_the_connection(session: Session) -> None:
    rules = RuleSet(
        framing=LINES,
        rules=(
            Rule(name="quit", match=regex(r"(?i)\AQUIT\Z"), reply=crlf("221 Bye"), then=Then.CLOSE),
        ),
    )
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, rules) == []
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"quit\n")
            assert await recv_to_eof(client) == b"221 Bye\r\n"  # then EOF: a FIN


async def test_invalid_rules_are_refused_with_their_errors_and_change_nothing(
    session: Session,
) -> None:
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, preset(Preset.REDIS)) == []
        record = session.servers.record(sid)
        assert record is not None
        saved = record.intent.rules
        bad = RuleSet(
            framing=LINES,
            rules=(
                Rule(name="ok", reply=Reply(template="fine")),
                Rule(name="broken", match=regex("(unclosed")),
                Rule(name="pear", reply=Reply(template="{pear}")),
            ),
        )
        problems = session.rules.set_rules(sid, bad)
        assert [(p.index, p.field) for p in problems] == [(1, "match"), (2, "reply")]
        assert str(problems[0]).startswith('rule 2 "broken": match, position 0: invalid regex')
        assert "unknown placeholder {pear}" in str(problems[1])
        # Nothing half-applied: the rules in force, and those remembered, are the old ones.
        assert session.rules.ruleset(sid) == preset(Preset.REDIS)
        assert record.intent.rules == saved
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"PING\n")
            assert await recv_exactly(client, 7) == b"+PONG\r\n"


async def test_a_rule_fault_is_logged_and_the_other_rules_go_on(session: Session) -> None:
    # 300 copies of a 60 kB frame are over the 16 MiB a reply may be: "big" fails at run time.
    rules = RuleSet(
        framing=LINES,
        rules=(
            Rule(name="big", match=regex(r"\Abig"), reply=Reply(template="{frame}" * 300)),
            Rule(name="ok", reply=crlf("ok {count}")),
        ),
    )
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, rules) == []
        with clients() as made:
            client = await connect_plain(made, port)
            await send(client, b"big" + b"x" * 60_000 + b"\n")
            assert await recv_exactly(client, 6) == b"ok 1\r\n"
            await send(client, b"big again\n")  # "big" is off for good: "ok" answers
            assert await recv_exactly(client, 6) == b"ok 2\r\n"
            accepted = next(key for key in session.registry)
        assert session.rules.faults(sid).keys() == {0}
        assert session.rules.hit_counts(sid) == (0, 2)
        faults = [e for e in session.call_log.entries() if "failed and is disabled" in e.text]
        assert len(faults) == 1
        (entry,) = faults
        assert entry.key == server_key(sid) and not entry.ok
        assert entry.text.startswith('rule 1 "big" failed and is disabled: ')
        assert entry.text.endswith(f"(answering socket {accepted.id})")


async def test_a_greeting_reaches_a_socket_left_paused(session: Session) -> None:
    # The responder attaches before "read at once"; with it off, the socket stays paused but
    # its open rules still speak, and nothing it receives is answered until resumed.
    rules = RuleSet(
        framing=LINES,
        rules=(
            Rule(name="greeting", trigger=Trigger.OPEN, reply=crlf("220 hello")),
            Rule(name="echo", reply=crlf("{frame}")),
        ),
    )
    async with listening(session) as (sid, port):
        session.servers.set_read_at_once(sid, False)
        assert session.rules.set_rules(sid, rules) == []
        with clients() as made:
            client = await connect_plain(made, port)
            assert await recv_exactly(client, 11) == b"220 hello\r\n"
            accepted = next(key for key in session.registry)
            record = session.registry[accepted]
            assert record.info.paused
            await send(client, b"one\n")
            await session.set_paused(accepted, False)
            assert await recv_exactly(client, 5) == b"one\r\n"


async def test_new_rules_apply_to_new_connections_and_open_ones_keep_theirs(
    session: Session,
) -> None:
    first = RuleSet(framing=LINES, rules=(Rule(name="a", reply=crlf("A")),))
    second = RuleSet(framing=LINES, rules=(Rule(name="b", reply=crlf("B")),))
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, first) == []
        with clients() as made:
            old = await connect_plain(made, port)
            await send(old, b"x\n")
            assert await recv_exactly(old, 3) == b"A\r\n"
            assert session.rules.set_rules(sid, second) == []
            assert session.rules.hit_counts(sid) == (0,)  # the new set starts at 0
            new = await connect_plain(made, port)
            await send(new, b"x\n")
            assert await recv_exactly(new, 3) == b"B\r\n"
            await send(old, b"y\n")
            assert await recv_exactly(old, 3) == b"A\r\n"
            assert session.rules.hit_counts(sid) == (1,)
            # No rules at all: a new connection is not answered, the open ones still are.
            session.rules.clear_rules(sid)
            assert session.rules.ruleset(sid) is None and session.rules.hit_counts(sid) == ()
            await send(old, b"z\n")
            assert await recv_exactly(old, 3) == b"A\r\n"


async def test_rules_are_remembered_on_the_server_and_load_back(session: Session) -> None:
    smtp = preset(Preset.SMTP)
    async with listening(session) as (sid, port):
        record = session.servers.record(sid)
        assert record is not None and record.intent.rules is None
        assert session.rules.set_rules(sid, smtp) == []
        assert record.intent.rules == ruleset_to_dict(smtp)
        saved = record.intent.rules
        session.rules.clear_rules(sid)
        assert record.intent.rules is None
        # A saved set with one entry that no longer loads: the others are applied, the
        # problem named, and the saved form kept whole.
        damaged = dict(saved, rules=[*saved["rules"], {"name": "bad", "delay_ms": -1}])
        result = session.rules.load_rules(sid, damaged)
        assert [p.index for p in result.problems] == [len(smtp.rules)]
        assert session.rules.ruleset(sid) == smtp and record.intent.rules == damaged
        with clients() as made:
            client = await connect_plain(made, port)
            greeting = b"220 localhost ESMTP Socket Workbench\r\n"
            assert await recv_exactly(client, len(greeting)) == greeting


async def test_hits_moved_is_coalesced_until_the_counts_are_read(session: Session) -> None:
    moved: list[int] = []
    session.rules.hits_moved.add_listener(moved.append)
    async with listening(session) as (sid, port):
        assert session.rules.set_rules(sid, preset(Preset.ECHO)) == []
        assert moved == [sid]  # the new set's counts (zeros) are news too
        assert session.rules.hit_counts(sid) == (0,)  # as a view would: re-armed
        with clients() as made:
            client = await connect_plain(made, port)
            for _ in range(3):
                await send(client, b"ping")
                assert await recv_exactly(client, 4) == b"ping"
            responder = session.rules.responder(sid)
            assert responder is not None
            (cid,) = responder.attached()
            await wait_for(lambda: not responder.busy(cid))
            assert moved == [sid, sid]  # three replies, one event: nobody read the counts
            assert session.rules.hit_counts(sid) == (3,)
            await send(client, b"pong")
            assert await recv_exactly(client, 4) == b"pong"
            await wait_for(lambda: len(moved) == 3)


async def test_unknown_servers_and_closed_servers(session: Session) -> None:
    with pytest.raises(SocketNotFoundError):
        session.rules.set_rules(42, preset(Preset.ECHO))
    async with listening(session) as (sid, _port):
        assert session.rules.set_rules(sid, preset(Preset.ECHO)) == []
        await session.servers.close(sid)
        assert session.rules.ruleset(sid) is None and session.rules.responder(sid) is None


async def test_accepting_announces_a_socket_before_read_at_once_resumes_it(
    session: Session,
) -> None:
    seen: list[tuple[int, int, bool]] = []
    session.servers.accepting.add_listener(
        lambda info: seen.append(
            (
                info.socket_id,
                info.client_socket_id,
                session.tcp.info_now(info.client_socket_id).paused,
            )
        )
    )
    async with listening(session) as (sid, port):
        with clients() as made:
            await connect_plain(made, port)
            await wait_for(lambda: bool(seen))
            (cid,) = [key.id for key in session.registry]
            assert seen == [(sid, cid, True)]
            await wait_for(lambda: not session.tcp.info_now(cid).paused)  # then resumed
