"""The built-in servers, and the README's examples, as rule lists the user can read and edit.

Of the built-in servers (``workbench/net/servers``), chargen's endless stream and slow drip's
timed bytes are not answers to received data, so no rule expresses them: they stay code.
The others are presets here:

- ``echo``: every chunk is sent back as it came (``{frame}``).
- ``tls-echo``: TLS starts as the connection opens (``open`` → ``start-tls``), then echo.
  The certificate is the server's setting, not a rule's.
- ``discard``: every chunk is read and nothing is sent (RFC 863).
- ``close-after`` / ``reset-after``: echo, and after the ``n``-th received chunk a FIN (or
  an RST); ``n=0`` closes (resets) at once. Rules count frames, not bytes: the built-in
  servers close after ``n`` *bytes*, cutting the last chunk's echo short, which a rule
  cannot (a byte-exact cut is fixed framing of ``n`` bytes, whose first frame is then
  answered only once all ``n`` bytes are in).

And the README's examples, framed per line: ``smtp`` (a greeting on connect, ``EHLO``,
``QUIT``), ``redis`` (``PING`` → ``+PONG``, inline or as redis-cli's RESP array) and
``http`` (``GET <path> HTTP/1.x`` → a fixed ``200 OK`` page, then FIN).
"""

from __future__ import annotations

import enum

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

__all__ = ["HTTP_BODY", "PRESET_DESCRIPTIONS", "Preset", "preset"]


class Preset(enum.StrEnum):
    ECHO = "echo"
    TLS_ECHO = "tls-echo"
    DISCARD = "discard"
    CLOSE_AFTER = "close-after"
    RESET_AFTER = "reset-after"
    SMTP = "smtp"
    REDIS = "redis"
    HTTP = "http"


PRESET_DESCRIPTIONS: dict[Preset, str] = {
    Preset.ECHO: "Sends back every chunk it receives.",
    Preset.TLS_ECHO: "Starts TLS as soon as a client connects, then echoes.",
    Preset.DISCARD: "Reads everything and sends nothing (RFC 863).",
    Preset.CLOSE_AFTER: "Echoes, and closes cleanly (FIN) after the N-th received chunk.",
    Preset.RESET_AFTER: "Echoes, and resets the connection (RST) after the N-th received chunk.",
    Preset.SMTP: "An SMTP greeting on connect, then answers to EHLO, HELO, MAIL, RCPT and QUIT.",
    Preset.REDIS: "Answers Redis's PING with +PONG.",
    Preset.HTTP: "Answers an HTTP GET request line with 200 OK and a short page, then closes.",
}

#: The page the ``http`` preset serves (its Content-Length is spelled out in the rule).
HTTP_BODY = b"Hello from Socket Workbench\n"

_ECHO = Rule(name="echo", reply=Reply(template="{frame}"))
_LINES = Framing(kind=FrameKind.LINE)


def _regex(pattern: str) -> Match:
    return Match(kind=MatchKind.REGEX, pattern=pattern)


def _crlf(template: str) -> Reply:
    return Reply(template=template, line_ending="CRLF")


def _after(n: int, then: Then) -> RuleSet:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a whole number >= 0, not {n!r}")
    name = then.value
    if n == 0:
        return RuleSet(rules=(Rule(name=name, trigger=Trigger.OPEN, then=then),))
    echo = Rule(name="echo", reply=Reply(template="{frame}"), continue_matching=True)
    return RuleSet(rules=(echo, Rule(name=f"{name} after {n}", from_frame=n, then=then)))


def _smtp() -> RuleSet:
    return RuleSet(
        framing=_LINES,
        rules=(
            Rule(
                name="greeting",
                trigger=Trigger.OPEN,
                reply=_crlf("220 localhost ESMTP Socket Workbench"),
            ),
            Rule(
                name="ehlo",
                match=_regex(r"(?i)\A(?:EHLO|HELO) +(\S+)"),
                reply=_crlf(r"250 localhost greets \1"),
            ),
            Rule(name="ok", match=_regex(r"(?i)\A(?:MAIL FROM|RCPT TO):"), reply=_crlf("250 OK")),
            Rule(
                name="quit", match=_regex(r"(?i)\AQUIT\Z"), reply=_crlf("221 Bye"), then=Then.CLOSE
            ),
            Rule(name="other", reply=_crlf("502 Command not implemented")),
        ),
    )


def _http() -> RuleSet:
    head = (
        r"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        rf"Content-Length: {len(HTTP_BODY)}\r\nConnection: close\r\n\r\n"
    )
    body = HTTP_BODY.decode().replace("\n", r"\n")
    return RuleSet(
        framing=_LINES,
        rules=(
            Rule(
                name="GET",
                match=_regex(r"\AGET (\S+) HTTP/1\.[01]\Z"),
                reply=Reply(mode="Escaped", template=head + body),
                then=Then.CLOSE,
            ),
        ),
    )


def preset(name: Preset | str, n: int = 1) -> RuleSet:
    """The rule set of preset ``name``; ``n`` for close-after and reset-after."""
    kind = Preset(name)
    if kind is Preset.ECHO:
        return RuleSet(rules=(_ECHO,))
    if kind is Preset.TLS_ECHO:
        tls = Rule(name="start TLS", trigger=Trigger.OPEN, then=Then.START_TLS)
        return RuleSet(rules=(tls, _ECHO))
    if kind is Preset.DISCARD:
        return RuleSet(rules=(Rule(name="discard"),))
    if kind is Preset.CLOSE_AFTER:
        return _after(n, Then.CLOSE)
    if kind is Preset.RESET_AFTER:
        return _after(n, Then.RESET)
    if kind is Preset.SMTP:
        return _smtp()
    if kind is Preset.REDIS:
        ping = Rule(name="PING", match=_regex(r"(?i)\APING\Z"), reply=_crlf("+PONG"))
        return RuleSet(framing=_LINES, rules=(ping,))
    return _http()
