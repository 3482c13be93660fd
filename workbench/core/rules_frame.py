"""Framing: how a connection's received bytes are cut into the frames that rules match.

One framing per rule list (a server's :class:`workbench.core.rules.RuleSet`), one
:class:`Framer` per accepted connection. Every rule of the list sees the same frames, so
"first match" and "continue matching" compare rules on the same unit.

- ``chunk``: each piece of data as it was received is one frame (what ``recv`` returned, so
  the cut depends on the network; the built-in echo server works this way).
- ``line``: frames end at LF; a CR just before the LF is part of the line ending (LF or CRLF).
  The frame excludes the ending; an empty line is an empty frame. A bare CR ends nothing.
- ``fixed``: frames of exactly ``length`` bytes.

Limits. A line is at most ``max_line`` bytes: a longer one is cut into frames of ``max_line``
bytes, the last piece ending at the line ending. The cut does not depend on how the bytes
arrived (a frame is cut as soon as ``max_line + 2`` bytes without an LF are buffered: then
the line is longer than ``max_line`` whatever comes next), so a peer that never sends a
newline holds at most ``max_line + 1`` bytes here, plus the chunk being fed.

End of stream (:meth:`Framer.finish`): the bytes that make no whole frame (an unterminated
last line, a short last record) are given as one last frame, because ``printf 'PING' | nc``
is a request too; a trailing CR of an unterminated line is kept (no line ending was seen).
"""

from __future__ import annotations

import dataclasses
import enum

from workbench.core.rules_error import RuleError

__all__ = [
    "DEFAULT_MAX_LINE",
    "MAX_FRAME_LIMIT",
    "FrameKind",
    "Framer",
    "Framing",
    "check_framing",
]

#: The default longest line, in bytes (a long HTTP header fits; a peer without newlines does
#: not grow memory beyond it).
DEFAULT_MAX_LINE = 64 * 1024
#: The largest ``max_line`` or fixed ``length`` accepted.
MAX_FRAME_LIMIT = 16 * 1024 * 1024


class FrameKind(enum.StrEnum):
    CHUNK = "chunk"
    LINE = "line"
    FIXED = "fixed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Framing:
    """``kind``; ``length`` for ``fixed`` (bytes per frame); ``max_line`` for ``line``."""

    kind: FrameKind = FrameKind.CHUNK
    length: int = 0
    max_line: int = DEFAULT_MAX_LINE


def _size(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f"must be a whole number of bytes, not {value!r}", field=field)
    if not 1 <= value <= MAX_FRAME_LIMIT:
        raise RuleError(f"must be 1 to {MAX_FRAME_LIMIT:,} bytes, not {value:,}", field=field)
    return value


def check_framing(framing: Framing) -> None:
    """Raise :class:`RuleError` (field ``framing``) unless ``framing`` can be used."""
    try:
        kind = FrameKind(framing.kind)
    except ValueError:
        known = ", ".join(k.value for k in FrameKind)
        raise RuleError(
            f"unknown framing {framing.kind!r} (known: {known})", field="framing"
        ) from None
    if kind is FrameKind.FIXED:
        _size(framing.length, "framing length")
    elif kind is FrameKind.LINE:
        _size(framing.max_line, "framing max_line")


class Framer:
    """Bytes in, complete frames out, for one connection (see the module docstring)."""

    def __init__(self, framing: Framing) -> None:
        check_framing(framing)
        self.framing = framing
        self._kind = FrameKind(framing.kind)
        self._buffer = bytearray()

    def __repr__(self) -> str:
        return f"<Framer {self._kind.value} buffered={len(self._buffer)}>"

    @property
    def buffered(self) -> int:
        """Bytes held that make no whole frame yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """The frames that ``data`` completes, in order."""
        if self._kind is FrameKind.CHUNK:
            return [bytes(data)] if data else []
        self._buffer += data
        if self._kind is FrameKind.LINE:
            return self._lines()
        return self._records()

    def finish(self) -> list[bytes]:
        """End of stream: what is buffered, as a last frame (a too long line as several)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if not rest:
            return []
        if self._kind is FrameKind.LINE:
            cap = self.framing.max_line
            return [rest[i : i + cap] for i in range(0, len(rest), cap)]
        return [rest]

    def discard(self) -> int:
        """Drop what is buffered (bytes received in plaintext before a STARTTLS must not be
        read as if they came over TLS); how many bytes were dropped."""
        dropped = len(self._buffer)
        self._buffer.clear()
        return dropped

    def _lines(self) -> list[bytes]:
        buf = self._buffer
        cap = self.framing.max_line
        frames: list[bytes] = []
        start = 0
        while (newline := buf.find(b"\n", start)) >= 0:
            end = newline - 1 if newline > start and buf[newline - 1] == 0x0D else newline
            while end - start > cap:
                frames.append(bytes(buf[start : start + cap]))
                start += cap
            frames.append(bytes(buf[start:end]))
            start = newline + 1
        # No LF in what is left: with cap + 2 bytes the line is longer than cap even if the
        # last byte turns out to be the CR of a CRLF, so the cut is the one a whole read of
        # the stream would make.
        while len(buf) - start >= cap + 2:
            frames.append(bytes(buf[start : start + cap]))
            start += cap
        del buf[:start]
        return frames

    def _records(self) -> list[bytes]:
        buf = self._buffer
        size = self.framing.length
        whole = len(buf) - len(buf) % size
        if not whole:
            return []
        frames = [bytes(buf[i : i + size]) for i in range(0, whole, size)]
        del buf[:whole]
        return frames
