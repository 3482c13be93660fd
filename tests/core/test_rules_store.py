"""workbench.core.rules_store: rules to plain dicts and back (through real JSON), defaults for
missing fields, and a bad entry reported by name without losing the others."""

from __future__ import annotations

import json

import pytest

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
from workbench.core.rules_store import (
    FORMAT_VERSION,
    LoadResult,
    rule_from_dict,
    rule_to_dict,
    ruleset_from_dict,
    ruleset_to_dict,
)

FULL = RuleSet(
    framing=Framing(kind=FrameKind.LINE, max_line=1024),
    rules=(
        Rule(
            name="greet", trigger=Trigger.OPEN, reply=Reply(template="220 hi", line_ending="CRLF")
        ),
        Rule(
            name="ping",
            match=Match(kind=MatchKind.REGEX, pattern=r"(?i)\Aping (\w+)", encoding="Latin-1"),
            reply=Reply(mode="Escaped", template=r"+PONG \1\r\n", encoding="ASCII"),
            delay_ms=50,
            then=Then.PAUSE,
            continue_matching=True,
            from_frame=2,
            enabled=False,
        ),
        Rule(name="hex", match=Match(kind=MatchKind.HEX, pattern="16 03"), then=Then.RESET),
    ),
)


def through_json(data: object) -> object:
    return json.loads(json.dumps(data))


def test_a_rule_set_survives_a_round_trip_through_json() -> None:
    saved = through_json(ruleset_to_dict(FULL))
    assert ruleset_from_dict(saved) == LoadResult(FULL, ())


@pytest.mark.parametrize("name", list(Preset))
def test_every_preset_survives_a_round_trip(name: Preset) -> None:
    ruleset = preset(name, 3)
    assert ruleset_from_dict(through_json(ruleset_to_dict(ruleset))).ruleset == ruleset


def test_the_saved_form_is_plain_and_readable() -> None:
    assert rule_to_dict(FULL.rules[1]) == {
        "name": "ping",
        "trigger": "frame",
        "match": {"kind": "regex", "pattern": r"(?i)\Aping (\w+)", "encoding": "Latin-1"},
        "reply": {
            "mode": "Escaped",
            "template": r"+PONG \1\r\n",
            "encoding": "ASCII",
            "line_ending": "None",
        },
        "delay_ms": 50,
        "then": "pause",
        "continue_matching": True,
        "from_frame": 2,
        "enabled": False,
    }
    saved = ruleset_to_dict(FULL)
    assert saved["version"] == FORMAT_VERSION
    assert saved["framing"] == {"kind": "line", "length": 0, "max_line": 1024}


def test_missing_fields_take_their_defaults() -> None:
    assert rule_from_dict({}) == Rule()
    assert rule_from_dict({"match": {"kind": "prefix", "pattern": "GET"}}) == Rule(
        match=Match(kind=MatchKind.PREFIX, pattern="GET")
    )
    assert ruleset_from_dict({}) == LoadResult(RuleSet(), ())


def test_a_bad_rule_is_named_and_left_out_and_the_others_load() -> None:
    saved = through_json(ruleset_to_dict(FULL))
    assert isinstance(saved, dict)
    bad_regex = {"name": "broken", "match": {"kind": "regex", "pattern": "a(b"}}
    bad_type = {"name": "late", "delay_ms": "soon"}
    saved["rules"] = [saved["rules"][0], bad_regex, saved["rules"][1], bad_type, "junk"]
    result = ruleset_from_dict(saved)
    assert result.ruleset.rules == FULL.rules[:2]
    assert result.ruleset.framing == FULL.framing
    assert [(p.index, str(p)) for p in result.problems] == [
        (
            1,
            'rule 2 "broken": match, position 1: invalid regex: missing ), unterminated '
            "subpattern (left out)",
        ),
        (3, "rule 4 \"late\": delay_ms: must be a whole number, not 'soon' (left out)"),
        (4, "rule 5: rule: must be an object, not str (left out)"),
    ]
    assert [p.raw for p in result.problems] == [bad_regex, bad_type, "junk"]  # nothing lost


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"then": "explode"}, "then: unknown then 'explode' (known: nothing, close, reset"),
        ({"trigger": 1}, "trigger: unknown trigger 1 (known: frame, open)"),
        ({"match": {"kind": "glob"}}, "match kind: unknown match kind 'glob'"),
        ({"match": {"pattern": 5}}, "match pattern: must be text, not 5"),
        ({"match": "PING"}, "match: must be an object, not str"),
        ({"reply": {"template": "{pear}"}}, "reply, position 0: unknown placeholder {pear}"),
        ({"reply": {"mode": "Hex", "template": "zz"}}, "reply, position 0: 'z' is not a hex"),
        ({"reply": {"colour": "red"}}, "reply: unknown field 'colour'"),
        ({"enabled": "yes"}, "enabled: must be true or false, not 'yes'"),
        ({"from_frame": True}, "from_frame: must be a whole number, not True"),
        ({"priority": 1}, "rule: unknown field 'priority'"),
    ],
)
def test_each_bad_entry_gets_a_clear_message(entry: dict[str, object], message: str) -> None:
    result = ruleset_from_dict({"rules": [{"name": "ok"}, {"name": "bad", **entry}]})
    assert result.ruleset.rules == (Rule(name="ok"),)
    (problem,) = result.problems
    assert str(problem).startswith('rule 2 "bad": ')
    assert message in str(problem)


def test_a_bad_framing_falls_back_to_chunks_and_is_reported() -> None:
    result = ruleset_from_dict({"framing": {"kind": "fixed", "length": 0}, "rules": [{}]})
    assert result.ruleset == RuleSet(rules=(Rule(),))
    (problem,) = result.problems
    assert problem.index is None
    assert str(problem) == "framing length: must be 1 to 16,777,216 bytes, not 0 (not used)"
    assert problem.raw == {"kind": "fixed", "length": 0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "rules file: must be an object, not list"),
        ({"version": 2}, "rules file: unknown version 2 (known: 1)"),
        ({"rules": {"a": 1}}, "rules file: 'rules' must be a list, not dict"),
    ],
)
def test_a_file_that_is_not_a_rule_set_loads_nothing_and_says_why(
    data: object, message: str
) -> None:
    result = ruleset_from_dict(data)
    assert result.ruleset == RuleSet()
    (problem,) = result.problems
    assert str(problem) == f"{message} (not used)"
    assert problem.raw == data
