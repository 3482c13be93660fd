"""Matching: whether a rule answers a frame, and the regex groups its reply may use.

Kinds (``MatchKind``):

- ``any``: every frame (and the only kind a rule on "connection opens" may have);
- ``exact``, ``prefix``, ``contains``: the pattern, encoded in the rule's ``encoding``, equals,
  starts or occurs in the frame. Compared as bytes, so decoding never gets in the way. An
  empty ``exact`` pattern matches an empty frame (the blank line that ends HTTP headers);
- ``regex``: Python's ``re.search`` on the frame decoded from ``encoding`` (so ``^``/``\\A``
  anchor at the start; ``(?i)`` makes it case-blind). Decoding never fails: bytes that do not
  decode become lone surrogates (``surrogateescape``), so a group copied into a reply gives
  back exactly the bytes received; only an odd last byte of UTF-16 that is ASCII-valued
  cannot be carried that way and becomes U+FFFD;
- ``hex``: the frame starts with these bytes, written as the composer's Hex mode takes them
  (``16 03 01``, ``0x16,0x03``). A prefix rather than equality because binary frames
  usually start with a fixed header; equality is a fixed framing of the same length, or a
  ``regex`` in Latin-1 (``\\A\\x16\\x03\\Z``).

The regex is compiled once, when the rule is checked; an invalid one is a
:class:`RuleError` with the position ``re`` reports.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from workbench.core import codecs
from workbench.core.rules_error import RuleError

__all__ = ["CompiledMatch", "Match", "MatchKind", "check_encoding", "compile_match"]


class MatchKind(enum.StrEnum):
    ANY = "any"
    EXACT = "exact"
    PREFIX = "prefix"
    CONTAINS = "contains"
    REGEX = "regex"
    HEX = "hex"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Match:
    """What a rule matches: ``kind``, its ``pattern`` (text, a regex or hex) and the
    ``encoding`` of text and regex patterns (a name from ``codecs.TEXT_ENCODINGS``)."""

    kind: MatchKind = MatchKind.ANY
    pattern: str = ""
    encoding: str = "UTF-8"


def check_encoding(encoding: object, field: str) -> str:
    """``encoding`` if it is one of ``codecs.TEXT_ENCODINGS``, else a :class:`RuleError`."""
    if encoding not in codecs.TEXT_ENCODINGS:
        known = ", ".join(codecs.TEXT_ENCODINGS)
        raise RuleError(f"unknown encoding {encoding!r} (known: {known})", field=field)
    assert isinstance(encoding, str)
    return encoding


class CompiledMatch:
    """A checked :class:`Match`, ready for frames. ``groups`` and ``group_names`` are the
    regex's (0 and empty for other kinds): what a reply template may refer to."""

    def __init__(
        self, match: Match, kind: MatchKind, needle: bytes, regex: re.Pattern[str] | None
    ) -> None:
        self.match = match
        self.kind = kind
        self.encoding = match.encoding
        self._needle = needle
        self._regex = regex
        self.groups = regex.groups if regex is not None else 0
        self.group_names = frozenset(regex.groupindex) if regex is not None else frozenset()

    def __repr__(self) -> str:
        return f"<CompiledMatch {self.kind.value} {self.match.pattern!r}>"

    def test(self, frame: bytes) -> tuple[bool, re.Match[str] | None]:
        """``(matched, regex_match)``: the second is the ``re.Match`` of a regex kind."""
        kind = self.kind
        if kind is MatchKind.ANY:
            return True, None
        if kind is MatchKind.REGEX:
            assert self._regex is not None
            found = self._regex.search(decode_frame(frame, self.encoding))
            return found is not None, found
        if kind is MatchKind.EXACT:
            return frame == self._needle, None
        if kind is MatchKind.CONTAINS:
            return self._needle in frame, None
        return frame.startswith(self._needle), None  # PREFIX, HEX


def decode_frame(frame: bytes, encoding: str) -> str:
    """``frame`` as text for a regex; never raises (see the module docstring)."""
    try:
        return frame.decode(encoding, "surrogateescape")
    except UnicodeDecodeError:  # an ASCII-valued odd last byte of UTF-16
        return frame.decode(encoding, "replace")


def group_bytes(text: str, encoding: str) -> bytes:
    """The received bytes that a regex group's ``text`` was decoded from."""
    return text.encode(encoding, "surrogateescape")


def compile_match(match: Match) -> CompiledMatch:
    """Check ``match`` and compile it; raises :class:`RuleError` (field ``match``)."""
    try:
        kind = MatchKind(match.kind)
    except ValueError:
        known = ", ".join(k.value for k in MatchKind)
        raise RuleError(
            f"unknown match kind {match.kind!r} (known: {known})", field="match"
        ) from None
    if not isinstance(match.pattern, str):
        raise RuleError(f"the pattern must be text, not {match.pattern!r}", field="match")
    encoding = check_encoding(match.encoding, "match encoding")
    pattern = match.pattern
    if kind in (MatchKind.PREFIX, MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.HEX) and (
        not pattern
    ):
        raise RuleError(
            f"an empty {kind.value} pattern matches every frame: use 'any'", field="match"
        )
    needle = b""
    regex = None
    try:
        if kind is MatchKind.HEX:
            needle = codecs.parse_hex(pattern)
            if not needle:
                raise RuleError("the hex pattern holds no bytes", field="match")
        elif kind is MatchKind.REGEX:
            regex = re.compile(pattern)
        elif kind is not MatchKind.ANY:
            needle = codecs.encode_text(pattern, encoding)
    except codecs.InputError as exc:
        raise RuleError(
            exc.reason, field="match", position=exc.position, length=exc.length
        ) from None
    except re.error as exc:
        raise RuleError(
            f"invalid regex: {exc.msg}", field="match", position=exc.pos, length=1
        ) from None
    return CompiledMatch(match, kind, needle, regex)
