"""Response rules on UDP sockets, without I/O: what UDP cannot do is refused with its reason,
each datagram is one frame whatever its bytes, and ``{peer}`` is the datagram's sender."""

from __future__ import annotations

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
from workbench.core.rules_store import ruleset_to_dict
from workbench.core.rules_udp import (
    UDP_FRAMING_REASON,
    UDP_OPEN_REASON,
    UDP_REFUSED_THEN,
    DatagramRules,
    check_udp_rules,
    load_udp_rules,
    try_udp_rules,
)


def _regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


def test_close_reset_and_start_tls_are_refused_with_their_reason() -> None:
    rules = RuleSet(
        rules=(
            Rule(name="ok", reply=Reply(template="x")),
            Rule(name="bye", then=Then.CLOSE),
            Rule(name="rst", then=Then.RESET),
            Rule(name="tls", then=Then.START_TLS),
            Rule(name="hold", then=Then.PAUSE),
        )
    )
    problems = check_udp_rules(rules)
    assert [(p.index, p.field, p.reason) for p in problems] == [
        (1, "then", UDP_REFUSED_THEN[Then.CLOSE]),
        (2, "then", UDP_REFUSED_THEN[Then.RESET]),
        (3, "then", UDP_REFUSED_THEN[Then.START_TLS]),
    ]
    assert str(problems[0]) == (
        "rule 2 \"bye\": then: a UDP socket has no connection to close: use 'nothing' or 'pause'"
    )


def test_open_rules_and_line_framing_are_refused_and_other_problems_come_first() -> None:
    rules = RuleSet(
        framing=Framing(kind=FrameKind.LINE),
        rules=(
            Rule(name="hello", trigger=Trigger.OPEN, reply=Reply(template="hi")),
            Rule(name="bad", match=_regex("(")),
        ),
    )
    problems = check_udp_rules(rules)
    assert [(p.index, p.field) for p in problems] == [
        (None, "framing"),
        (0, "trigger"),
        (1, "match"),
    ]
    assert problems[0].reason == UDP_FRAMING_REASON and problems[1].reason == UDP_OPEN_REASON
    assert check_udp_rules(RuleSet(rules=(Rule(reply=Reply(template="{frame}")),))) == []


def test_each_datagram_is_one_frame_and_peer_is_its_sender() -> None:
    rules = RuleSet(
        rules=(
            Rule(
                name="hello",
                match=_regex(r"\AHELLO (\w+)"),
                reply=Reply(template=r"hi \1 from {peer} #{count}"),
            ),
        )
    )
    state = DatagramRules(CompiledRules(rules), 4)
    one = state.datagram(b"HELLO world\nHELLO not-a-second-frame\n", ("127.0.0.1", 4000))
    two = state.datagram(b"HELLO again", ("127.0.0.1", 5000))
    nothing = state.datagram(b"no", ("127.0.0.1", 5000))
    assert one.frames == (b"HELLO world\nHELLO not-a-second-frame\n",)
    assert [a.data for a in one.actions] == [b"hi world from 127.0.0.1:4000 #1"]
    assert [(a.data, a.frame_no) for a in two.actions] == [(b"hi again from 127.0.0.1:5000 #2", 2)]
    assert nothing.actions == () and state.frames == 3


def test_load_leaves_out_what_udp_cannot_do_and_says_why() -> None:
    saved = ruleset_to_dict(
        RuleSet(
            framing=Framing(kind=FrameKind.LINE),
            rules=(
                Rule(name="echo", reply=Reply(template="{frame}")),
                Rule(name="q", then=Then.CLOSE),
            ),
        )
    )
    result = load_udp_rules(saved)
    assert result.ruleset.framing == Framing() and [r.name for r in result.ruleset.rules] == [
        "echo"
    ]
    assert [(p.index, p.error.field) for p in result.problems] == [(None, "framing"), (1, "then")]


def test_trial_on_datagrams() -> None:
    rules = RuleSet(rules=(Rule(name="echo", reply=Reply(template="{frame}")),))
    trial = try_udp_rules(rules, [b"a", b"bc"])
    assert trial.frames == (b"a", b"bc") and trial.sent == b"abc" and trial.hit_counts == (2,)
