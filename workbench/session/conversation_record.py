"""Recording: a socket's history turned into a conversation file the user edits and saves.

From the socket's last connection (its last successful ``connect()`` in the call log):

- each send becomes a ``send`` step (in the composer's Escaped mode);
- each burst of received data between sends becomes an ``expect`` of its first line, or an
  ``expect_hex`` of its first bytes when it is not text;
- ``secure()`` becomes ``starttls`` (or ``[tls]`` when it came before any byte);
- a STARTTLS preset's Secure (``starttls()``) becomes ``starttls = "<preset>"`` (with its TLS
  settings, if any): its exchange's bytes are the step's, not steps of their own, and what
  arrived just before it (a greeting) is what the step's exchange reads first, so it is not
  an ``expect`` either;
- the end becomes ``expect_closed`` with the code the peer ended it with.

The result is TOML text (written with tomli-w), which ``parse_conversation`` reads back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import tomli_w

from workbench.core.capture import CaptureStore, Direction
from workbench.core.codecs import escape_bytes, hex_pairs
from workbench.core.formatting import format_endpoint
from workbench.core.types import SecureOptions
from workbench.session.call_log import CallLogEntry
from workbench.session.keys import SocketKind
from workbench.session.record import SocketRecord

__all__ = ["record_conversation"]

#: The most bytes an ``expect_hex`` of a binary burst names: enough to recognise it.
HEX_BYTES = 16
#: The most characters an ``expect`` of a text burst takes from its first line.
TEXT_CHARS = 80

_API = SocketKind.TCP.api


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    """One thing in the socket's history, in time order: bytes, or a secure()."""

    timestamp: float
    direction: Direction | None  # None: a secure()
    data: bytes = b""
    #: a secure() through this STARTTLS preset's exchange
    protocol: str | None = None


def record_conversation(
    record: SocketRecord, log: Iterable[CallLogEntry], name: str | None = None
) -> str:
    """The socket's last connection as conversation TOML (``ValueError`` when the socket
    never connected anywhere the file could name)."""
    peer = record.intent.peer
    host, port, dns = peer if peer is not None else (*_last_peer(record), "any")
    mine = [e for e in log if e.key == record.key and e.ok]
    connects = [e.timestamp for e in mine if e.text.startswith(f"{_API}.connect(")]
    since = connects[-1] if connects else 0.0
    secures = [e.timestamp for e in mine if e.text.startswith(f"{_API}.secure(")]
    exchange = _exchange(record, mine, since)
    events = _history(record.capture, since, [t for t in secures if t >= since], exchange)
    # A name, so that a report of the file says what it was recorded from.
    doc: dict[str, Any] = {"name": name or _default_name(record, host, port)}
    doc.update(host=host, port=port)
    if dns != "any":
        doc["dns"] = dns
    tls = _tls_table(record.intent.secure)
    if events and events[0].direction is None and events[0].protocol is None:
        # secured before any byte: [tls]
        events = events[1:]
        doc["tls"] = tls
    steps = _steps(events, tls)
    if record.peer_end is not None:
        steps.append({"expect_closed": record.peer_end})
    return _dumps(doc, steps)


def _dumps(doc: dict[str, Any], steps: Sequence[dict[str, Any]]) -> str:
    r"""The file as docs/conversations.md writes one: the head by tomli-w, then one
    ``[[steps]]`` table per step (tomli-w puts short steps in one inline array), each string
    a literal one where TOML allows it: ``send = 'EHLO\r\n'``, the composer's escapes as the
    user types them, not ``send = "EHLO\\r\\n"``."""
    parts = [tomli_w.dumps(doc)]
    for step in steps:
        lines = [f"{key} = {_value(value)}" for key, value in step.items()]
        parts.append("\n[[steps]]\n" + "\n".join(lines) + "\n")
    return "".join(parts)


def _value(value: Any) -> str:
    """One value in TOML: a string single-quoted when TOML allows it (no ``'``, no control
    character but tab), a table inline, anything else as tomli-w writes it."""
    if isinstance(value, str) and "'" not in value and _literal_ok(value):
        return f"'{value}'"
    if isinstance(value, dict):
        inner = ", ".join(f"{key} = {_value(item)}" for key, item in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _literal_ok(text: str) -> bool:
    return all(c == "\t" or (" " <= c != "\x7f") for c in text)


def _default_name(record: SocketRecord, host: str, port: int) -> str:
    socket_name = f' "{record.info.name}"' if record.info.name else ""
    return f"recorded from socket {record.key.id}{socket_name} ({format_endpoint(host, port)})"


def _last_peer(record: SocketRecord) -> tuple[str, int]:
    if record.last_peer is not None:
        return record.last_peer
    info = record.info
    if info.peer_address and info.peer_port:
        return info.peer_address, info.peer_port
    raise ValueError("the socket never connected: a conversation needs a host and a port")


def _exchange(
    record: SocketRecord, mine: Sequence[CallLogEntry], since: float
) -> tuple[str, float, float] | None:
    """The last connection's STARTTLS preset exchange, if its starttls() succeeded."""
    facts = record.connection.starttls if record.connection is not None else None
    if facts is None or facts[1] < since:
        return None
    done = [e for e in mine if e.text.startswith(f"{_API}.starttls(") and e.timestamp >= facts[1]]
    return facts if done else None


def _history(
    store: CaptureStore,
    since: float,
    secures: Sequence[float],
    exchange: tuple[str, float, float] | None = None,
) -> list[_Event]:
    """The captured chunks from ``since`` on, and the secure() calls, in time order; received
    chunks in a row merge into one burst. A preset's ``exchange`` (name, began, ended) is one
    event at its end, in place of its bytes and of the burst it read first."""
    store.sync()
    events = [_Event(t, None) for t in secures]
    began, ended = (exchange[1], exchange[2]) if exchange is not None else (0.0, -1.0)
    if exchange is not None:
        events.append(_Event(ended, None, protocol=exchange[0]))
    for i in range(store.record_count):
        chunk = store.record(i)
        if chunk.timestamp >= since and not began <= chunk.timestamp <= ended:
            data = store.read(chunk.stream_offset, chunk.size)
            events.append(_Event(chunk.timestamp, chunk.direction, data))
    events.sort(key=lambda e: e.timestamp)
    merged: list[_Event] = []
    for event in events:
        last = merged[-1] if merged else None
        if last is not None and event.direction is Direction.IN and last.direction is Direction.IN:
            merged[-1] = dataclasses.replace(last, data=last.data + event.data)
        elif last is not None and event.protocol is not None and last.direction is Direction.IN:
            merged[-1] = event  # the burst the exchange read first (a greeting) is its own
        else:
            merged.append(event)
    return merged


def _steps(events: Sequence[_Event], tls: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for event in events:
        if event.protocol is not None:
            steps.append(
                {"starttls": {"protocol": event.protocol, **tls} if tls else event.protocol}
            )
        elif event.direction is None:
            steps.append({"starttls": tls})
        elif event.direction is Direction.OUT:
            text = escape_bytes(event.data)
            # "${" would read as a variable: such bytes go as hex.
            steps.append({"send_hex": hex_pairs(event.data)} if "${" in text else {"send": text})
        else:
            steps.append(_expect(event.data))
    return steps


def _expect(data: bytes) -> dict[str, str]:
    """An expect that recognises a burst: its first line as text, or its first bytes as hex."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.strip() and text.isprintable() and "${" not in text[:TEXT_CHARS]:
        return {"expect": text[:TEXT_CHARS]}
    return {"expect_hex": hex_pairs(data[:HEX_BYTES])}


def _tls_table(options: SecureOptions | None) -> dict[str, Any]:
    """``SecureOptions`` as a ``[tls]``/``starttls`` table: only what differs from the
    defaults."""
    if options is None:
        return {}
    table: dict[str, Any] = {}
    for key in ("ca_file", "server_name", "client_cert", "client_key"):
        value = getattr(options, key)
        if value:
            table[key] = value
    if not options.verify:
        table["verify"] = False
    version = options.tls_version
    if version is not None and version.min:
        table["min_version"] = version.min
    if version is not None and version.max:
        table["max_version"] = version.max
    return table
