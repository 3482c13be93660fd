"""``UdpResponder`` on the core's ``UdpSockets`` (its default ``send``), against plain loopback
UDP senders: delays count from each datagram's arrival, ``pause`` pauses the socket, a ``then``
UDP cannot do is never carried out, and a closed socket is let go."""

from __future__ import annotations

import sys
import time

import pytest

from tests.conftest import wait_for
from tests.net.test_servers_udp import StampedPeer
from tests.net.test_udp import LOOPBACK, Peer, bound, peers
from workbench.core.errors import NetError
from workbench.core.rules import CompiledRules, Reply, Rule, RuleSet, Then
from workbench.net.udp import UdpSockets
from workbench.net.udp_responder import UdpActionRecord, UdpResponder

DELAY_MS = 120


def _echo(*, delay_ms: int = 0, then: Then = Then.NOTHING) -> CompiledRules:
    rule = Rule(reply=Reply(template="{frame}"), delay_ms=delay_ms, then=then)
    return CompiledRules(RuleSet(rules=(rule,)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS is Linux's")
async def test_each_datagram_is_answered_its_delay_after_it_arrived() -> None:
    async with UdpSockets() as udp:
        sid, port = await bound(udp)
        responder = UdpResponder(udp, _echo(delay_ms=DELAY_MS))
        responder.attach(sid)
        with peers() as made:
            peer = StampedPeer()
            made.append(peer)
            sent_at = []
            for data in (b"a", b"b", b"c"):
                sent_at.append(time.time_ns())
                peer.send(data, port)
            assert [d for d, _ in await peer.wait(3)] == [b"a", b"b", b"c"]
            for sent, arrived in zip(sent_at, peer.stamps, strict=True):
                assert arrived - sent >= DELAY_MS * 1_000_000
            # Independent delays: the last came well before three delays in a row.
            assert peer.stamps[-1] - sent_at[0] < 3 * DELAY_MS * 1_000_000
        responder.close()


async def test_pause_pauses_and_a_then_udp_cannot_do_is_not_done() -> None:
    async with UdpSockets() as udp:
        sid, port = await bound(udp)
        # Compiled without check_udp_rules: the runner still refuses to "close" a UDP socket.
        rules = RuleSet(rules=(Rule(name="hold", reply=Reply(template="held"), then=Then.PAUSE),))
        responder = UdpResponder(udp, CompiledRules(rules))
        records: list[UdpActionRecord] = []
        responder.on_action.add_listener(records.append)
        responder.attach(sid)
        with pytest.raises(ValueError):
            responder.attach(sid)
        with peers() as made:
            peer = Peer()
            made.append(peer)
            peer.send(b"x", port)
            assert await peer.wait(1) == [(b"held", (LOOPBACK, port))]
            await wait_for(lambda: udp.info_now(sid).paused)
        assert records == [
            UdpActionRecord(sid, 0, "hold", 1, LOOPBACK, peer.port, 4, Then.PAUSE, 0, b"held")
        ]
        other, other_port = await bound(udp)
        closing = UdpResponder(udp, _echo(then=Then.CLOSE))
        closing.attach(other)
        failed: list[UdpActionRecord] = []
        closing.on_action.add_listener(failed.append)
        with peers() as made:
            peer = Peer()
            made.append(peer)
            peer.send(b"bye", other_port)
            assert await peer.wait(1) == [(b"bye", (LOOPBACK, other_port))]
            await wait_for(lambda: len(failed) == 1)
        assert failed[0].result_code == NetError.FAILED and failed[0].sent == 3
        assert udp.info_now(other).local_port == other_port  # not closed
        closing.close()
        await udp.close(sid)
        assert responder.attached() == []
