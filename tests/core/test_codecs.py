"""workbench.core.codecs: the composer's parsers and the data view's renderings.

Formats are pinned byte for byte (the hex dump is compared with ``hexdump -C``'s layout);
parsers are checked for the exact position of each error in the original text; properties
(hypothesis) check round trips and that nothing raises on arbitrary input.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.codecs import (
    LINE_ENDINGS,
    TEXT_ENCODINGS,
    InputError,
    decode_visible,
    encode_text,
    escape_bytes,
    hex_dump,
    hex_dump_line,
    hex_pairs,
    offset_width,
    parse_escaped,
    parse_hex,
    utf16_offset,
)

#: The large inputs: what a 10 MB paste or capture gives the codecs. Their speed is measured
#: by ``make bench`` (benchmarks/codecs.py), never here; these tests check what comes out.
MB10 = 10_000_000


def run(fn: object, *args: object) -> object:
    assert callable(fn)
    return fn(*args)


# ----------------------------------------------------------------------------- InputError


def test_input_error_carries_position_length_reason() -> None:
    error = InputError(4, 2, "bad thing")
    assert isinstance(error, ValueError)
    assert (error.position, error.length, error.reason) == (4, 2, "bad thing")
    assert str(error) == "position 4: bad thing"


def test_utf16_offset_counts_astral_characters_twice() -> None:
    text = "a😀b😀c"
    assert [utf16_offset(text, i) for i in range(len(text) + 1)] == [0, 1, 3, 4, 6, 7]


# ------------------------------------------------------------------------------- parse_hex


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("   \n\t", b""),
        (",:, ", b""),
        ("68 65 6c", b"hel"),
        ("68656c", b"hel"),
        ("68656C6C6F", b"hello"),
        ("0x68,0x65", b"he"),
        ("0x68 0x65", b"he"),
        ("0X68, 0x65,", b"he"),
        ("68:65:6c", b"hel"),
        ("68\t65\r\n6c  ,  6c", b"hell"),
        (" 0x68 65,6c:6C ", b"hell"),
        ("0x6865", b"he"),  # a prefixed group is read in pairs like any other group
        ("0x00ff", b"\x00\xff"),
        ("68\u00a065\u30006c", b"hel"),  # no-break and ideographic spaces are whitespace
        ("68\x1c65", b"he"),  # str.isspace() but not skipped by bytes.fromhex()
        ("00 ff FF fF", b"\x00\xff\xff\xff"),
    ],
)
def test_parse_hex_accepts(text: str, expected: bytes) -> None:
    assert parse_hex(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "length", "reason"),
    [
        ("6", 0, 1, "odd number of hex digits (1)"),
        ("686", 2, 1, "odd number of hex digits (3)"),
        ("68 6", 3, 1, "odd number"),
        ("6 8", 0, 1, "odd number"),  # digits pair within a group, never across a separator
        ("68 6g", 4, 1, "'g' is not a hex digit"),
        ("zz", 0, 1, "'z' is not a hex digit"),
        ("68 65\x00", 5, 1, "'\\x00' is not a hex digit"),
        ("0x", 0, 2, "'0x' must be followed by hex digits"),
        ("68 0X", 3, 2, "'0X' must be followed by hex digits"),
        ("0x,68", 0, 2, "must be followed by hex digits"),
        ("0x0x68", 3, 1, "only allowed in a 0x prefix"),
        ("680x65", 3, 1, "only allowed in a 0x prefix"),
        ("0x6", 2, 1, "odd number of hex digits (1)"),
        ("0x686", 4, 1, "odd number of hex digits (3)"),
        ("68 65 é", 6, 1, "'é' is not a hex digit"),
        ("68\u00a0 0x65, 0x6g", 13, 1, "'g' is not a hex digit"),
        ("68;65", 2, 1, "';' is not a hex digit"),
        ("68-65", 2, 1, "'-' is not a hex digit"),
    ],
)
def test_parse_hex_points_at_the_offending_character(
    text: str, position: int, length: int, reason: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_hex(text)
    assert (caught.value.position, caught.value.length) == (position, length)
    assert reason in caught.value.reason


def test_parse_hex_error_position_is_an_index_into_the_original_text() -> None:
    # Separators, prefixes and wide characters before the error must not shift it.
    text = "0x68,\u00a0\u00a0😀"
    with pytest.raises(InputError) as caught:
        parse_hex(text)
    assert text[caught.value.position] == "😀"
    assert utf16_offset(text, caught.value.position) == 7


def test_parse_hex_reports_the_first_error() -> None:
    with pytest.raises(InputError) as caught:
        parse_hex("68 6 zz")
    assert caught.value.position == 3


def test_hex_pairs_format() -> None:
    assert hex_pairs(b"hello") == "68 65 6c 6c 6f"
    assert hex_pairs(b"\x00\xff\xab") == "00 ff ab"
    assert hex_pairs(b"") == ""


@given(st.binary())
def test_parse_hex_round_trips_hex_pairs(data: bytes) -> None:
    assert parse_hex(hex_pairs(data)) == data
    assert parse_hex(data.hex()) == data
    assert parse_hex(data.hex().upper()) == data


@given(
    st.lists(
        st.tuples(
            st.binary(min_size=1, max_size=4),
            st.sampled_from(["", "0x", "0X"]),
            st.text(alphabet=" \t\n,:\u00a0", min_size=1, max_size=3),
        )
    ),
    st.booleans(),
)
def test_parse_hex_reads_groups_with_any_separators_and_prefixes(
    groups: list[tuple[bytes, str, str]], upper: bool
) -> None:
    text = "".join(
        prefix + (group.hex().upper() if upper else group.hex()) + sep
        for group, prefix, sep in groups
    )
    assert parse_hex(text) == b"".join(group for group, _, _ in groups)


@given(st.text(alphabet="0123456789abcdefxX ,:g\u00a0é\n", max_size=30))
def test_parse_hex_either_parses_or_points_inside_the_text(text: str) -> None:
    try:
        data = parse_hex(text)
    except InputError as error:
        assert 0 <= error.position < len(text)
        assert error.length >= 1
        assert error.position + error.length <= len(text)
        char = text[error.position]
        if char in "0123456789abcdefABCDEF":  # an unpaired digit or the 0 of a bare "0x"
            assert "odd number" in error.reason or "0x" in error.reason.lower()
        else:
            assert "not a hex digit" in error.reason or "0x prefix" in error.reason
    else:
        assert len(data) <= len(text) // 2


def test_parse_hex_of_a_10_mb_paste_is_whole() -> None:
    data = os.urandom(MB10 // 3)
    text = hex_pairs(data)
    result = run(parse_hex, text)
    assert result == data
    prefixed = ", ".join(f"0x{pair}" for pair in hex_pairs(data[: MB10 // 6]).split())
    result = run(parse_hex, prefixed)
    assert result == data[: MB10 // 6]
    with pytest.raises(InputError) as caught:
        parse_hex(text + " 6")
    assert caught.value.position == len(text) + 1


# --------------------------------------------------------------------------- parse_escaped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("hello", b"hello"),
        ("héllo €", "héllo €".encode()),
        ("GET / HTTP/1.1\\r\\n\\r\\n", b"GET / HTTP/1.1\r\n\r\n"),
        ("a\\tb\\nc\\rd", b"a\tb\nc\rd"),
        ("\\0", b"\x00"),
        ("\\012", b"\x00" + b"12"),  # \0 is NUL and never octal
        ("\\\\", b"\\"),
        ("\\\\0", b"\\0"),  # an escaped backslash, then the text "0"
        ("\\\\\\0", b"\\\x00"),
        ("\\\\x41", b"\\x41"),
        ("\\x41\\x42", b"AB"),
        ("\\xff\\xFe\\x00", b"\xff\xfe\x00"),
        ("ÿ\\xff", b"\xc3\xbf\xff"),  # a character is UTF-8, an escape is one byte
        ("line\nbreak", b"line\nbreak"),  # a literal newline is sent as typed
    ],
)
def test_parse_escaped_accepts(text: str, expected: bytes) -> None:
    assert parse_escaped(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "length", "reason"),
    [
        ("\\", 0, 1, "lone backslash at the end"),
        ("abc\\", 3, 1, "lone backslash"),
        ("\\\\\\", 2, 1, "lone backslash"),
        ("a\\q", 1, 2, "unknown escape \\q"),
        ("\\a", 0, 2, "unknown escape \\a"),
        ("\\u0041", 0, 2, "unknown escape \\u"),
        ("\\X41", 0, 2, "unknown escape \\X"),
        ("\\\\\\e", 2, 2, "unknown escape \\e"),
        ("ab\\x", 2, 2, "truncated escape"),
        ("ab\\x4", 2, 3, "truncated escape"),
        ("\\x4g", 3, 1, "'g' is not a hex digit"),
        ("\\xg4", 2, 1, "'g' is not a hex digit"),
        ("ok\\x41 \\x 1", 9, 1, "' ' is not a hex digit"),
        ("é😀\\z", 2, 2, "unknown escape"),
        ("abc\ud800", 3, 1, "unpaired surrogate U+D800"),
    ],
)
def test_parse_escaped_points_at_the_offending_escape(
    text: str, position: int, length: int, reason: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_escaped(text)
    assert (caught.value.position, caught.value.length) == (position, length)
    assert reason in caught.value.reason


def test_escape_bytes_format() -> None:
    assert escape_bytes(b"") == ""
    assert escape_bytes(b"GET /\r\n") == "GET /\\r\\n"
    assert escape_bytes(b"a\tb\x00c\\d") == "a\\tb\\0c\\\\d"
    assert escape_bytes(b"\x01\x1f\x7f") == "\\x01\\x1f\\x7f"
    assert escape_bytes("héllo €".encode()) == "héllo €"  # valid UTF-8 stays readable
    assert escape_bytes(b"\xff\xc3") == "\\xff\\xc3"  # invalid UTF-8
    assert escape_bytes("\u0085".encode()) == "\\xc2\\x85"  # C1 control: both bytes


@given(st.binary())
def test_parse_escaped_round_trips_escape_bytes(data: bytes) -> None:
    assert parse_escaped(escape_bytes(data)) == data


@given(st.text())
def test_parse_escaped_round_trips_escape_bytes_of_text(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert parse_escaped(escape_bytes(data)) == data


@given(st.text(alphabet=st.characters(exclude_characters="\\", exclude_categories=["Cs"])))
def test_parse_escaped_of_text_without_backslashes_is_utf8(text: str) -> None:
    assert parse_escaped(text) == text.encode()


@given(st.text(alphabet="\\x0rnt4g \u00e9", max_size=20))
def test_parse_escaped_either_parses_or_points_at_a_backslash_or_bad_digit(text: str) -> None:
    try:
        parse_escaped(text)
    except InputError as error:
        assert 0 <= error.position < len(text)
        assert error.position + error.length <= len(text)
        assert text[error.position] == "\\" or "not a hex digit" in error.reason


def test_parse_escaped_of_10_mb_is_whole() -> None:
    data = os.urandom(MB10 // 3)
    text = escape_bytes(data)  # about 9 M characters, most of them in escapes
    result = run(parse_escaped, text)
    assert result == data
    plain = "The quick brown fox \u00e9\u20ac\n" * (MB10 // 25)
    result = run(parse_escaped, plain)
    assert result == plain.encode()


# ----------------------------------------------------------------------------- encode_text


def test_encode_text() -> None:
    assert encode_text("héllo") == "héllo".encode()
    assert encode_text("hé", "Latin-1") == b"h\xe9"
    assert encode_text("hi", "UTF-16LE") == b"h\x00i\x00"  # no BOM
    assert encode_text("hi", "UTF-16BE") == b"\x00h\x00i"
    assert encode_text("", "ASCII") == b""
    for name in TEXT_ENCODINGS:
        assert encode_text("plain", name) == "plain".encode(name)


@pytest.mark.parametrize(
    ("text", "encoding", "position", "length"),
    [
        ("abcé", "ASCII", 3, 1),
        ("a€€b", "Latin-1", 1, 2),  # one error covering the run
        ("ok\ud800", "UTF-8", 2, 1),
        ("ok\udc80", "UTF-16LE", 2, 1),
    ],
)
def test_encode_text_points_at_the_unencodable_character(
    text: str, encoding: str, position: int, length: int
) -> None:
    with pytest.raises(InputError) as caught:
        encode_text(text, encoding)
    assert (caught.value.position, caught.value.length) == (position, length)
    assert f"cannot be encoded in {encoding}" in caught.value.reason


def test_constants() -> None:
    assert LINE_ENDINGS == {"None": b"", "LF": b"\n", "CR": b"\r", "CRLF": b"\r\n"}
    assert list(LINE_ENDINGS) == ["None", "LF", "CR", "CRLF"]  # the combo's order
    assert TEXT_ENCODINGS == ("UTF-8", "Latin-1", "ASCII", "UTF-16LE", "UTF-16BE")


# -------------------------------------------------------------------------------- hex dump

SAMPLE = b"hello world\n\x00\x01\x02\x03"


def test_hex_dump_line_full_line_is_the_briefs_format() -> None:
    assert hex_dump_line(SAMPLE, 0x10) == (
        "00000010  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |hello world.....|"
    )


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", "00000000" + " " * 50 + "  ||"),
        (b"h", "00000000  68" + " " * 46 + "  |h|"),
        (b"hello", "00000000  68 65 6c 6c 6f" + " " * 34 + "  |hello|"),
        (b"hello wo", "00000000  68 65 6c 6c 6f 20 77 6f" + " " * 25 + "  |hello wo|"),
        (b"hello wor", "00000000  68 65 6c 6c 6f 20 77 6f  72" + " " * 21 + "  |hello wor|"),
        (
            b"\x7f\x80\xff \x1f~",
            "00000000  7f 80 ff 20 1f 7e" + " " * 31 + "  |... .~|",
        ),
    ],
)
def test_hex_dump_line_short_lines_align_the_ascii_column(data: bytes, line: str) -> None:
    assert hex_dump_line(data, 0) == line


def test_hex_dump_line_ascii_column_is_at_the_same_place_for_every_length() -> None:
    columns = {hex_dump_line(SAMPLE[:n], 0).index("|") for n in range(17)}
    assert columns == {60}  # 8 offset digits + 2 + 48 hex area + 2 (hexdump -C's layout)
    for n in range(17):
        assert hex_dump_line(SAMPLE[:n], 0).endswith("|")


def test_hex_dump_line_widens_offsets_past_32_bits() -> None:
    assert hex_dump_line(b"abc", 0xFFFFFFFF).startswith("ffffffff  61 62 63 ")
    line = hex_dump_line(b"abc", 0x1_0000_0010)
    assert line == "100000010  61 62 63" + " " * 40 + "  |abc|"
    assert hex_dump_line(b"a", 0x10, width=10) == "0000000010  61" + " " * 46 + "  |a|"


def test_hex_dump_line_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at most 16 bytes"):
        hex_dump_line(bytes(17), 0)
    with pytest.raises(ValueError, match="offset"):
        hex_dump_line(b"a", -1)


def test_hex_dump_lines() -> None:
    data = SAMPLE + b"hello"
    assert hex_dump(data, 0x10) == (
        "00000010  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |hello world.....|\n"
        "00000020  68 65 6c 6c 6f                                    |hello|"
    )
    assert hex_dump(b"") == ""
    assert hex_dump(SAMPLE) == hex_dump_line(SAMPLE, 0)  # no trailing newline
    assert hex_dump(b"ab", 5) == hex_dump_line(b"ab", 5)  # lines start at the offset given


def test_hex_dump_uses_one_offset_width_across_the_4_gib_boundary() -> None:
    lines = hex_dump(bytes(range(40)), 0xFFFFFFF0).split("\n")
    assert [line[:9] for line in lines] == ["0fffffff0", "100000000", "100000010"]
    assert len({line.index("|") for line in lines}) == 1
    assert offset_width(0) == offset_width(0xFFFFFFFF) == 8
    assert offset_width(0x1_0000_0000) == 9


@given(st.binary(max_size=100), st.integers(min_value=0, max_value=2**40))
def test_hex_dump_equals_its_lines(data: bytes, offset: int) -> None:
    width = offset_width(offset + len(data))
    expected = [
        hex_dump_line(data[i:i + 16], offset + i, width) for i in range(0, len(data), 16)
    ]
    assert hex_dump(data, offset, width) == "\n".join(expected)
    for line, i in zip(expected, range(0, len(data), 16), strict=True):
        assert parse_hex(line[width:width + 50]) == data[i:i + 16]


# ----------------------------------------------------------------------------- visible text

PICTURES = {c: 0x2400 + c for c in range(0x20) if c not in (9, 10)} | {0x7F: 0x2421}
FORMAT = [*range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
SHOWN = PICTURES | {c: f"\\u{c:04x}" for c in FORMAT}


def reference_visible(data: bytes, encoding: str) -> str:
    """The documented result, the slow and obvious way."""
    if encoding == "Latin-1":
        text = data.decode("latin-1")
        return text.translate(PICTURES | {c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
    if encoding == "ASCII":
        return data.decode("ascii", "backslashreplace").translate(PICTURES)
    return data.decode(encoding, "backslashreplace").translate(SHOWN)


@pytest.mark.parametrize(
    ("data", "encoding", "text"),
    [
        (b"hello\n", "UTF-8", "hello\n"),
        (b"a\tb\r\n", "UTF-8", "a\tb\u240d\n"),
        (b"\x00\x01\x1b\x7f", "UTF-8", "\u2400\u2401\u241b\u2421"),
        (b"ab\xffcd", "UTF-8", "ab\\xffcd"),  # invalid in the middle
        (b"ab\xe2\x82", "UTF-8", "ab\\xe2\\x82"),  # truncated at the end
        (b"\xe2\x82\xac\xc3", "UTF-8", "€\\xc3"),
        (b"\xe2\x00\x82", "UTF-8", "\\xe2\u2400\\x82"),
        ("\u0085\u202e".encode(), "UTF-8", "\\u0085\\u202e"),
        (b"caf\xe9\x85", "Latin-1", "café\\x85"),
        (b"\x00caf\xe9", "ASCII", "\u2400caf\\xe9"),
        (b"h\x00i\x00", "UTF-16LE", "hi"),
        (b"\x00h\x00i", "UTF-16BE", "hi"),
        (b"h\x00i", "UTF-16LE", "h\\x69"),  # odd length: the lone last byte
        (b"\x00\x00\x00\xd8h\x00", "UTF-16LE", "\u2400\\x00\\xd8h"),  # lone surrogate
        (b"", "UTF-16BE", ""),
    ],
)
def test_decode_visible(data: bytes, encoding: str, text: str) -> None:
    assert decode_visible(data, encoding) == text


@pytest.mark.parametrize("encoding", TEXT_ENCODINGS)
@given(data=st.binary(max_size=300))
def test_decode_visible_matches_the_reference_and_shows_every_control(
    encoding: str, data: bytes
) -> None:
    text = decode_visible(data, encoding)
    assert text == reference_visible(data, encoding)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)


def test_decode_visible_many_distinct_controls_take_the_translate_path() -> None:
    # Binary-looking data: every control byte, C1 and bidi characters, invalid bytes.
    data = (bytes(range(256)) + "\u0085\u2028\u202e\u2069".encode() + b"\xe2\x82") * 50
    for encoding in TEXT_ENCODINGS:
        assert decode_visible(data, encoding) == reference_visible(data, encoding)


# A byte sequence each encoding shows as \xNN (for Latin-1: a C1 control byte).
UNDECODABLE = {"UTF-8": b"\xff", "Latin-1": b"\x85", "ASCII": b"\xff",
               "UTF-16LE": b"\x00\xd8", "UTF-16BE": b"\xd8\x00"}


@pytest.mark.parametrize("encoding", TEXT_ENCODINGS)
def test_decode_visible_of_10_mb_is_whole(encoding: str) -> None:
    # Text with NULs, CRs and an undecodable sequence on every line.
    line = "The quick brown fox \x00 jumps over the lazy dog \u00e9\u20ac.\r\n"
    chunk = line.encode(encoding, "replace") + UNDECODABLE[encoding]
    data = chunk * (MB10 // len(chunk))
    text = run(decode_visible, data, encoding)
    assert isinstance(text, str)
    assert text.count("\u2400") == text.count("\u240d") == MB10 // len(chunk)
    assert "\\x" in text


@pytest.mark.parametrize("encoding", TEXT_ENCODINGS)
def test_decode_visible_of_10_mb_of_random_bytes_is_whole(encoding: str) -> None:
    data = os.urandom(MB10)
    text = run(decode_visible, data, encoding)
    assert isinstance(text, str)


@given(st.text())
def test_parsers_raise_nothing_but_input_error_on_any_text(text: str) -> None:
    for parse in (parse_hex, parse_escaped):
        try:
            assert isinstance(parse(text), bytes)
        except InputError as error:
            assert 0 <= error.position < len(text)
