"""workbench.core.rules_presets: the built-in servers that rules can express, and the README's
examples, fed what real clients send, with byte-exact answers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.rules import (
    CompiledRules,
    ConnectionRules,
    Reaction,
    RuleSet,
    Then,
    check_rules,
)
from workbench.core.rules_presets import HTTP_BODY, PRESET_DESCRIPTIONS, Preset, preset

PEER = ("127.0.0.1", 40000)

#: What redis-cli sends for PING (a RESP array), and the inline form telnet users type.
REDIS_CLI_PING = b"*1\r\n$4\r\nPING\r\n"
#: What curl 8 sends for http://127.0.0.1:8080/.
CURL_GET = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
)
HTTP_200 = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 28\r\nConnection: close\r\n\r\nHello from Socket Workbench\n"
)


def connection(name: Preset, n: int = 1) -> ConnectionRules:
    return CompiledRules(preset(name, n)).connection(PEER, 3)


def steps(reaction: Reaction) -> list[tuple[bytes, Then]]:
    return [(action.data, action.then) for action in reaction.actions]


def run(conn: ConnectionRules, chunks: list[bytes]) -> list[tuple[bytes, Then]]:
    done = steps(conn.opened())
    for chunk in chunks:
        done += steps(conn.received(chunk))
    return done + steps(conn.ended())


def test_every_preset_is_valid_and_described() -> None:
    for name in Preset:
        assert check_rules(preset(name)) == []
        assert PRESET_DESCRIPTIONS[name]


def test_echo_sends_back_every_chunk_byte_for_byte() -> None:
    chunks = [b"hello\r\n", b"\x00\xff\xfe binary \x80", b"x" * 65536]
    assert run(connection(Preset.ECHO), chunks) == [(c, Then.NOTHING) for c in chunks]


def test_tls_echo_starts_tls_on_connect_then_echoes() -> None:
    conn = connection(Preset.TLS_ECHO)
    assert steps(conn.opened()) == [(b"", Then.START_TLS)]
    assert steps(conn.received(b"over tls")) == [(b"over tls", Then.NOTHING)]


def test_discard_sends_nothing() -> None:
    done = run(connection(Preset.DISCARD), [b"anything", b"\x00" * 100])
    assert done == [(b"", Then.NOTHING), (b"", Then.NOTHING)]


@pytest.mark.parametrize(
    ("name", "then"), [(Preset.CLOSE_AFTER, Then.CLOSE), (Preset.RESET_AFTER, Then.RESET)]
)
def test_close_and_reset_after_n_echo_then_end_on_the_nth_chunk(name: Preset, then: Then) -> None:
    conn = connection(name, 3)
    done = run(conn, [b"one", b"two", b"three", b"four"])
    assert done == [
        (b"one", Then.NOTHING),
        (b"two", Then.NOTHING),
        (b"three", Then.NOTHING),
        (b"", then),
    ]
    assert conn.finished
    assert conn.received(b"five").discarded == 4


@pytest.mark.parametrize("name", [Preset.CLOSE_AFTER, Preset.RESET_AFTER])
def test_close_and_reset_after_zero_end_at_once(name: Preset) -> None:
    conn = connection(name, 0)
    then = Then.CLOSE if name is Preset.CLOSE_AFTER else Then.RESET
    assert steps(conn.opened()) == [(b"", then)]
    assert conn.received(b"late").actions == ()


def test_close_after_refuses_a_negative_n() -> None:
    with pytest.raises(ValueError, match="n must be a whole number >= 0"):
        preset(Preset.CLOSE_AFTER, -1)


def test_smtp_greets_and_answers_a_session() -> None:
    conn = connection(Preset.SMTP)
    assert steps(conn.opened()) == [(b"220 localhost ESMTP Socket Workbench\r\n", Then.NOTHING)]
    client = [
        b"EHLO client.example\r\n",
        b"MAIL FROM:<a@client.example>\r\n",
        b"RCPT TO:<b@localhost>\r\n",
        b"VRFY b\r\n",
        b"QUIT\r\n",
    ]
    answers = [data for chunk in client for data, _ in steps(conn.received(chunk))]
    assert answers == [
        b"250 localhost greets client.example\r\n",
        b"250 OK\r\n",
        b"250 OK\r\n",
        b"502 Command not implemented\r\n",
        b"221 Bye\r\n",
    ]
    assert conn.finished


def test_redis_answers_ping_from_redis_cli_and_inline() -> None:
    assert run(connection(Preset.REDIS), [REDIS_CLI_PING]) == [(b"+PONG\r\n", Then.NOTHING)]
    assert run(connection(Preset.REDIS), [b"PING\r\n", b"ping\n"]) == [
        (b"+PONG\r\n", Then.NOTHING),
        (b"+PONG\r\n", Then.NOTHING),
    ]
    assert run(connection(Preset.REDIS), [b"*1\r\n$4\r\nECHO\r\n", b"PINGS\r\n"]) == []


def test_http_answers_curls_get_with_200_and_closes() -> None:
    conn = connection(Preset.HTTP)
    reaction = conn.received(CURL_GET)
    assert steps(reaction) == [(HTTP_200, Then.CLOSE)]
    head, body = HTTP_200.split(b"\r\n\r\n")
    assert body == HTTP_BODY
    assert f"Content-Length: {len(body)}".encode() in head
    assert conn.finished


def test_http_does_not_answer_other_methods() -> None:
    assert run(connection(Preset.HTTP), [b"POST / HTTP/1.1\r\n\r\n"]) == []


@given(st.lists(st.integers(1, len(CURL_GET) + len(REDIS_CLI_PING)), max_size=12))
def test_line_presets_answer_the_same_however_the_bytes_arrive(cuts: list[int]) -> None:
    for name, data, expected in [
        (Preset.HTTP, CURL_GET, [(HTTP_200, Then.CLOSE)]),
        (Preset.REDIS, REDIS_CLI_PING * 2, [(b"+PONG\r\n", Then.NOTHING)] * 2),
    ]:
        edges = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
        chunks = [data[a:b] for a, b in itertools.pairwise(edges)]
        assert run(connection(name), chunks) == expected


def test_presets_are_plain_rule_sets() -> None:
    assert isinstance(preset("echo"), RuleSet)
    with pytest.raises(ValueError):
        preset("chargen")  # an endless stream: no rule expresses it
