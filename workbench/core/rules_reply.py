"""Replies: a template in the composer's Text, Hex or Escaped mode, with placeholders.

The literal parts are encoded by the composer's own parsers (``workbench.core.codecs``, the
functions ``workbench.core.compose.encode_input`` calls): ``Text`` in the reply's encoding,
``Hex`` as ``68 65 6c``, ``Escaped`` with ``\\r \\n \\t \\0 \\\\ \\xNN``. The line ending is
added once at the end, except in Hex mode (``compose.line_ending_applies``).

Placeholders, in every mode:

============== =============================================================================
``\\1``…``\\9``  the bytes a regex group matched (empty if the group did not take part)
``\\g<name>``   a named group; ``\\g<12>`` a group by number; ``\\g<0>`` the whole regex match
``{frame}``    the whole frame, byte for byte (an echo is ``{frame}``)
``{hex}``      the frame as lowercase hex pairs, ``68 65 6c``
``{peer}``     the connection's peer, ``127.0.0.1:50312`` / ``[::1]:50312``
``{socket_id}`` the accepted socket's id
``{count}``    how many times this rule has matched on this connection, this time included
``{{`` ``}}``  a literal ``{`` or ``}`` (a lone ``}`` is literal too)
``\\\\``         a literal backslash (in Text mode; in Escaped mode it already is one)
============== =============================================================================

Groups and the frame are inserted as the bytes received, whatever the mode; ``{hex}``,
``{peer}``, ``{socket_id}`` and ``{count}`` are text, encoded like the literal parts (the
reply's encoding in Text mode, UTF-8 otherwise). In Text mode a backslash that starts no
placeholder is an ordinary character (``C:\\dir``). In Hex mode placeholders sit between
hex groups: ``2b {frame} 0d 0a``.

Checked once (:func:`compile_template`): an unknown placeholder, a group the regex does not
have, a group without a regex, a frame placeholder in a rule that runs when the connection
opens, or a literal part its mode refuses is a :class:`RuleError` at that position.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable

from workbench.core import codecs, compose
from workbench.core.formatting import format_endpoint
from workbench.core.rules_error import RuleError
from workbench.core.rules_match import CompiledMatch, MatchKind, check_encoding, group_bytes

__all__ = ["MAX_REPLY_BYTES", "Reply", "ReplyContext", "Template", "compile_template"]

#: The largest reply a rule may make (``{frame}`` many times over a big frame would grow it
#: without bound); a rule whose reply would be larger fails at run time.
MAX_REPLY_BYTES = 16 * 1024 * 1024

_TOKEN = re.compile(r"\\\\|\\[1-9]|\\g(?:<[^>]*>?)?|\{\{|\}\}|\{[^{}]*\}?")
_NAMED = frozenset({"frame", "hex", "peer", "socket_id", "count"})
_FRAME_NAMED = frozenset({"frame", "hex"})
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reply:
    """What a rule sends: ``template`` in ``mode`` (one of ``compose.MODES``), the Text
    mode's ``encoding`` (a name from ``codecs.TEXT_ENCODINGS``) and a ``line_ending`` (a key
    of ``codecs.LINE_ENDINGS``) added once after it. An empty template sends nothing."""

    mode: str = "Text"
    template: str = ""
    encoding: str = "UTF-8"
    line_ending: str = "None"


class _Slot(enum.Enum):
    GROUP = "group"
    FRAME = "frame"
    HEX = "hex"
    PEER = "peer"
    SOCKET_ID = "socket_id"
    COUNT = "count"


@dataclasses.dataclass(frozen=True)
class ReplyContext:
    """What placeholders are filled from: the ``frame`` (``None`` on connection open), the
    regex ``found`` in it (if any) and the ``encoding`` the regex read it in, the ``peer``
    as (host, port), the ``socket_id`` and this rule's ``count`` on the connection."""

    frame: bytes | None
    found: re.Match[str] | None
    encoding: str
    peer: tuple[str, int]
    socket_id: int
    count: int


_Part = bytes | tuple[_Slot, int | str]


class Template:
    """A checked reply: constant bytes and placeholders, ready to render."""

    def __init__(self, reply: Reply, parts: list[_Part], text_encoding: str) -> None:
        self.reply = reply
        self._parts = parts
        self._text_encoding = text_encoding
        self.constant: bytes | None = (
            parts[0]
            if len(parts) == 1 and isinstance(parts[0], bytes)
            else (b"" if not parts else None)
        )

    def __repr__(self) -> str:
        return f"<Template {self.reply.mode} {self.reply.template!r}>"

    def render(self, context: ReplyContext, max_reply: int = MAX_REPLY_BYTES) -> bytes:
        """The reply's bytes; raises ``ValueError`` past ``max_reply`` bytes."""
        if self.constant is not None:
            return self.constant
        out = bytearray()
        for part in self._parts:
            out += part if isinstance(part, bytes) else self._fill(part[0], part[1], context)
            if len(out) > max_reply:
                raise ValueError(f"the reply is over {max_reply:,} bytes")
        return bytes(out)

    def _fill(self, slot: _Slot, key: int | str, context: ReplyContext) -> bytes:
        frame = context.frame if context.frame is not None else b""
        if slot is _Slot.FRAME:
            return frame
        if slot is _Slot.GROUP:
            found = context.found
            text = found.group(key) if found is not None else None
            return group_bytes(text, context.encoding) if text is not None else b""
        if slot is _Slot.HEX:
            text = frame.hex(" ")
        elif slot is _Slot.PEER:
            text = format_endpoint(*context.peer)
        elif slot is _Slot.SOCKET_ID:
            text = str(context.socket_id)
        else:
            text = str(context.count)
        return text.encode(self._text_encoding)


def compile_template(reply: Reply, match: CompiledMatch | None) -> Template:
    """Check ``reply`` against the ``match`` it answers (``None``: a rule on connection open,
    which has no frame) and compile it; raises :class:`RuleError` (field ``reply``)."""
    if reply.mode not in compose.MODES:
        raise RuleError(
            f"unknown reply mode {reply.mode!r} (known: {', '.join(compose.MODES)})", field="reply"
        )
    if reply.line_ending not in codecs.LINE_ENDINGS:
        known = ", ".join(codecs.LINE_ENDINGS)
        raise RuleError(
            f"unknown line ending {reply.line_ending!r} (known: {known})", field="reply"
        )
    encoding = check_encoding(reply.encoding, "reply encoding")
    if not isinstance(reply.template, str):
        raise RuleError(f"the template must be text, not {reply.template!r}", field="reply")
    text_encoding = encoding if reply.mode == "Text" else "utf-8"
    parts: list[_Part] = []
    template = reply.template
    at = 0
    for token in _TOKEN.finditer(template):
        _literal(reply.mode, template[at : token.start()], at, encoding, parts)
        _token(reply.mode, token, match, encoding, parts)
        at = token.end()
    _literal(reply.mode, template[at:], at, encoding, parts)
    if compose.line_ending_applies(reply.mode):
        parts.append(codecs.LINE_ENDINGS[reply.line_ending])
    return Template(reply, _merged(parts), text_encoding)


def _merged(parts: list[_Part]) -> list[_Part]:
    merged: list[_Part] = []
    run = b""
    for part in parts:
        if isinstance(part, bytes):
            run += part
            continue
        if run:
            merged.append(run)
            run = b""
        merged.append(part)
    if run:
        merged.append(run)
    return merged


def _literal(mode: str, text: str, at: int, encoding: str, parts: list[_Part]) -> None:
    """Encode one literal run of the template as its mode does; errors at their place."""
    if not text:
        return
    try:
        if mode == "Hex":
            parts.append(codecs.parse_hex(text))
        elif mode == "Escaped":
            parts.append(codecs.parse_escaped(text))
        else:
            parts.append(codecs.encode_text(text, encoding))
    except codecs.InputError as exc:
        raise RuleError(
            exc.reason, field="reply", position=at + exc.position, length=exc.length
        ) from None


def _token(
    mode: str, token: re.Match[str], match: CompiledMatch | None, encoding: str, parts: list[_Part]
) -> None:
    text = token.group()
    at = token.start()

    def error(reason: str) -> RuleError:
        return RuleError(reason, field="reply", position=at, length=len(text))

    if text == "\\\\":
        # Escaped mode reads \\ itself; Text mode takes it as one backslash; Hex refuses it.
        _literal(mode, "\\" if mode == "Text" else text, at, encoding, parts)
    elif text in ("{{", "}}"):
        _literal(mode, text[0], at, encoding, parts)
    elif text.startswith("{"):
        parts.append(_named(text, match, error))
    else:
        parts.append(_group(text, match, error))


def _named(
    text: str, match: CompiledMatch | None, error: Callable[[str], RuleError]
) -> tuple[_Slot, int | str]:
    if not text.endswith("}"):
        raise error("unclosed {: write {{ for a literal {")
    name = text[1:-1]
    if name not in _NAMED:
        known = ", ".join(f"{{{n}}}" for n in sorted(_NAMED))
        raise error(f"unknown placeholder {text} (known: {known}; write {{{{ for a literal {{)")
    if match is None and name in _FRAME_NAMED:
        raise error(f"{text} needs a frame: a rule on connection open has none")
    return _Slot(name), 0


def _group(
    text: str, match: CompiledMatch | None, error: Callable[[str], RuleError]
) -> tuple[_Slot, int | str]:
    key: int | str
    if text.startswith("\\g"):
        if not (text.startswith("\\g<") and text.endswith(">")):
            raise error("\\g needs a group in angle brackets: \\g<name> or \\g<1>")
        inner = text[3:-1]
        if inner.isdecimal() and inner.isascii():
            key = int(inner)
        elif _IDENTIFIER.fullmatch(inner):
            key = inner
        else:
            raise error(f"{text}: a group is a name or a number")
    else:
        key = int(text[1])
    if match is None:
        raise error(f"{text} needs a frame: a rule on connection open has none")
    if match.kind is not MatchKind.REGEX:
        raise error(
            f"{text} refers to a regex group, but this rule matches by "
            f"{match.kind.value}, not regex"
        )
    if isinstance(key, int) and key > match.groups:
        raise error(
            f"{text} refers to group {key}, but the regex has "
            f"{match.groups} group{'' if match.groups == 1 else 's'}"
        )
    if isinstance(key, str) and key not in match.group_names:
        names = ", ".join(sorted(match.group_names)) or "none"
        raise error(f"{text} refers to no group of the regex (its named groups: {names})")
    return _Slot.GROUP, key
