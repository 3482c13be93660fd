"""The responder: response rules carried out on real sockets over loopback.

A ``TcpSockets`` socket connected to a ``ControlledServer`` plays the accepted side (the
responder does not care who connected); the server's ``PeerConn`` plays the client, and the
assertions are on the bytes it received, the FIN or RST it saw, and the records the
responder reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import shutil
import subprocess

import pytest

from tests.conftest import Recorder, assert_stays, wait_for
from tests.net.peers import LOOPBACK, ControlledServer, EchoServer, PeerConn
from tests.net.test_tcp_server_tls import ThreadClient, client_context
from tests.net.tls_peers import Pki
from workbench.core.rules import (
    CompiledRules,
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
from workbench.core.rules_presets import HTTP_BODY, Preset, preset
from workbench.net.responder import ActionRecord, FaultRecord, Responder
from workbench.sockets import (
    AcceptInfo,
    NetError,
    SecureOptions,
    ServerSecureOptions,
    TcpServerSockets,
    TcpSockets,
)

LINES = Framing(kind=FrameKind.LINE)


def regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


def lf(template: str) -> Reply:
    return Reply(template=template, line_ending="LF")


class Answering:
    """A responder on one socket connected to ``server``, and the peer's side of it."""

    def __init__(self, tcp: TcpSockets, responder: Responder) -> None:
        self.tcp = tcp
        self.responder = responder
        self.actions: list[ActionRecord] = []
        self.faults: list[FaultRecord] = []
        responder.on_action.add_listener(self.actions.append)
        responder.on_fault.add_listener(self.faults.append)

    async def connect(self, server: ControlledServer) -> tuple[int, PeerConn]:
        sid = (await self.tcp.create()).socket_id
        assert await self.tcp.connect(sid, server.host, server.port) == 0
        return sid, await server.accept()

    async def attach(self, server: ControlledServer) -> tuple[int, PeerConn]:
        sid, peer = await self.connect(server)
        self.responder.attach(sid)
        return sid, peer

    async def wait_actions(self, n: int) -> list[ActionRecord]:
        await wait_for(lambda: len(self.actions) >= n, message=lambda: f"{self.actions}")
        return self.actions


def answering(tcp: TcpSockets, ruleset: RuleSet, **kwargs: int) -> Answering:
    return Answering(tcp, Responder(tcp, CompiledRules(ruleset, **kwargs)))


async def test_redis_ping_answers_pong_inline_and_as_resp_array(tcp: TcpSockets) -> None:
    side = answering(tcp, preset(Preset.REDIS))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"PING\r\n")
        assert await peer.wait_received(7) == b"+PONG\r\n"
        peer.send(b"*1\r\n$4\r\nPING\r\n")  # redis-cli's form: its third line is PING
        assert await peer.wait_received(14) == b"+PONG\r\n" * 2
        await assert_stays(lambda: peer.received_len == 14)
    records = await side.wait_actions(2)
    assert [
        (r.socket_id, r.rule_name, r.frame_no, r.sent, r.then, r.result_code) for r in records
    ] == [
        (sid, "PING", 1, 7, Then.NOTHING, 0),
        (sid, "PING", 4, 7, Then.NOTHING, 0),
    ]
    assert side.responder.rules.hit_counts() == (2,)


async def test_regex_reply_copies_captured_groups(tcp: TcpSockets) -> None:
    rule = Rule(name="set", match=regex(r"\ASET (?P<key>\w+) (\d+)\Z"), reply=lf(r"\g<key> is \2"))
    side = answering(tcp, RuleSet(framing=LINES, rules=(rule,)))
    with ControlledServer() as server:
        _, peer = await side.attach(server)
        peer.send(b"SET answer 42\nnot a command\nSET x 7\r\n")
        await peer.wait_received(len(b"answer is 42\nx is 7\n"))
        await assert_stays(lambda: peer.received == b"answer is 42\nx is 7\n")


async def test_smtp_greets_on_open_answers_ehlo_and_closes_on_quit(tcp: TcpSockets) -> None:
    side = answering(tcp, preset(Preset.SMTP))
    greeting = b"220 localhost ESMTP Socket Workbench\r\n"
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        # The greeting comes unasked, before the client says anything.
        assert await peer.wait_received(len(greeting)) == greeting
        peer.send(b"EHLO client.example\r\n")
        answer = b"250 localhost greets client.example\r\n"
        await peer.wait_received(len(greeting + answer))
        peer.send(b"QUIT\r\n")
        assert await peer.wait_eof() == greeting + answer + b"221 Bye\r\n"
        assert peer.eof and peer.error is None  # a FIN, not a reset
    assert [(r.rule_name, r.frame_no) for r in await side.wait_actions(3)] == [
        ("greeting", 0),
        ("ehlo", 1),
        ("quit", 2),
    ]
    assert sid not in side.responder.attached()  # its connection is over


async def test_delays_keep_rule_order_and_do_not_hold_other_connections(tcp: TcpSockets) -> None:
    rules = (
        # Both answer "go": the slower one first, so its bytes must come first.
        Rule(
            name="slow",
            match=regex(r"\Ago\Z"),
            reply=lf("first"),
            delay_ms=150,
            continue_matching=True,
        ),
        Rule(name="quick", match=regex(r"\Ago\Z"), reply=lf("second")),
        Rule(name="hour", match=regex(r"\Await\Z"), reply=lf("late"), delay_ms=3_600_000),
        Rule(name="now", match=regex(r"\Anow\Z"), reply=lf("now")),
    )
    side = answering(tcp, RuleSet(framing=LINES, rules=rules))
    with ControlledServer() as server:
        waiting_sid, waiting = await side.attach(server)
        _, other = await side.attach(server)
        waiting.send(b"wait\nnow\n")  # "now" is queued behind an hour's delay
        await wait_for(lambda: side.responder.busy(waiting_sid))
        other.send(b"go\nnow\n")
        expected = b"first\nsecond\nnow\n"
        assert await other.wait_received(len(expected)) == expected
        assert waiting.received == b""
        side.responder.detach(waiting_sid)  # cancels the hour and what waits behind it
        assert not side.responder.busy(waiting_sid)
        await assert_stays(lambda: waiting.received == b"")
    assert {r.rule_name for r in side.actions} == {"slow", "quick", "now"}


async def test_close_sends_the_reply_then_fin(tcp: TcpSockets) -> None:
    side = answering(tcp, preset(Preset.HTTP))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await peer.wait_eof()
        assert peer.eof and peer.error is None
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\n" + HTTP_BODY)
    assert (await tcp.get_info(sid)).connected is False
    record = (await side.wait_actions(1))[0]
    assert (record.then, record.sent, record.result_code) == (Then.CLOSE, len(data), 0)


async def test_reset_ends_with_rst(tcp: TcpSockets) -> None:
    rule = Rule(name="bye", match=regex(r"\Abye\Z"), then=Then.RESET)
    side = answering(tcp, RuleSet(framing=LINES, rules=(rule,)))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"bye\n")
        await peer.wait_eof()
        assert peer.error is not None and peer.error.errno == errno.ECONNRESET
        assert not peer.eof
    assert (await tcp.get_info(sid)).connected is False
    assert [(r.then, r.result_code) for r in await side.wait_actions(1)] == [(Then.RESET, 0)]


async def test_pause_stops_reading(tcp: TcpSockets) -> None:
    rules = (
        Rule(name="hold", match=regex(r"\Ahold\Z"), reply=lf("held"), then=Then.PAUSE),
        Rule(name="echo", reply=lf("{frame}")),
    )
    side = answering(tcp, RuleSet(framing=LINES, rules=rules))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        assert (await tcp.get_info(sid)).paused is False
        peer.send(b"hold\n")
        await side.wait_actions(1)
        assert (await tcp.get_info(sid)).paused is True
        peer.send(b"unanswered\n")
        await assert_stays(lambda: peer.received == b"held\n")
        await tcp.set_paused(sid, False)  # what was held is answered now
        assert await peer.wait_received(len(b"held\nunanswered\n")) == b"held\nunanswered\n"


async def test_detach_stops_replies(tcp: TcpSockets) -> None:
    side = answering(tcp, RuleSet(framing=LINES, rules=(Rule(name="echo", reply=lf("{frame}")),)))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"one\n")
        assert await peer.wait_received(4) == b"one\n"
        side.responder.detach(sid)
        # Nothing is left listening: other sockets' chunks cost this responder nothing.
        assert tcp.on_receive.listeners == ()
        peer.send(b"two\n")
        await assert_stays(lambda: peer.received == b"one\n")
        side.responder.attach(sid)  # and it can answer the same socket again
        peer.send(b"three\n")
        assert await peer.wait_received(10) == b"one\nthree\n"
        side.responder.close()
        assert side.responder.attached() == [] and tcp.on_receive.listeners == ()


async def test_a_failing_rule_disables_only_itself(
    tcp: TcpSockets, caplog: pytest.LogCaptureFixture
) -> None:
    rules = (
        # Over max_reply (12 bytes) for a frame of 6 bytes or more: fails, and is disabled.
        Rule(name="double", reply=lf("{frame}{frame}")),
        Rule(name="echo", reply=lf("{frame}")),
    )
    side = answering(tcp, RuleSet(framing=LINES, rules=rules), max_reply=12)
    with (
        caplog.at_level(logging.WARNING, logger="workbench.responder"),
        ControlledServer() as server,
    ):
        sid, peer = await side.attach(server)
        peer.send(b"long frame\n")
        assert await peer.wait_received(11) == b"long frame\n"  # answered by "echo"
        peer.send(b"ab\n")  # "double" would fit now, but it is off for good
        assert await peer.wait_received(14) == b"long frame\nab\n"
    assert [(f.socket_id, f.fault.rule_index, f.fault.rule_name) for f in side.faults] == [
        (sid, 0, "double")
    ]
    assert list(side.responder.rules.faults()) == [0]
    assert [r.rule_name for r in side.actions] == ["echo", "echo"]
    assert "double" in caplog.text


async def test_replies_are_never_answered(tcp: TcpSockets) -> None:
    # The reply matches the rule itself; only what is received is fed to the rules.
    rule = Rule(name="x", match=Match(kind=MatchKind.CONTAINS, pattern="x"), reply=lf("xx"))
    side = answering(tcp, RuleSet(framing=LINES, rules=(rule,)))
    with ControlledServer() as server:
        _, peer = await side.attach(server)
        peer.send(b"x\n")
        assert await peer.wait_received(3) == b"xx\n"
        await assert_stays(lambda: peer.received == b"xx\n")
    assert len(side.actions) == 1


async def test_echo_rule_against_an_echo_peer_answers_each_frame_once(tcp: TcpSockets) -> None:
    side = answering(tcp, RuleSet(framing=LINES, rules=(Rule(name="echo", reply=lf("{frame}")),)))
    with EchoServer() as server:
        sid, peer = await side.attach(server)
        await tcp.send(sid, b"ball\n")  # our own send: the one ball in play
        records = await side.wait_actions(20)
        side.responder.detach(sid)
        # One reply per frame received: the frames are numbered 1, 2, 3, ... with one action
        # each, and every action sent one ball, never two: the traffic does not grow.
        assert [r.frame_no for r in records] == list(range(1, len(records) + 1))
        assert {r.sent for r in records} == {5}
        count = len(records)
        # The peer got our ball and one per reply, and the ball stops with the detach.
        await wait_for(lambda: peer.received_len == 5 * (count + 1))
        await assert_stays(lambda: peer.received_len == 5 * (count + 1))
        assert peer.received == b"ball\n" * (count + 1)
        assert len(side.actions) == count


async def test_open_reset_preset_resets_at_once(tcp: TcpSockets) -> None:
    side = answering(tcp, preset(Preset.RESET_AFTER, 0))
    with ControlledServer() as server:
        _, peer = await side.attach(server)
        await peer.wait_eof()
        assert peer.error is not None and peer.error.errno == errno.ECONNRESET


async def test_close_after_preset_echoes_then_closes(tcp: TcpSockets) -> None:
    side = answering(tcp, preset(Preset.CLOSE_AFTER, 2))
    with ControlledServer() as server:
        _, peer = await side.attach(server)
        peer.send(b"one")
        assert await peer.wait_received(3) == b"one"
        peer.send(b"two")
        assert await peer.wait_eof() == b"onetwo"
        assert peer.eof and peer.error is None


async def test_closed_socket_cancels_its_delays_quietly(tcp: TcpSockets) -> None:
    rule = Rule(name="later", reply=lf("late"), delay_ms=3_600_000)
    side = answering(tcp, RuleSet(framing=LINES, rules=(rule,)))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"x\n")
        await wait_for(lambda: side.responder.busy(sid))
        await tcp.close(sid)
        assert side.responder.attached() == [] and not side.responder.busy(sid)
        await peer.wait_eof()
    assert side.actions == []


async def test_peer_gone_during_a_delay_stops_that_connection_only(tcp: TcpSockets) -> None:
    rules = (
        Rule(name="later", match=regex(r"\Alater\Z"), reply=lf("late"), delay_ms=3_600_000),
        Rule(name="echo", reply=lf("{frame}")),
    )
    side = answering(tcp, RuleSet(framing=LINES, rules=rules))
    with ControlledServer() as server:
        gone_sid, gone = await side.attach(server)
        _, other = await side.attach(server)
        await tcp.set_paused(gone_sid, False)
        gone.send(b"later\n")
        await wait_for(lambda: side.responder.busy(gone_sid))
        gone.reset()
        await wait_for(lambda: gone_sid not in side.responder.attached())
        assert not side.responder.busy(gone_sid)
        other.send(b"still here\n")
        assert await other.wait_received(11) == b"still here\n"


async def test_a_send_that_fails_stops_its_connection_without_raising(
    loop_errors: list[dict[str, object]],
) -> None:
    tcp = TcpSockets(write_quota=4)  # a reply of 6 bytes is over the quota: send raises
    try:
        side = answering(tcp, RuleSet(framing=LINES, rules=(Rule(name="big", reply=lf("big!!")),)))
        with ControlledServer() as server:
            sid, peer = await side.attach(server)
            peer.send(b"a\nb\n")
            records = await side.wait_actions(1)
            assert [(r.rule_name, r.sent, r.result_code) for r in records] == [
                ("big", 0, NetError.FAILED)
            ]
            assert sid not in side.responder.attached()
            peer.send(b"c\n")
            await assert_stays(lambda: len(side.actions) == 1 and peer.received == b"")
    finally:
        await tcp.shutdown()
    assert loop_errors == []


async def test_start_tls_without_tls_options_fails_that_connection(tcp: TcpSockets) -> None:
    # STARTTLS with nothing to secure with: the reply goes out, the start-tls fails with -2,
    # the connection's actions stop, and the plaintext behind the command is not answered.
    rules = (
        Rule(
            name="starttls", match=regex(r"\ASTARTTLS\Z"), reply=lf("220 go"), then=Then.START_TLS
        ),
        Rule(name="echo", reply=lf("{frame}")),
    )
    side = answering(tcp, RuleSet(framing=LINES, rules=rules))
    with ControlledServer() as server:
        sid, peer = await side.attach(server)
        peer.send(b"STARTTLS\ninjected\n")
        records = await side.wait_actions(1)
        assert [(r.rule_name, r.sent, r.then, r.result_code) for r in records] == [
            ("starttls", 7, Then.START_TLS, NetError.FAILED)
        ]
        assert await peer.wait_received(7) == b"220 go\n"
        peer.send(b"more\n")
        await assert_stays(lambda: peer.received == b"220 go\n")
        assert sid not in side.responder.attached()


async def test_attach_refuses_twice_and_unconnected(tcp: TcpSockets) -> None:
    responder = Responder(tcp, CompiledRules(preset(Preset.ECHO)))
    sid = (await tcp.create()).socket_id
    with pytest.raises(ValueError, match="not connected"):
        responder.attach(sid)
    with ControlledServer() as server:
        assert await tcp.connect(sid, server.host, server.port) == 0
        responder.attach(sid)
        with pytest.raises(ValueError, match="already"):
            responder.attach(sid)
    responder.close()


async def test_greeting_rule_opens_each_connection_on_its_own(tcp: TcpSockets) -> None:
    greet = Rule(name="hi", trigger=Trigger.OPEN, reply=lf("hello {socket_id}"))
    side = answering(tcp, RuleSet(framing=LINES, rules=(greet,)))
    with ControlledServer() as server:
        first_sid, first = await side.attach(server)
        second_sid, second = await side.attach(server)
        assert await first.wait_received(8) == f"hello {first_sid}\n".encode()
        assert await second.wait_received(8) == f"hello {second_sid}\n".encode()


# -- start-tls, against the project's own TLS client and openssl s_client ----------------------


def serving(pki: Pki) -> ServerSecureOptions:
    return ServerSecureOptions(cert_file=str(pki.valid.cert), key_file=str(pki.valid.key))


def smtp_with_starttls() -> RuleSet:
    smtp = preset(Preset.SMTP)
    starttls = Rule(
        name="starttls",
        match=regex(r"(?i)\ASTARTTLS\Z"),
        reply=Reply(template="220 Ready to start TLS", line_ending="CRLF"),
        then=Then.START_TLS,
    )
    rules = smtp.rules
    return RuleSet(framing=smtp.framing, rules=(*rules[:3], starttls, *rules[3:]))


async def listening(
    tcp: TcpSockets, servers: TcpServerSockets, responder: Responder, *, read: bool = True
) -> int:
    """Listen on a free port; each accepted socket is answered by ``responder`` (attached
    before it is unpaused, as the window does with "read at once"). The port."""

    async def unpause(socket_id: int) -> None:
        await tcp.set_paused(socket_id, False)

    def on_accept(info: AcceptInfo) -> None:
        responder.attach(info.client_socket_id)
        if read:
            asyncio.get_running_loop().create_task(unpause(info.client_socket_id))

    servers.on_accept.add_listener(on_accept)
    sid = (await servers.create()).socket_id
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    port = (await servers.get_info(sid)).local_port
    assert port is not None
    return port


async def test_tls_echo_preset_secures_and_echoes_with_the_projects_client(
    tcp: TcpSockets, pki: Pki
) -> None:
    recorder = Recorder(tcp)
    side = Answering(tcp, Responder(tcp, CompiledRules(preset(Preset.TLS_ECHO)), tls=serving(pki)))
    async with TcpServerSockets(tcp) as servers:
        port = await listening(tcp, servers, side.responder, read=False)
        me = (await tcp.create()).socket_id
        assert await tcp.connect(me, "localhost", port) == 0
        await wait_for(lambda: side.responder.attached())
        (accepted,) = side.responder.attached()
        assert await tcp.secure(me, SecureOptions(ca_file=str(pki.ca_file))) == 0
        records = await side.wait_actions(1)
        assert [(r.rule_name, r.frame_no, r.then, r.result_code) for r in records] == [
            ("start TLS", 0, Then.START_TLS, 0)
        ]
        info = await tcp.get_info(accepted)
        assert info.tls is not None
        assert info.paused  # accepted sockets start paused, and the handshake leaves it so
        await tcp.set_paused(accepted, False)
        assert (await tcp.send(me, b"over tls")).result_code == 0
        assert await recorder.wait_bytes(me, 8) == b"over tls"
        assert recorder.received(accepted) == b"over tls"  # the decrypted bytes, not TLS


async def test_starttls_drops_plaintext_pipelined_behind_the_command(
    tcp: TcpSockets, pki: Pki
) -> None:
    # CVE-2011-0411: "NOOP" comes in the same packet as STARTTLS; answering it over TLS
    # ("502 ...") would let an attacker inject commands. Only "QUIT", sent over TLS, is.
    side = Answering(tcp, Responder(tcp, CompiledRules(smtp_with_starttls()), tls=serving(pki)))
    greeting = b"220 localhost ESMTP Socket Workbench\r\n"
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(
            await listening(tcp, servers, side.responder),
            client_context(pki.ca_file),
            plaintext=b"STARTTLS\r\nNOOP\r\n",
            expect_plain=greeting + b"220 Ready to start TLS\r\n",
            send=b"QUIT\r\n",
        ).start()
        await client.finished()
        records = await side.wait_actions(3)
    assert client.error is None, client.error
    assert client.plain_received == greeting + b"220 Ready to start TLS\r\n"
    assert client.received == b"221 Bye\r\n"
    assert [(r.rule_name, r.then, r.result_code) for r in records] == [
        ("greeting", Then.NOTHING, 0),
        ("starttls", Then.START_TLS, 0),
        ("quit", Then.CLOSE, 0),
    ]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_smtp_starttls_with_openssl_s_client(tcp: TcpSockets, pki: Pki) -> None:
    side = Answering(tcp, Responder(tcp, CompiledRules(smtp_with_starttls()), tls=serving(pki)))
    async with TcpServerSockets(tcp) as servers:
        port = await listening(tcp, servers, side.responder)
        command = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-starttls", "smtp",
                   "-servername", "localhost", "-CAfile", str(pki.ca_file),
                   "-verify_return_error", "-quiet", "-crlf"]  # fmt: skip
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"EHLO again.example\nQUIT\n")  # read after the handshake
            proc.stdin.close()
            await wait_for(lambda: proc.poll() is not None, message="s_client did not end")
            assert proc.stdout is not None and proc.stderr is not None
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        assert out == b"250 localhost greets again.example\r\n221 Bye\r\n", err
        records = await side.wait_actions(5)  # the last once its disconnect() returned
    assert [(r.rule_name, r.then, r.result_code) for r in records] == [
        ("greeting", Then.NOTHING, 0),
        ("ehlo", Then.NOTHING, 0),  # s_client's own EHLO, in plaintext
        ("starttls", Then.START_TLS, 0),
        ("ehlo", Then.NOTHING, 0),
        ("quit", Then.CLOSE, 0),
    ]


async def test_starttls_drops_plaintext_that_arrives_while_the_reply_waits(
    tcp: TcpSockets, pki: Pki
) -> None:
    # The plaintext comes in a read of its own, after the command and before the handshake:
    # the engine has already answered STARTTLS, so the runner is the one that must drop it.
    smtp = smtp_with_starttls()
    slow = dataclasses.replace(smtp.rules[3], delay_ms=1000)
    rules = RuleSet(framing=smtp.framing, rules=(*smtp.rules[:3], slow, *smtp.rules[4:]))
    recorder = Recorder(tcp)
    side = Answering(tcp, Responder(tcp, CompiledRules(rules), tls=serving(pki)))
    greeting = b"220 localhost ESMTP Socket Workbench\r\n"
    async with TcpServerSockets(tcp) as servers:
        port = await listening(tcp, servers, side.responder)
        me = (await tcp.create()).socket_id
        assert await tcp.connect(me, "localhost", port) == 0
        await recorder.wait_bytes(me, len(greeting))
        (accepted,) = side.responder.attached()
        await tcp.send(me, b"STARTTLS\r\n")
        await wait_for(lambda: side.responder.busy(accepted))
        await tcp.send(me, b"NOOP\r\n")
        await recorder.wait_bytes(accepted, len(b"STARTTLS\r\nNOOP\r\n"))
        # NOOP was delivered before the reply went out: it is what the runner must drop.
        assert recorder.received(me) == greeting and side.responder.busy(accepted)
        await recorder.wait_bytes(me, len(greeting) + 24)
        assert await tcp.secure(me, SecureOptions(ca_file=str(pki.ca_file))) == 0
        await tcp.send(me, b"QUIT\r\n")
        await recorder.wait_error(me)
    assert recorder.received(me) == greeting + b"220 Ready to start TLS\r\n221 Bye\r\n"
