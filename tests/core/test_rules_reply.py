"""workbench.core.rules_reply: each placeholder, each mode's literal parts (the composer's own
parsers), the line ending, and the messages of a bad template."""

from __future__ import annotations

import pytest

from workbench.core.compose import encode_input
from workbench.core.rules_error import RuleError
from workbench.core.rules_match import CompiledMatch, Match, MatchKind, compile_match
from workbench.core.rules_reply import Reply, ReplyContext, compile_template

GET = compile_match(Match(kind=MatchKind.REGEX, pattern=r"\AGET (?P<path>\S+) HTTP/(1\.[01])"))
ANY = compile_match(Match())
FRAME = b"GET /index.html HTTP/1.1"


def render(
    reply: Reply,
    match: CompiledMatch | None = GET,
    frame: bytes | None = FRAME,
    peer: tuple[str, int] = ("127.0.0.1", 50312),
    socket_id: int = 7,
    count: int = 3,
) -> bytes:
    template = compile_template(reply, match)
    found = match.test(frame)[1] if match is not None and frame is not None else None
    encoding = match.encoding if match is not None else "UTF-8"
    return template.render(ReplyContext(frame, found, encoding, peer, socket_id, count))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (r"\1", b"/index.html"),
        (r"\2", b"1.1"),
        (r"\g<path>", b"/index.html"),
        (r"\g<2>", b"1.1"),
        (r"\g<0>", b"GET /index.html HTTP/1.1"),
        ("{frame}", FRAME),
        ("{hex}", b"47 45 54 20 2f 69 6e 64 65 78 2e 68 74 6d 6c 20 48 54 54 50 2f 31 2e 31"),
        ("{peer}", b"127.0.0.1:50312"),
        ("{socket_id}", b"7"),
        ("{count}", b"3"),
        ("{{count}}", b"{count}"),
        ("{{", b"{"),
        ("}}", b"}"),
        ("a } b", b"a } b"),
        (r"C:\dir", b"C:\\dir"),  # Text mode: a backslash that starts no placeholder
        (r"\\1", b"\\1"),  # \\ is one backslash, then the digit
        ("path=\\1 v\\2 #{count} from {peer}", b"path=/index.html v1.1 #3 from 127.0.0.1:50312"),
        ("", b""),
    ],
)
def test_each_placeholder_fills_in(template: str, expected: bytes) -> None:
    assert render(Reply(template=template)) == expected


def test_peer_in_ipv6_has_brackets() -> None:
    assert render(Reply(template="{peer}"), peer=("::1", 9)) == b"[::1]:9"


def test_a_group_that_did_not_take_part_is_empty() -> None:
    match = compile_match(Match(kind=MatchKind.REGEX, pattern=r"(a)|(b)"))
    assert render(Reply(template=r"[\1][\2]"), match, b"b") == b"[][b]"


def test_groups_and_the_frame_are_inserted_as_the_bytes_received() -> None:
    match = compile_match(Match(kind=MatchKind.REGEX, pattern=r"\Aname=(.*)"))
    frame = b"name=\xff\xc3\xa9"
    reply = Reply(template=r"hi \1 {frame}", encoding="UTF-16LE")
    space = " ".encode("utf-16-le")
    expected = "hi ".encode("utf-16-le") + b"\xff\xc3\xa9" + space + frame
    assert render(reply, match, frame) == expected


def test_text_placeholders_follow_the_text_encoding() -> None:
    reply = Reply(template="{count}", encoding="UTF-16BE")
    assert render(reply, ANY, b"x", count=12) == b"\x001\x002"


def test_text_literals_use_the_reply_encoding_and_the_line_ending() -> None:
    assert render(Reply(template="é", encoding="Latin-1", line_ending="CRLF")) == b"\xe9\r\n"
    assert render(Reply(template="+PONG", line_ending="LF")) == b"+PONG\n"
    assert render(Reply(template="+PONG", line_ending="CR")) == b"+PONG\r"


def test_escaped_mode_is_the_composers_escaped_mode_with_placeholders() -> None:
    text = r"+OK \x00\t\\ é\r\n"
    assert render(Reply(mode="Escaped", template=text)) == encode_input(text, "Escaped", "None")
    reply = Reply(mode="Escaped", template=r"got \1\0\r\n", line_ending="LF")
    assert render(reply) == b"got /index.html\x00\r\n\n"
    # \0 is NUL in Escaped mode, never a group: the whole match is \g<0> or {frame}.
    assert render(Reply(mode="Escaped", template=r"\g<0>\0")) == FRAME + b"\x00"


def test_hex_mode_sits_placeholders_between_hex_groups_and_adds_no_line_ending() -> None:
    reply = Reply(mode="Hex", template="2b {frame} 0d 0a", line_ending="CRLF")
    assert render(reply, ANY, b"\x01\x02") == b"\x2b\x01\x02\r\n"
    assert render(Reply(mode="Hex", template="0x68,0x69")) == b"hi"


def test_a_constant_reply_is_made_once() -> None:
    template = compile_template(Reply(template="+PONG", line_ending="CRLF"), ANY)
    assert template.constant == b"+PONG\r\n"
    assert compile_template(Reply(template="{frame}"), ANY).constant is None


def test_a_reply_over_the_limit_raises_at_run_time() -> None:
    template = compile_template(Reply(template="{frame}{frame}"), ANY)
    context = ReplyContext(b"x" * 6, None, "UTF-8", ("127.0.0.1", 1), 1, 1)
    assert template.render(context, max_reply=12) == b"x" * 12
    with pytest.raises(ValueError, match="the reply is over 11 bytes"):
        template.render(context, max_reply=11)


def test_an_open_rule_may_use_peer_socket_id_and_count() -> None:
    reply = Reply(template="220 hello {peer} #{socket_id} {count}", line_ending="CRLF")
    assert render(reply, None, None, count=1) == b"220 hello 127.0.0.1:50312 #7 1\r\n"


@pytest.mark.parametrize(
    ("reply", "match", "message", "position"),
    [
        (
            Reply(template="hi {pear}"),
            GET,
            "unknown placeholder {pear} (known: {count}, {frame}, {hex}, {peer}, {socket_id}; "
            "write {{ for a literal {)",
            3,
        ),
        (Reply(template='{"a": 1}'), GET, 'unknown placeholder {"a": 1}', 0),
        (Reply(template="x {peer"), GET, "unclosed {: write {{ for a literal {", 2),
        (Reply(template=r"\3"), GET, "\\3 refers to group 3, but the regex has 2 groups", 0),
        (
            Reply(template=r"\g<nope>"),
            GET,
            "\\g<nope> refers to no group of the regex (its named groups: path)",
            0,
        ),
        (Reply(template=r"ab\g<1x>"), GET, "\\g<1x>: a group is a name or a number", 2),
        (Reply(template=r"\g1"), GET, "\\g needs a group in angle brackets", 0),
        (Reply(template=r"\g<path"), GET, "\\g needs a group in angle brackets", 0),
        (
            Reply(template=r"\1"),
            ANY,
            "\\1 refers to a regex group, but this rule matches by any, not regex",
            0,
        ),
        (Reply(template="{frame}"), None, "{frame} needs a frame: a rule on connection open", 0),
        (Reply(template="{hex}"), None, "{hex} needs a frame", 0),
        (Reply(template=r"x\1"), None, "\\1 needs a frame", 1),
        (Reply(mode="Hex", template="2b {frame} 0"), ANY, "odd number of hex digits", 11),
        (Reply(mode="Hex", template="{{"), ANY, "'{' is not a hex digit", 0),
        (Reply(mode="Hex", template="\\\\"), ANY, "is not a hex digit", 0),
        (Reply(mode="Escaped", template=r"ok {peer} \q"), ANY, "unknown escape \\q", 10),
        (Reply(mode="Escaped", template="\\x4"), ANY, "truncated escape", 0),
        (Reply(template="café", encoding="ASCII"), ANY, "'é' cannot be encoded in ASCII", 3),
        (
            Reply(mode="Base64"),
            ANY,
            "unknown reply mode 'Base64' (known: Text, Hex, Escaped)",
            None,
        ),
        (Reply(line_ending="LFCR"), ANY, "unknown line ending 'LFCR'", None),
        (Reply(encoding="utf8"), ANY, "reply encoding: unknown encoding 'utf8'", None),
    ],
)
def test_a_bad_template_is_refused_with_where_and_why(
    reply: Reply, match: CompiledMatch | None, message: str, position: int | None
) -> None:
    with pytest.raises(RuleError) as caught:
        compile_template(reply, match)
    assert message in str(caught.value)
    assert caught.value.position == position
    assert caught.value.field in ("reply", "reply encoding")
