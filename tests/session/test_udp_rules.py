"""Response rules on a session's UDP sockets, against plain loopback UDP senders: one reply per
matching datagram, to its sender; replies are ``chrome.sockets.udp.send`` calls in the call log
and datagrams in the capture; what UDP cannot do is refused with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import assert_stays, wait_for
from tests.net.test_udp import LOOPBACK, Peer, peers
from workbench.core.capture import Direction
from workbench.core.errors import SocketNotFoundError
from workbench.core.rules import Match, MatchKind, Reply, Rule, RuleSet, Then
from workbench.core.rules_store import ruleset_to_dict
from workbench.core.rules_udp import UDP_REFUSED_THEN
from workbench.net.tcp import TcpSockets
from workbench.session.session import Session
from workbench.session.udp_rules import UdpRules

API = "chrome.sockets.udp"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


@pytest.fixture
def rules(session: Session) -> Iterator[UdpRules]:
    r = UdpRules(session.udp)
    yield r
    r.close()


def regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


HELLO = RuleSet(
    rules=(Rule(name="hello", match=regex(r"\AHELLO (\w+)\Z"), reply=Reply(template=r"hi \1")),)
)


async def _bound(session: Session) -> tuple[int, int]:
    sid = (await session.udp.create()).socket_id
    assert await session.udp.bind(sid, LOOPBACK, 0) == 0
    record = session.udp.record(sid)
    assert record is not None and record.info.local_port
    return sid, record.info.local_port


async def test_a_rule_replies_to_its_sender_with_the_captured_group(
    session: Session, rules: UdpRules
) -> None:
    try:
        sid, port = await _bound(session)
        assert rules.set_rules(sid, HELLO) == []
        with peers() as made:
            sender = Peer()
            made.append(sender)
            sender.send(b"HELLO world", port)
            sender.send(b"not this", port)
            sender.send(b"HELLO again", port)
            got = await sender.wait(2)
            assert got == [(b"hi world", (LOOPBACK, port)), (b"hi again", (LOOPBACK, port))]
            await assert_stays(lambda: sender.poll() == 2)  # nothing for "not this"
            # Each reply is a udp.send in Chrome's form, and a datagram in the capture.
            sends = [e.text for e in session.call_log.entries() if ".send(" in e.text]
            assert (
                sends
                == [
                    f'{API}.send({sid}, <8 bytes>, "127.0.0.1", {sender.port}) → '
                    '{"resultCode":0,"bytesSent":8}',
                ]
                * 2
            )
            record = session.udp.record(sid)
            assert record is not None
            await wait_for(lambda: record.datagrams_out == 2 and record.datagrams_in == 3)
            out = [record.capture.datagram(i) for i in range(record.capture.record_count)]
            mine = [(d.address, d.port) for d in out if d.record.direction is Direction.OUT]
            assert mine == [(LOOPBACK, sender.port)] * 2
            assert "send" not in record.results  # the Send button's result is the user's
        assert rules.hit_counts(sid) == (2,)
        assert rules.saved(sid) == ruleset_to_dict(HELLO)
    finally:
        await session.udp.close_all()


async def test_two_senders_each_get_their_own_reply(session: Session, rules: UdpRules) -> None:
    echo_peer = RuleSet(rules=(Rule(name="who", reply=Reply(template="{frame} for {peer}")),))
    try:
        sid, port = await _bound(session)
        assert rules.set_rules(sid, echo_peer) == []
        with peers() as made:
            one, two = Peer(), Peer()
            made += [one, two]
            one.send(b"one", port)
            two.send(b"two", port)
            assert await one.wait(1) == [
                (f"one for 127.0.0.1:{one.port}".encode(), (LOOPBACK, port))
            ]
            assert await two.wait(1) == [
                (f"two for 127.0.0.1:{two.port}".encode(), (LOOPBACK, port))
            ]
            await assert_stays(lambda: one.poll() == 1 and two.poll() == 1)
    finally:
        await session.udp.close_all()


async def test_a_close_rule_is_refused_on_udp_with_its_reason(
    session: Session, rules: UdpRules
) -> None:
    try:
        sid, _ = await _bound(session)
        assert rules.set_rules(sid, HELLO) == []
        bye = RuleSet(rules=(Rule(name="bye", match=regex("QUIT"), then=Then.CLOSE),))
        problems = rules.set_rules(sid, bye)
        assert [str(p) for p in problems] == [f'rule 1 "bye": then: {UDP_REFUSED_THEN[Then.CLOSE]}']
        assert rules.ruleset(sid) == HELLO  # nothing changed
        with pytest.raises(SocketNotFoundError):
            rules.set_rules(sid + 100, HELLO)
    finally:
        await session.udp.close_all()


async def test_rules_go_with_the_socket_and_load_back(session: Session, rules: UdpRules) -> None:
    sid, port = await _bound(session)
    assert rules.set_rules(sid, HELLO) == []
    saved = rules.saved(sid)
    await session.udp.close(sid)
    assert rules.ruleset(sid) is None and rules.saved(sid) is None
    try:
        again, port = await _bound(session)
        loaded = rules.load_rules(again, saved)
        assert loaded.problems == () and rules.ruleset(again) == HELLO
        with peers() as made:
            sender = Peer()
            made.append(sender)
            sender.send(b"HELLO back", port)
            assert await sender.wait(1) == [(b"hi back", (LOOPBACK, port))]
        rules.clear_rules(again)
        assert rules.ruleset(again) is None and rules.saved(again) is None
    finally:
        await session.udp.close_all()
