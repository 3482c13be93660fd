"""workbench.core.rules_frame: chunks, lines (LF or CRLF) and fixed-length records, the line
cap, the end of the stream, and that the frames do not depend on how the bytes were chunked."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.rules_error import RuleError
from workbench.core.rules_frame import (
    DEFAULT_MAX_LINE,
    MAX_FRAME_LIMIT,
    FrameKind,
    Framer,
    Framing,
    check_framing,
)

LINES = Framing(kind=FrameKind.LINE)


def feed_all(framer: Framer, chunks: list[bytes]) -> list[bytes]:
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    return frames + framer.finish()


def test_chunk_framing_gives_each_chunk_as_it_came() -> None:
    framer = Framer(Framing())
    assert framer.feed(b"PING\r\nPI") == [b"PING\r\nPI"]
    assert framer.feed(b"") == []
    assert framer.feed(b"NG") == [b"NG"]
    assert framer.buffered == 0
    assert framer.finish() == []


def test_line_framing_cuts_at_lf_and_crlf_without_the_ending() -> None:
    framer = Framer(LINES)
    assert framer.feed(b"PING\r\nECHO hi\nhalf") == [b"PING", b"ECHO hi"]
    assert framer.buffered == 4
    assert framer.feed(b" line\r") == []
    assert framer.feed(b"\n\n\r\n") == [b"half line", b"", b""]
    assert framer.buffered == 0


def test_a_bare_cr_ends_no_line_and_only_the_cr_before_lf_is_dropped() -> None:
    framer = Framer(LINES)
    assert framer.feed(b"a\rb\r\r\n") == [b"a\rb\r"]


def test_an_unterminated_last_line_is_given_at_end_of_stream_as_received() -> None:
    framer = Framer(LINES)
    assert framer.feed(b"QUIT\r\nPING\r") == [b"QUIT"]
    assert framer.finish() == [b"PING\r"]  # no line ending was seen: the CR stays
    assert framer.finish() == []


def test_fixed_framing_gives_whole_records_and_the_short_rest_at_the_end() -> None:
    framer = Framer(Framing(kind=FrameKind.FIXED, length=4))
    assert framer.feed(b"abc") == []
    assert framer.feed(b"defghij") == [b"abcd", b"efgh"]
    assert framer.buffered == 2
    assert framer.feed(b"kl") == [b"ijkl"]
    assert framer.feed(b"m") == []
    assert framer.finish() == [b"m"]


def test_a_line_longer_than_max_line_is_cut_and_memory_stays_bounded() -> None:
    framer = Framer(Framing(kind=FrameKind.LINE, max_line=4))
    # 5 bytes without LF: the line may still be 4 bytes + CR LF, so nothing is cut yet.
    assert framer.feed(b"abcd\r") == []
    assert framer.feed(b"\n") == [b"abcd"]
    assert framer.feed(b"abcdefghij") == [b"abcd", b"efgh"]
    assert framer.buffered == 2
    assert framer.feed(b"\r\n") == [b"ij"]
    # A peer that never sends a newline: the buffer never holds more than max_line + 1.
    for _ in range(1000):
        framer.feed(b"x")
        assert framer.buffered <= 5


def test_a_peer_without_newlines_holds_at_most_the_default_cap() -> None:
    framer = Framer(LINES)
    cut = []
    for _ in range(100):
        cut += framer.feed(b"y" * 10_000)
        assert framer.buffered <= DEFAULT_MAX_LINE + 1
    assert all(len(frame) == DEFAULT_MAX_LINE for frame in cut)
    assert sum(map(len, cut)) + framer.buffered == 1_000_000


def test_discard_drops_what_is_buffered() -> None:
    framer = Framer(LINES)
    framer.feed(b"STARTTLS\r\nRCPT TO:<evil")
    assert framer.discard() == len(b"RCPT TO:<evil")
    assert framer.finish() == []


@pytest.mark.parametrize(
    ("framing", "message"),
    [
        (Framing(kind=FrameKind.FIXED), "framing length: must be 1 to 16,777,216 bytes, not 0"),
        (Framing(kind=FrameKind.FIXED, length=MAX_FRAME_LIMIT + 1), "not 16,777,217"),
        (Framing(kind=FrameKind.LINE, max_line=0), "framing max_line: must be 1 to"),
        (Framing(kind="words"), "framing: unknown framing 'words' (known: chunk, line, fixed)"),  # type: ignore[arg-type]
        (Framing(kind=FrameKind.LINE, max_line=True), "must be a whole number of bytes"),
    ],
)
def test_bad_framing_is_refused_with_a_clear_message(framing: Framing, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_framing(framing)
    assert message in str(caught.value)
    with pytest.raises(RuleError):
        Framer(framing)


def test_good_framings_pass() -> None:
    for framing in (Framing(), LINES, Framing(kind=FrameKind.FIXED, length=MAX_FRAME_LIMIT)):
        check_framing(framing)


# ------------------------------------------------------------------------------ properties


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


line_bytes = st.lists(st.sampled_from([b"a", b"b", b"\r", b"\n", b"\r\n", b"xyz"]), max_size=60)


@given(line_bytes, st.lists(st.integers(0, 10_000), max_size=20), st.integers(1, 6))
def test_line_frames_do_not_depend_on_chunking(
    parts: list[bytes], cuts: list[int], cap: int
) -> None:
    data = b"".join(parts)
    framing = Framing(kind=FrameKind.LINE, max_line=cap)
    whole = feed_all(Framer(framing), [data])
    assert feed_all(Framer(framing), chunked(data, cuts)) == whole
    assert feed_all(Framer(framing), [bytes([b]) for b in data]) == whole
    assert all(len(frame) <= cap for frame in whole)


@given(line_bytes)
def test_line_frames_are_the_lines_when_none_is_too_long(parts: list[bytes]) -> None:
    data = b"".join(parts)
    lines = data.split(b"\n")
    expected = [line.removesuffix(b"\r") for line in lines[:-1]]
    if lines[-1]:
        expected.append(lines[-1])  # the unterminated rest, as received
    assert feed_all(Framer(Framing(kind=FrameKind.LINE, max_line=10_000)), [data]) == expected


@given(st.binary(max_size=200), st.lists(st.integers(0, 300), max_size=10), st.integers(1, 9))
def test_fixed_frames_do_not_depend_on_chunking(data: bytes, cuts: list[int], size: int) -> None:
    framing = Framing(kind=FrameKind.FIXED, length=size)
    frames = feed_all(Framer(framing), chunked(data, cuts))
    assert b"".join(frames) == data
    assert all(len(frame) == size for frame in frames[:-1])
    assert frames == feed_all(Framer(framing), [data])
