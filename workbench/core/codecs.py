"""Bytes to text and back for the send composer and the data view.

Pure functions, no I/O. Two rules shape them:

- Everything here may be handed a 10 MB paste or a 10 MB capture and is called while the user
  types, so the work is done by C-level primitives (``bytes.fromhex``, ``re``, ``str.replace``,
  ``codecs.charmap_decode``), never by a Python loop over characters.
- Parsers report the first problem as an :class:`InputError` whose ``position`` indexes the
  ORIGINAL text (a Python ``str`` index, i.e. code points), so the composer can underline it.
  Qt counts UTF-16 code units instead: convert with :func:`utf16_offset`.
"""

from __future__ import annotations

import codecs
import re

__all__ = [
    "LINE_ENDINGS",
    "TEXT_ENCODINGS",
    "InputError",
    "decode_visible",
    "encode_text",
    "escape_bytes",
    "hex_dump",
    "hex_dump_line",
    "hex_pairs",
    "offset_width",
    "parse_escaped",
    "parse_hex",
    "utf16_offset",
]

LINE_ENDINGS: dict[str, bytes] = {"None": b"", "LF": b"\n", "CR": b"\r", "CRLF": b"\r\n"}

#: The encodings the data view offers, by their display names (all accepted by ``codecs``).
TEXT_ENCODINGS = ("UTF-8", "Latin-1", "ASCII", "UTF-16LE", "UTF-16BE")


class InputError(ValueError):
    """Text the user typed that does not parse: where (``position``, ``length``) and why."""

    def __init__(self, position: int, length: int, reason: str) -> None:
        super().__init__(position, length, reason)
        self.position = position
        self.length = length
        self.reason = reason

    def __str__(self) -> str:
        return f"position {self.position}: {self.reason}"


def utf16_offset(text: str, index: int) -> int:
    """``index`` (a ``str`` index into ``text``) as a UTF-16 offset, the unit of QTextCursor.

    They differ after every character outside the Basic Multilingual Plane (an emoji counts 1
    here and 2 in Qt).
    """
    head = text[:index]
    return len(head) + len(_ASTRAL.findall(head))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _describe(char: str) -> str:
    # repr() shows a NUL or a no-break space as an escape instead of an invisible glyph.
    return repr(char)


# --------------------------------------------------------------------------------- hex input

# Separators between hex groups: any whitespace (str.isspace, so a pasted no-break space
# counts), commas and colons. A group is "0x"/"0X" (optional) then an even number of digits.
# Possessive quantifiers: the match stops at the first bad group in linear time, with no
# backtracking into earlier groups, however long the text.
_HEX_VALID = re.compile(
    r"[\s,:]*+(?:(?:0[xX])?+[0-9a-fA-F]{2}(?:[0-9a-fA-F]{2})*+(?:[\s,:]++|\Z))*+"
)
_HEX_SEP = re.compile(r"[\s,:]")
_NOT_HEX_DIGIT = re.compile(r"[^0-9a-fA-F]")
# ASCII characters that str.isspace() accepts but bytes.fromhex() does not skip.
_FROMHEX_UNSKIPPED_SPACE = "\x1c\x1d\x1e\x1f"


def parse_hex(text: str) -> bytes:
    """Bytes written as hex: ``"68 65 6c"``, ``"68656c"``, ``"0x68,0x65"``, ``"68:65"``.

    Groups are separated by whitespace, commas or colons; digits are upper or lower case.
    Within a group digits pair up from the left, so a group needs an even number of them:
    ``"686"`` is refused rather than guessed at (``06 86``? ``68 06``?). A ``0x`` prefix may
    start any group and marks it as hex, nothing more: ``"0x6865"`` is the two bytes ``68 65``
    (as ``"6865"`` is), not a number, and ``"0x6"`` is refused like ``"6"``. An empty or
    all-separator text is ``b""``.

    Raises :class:`InputError` at the first bad character, the unpaired digit of an odd group,
    or a ``0x`` with no digits.
    """
    # Fast path, all C: with no "x" there is no prefix to check, and bytes.fromhex() skips
    # ASCII whitespace but insists that both digits of a byte are adjacent, which is exactly
    # the "even digits per group" rule.
    if text.isascii() and "x" not in text and "X" not in text:
        try:
            return bytes.fromhex(text.replace(",", " ").replace(":", " "))
        except ValueError:
            pass  # find out where and why below
    match = _HEX_VALID.match(text)
    assert match is not None  # every part of the pattern may match empty
    if match.end() != len(text):
        raise _hex_error(text, match.end())
    # Valid: every "0x" is a group prefix, every other non-digit a separator.
    norm = text.replace("0x", "  ").replace("0X", "  ").replace(",", " ").replace(":", " ")
    if not norm.isascii() or any(c in norm for c in _FROMHEX_UNSKIPPED_SPACE):
        norm = " ".join(norm.split())
    return bytes.fromhex(norm)


def _hex_error(text: str, start: int) -> InputError:
    """The error in the group that starts at ``start`` (where the valid prefix ended)."""
    sep = _HEX_SEP.search(text, start)
    end = sep.start() if sep else len(text)
    base = start
    if text.startswith(("0x", "0X"), start):
        base += 2
        if base == end:
            return InputError(start, 2, f"{text[start:base]!r} must be followed by hex digits")
    bad = _NOT_HEX_DIGIT.search(text, base, end)
    if bad is not None:
        char = bad.group()
        if char in "xX":
            reason = f"{char!r} is only allowed in a 0x prefix at the start of a group"
        else:
            reason = f"{_describe(char)} is not a hex digit"
        return InputError(bad.start(), 1, reason)
    digits = end - base
    assert digits % 2 == 1, (text, start)
    return InputError(
        end - 1, 1, f"odd number of hex digits ({digits}) in this group: each byte needs two"
    )


def hex_pairs(data: bytes) -> str:
    """``"68 65 6c 6c 6f"``: lowercase, one space between bytes (the Copy-as-hex format)."""
    return data.hex(" ")


# ----------------------------------------------------------------------------- escaped input

# The only escapes (issue 3): \r \n \t \0 \\ \xNN. Anything else after a backslash is refused
# rather than passed through, so a typo never silently sends a backslash.
_ESCAPE_VALID = re.compile(r"(?:[^\\]++|\\(?:[rnt0\\]|x[0-9a-fA-F]{2}))*+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_escaped(text: str) -> bytes:
    """``text`` as UTF-8, with the escapes ``\\r \\n \\t \\0 \\\\ \\xNN`` (NN: two hex digits).

    ``\\0`` is one NUL byte and never octal: ``"\\012"`` is NUL, ``1``, ``2``. ``\\xNN`` is the
    byte NN itself, not a code point, so ``"\\xff"`` sends one byte 0xff (``"ÿ"`` sends two).

    Raises :class:`InputError` for an unknown escape or a lone trailing backslash (at the
    backslash), a ``\\x`` without two hex digits (at the first non-digit, or at the backslash
    when the text ends), or a lone surrogate, which UTF-8 cannot encode.
    """
    match = _ESCAPE_VALID.match(text)
    assert match is not None
    if match.end() != len(text):
        raise _escape_error(text, match.end())
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        raise InputError(
            surrogate.start(), 1,
            f"unpaired surrogate U+{ord(surrogate.group()):04X} cannot be encoded as UTF-8",
        )
    raw = text.encode()
    if b"\\" not in raw:
        return raw
    # Validated, our escapes are a subset of Python's bytes-literal escapes, which
    # codecs.escape_decode (the C decoder pickle uses for protocol 0 strings) undoes in one
    # pass, at any number of escapes. Except one: Python reads \0 as the start of an octal
    # escape ("\012" is a newline), we read it as NUL alone, so \0 becomes \x00 first. Every
    # backslash starts an escape once the \\ pairs are split off (split scans left to right,
    # as escapes are read), so the replace cannot hit the second half of a \\.
    if b"\\0" in raw:
        raw = b"\\\\".join(part.replace(b"\\0", b"\\x00") for part in raw.split(b"\\\\"))
    return codecs.escape_decode(raw)[0]


def _escape_error(text: str, at: int) -> InputError:
    """The error in the escape that starts at ``at`` (a backslash)."""
    if at + 1 == len(text):
        return InputError(at, 1, "lone backslash at the end: write \\\\ for a backslash")
    kind = text[at + 1]
    if kind == "x":
        for i in (at + 2, at + 3):
            if i == len(text):
                return InputError(at, i - at, "truncated escape: \\x needs two hex digits")
            if text[i] not in "0123456789abcdefABCDEF":
                return InputError(
                    i, 1, f"{_describe(text[i])} is not a hex digit: \\x needs two hex digits"
                )
    return InputError(
        at, 2,
        f"unknown escape \\{kind} (known: \\r \\n \\t \\0 \\\\ \\xNN; write \\\\ for a backslash)",
    )


# Byte (as decoded by surrogateescape) -> its escape. Printable text and valid UTF-8 stay as
# they are, so the escaped form of "héllo\r\n" is still readable.
_ESCAPE_OUT: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_ESCAPE_OUT.update({ord("\r"): "\\r", ord("\n"): "\\n", ord("\t"): "\\t", 0: "\\0",
                    ord("\\"): "\\\\"})
# C1 controls decode from two bytes (c2 80..c2 9f): escape both so they round-trip.
_ESCAPE_OUT.update({c: "".join(f"\\x{b:02x}" for b in chr(c).encode()) for c in range(0x80, 0xA0)})
# surrogateescape maps each undecodable byte 0xNN to U+DCNN.
_ESCAPE_OUT.update({0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)})


def escape_bytes(data: bytes) -> str:
    """The text that :func:`parse_escaped` turns back into ``data``.

    Valid UTF-8 stays readable; backslash, \\r \\n \\t NUL get their short escapes; other
    control bytes (C0, DEL, C1) and bytes that are not valid UTF-8 become ``\\xNN``.
    """
    return data.decode("utf-8", "surrogateescape").translate(_ESCAPE_OUT)


def encode_text(text: str, encoding: str = "utf-8") -> bytes:
    """``text`` in ``encoding`` (a codec name or one of :data:`TEXT_ENCODINGS`).

    No BOM is ever added (the UTF-16 choices name their byte order). A character the encoding
    cannot represent raises :class:`InputError` at that character.
    """
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        what = f"{_describe(bad)} cannot be encoded in {encoding}"
        raise InputError(exc.start, exc.end - exc.start, what) from None


# --------------------------------------------------------------------------------- hex dump

# Bytes 0x20..0x7e as themselves, everything else as "." (the hexdump -C / Wireshark column).
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))
_HEX_AREA = 16 * 3  # "xx " * 16, minus the last space, plus the gap after byte 8


def offset_width(max_offset: int) -> int:
    """Hex digits for offsets up to ``max_offset``: 8, or more past 0xffffffff.

    A view or a dump that spans several lines passes its largest offset so that every line,
    and with it the ASCII column, lines up.
    """
    return max(8, len(f"{max_offset:x}"))


def hex_dump_line(data: bytes, offset: int, width: int = 8) -> str:
    """One ``hexdump -C`` line of up to 16 bytes::

        00000010  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |hello world.....|

    The offset is lowercase hex, zero-padded to ``width`` digits and widened, never
    truncated, when it needs more. A short line is padded so its ASCII column starts where a
    full line's does; nothing follows the closing ``|``.
    """
    if len(data) > 16:
        raise ValueError(f"a hex dump line holds at most 16 bytes, not {len(data)}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")
    pairs = data.hex(" ")
    hexes = f"{pairs[:23]}  {pairs[24:]}" if len(data) > 8 else pairs
    ascii_ = data.translate(_PRINTABLE).decode("ascii")
    return f"{offset:0{width}x}  {hexes:<{_HEX_AREA}}  |{ascii_}|"


def hex_dump(data: bytes, offset: int = 0, width: int | None = None) -> str:
    """``data`` as :func:`hex_dump_line` lines joined by ``"\\n"`` (no final newline).

    The first line starts at ``offset``, each next one 16 bytes further. ``width`` defaults to
    what the last line's offset needs, so all lines align. ``b""`` gives ``""``.
    """
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")
    if not data:
        return ""
    last = offset + (len(data) - 1) // 16 * 16
    if width is None:
        width = offset_width(last)
    # One hex() and one translate() for the whole block, then slicing: a Python step per
    # line rather than per byte.
    pairs = data.hex(" ")
    ascii_ = data.translate(_PRINTABLE).decode("ascii")
    lines = []
    full = len(data) // 16
    for i in range(full):
        p = i * 48
        a = i * 16
        lines.append(
            f"{offset + a:0{width}x}  {pairs[p:p + 23]}  {pairs[p + 24:p + 47]}  "
            f"|{ascii_[a:a + 16]}|"
        )
    if len(data) % 16:
        lines.append(hex_dump_line(data[full * 16:], offset + full * 16, width))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- visible text

# C0 controls except \t and \n become their control pictures (U+2400 + code), DEL becomes
# U+2421: one visible character per byte, so NUL and \r are seen and rows never break early.
_PICTURES: dict[str, str] = {chr(c): chr(0x2400 + c) for c in range(0x20) if c not in (9, 10)}
_PICTURES["\x7f"] = "\u2421"
# Characters that would be invisible or would upset a painted row: C1 controls, the line and
# paragraph separators (Qt breaks lines there) and the bidi embeddings, overrides and isolates
# (they reorder the rest of the row: "Trojan Source"). Shown as \uXXXX.
_INVISIBLE = (
    [chr(c) for c in range(0x80, 0xA0)]
    + ["\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
_VISIBLE: dict[str, str] = dict(_PICTURES)
_VISIBLE.update({c: f"\\u{ord(c):04x}" for c in _INVISIBLE})
_NEEDS_VISIBLE = re.compile("[" + "".join(_VISIBLE) + "]")
# The same substitutions on UTF-8 bytes. None of these byte strings can be part of another
# character's encoding, and every replacement starts with an ASCII byte or a lead byte, so
# substituting before decoding gives exactly what decoding then substituting would.
_VISIBLE_UTF8: dict[bytes, bytes] = {k.encode(): v.encode() for k, v in _VISIBLE.items()}
_PICTURES_UTF8 = [(k.encode(), v.encode()) for k, v in _PICTURES.items()]
_CONTROL_UTF8 = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_INVISIBLE_UTF8 = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")
# The same result from a surrogateescape decoding in one translate(): the decoder marks each
# byte of an invalid sequence as U+DC80..U+DCFF exactly where backslashreplace writes \xNN.
_VISIBLE_ESCAPED: dict[int, str] = {ord(k): v for k, v in _VISIBLE.items()}
_VISIBLE_ESCAPED.update({0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)})
_MAX_PASSES = 12
# Single-byte encodings decode through one table (charmap_decode, all C). U+FFFE marks a byte
# as undefined, which sends it to the error handler: backslashreplace shows it as \xNN.
_UNDEFINED = "\ufffe"
_LATIN1_TABLE = "".join(
    _PICTURES.get(chr(b), _UNDEFINED if 0x80 <= b < 0xA0 else chr(b)) for b in range(256)
)
_ASCII_TABLE = "".join(_PICTURES.get(chr(b), chr(b)) for b in range(0x80))


def decode_visible(data: bytes, encoding: str) -> str:
    """``data`` decoded for display: every byte leaves a visible trace; never raises.

    - A byte (or truncated sequence, such as the odd last byte of UTF-16) that does not
      decode becomes ``\\xNN`` per byte, as ``backslashreplace`` writes it. No U+FFFD: the
      value of the byte stays readable. Latin-1's C1 bytes (0x80-0x9f) are shown the same way.
    - C0 controls other than ``\\n`` and ``\\t`` become control pictures (NUL is ``␀``, CR
      ``␍``), DEL is ``␡``.
    - Decoded C1 controls, U+2028/U+2029 and bidi controls become ``\\uXXXX``.

    A literal backslash in the data is shown as itself, so ``\\x00`` in the data and an
    invalid byte look alike; the data view's hex mode tells them apart. Only an unknown
    ``encoding`` name raises (LookupError).
    """
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        # Substitute on the bytes, one str.replace-like pass per character actually present:
        # text holds a few distinct controls, so this takes a few fast passes. Binary data
        # holds all of them and many invalid bytes (backslashreplace's slow path): there one
        # translate() over the surrogateescape decoding, a flat ~45 ns a byte, is cheaper.
        invisible = set(_INVISIBLE_UTF8.findall(data))
        controls = (
            [pair for pair in _PICTURES_UTF8 if pair[0] in data]
            if _CONTROL_UTF8.search(data) is not None
            else []
        )
        if len(invisible) + len(controls) > _MAX_PASSES:
            return data.decode("utf-8", "surrogateescape").translate(_VISIBLE_ESCAPED)
        for needle in invisible:
            data = data.replace(needle, _VISIBLE_UTF8[needle])
        for needle, shown in controls:
            data = data.replace(needle, shown)
        return data.decode("utf-8", "backslashreplace")
    if codec == "iso8859-1":
        return codecs.charmap_decode(data, "backslashreplace", _LATIN1_TABLE)[0]
    if codec == "ascii":
        # The ASCII encoder's backslashreplace is a C fast path; charmap's error path is not.
        escaped = data.decode("latin-1").encode("ascii", "backslashreplace")
        return codecs.charmap_decode(escaped, "strict", _ASCII_TABLE)[0]
    decoded = data.decode(codec, "backslashreplace")
    if _NEEDS_VISIBLE.search(decoded) is None:
        return decoded
    # str.replace per character present beats str.translate (a dict lookup per character)
    # by ~10x on large text, where only a few distinct controls usually occur.
    for char, visible in _VISIBLE.items():
        if char in decoded:
            decoded = decoded.replace(char, visible)
    return decoded
