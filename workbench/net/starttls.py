"""``tcp.starttls()``: a protocol's plaintext exchange (``workbench.core.starttls``) on a
connected socket, then ``secure()`` in place (contract rows ST1 to ST4).

The exchange goes through the socket's ordinary paths: the commands through a ``send`` (the
session's logged one in the window, so they are in the capture and the call log), the answers
through ``on_receive``, like any other bytes (ST1: 'the bytes of the plaintext exchange are in
the socket's capture (both directions) like any others, and nothing the server sent is lost').
A paused socket is resumed for the exchange and paused again before ``secure()``, which then
finds the server's next bytes with the OS, where TLS expects them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from workbench.core.errors import NetError, SocketNotFoundError
from workbench.core.events import Event
from workbench.core.starttls import Parser, Read, Refused, Send, exchange
from workbench.core.state import State
from workbench.core.types import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
)
from workbench.net.tcp_socket import TcpSocket

__all__ = ["SendCall", "starttls"]

#: How the exchange sends: ``TcpSockets.send`` or a session's logged send.
SendCall = Callable[[int, bytes], Awaitable[SendInfo]]


class _Core(Protocol):
    """What the exchange needs of ``TcpSockets`` (which calls it, so it is not imported)."""

    on_receive: Event[ReceiveInfo]
    on_receive_error: Event[ReceiveErrorInfo]

    async def set_paused(self, socket_id: int, paused: bool) -> None: ...

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int: ...

    def error_detail(self, socket_id: int, call: str) -> str | None: ...


class _Ended(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Inbox:
    """What the server sent on one socket during the exchange, as ``on_receive`` gave it."""

    def __init__(self, tcp: _Core, socket_id: int, received: bytes) -> None:
        self._tcp = tcp
        self._id = socket_id
        self.buffer = bytearray(received)
        self.end: int | None = None
        self._changed = asyncio.Event()
        tcp.on_receive.add_listener(self._on_receive)
        tcp.on_receive_error.add_listener(self._on_receive_error)

    def close(self) -> None:
        self._tcp.on_receive.remove_listener(self._on_receive)
        self._tcp.on_receive_error.remove_listener(self._on_receive_error)

    def _on_receive(self, info: ReceiveInfo) -> None:
        if info.socket_id == self._id:
            self.buffer += info.data
            self._changed.set()

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        if info.socket_id == self._id:
            self.end = info.result_code
            self._changed.set()

    async def read(self, parser: Parser) -> Any:
        while True:
            parsed = parser(bytes(self.buffer))
            if parsed is not None:
                used, value = parsed
                del self.buffer[:used]
                return value
            if self.end is not None:
                raise _Ended(self.end)
            self._changed.clear()
            await self._changed.wait()


async def starttls(
    tcp: _Core,
    s: TcpSocket,
    protocol: str,
    options: SecureOptions,
    send: SendCall,
    received: bytes = b"",
) -> int:
    """Run ``protocol``'s exchange on ``s`` (connected and plain), reading ``received`` first,
    then ``tcp.secure()``. The reason for a result other than 0 goes to
    ``s.details["starttls"]``."""
    s.details.pop("starttls", None)
    was_paused = s.paused
    host = options.server_name or s.host or ""
    limit = options.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
    inbox = _Inbox(tcp, s.id, received)  # before resuming: held bytes come first
    try:
        if was_paused:
            await tcp.set_paused(s.id, False)
        code, detail = await _converse(inbox, s.id, protocol, host, limit, send)
        if code == NetError.OK:
            if was_paused:
                await tcp.set_paused(s.id, True)
            code = await tcp.secure(s.id, options)
            detail = tcp.error_detail(s.id, "secure") if code != NetError.OK else None
        elif code == NetError.TIMED_OUT:
            # As a handshake that times out (T5): the connection is given up, and the socket
            # stays, disconnected, with no on_receive_error (the result code is the news).
            s.drop()
        elif code == NetError.INVALID_RESPONSE and was_paused and s.state is State.CONNECTED:
            await tcp.set_paused(s.id, True)
    except SocketNotFoundError:
        # close() while the exchange ran: answered as a connect() it cancels (U5).
        return NetError.ABORTED
    finally:
        inbox.close()
    if detail is not None:
        s.details["starttls"] = detail
    return code


async def _converse(
    inbox: _Inbox, socket_id: int, protocol: str, host: str, limit: float, send: SendCall
) -> tuple[int, str | None]:
    """The exchange: (0, None), or a result code and why."""
    steps = exchange(protocol, host)
    answer: Any = None
    try:
        async with asyncio.timeout(limit):
            while (action := _next(steps, answer)) is not None:
                if isinstance(action, Send):
                    sent = await send(socket_id, action.data)
                    if sent.result_code != NetError.OK:
                        return sent.result_code, f"{protocol}: a send failed ({sent.result_code})"
                    answer = None
                else:
                    assert isinstance(action, Read)
                    answer = await inbox.read(action.parser)
    except Refused as exc:
        return NetError.INVALID_RESPONSE, f"{protocol}: {exc.detail}"
    except _Ended as exc:
        return exc.code, f"{protocol}: the connection ended during the STARTTLS exchange"
    except TimeoutError:
        return NetError.TIMED_OUT, (
            f"{protocol}: the server did not finish the STARTTLS exchange within {limit:g} s"
        )
    return NetError.OK, None


def _next(steps: Any, answer: Any) -> Send | Read | None:
    try:
        action: Send | Read = steps.send(answer)
    except StopIteration:
        return None
    return action
