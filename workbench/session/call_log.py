"""The call log: every call the session makes, written the way Chrome developers read them.

``chrome.sockets.tcp.connect(3, "localhost", 7) → -102 (net::ERR_CONNECTION_REFUSED)``
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from workbench.core.errors import net_error_text
from workbench.core.events import Event
from workbench.core.types import DnsQueryType, SendInfo, to_json
from workbench.session.keys import SocketKey

__all__ = [
    "CallLog",
    "CallLogEntry",
    "format_call",
    "format_event",
    "js_value",
    "logged_call",
    "result_with_name",
    "send_result",
]

T = TypeVar("T")


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


def result_with_name(code: int, why: str | None = None) -> str:
    """``-102`` → ``"-102 (net::ERR_CONNECTION_REFUSED)"``; ``0`` → ``"0"``; with ``why``:
    ``"-15 (net::ERR_SOCKET_NOT_CONNECTED: the socket must be bound first)"``."""
    return f"{code} ({_error_words(code, why)})" if code else "0"


def send_result(info: SendInfo, why: str | None = None) -> str:
    """``{"resultCode":0,"bytesSent":5}``; a failure adds its name (and ``why``):
    ``{"resultCode":-15} (net::ERR_SOCKET_NOT_CONNECTED: …)``."""
    text = to_json(info)
    if info.result_code:
        text += f" ({_error_words(info.result_code, why)})"
    return text


def _error_words(code: int, why: str | None) -> str:
    name = net_error_text(code)
    return f"{name}: {why}" if why else name


def format_call(api: str, method: str, args: Iterable[Any], result: str) -> str:
    """``chrome.sockets.tcp.connect(3, "localhost", 7) → 0``."""
    return f"{api}.{method}({', '.join(js_value(a) for a in args)}) → {result}"


def format_event(api: str, event: str, info: Any, code: int | None = None, why: str = "") -> str:
    """``chrome.sockets.tcpServer.onAccept {"socketId":1,"clientSocketId":7}``; with a
    failing ``code``, its name and why: ``… {"socketId":1,"resultCode":-12}
    (net::ERR_INSUFFICIENT_RESOURCES: <why>)``."""
    text = f"{api}.{event} {to_json(info)}"
    if code is not None:
        text += f"  ({net_error_text(code)}: {why})"
    return text


async def logged_call(
    log: CallLog,
    api: str,
    key: SocketKey | None,
    call: tuple[str, tuple[Any, ...], Callable[[], Awaitable[T]]],
    show: Callable[[T], tuple[str, bool]] | None = None,
    key_of: Callable[[T], SocketKey] | None = None,
) -> T:
    """Run ``call`` — (method, args, the coroutine function) — and log it under ``api``, with
    what ``show`` makes of its result (``js_value`` by default), or the error it raised;
    ``key_of`` names the socket from the result (``create`` has no key before it returns)."""
    method, args, run = call
    try:
        result = await run()
    except asyncio.CancelledError:
        log.add(key, format_call(api, method, args, "cancelled"), False)
        raise
    except Exception as exc:
        log.add(key, format_call(api, method, args, f"Error: {exc}"), False)
        raise
    text, ok = show(result) if show is not None else (js_value(result), True)
    if key_of is not None:
        key = key_of(result)
    log.add(key, format_call(api, method, args, text), ok)
    return result
