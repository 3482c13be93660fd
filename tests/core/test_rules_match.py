"""workbench.core.rules_match: each match kind on bytes, the regex's decoding and groups, and
the messages of a bad pattern."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.rules_error import RuleError
from workbench.core.rules_match import (
    Match,
    MatchKind,
    compile_match,
    decode_frame,
    group_bytes,
)


def matches(match: Match, frame: bytes) -> bool:
    return compile_match(match).test(frame)[0]


@pytest.mark.parametrize(
    ("kind", "pattern", "frame", "expected"),
    [
        (MatchKind.ANY, "", b"", True),
        (MatchKind.ANY, "", b"\x00\xff", True),
        (MatchKind.EXACT, "PING", b"PING", True),
        (MatchKind.EXACT, "PING", b"PING\r\n", False),
        (MatchKind.EXACT, "PING", b"ping", False),
        (MatchKind.EXACT, "", b"", True),  # the blank line that ends HTTP headers
        (MatchKind.EXACT, "", b"x", False),
        (MatchKind.PREFIX, "GET ", b"GET / HTTP/1.1", True),
        (MatchKind.PREFIX, "GET ", b"POST / HTTP/1.1", False),
        (MatchKind.CONTAINS, "HTTP/1.", b"GET / HTTP/1.1", True),
        (MatchKind.CONTAINS, "HTTP/2", b"GET / HTTP/1.1", False),
        (MatchKind.CONTAINS, "é", "café".encode(), True),
        (MatchKind.HEX, "16 03 01", b"\x16\x03\x01\x02\x00", True),
        (MatchKind.HEX, "0x16,0x03", b"\x16\x03", True),
        (MatchKind.HEX, "16 03 01", b"\x16\x03", False),
        (MatchKind.HEX, "16 03", b"\x00\x16\x03", False),  # a prefix, not anywhere
        (MatchKind.REGEX, r"(?i)\Aping\Z", b"PiNg", True),
        (MatchKind.REGEX, r"\Aping\Z", b"PING", False),
        (MatchKind.REGEX, "ING", b"PING", True),  # search: anywhere unless anchored
        (MatchKind.REGEX, "^ING", b"PING", False),
    ],
)
def test_each_kind_matches_what_it_says(
    kind: MatchKind, pattern: str, frame: bytes, expected: bool
) -> None:
    assert matches(Match(kind=kind, pattern=pattern), frame) is expected


def test_text_patterns_are_compared_in_their_encoding() -> None:
    assert matches(Match(kind=MatchKind.EXACT, pattern="é", encoding="Latin-1"), b"\xe9")
    assert not matches(Match(kind=MatchKind.EXACT, pattern="é", encoding="UTF-8"), b"\xe9")
    utf16 = Match(kind=MatchKind.PREFIX, pattern="HI", encoding="UTF-16LE")
    assert matches(utf16, b"H\x00I\x00!\x00")


def test_regex_reads_invalid_bytes_and_gives_them_back_in_groups() -> None:
    compiled = compile_match(Match(kind=MatchKind.REGEX, pattern=r"\Akey=(.*)\Z"))
    frame = b"key=\xff\xfe ok \xc3\xa9"
    ok, found = compiled.test(frame)
    assert ok and found is not None
    assert group_bytes(found.group(1), compiled.encoding) == b"\xff\xfe ok \xc3\xa9"


def test_regex_in_latin1_matches_any_byte() -> None:
    compiled = compile_match(
        Match(kind=MatchKind.REGEX, pattern=r"\A\x16\x03(.)", encoding="Latin-1")
    )
    ok, found = compiled.test(b"\x16\x03\x01rest")
    assert ok and found is not None
    assert group_bytes(found.group(1), "Latin-1") == b"\x01"


def test_regex_groups_are_known_after_compiling() -> None:
    compiled = compile_match(Match(kind=MatchKind.REGEX, pattern=r"(?P<verb>\w+) (\S+)"))
    assert compiled.groups == 2
    assert compiled.group_names == frozenset({"verb"})
    assert compile_match(Match(kind=MatchKind.PREFIX, pattern="x")).groups == 0


def test_an_odd_utf16_byte_does_not_stop_a_regex() -> None:
    text = decode_frame(b"H\x00I\x00!", "UTF-16LE")
    assert text == "HI\ufffd"
    assert compile_match(Match(kind=MatchKind.REGEX, pattern="HI", encoding="UTF-16LE")).test(
        b"H\x00I\x00!"
    )[0]


@given(st.binary(max_size=64), st.sampled_from(["UTF-8", "Latin-1", "ASCII"]))
def test_decoding_for_a_regex_never_fails_and_round_trips(frame: bytes, encoding: str) -> None:
    assert group_bytes(decode_frame(frame, encoding), encoding) == frame


@pytest.mark.parametrize(
    ("match", "message", "position"),
    [
        (
            Match(kind=MatchKind.REGEX, pattern="GET (unclosed"),
            "match, position 4: invalid regex: missing ), unterminated subpattern",
            4,
        ),
        (Match(kind=MatchKind.REGEX, pattern="a**"), "invalid regex: multiple repeat", 2),
        (Match(kind=MatchKind.HEX, pattern="16 0g"), "'g' is not a hex digit", 4),
        (Match(kind=MatchKind.HEX, pattern="160"), "odd number of hex digits", 2),
        (Match(kind=MatchKind.HEX, pattern=" , "), "the hex pattern holds no bytes", None),
        (
            Match(kind=MatchKind.EXACT, pattern="café", encoding="ASCII"),
            "'é' cannot be encoded in ASCII",
            3,
        ),
        (Match(kind=MatchKind.PREFIX), "an empty prefix pattern matches every frame", None),
        (Match(kind=MatchKind.CONTAINS), "use 'any'", None),
        (Match(kind=MatchKind.REGEX), "an empty regex pattern", None),
        (Match(kind="glob", pattern="*"), "unknown match kind 'glob' (known: any, exact", None),  # type: ignore[arg-type]
        (Match(encoding="EBCDIC"), "unknown encoding 'EBCDIC' (known: UTF-8, Latin-1", None),
    ],
)
def test_a_bad_pattern_is_refused_with_where_and_why(
    match: Match, message: str, position: int | None
) -> None:
    with pytest.raises(RuleError) as caught:
        compile_match(match)
    assert message in str(caught.value)
    assert caught.value.position == position
