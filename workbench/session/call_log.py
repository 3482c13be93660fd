"""The call log: every call the session makes, written the way Chrome developers read them.

``chrome.sockets.tcp.connect(3, "localhost", 7) → -102 (net::ERR_CONNECTION_REFUSED)``
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from typing import Any

from workbench.core.errors import net_error_text
from workbench.core.events import Event
from workbench.core.types import DnsQueryType, to_json
from workbench.session.keys import SocketKey

__all__ = ["CallLog", "CallLogEntry", "format_call", "js_value", "result_with_name"]


@dataclasses.dataclass(frozen=True, slots=True)
class CallLogEntry:
    timestamp: float
    key: SocketKey | None
    text: str
    ok: bool

    @property
    def socket_id(self) -> int | None:
        return self.key.id if self.key is not None else None


class CallLog:
    """The last ``limit`` entries, oldest first.

    Events: ``added`` (a ``CallLogEntry``), ``cleared`` (``None``).
    """

    def __init__(self, limit: int = 20_000) -> None:
        if limit <= 0:
            raise ValueError(f"limit must be positive, not {limit}")
        self._entries: list[CallLogEntry] = []
        self._limit = limit
        self.added: Event[CallLogEntry] = Event("added")
        self.cleared: Event[None] = Event("cleared")

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: SocketKey | None, text: str, ok: bool = True) -> CallLogEntry:
        entry = CallLogEntry(time.time(), key, text, ok)
        self._entries.append(entry)
        if len(self._entries) > self._limit:
            # Trim in batches: one slice deletion per 1 % of the limit, not one per entry.
            del self._entries[: len(self._entries) - self._limit + self._limit // 100]
        self.added.dispatch(entry)
        return entry

    def entries(self) -> list[CallLogEntry]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.cleared.dispatch(None)


def js_value(value: Any) -> str:
    """One argument or result the way Chrome's developer tools print it."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, DnsQueryType):
        return json.dumps(value.value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, list):
        return "[" + ",".join(js_value(v) for v in value) + "]"
    return str(value)


def result_with_name(code: int) -> str:
    """``-102`` → ``"-102 (net::ERR_CONNECTION_REFUSED)"``; ``0`` → ``"0"``."""
    return f"{code} ({net_error_text(code)})" if code else "0"


def format_call(api: str, method: str, args: Iterable[Any], result: str) -> str:
    """``chrome.sockets.tcp.connect(3, "localhost", 7) → 0``."""
    return f"{api}.{method}({', '.join(js_value(a) for a in args)}) → {result}"
