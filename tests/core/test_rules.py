"""workbench.core.rules: rule order, first match and continue, triggers, ``from_frame``,
what ``then`` does to the rest of the connection, hit counts, no reply loops, a failing rule
contained, validation messages, and the panel's test against sample input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.rules import (
    MAX_DELAY_MS,
    Action,
    CompiledRules,
    ConnectionRules,
    FrameKind,
    Framing,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleError,
    RuleSet,
    Then,
    Trigger,
    check_rule,
    check_rules,
    try_rules,
)

PEER = ("127.0.0.1", 50312)
LINES = Framing(kind=FrameKind.LINE)
ECHO = Rule(name="echo", reply=Reply(template="{frame}"))


def regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


def connect(*rules: Rule, framing: Framing = LINES) -> ConnectionRules:
    return CompiledRules(RuleSet(framing=framing, rules=rules)).connection(PEER, 7)


def sent(actions: tuple[Action, ...]) -> list[bytes]:
    return [action.data for action in actions]


def test_first_match_stops_and_continue_matching_goes_on() -> None:
    first = Rule(
        name="a", match=Match(kind=MatchKind.PREFIX, pattern="P"), reply=Reply(template="1")
    )
    second = Rule(name="b", reply=Reply(template="2"))
    connection = connect(first, second)
    assert sent(connection.received(b"PING\nQUIT\n").actions) == [b"1", b"2"]
    goes_on = Rule(
        name="a",
        match=Match(kind=MatchKind.PREFIX, pattern="P"),
        reply=Reply(template="1"),
        continue_matching=True,
    )
    connection = connect(goes_on, second)
    reaction = connection.received(b"PING\nQUIT\n")
    assert sent(reaction.actions) == [b"1", b"2", b"2"]
    assert [(a.rule_index, a.frame_no) for a in reaction.actions] == [(0, 1), (1, 1), (1, 2)]
    assert reaction.frames == (b"PING", b"QUIT")


def test_an_action_carries_everything_the_runner_needs() -> None:
    rule = Rule(name="slow", reply=Reply(template="ok"), delay_ms=250, then=Then.PAUSE)
    (action,) = connect(rule).received(b"hi\n").actions
    assert action == Action(0, "slow", 1, b"hi", b"ok", 250, Then.PAUSE)


def test_no_match_sends_nothing_and_a_matching_empty_reply_is_still_an_action() -> None:
    connection = connect(Rule(name="x", match=Match(kind=MatchKind.EXACT, pattern="x")))
    assert connection.received(b"y\n").actions == ()
    (action,) = connection.received(b"x\n").actions
    assert action.data == b""


def test_open_rules_run_once_when_the_connection_opens() -> None:
    greet = Rule(name="hello", trigger=Trigger.OPEN, reply=Reply(template="220 {peer}\r\n"))
    connection = connect(greet, ECHO)
    opened = connection.opened()
    assert sent(opened.actions) == [b"220 127.0.0.1:50312\r\n"]
    assert opened.actions[0].frame_no == 0 and opened.actions[0].frame is None
    assert sent(connection.received(b"EHLO\n").actions) == [b"EHLO"]  # open rules: not on frames


def test_from_frame_counts_every_frame_of_the_connection() -> None:
    late = Rule(name="late", from_frame=3, reply=Reply(template="third+"))
    connection = connect(late)
    assert sent(connection.received(b"1\n2\n").actions) == []
    assert sent(connection.received(b"3\n4\n").actions) == [b"third+", b"third+"]
    assert connection.frames == 4


def test_close_and_reset_end_the_connection_rules_and_drop_the_rest() -> None:
    for then in (Then.CLOSE, Then.RESET):
        bye = Rule(name="bye", match=Match(kind=MatchKind.EXACT, pattern="QUIT"), then=then)
        connection = connect(bye, ECHO)
        reaction = connection.received(b"a\nQUIT\nb\nc")
        assert sent(reaction.actions) == [b"a", b""]
        assert reaction.actions[-1].then is then
        assert reaction.frames == (b"a", b"QUIT")
        assert reaction.discarded == 2  # "b" and the partial "c"
        assert connection.finished
        assert connection.received(b"more\n").discarded == 5
        assert connection.ended().actions == ()


def test_start_tls_drops_plaintext_pipelined_behind_it_and_goes_on_after() -> None:
    starttls = Rule(
        name="starttls",
        match=regex(r"(?i)\ASTARTTLS\Z"),
        reply=Reply(template="220 Go ahead", line_ending="CRLF"),
        then=Then.START_TLS,
    )
    connection = connect(starttls, ECHO)
    # CVE-2011-0411: a command sent in plaintext behind STARTTLS must not be answered.
    reaction = connection.received(b"STARTTLS\r\nRCPT TO:<evil>\r\nMAIL")
    assert sent(reaction.actions) == [b"220 Go ahead\r\n"]
    assert reaction.actions[0].then is Then.START_TLS
    assert reaction.discarded == len(b"RCPT TO:<evil>") + len(b"MAIL")
    assert not connection.finished
    assert sent(connection.received(b"EHLO over tls\r\n").actions) == [b"EHLO over tls"]


def test_pause_does_not_stop_the_frames_already_received() -> None:
    pause = Rule(name="pause", reply=Reply(template="{frame}"), then=Then.PAUSE)
    reaction = connect(pause).received(b"a\nb\n")
    assert [(a.data, a.then) for a in reaction.actions] == [(b"a", Then.PAUSE), (b"b", Then.PAUSE)]


def test_hit_counts_are_per_server_and_count_is_per_connection() -> None:
    counted = Rule(name="n", reply=Reply(template="{count}"))
    rules = CompiledRules(RuleSet(framing=LINES, rules=(counted,)))
    one = rules.connection(PEER, 1)
    two = rules.connection(("::1", 4), 2)
    assert sent(one.received(b"a\nb\n").actions) == [b"1", b"2"]
    assert sent(two.received(b"c\n").actions) == [b"1"]
    assert rules.hit_counts() == (3,)
    assert one.hits == [2] and two.hits == [1]
    assert rules.revision == 3


def test_end_of_stream_answers_the_unterminated_last_line() -> None:
    connection = connect(Rule(name="ping", match=regex(r"\APING\Z"), reply=Reply(template="+PONG")))
    assert connection.received(b"PING").actions == ()
    assert sent(connection.ended().actions) == [b"+PONG"]


def test_disabled_rules_are_skipped() -> None:
    off = Rule(name="off", reply=Reply(template="no"), enabled=False)
    assert sent(connect(off, ECHO).received(b"x\n").actions) == [b"x"]


# --------------------------------------------------------------------------- no loops


@given(st.binary(min_size=1, max_size=100), st.integers(1, 5))
def test_an_echo_fed_its_own_reply_answers_once_per_frame_fed(data: bytes, rounds: int) -> None:
    """Issue 9: "one reply per received frame, never a reply to your own reply". The engine
    answers only what it is fed; feeding it its reply (as an echo peer would) makes exactly
    one more reply, equal to it, however many times round."""
    connection = connect(ECHO, framing=Framing())
    fed = data
    for _ in range(rounds):
        reaction = connection.received(fed)
        assert sent(reaction.actions) == [fed]
        fed = reaction.actions[0].data
    assert connection.frames == rounds
    assert connection.hits == [rounds]


def test_a_reply_that_matches_its_own_rule_is_not_fed_back() -> None:
    loop = Rule(
        name="loop",
        match=Match(kind=MatchKind.CONTAINS, pattern="ping"),
        reply=Reply(template="ping ping", line_ending="LF"),
        continue_matching=True,
    )
    connection = connect(loop, loop)
    reaction = connection.received(b"ping\n")
    assert sent(reaction.actions) == [b"ping ping\n", b"ping ping\n"]  # one per rule per frame
    assert connection.frames == 1


# ------------------------------------------------------------------------ faults


def test_a_rule_that_fails_at_run_time_is_disabled_and_the_others_go_on() -> None:
    # A pathological reply: {frame} 64 times over a 64 KiB line is 4 MiB, over the limit.
    huge = Rule(name="huge", reply=Reply(template="{frame}" * 64), continue_matching=True)
    rules = CompiledRules(RuleSet(framing=LINES, rules=(huge, ECHO)), max_reply=1 << 20)
    connection = rules.connection(PEER, 1)
    reaction = connection.received(b"small\n" + b"x" * 65536 + b"\nagain\n")
    assert sent(reaction.actions) == [b"small" * 64, b"small", b"x" * 65536, b"again"]
    (fault,) = reaction.faults
    assert (fault.rule_index, fault.rule_name) == (0, "huge")
    assert fault.message == "ValueError: the reply is over 1,048,576 bytes"
    assert str(fault) == (
        'rule 1 "huge" failed and is disabled: ValueError: the reply is over 1,048,576 bytes'
    )
    assert rules.faults() == {0: fault.message}
    assert rules.hit_counts() == (1, 3)
    # Disabled for the whole server: a new connection does not run it either.
    assert sent(rules.connection(PEER, 2).received(b"z\n").actions) == [b"z"]


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule(delay_ms=-1), "delay_ms: must be a whole number from 0 to 3,600,000, not -1"),
        (Rule(delay_ms=MAX_DELAY_MS + 1), "not 3600001"),
        (Rule(delay_ms=1.5), "not 1.5"),  # type: ignore[arg-type]
        (Rule(from_frame=0), "from_frame: must be a whole number from 1"),
        (Rule(then="close-ish"), "then: unknown then 'close-ish' (known: nothing, close, reset"),  # type: ignore[arg-type]
        (Rule(trigger="accept"), "unknown trigger 'accept' (known: frame, open)"),  # type: ignore[arg-type]
        (Rule(continue_matching=1), "continue_matching: must be true or false, not 1"),  # type: ignore[arg-type]
        (Rule(name=3), "the name must be text"),  # type: ignore[arg-type]
        (
            Rule(trigger=Trigger.OPEN, match=Match(kind=MatchKind.EXACT, pattern="x")),
            "match: a rule on connection open has no frame to match: use 'any'",
        ),
        (Rule(trigger=Trigger.OPEN, from_frame=2), "a rule on connection open runs once"),
        (Rule(match=regex("(")), "match, position 0: invalid regex: missing ), unterminated"),
        (Rule(reply=Reply(template="{pear}")), "reply, position 0: unknown placeholder {pear}"),
    ],
)
def test_check_rule_says_what_is_wrong(rule: Rule, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_rule(rule)
    assert message in str(caught.value)


def test_check_rules_lists_every_problem_naming_its_rule() -> None:
    ruleset = RuleSet(
        framing=Framing(kind=FrameKind.FIXED),
        rules=(
            ECHO,
            Rule(name="ping", match=regex("PING("), reply=Reply(template="+PONG")),
            Rule(reply=Reply(template=r"\1")),
        ),
    )
    assert [str(problem) for problem in check_rules(ruleset)] == [
        "framing length: must be 1 to 16,777,216 bytes, not 0",
        'rule 2 "ping": match, position 4: invalid regex: missing ), unterminated subpattern',
        "rule 3: reply, position 0: \\1 refers to a regex group, but this rule matches by any, "
        "not regex",
    ]
    assert check_rules(RuleSet(rules=(ECHO,))) == []
    with pytest.raises(RuleError, match='rule 2 "ping": match, position 4'):
        CompiledRules(RuleSet(rules=ruleset.rules))


# ------------------------------------------------------------------------ try_rules


def test_try_rules_shows_what_would_be_sent_and_done() -> None:
    ruleset = RuleSet(
        framing=LINES,
        rules=(
            Rule(
                name="hello",
                trigger=Trigger.OPEN,
                reply=Reply(template="hi {peer}\\n", mode="Escaped"),
            ),
            Rule(
                name="ping",
                match=regex(r"\APING\Z"),
                reply=Reply(template="+PONG", line_ending="CRLF"),
            ),
            Rule(
                name="quit",
                match=Match(kind=MatchKind.EXACT, pattern="QUIT"),
                delay_ms=100,
                then=Then.CLOSE,
            ),
        ),
    )
    trial = try_rules(ruleset, b"PING\r\nNOPE\r\nQUIT\r\nlater\r\n", peer=("::1", 9))
    assert trial.sent == b"hi [::1]:9\n+PONG\r\n"
    assert trial.frames == (b"PING", b"NOPE", b"QUIT")
    assert trial.hit_counts == (1, 1, 1)
    assert trial.discarded == 5
    assert trial.describe() == [
        "connection opens",
        '  → rule 1 "hello": sends “hi [::1]:9\\n” (11 bytes)',
        "frame 1 “PING” (4 bytes)",
        '  → rule 2 "ping": sends “+PONG\\r\\n” (7 bytes)',
        "frame 2 “NOPE” (4 bytes)",
        "  no rule matches",
        "frame 3 “QUIT” (4 bytes)",
        '  → rule 3 "quit": after 100 ms sends nothing, then close',
        "5 bytes received after that, not answered",
    ]


def test_try_rules_without_end_of_stream_keeps_the_partial_line() -> None:
    ruleset = RuleSet(framing=LINES, rules=(ECHO,))
    assert try_rules(ruleset, b"a\nb", end_of_stream=False).sent == b"a"
    assert try_rules(ruleset, b"a\nb").sent == b"ab"


def test_try_rules_reports_faults_and_refuses_invalid_rules() -> None:
    with pytest.raises(RuleError, match="rule 1"):
        try_rules(RuleSet(rules=(Rule(match=regex("[")),)), b"x")
