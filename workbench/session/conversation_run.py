"""Running a conversation (``workbench.core.conversation``) on a ``chrome.sockets.tcp`` socket.

``run_conversation`` creates and connects a socket (and secures it when the file has
``[tls]``), or takes one that is already connected, then runs the steps in order:

- ``expect``, ``expect_regex`` and ``expect_hex`` look at the bytes received since the previous
  match and consume everything up to and including theirs; no match within the step's
  time-out (or the stream ending first) fails the step, and the report shows what arrived;
- ``send`` and ``send_hex`` send, ``starttls`` calls ``secure()`` (or ``starttls()`` when it
  names a protocol, which reads what no expect consumed first), ``sleep`` waits,
  ``expect_closed`` waits for the stream's end and checks its code.

A failed step ends the conversation: the socket is closed (or disconnected, when the caller
keeps its sockets: the window keeps the row and its capture) and the rest are not run. The
calls go through ``calls`` (the session's logged ``LoggedTcp`` in the window, so the call log
and the row show them), the bytes arrive through the core's own events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from workbench.core.codecs import InputError, escape_bytes, parse_hex
from workbench.core.conversation import (
    Conversation,
    Step,
    Verb,
    secure_options,
    send_bytes,
    substitute,
)
from workbench.core.conversation_report import ConversationReport, Status, StepReport
from workbench.core.errors import SocketNotFoundError
from workbench.core.formatting import describe_result, format_endpoint
from workbench.core.state import State
from workbench.core.types import (
    MAX_HANDSHAKE_TIMEOUT,
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
)
from workbench.net.tcp import TcpSockets

__all__ = ["TcpCalls", "run_conversation"]

_T = TypeVar("_T")

#: How much of what arrived a failed expect shows (escaped), at most.
SHOWN_BYTES = 2000


class TcpCalls(Protocol):
    """The calls a run makes: ``TcpSockets``' own, or a session's logged ones."""

    async def create(self) -> CreateInfo: ...

    async def connect(
        self, socket_id: int, peer_address: str, peer_port: int, dns_query_type: DnsQueryType
    ) -> int: ...

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int: ...

    async def starttls(
        self,
        socket_id: int,
        protocol: str,
        options: SecureOptions | None = None,
        *,
        received: bytes = b"",
    ) -> int: ...

    async def send(self, socket_id: int, data: bytes) -> SendInfo: ...

    async def disconnect(self, socket_id: int) -> None: ...

    async def close(self, socket_id: int) -> None: ...

    def error_detail(self, socket_id: int, call: str) -> str | None: ...


class _Failed(Exception):
    """A step failed: why (and the bytes it had, if any)."""

    def __init__(self, detail: str, data: bytes = b"") -> None:
        super().__init__(detail)
        self.detail = detail
        self.data = data


class _Inbox:
    """What one socket received since the last match, and how its stream ended."""

    def __init__(self, tcp: TcpSockets) -> None:
        self._tcp = tcp
        self.socket_id: int | None = None
        self.buffer = bytearray()
        self.end: int | None = None
        self._changed = asyncio.Event()
        tcp.on_receive.add_listener(self._on_receive)
        tcp.on_receive_error.add_listener(self._on_receive_error)

    def detach(self) -> None:
        self._tcp.on_receive.remove_listener(self._on_receive)
        self._tcp.on_receive_error.remove_listener(self._on_receive_error)

    def _on_receive(self, info: ReceiveInfo) -> None:
        if info.socket_id == self.socket_id:
            self.buffer += info.data
            self._changed.set()

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        if info.socket_id == self.socket_id:
            self.end = info.result_code
            self._changed.set()

    async def changed(self, timeout: float) -> None:
        """Until more arrives or the stream ends, at most ``timeout`` seconds."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def shown(self) -> str:
        """What arrived and is not consumed yet, for a failure's report."""
        if not self.buffer:
            return "nothing received"
        data = bytes(self.buffer[:SHOWN_BYTES])
        more = f" (first {SHOWN_BYTES} shown)" if len(self.buffer) > SHOWN_BYTES else ""
        return f'received {len(self.buffer)} bytes{more}: "{escape_bytes(data)}"'


#: A match in the inbox: where it ends (bytes consumed) and what it captured.
_Match = tuple[int, dict[str, str]]


def _matcher(step: Step, variables: Mapping[str, str]) -> Callable[[bytearray], _Match | None]:
    """How a step finds its match in the bytes received since the previous one. The matcher
    is asked again each time more bytes arrive, with the same buffer grown at its end."""
    if step.verb is Verb.EXPECT_REGEX:
        pattern = re.compile(substitute(step.value, variables, regex=True))

        def by_regex(data: bytearray) -> _Match | None:
            # The whole text again: a pattern may match differently once more has arrived.
            text = data.decode("utf-8", "surrogateescape")
            found = pattern.search(text)
            if found is None:
                return None
            end = len(text[: found.end()].encode("utf-8", "surrogateescape"))
            groups = {k: v for k, v in found.groupdict().items() if v is not None}
            return end, groups

        return by_regex
    if step.verb is Verb.EXPECT_HEX:
        needle = parse_hex(substitute(step.value, variables))
    else:  # "the next received bytes, decoded as UTF-8, contain this text"
        needle = substitute(step.value, variables).encode()

    resume = 0

    def by_bytes(data: bytearray) -> _Match | None:
        nonlocal resume
        at = data.find(needle, resume)
        if at < 0:
            # Only the last len(needle) - 1 bytes can still begin a match: a large answer
            # arriving in many reads is searched once, not once per read from its start.
            resume = max(0, len(data) - len(needle) + 1)
            return None
        return at + len(needle), {}

    return by_bytes


class _Run:
    """One conversation on one socket."""

    def __init__(
        self,
        conversation: Conversation,
        tcp: TcpSockets,
        calls: TcpCalls,
        variables: Mapping[str, str],
    ) -> None:
        self.conversation = conversation
        self.calls = calls
        self.tcp = tcp
        self.inbox = _Inbox(tcp)
        self.variables = dict(conversation.variables)
        self.variables.update(variables)
        self.loop = asyncio.get_running_loop()

    async def open(self) -> str | None:
        """Create, connect and secure a socket: None, or why it failed."""
        conversation = self.conversation
        sid = (await self.calls.create()).socket_id
        self.inbox.socket_id = sid
        where = format_endpoint(conversation.host, conversation.port)
        try:
            code = await asyncio.wait_for(
                self.calls.connect(sid, conversation.host, conversation.port, conversation.dns),
                conversation.timeout,
            )
        except TimeoutError:
            return f"connect to {where}: no answer within {conversation.timeout:g} s"
        if code < 0:
            return self._failure(f"connect to {where}", code, sid, "connect")
        if conversation.tls is not None:
            code = await self.calls.secure(sid, conversation.tls)
            if code < 0:
                return self._failure(f"[tls] with {where}", code, sid, "secure")
        return None

    def _failure(self, what: str, code: int, sid: int, call: str) -> str:
        detail = self.calls.error_detail(sid, call)
        return f"{what} → {describe_result(code)}" + (f" ({detail})" if detail else "")

    async def step(self, step: Step) -> tuple[bytes, str]:
        """Run one step: the bytes it sent or matched, and a note; ``_Failed`` when it fails."""
        verb = step.verb
        if verb.expects:
            return await self.expect(step)
        if verb is Verb.SLEEP:
            await asyncio.sleep(float(step.value))
            return b"", ""
        if verb is Verb.EXPECT_CLOSED:
            return await self.expect_closed(step)
        sid = self.inbox.socket_id
        assert sid is not None
        if verb is Verb.STARTTLS:
            return await self.starttls(step, sid)
        try:
            data = send_bytes(step, self.variables)
        except InputError as exc:
            raise _Failed(f"cannot send: {exc}") from None
        sent = await self._within(step, self.calls.send(sid, data))
        if sent.result_code < 0:
            raise _Failed(f"send → {describe_result(sent.result_code)}", data)
        return data, ""

    async def starttls(self, step: Step, sid: int) -> tuple[bytes, str]:
        """``secure()`` now, or a preset's exchange first (``starttls = "smtp"``)."""
        table = {"protocol": step.value} if isinstance(step.value, str) else dict(step.value)
        protocol = table.pop("protocol", None)
        options = secure_options(table, self.variables)
        if protocol is None:
            code = await self._within(step, self.calls.secure(sid, options))
            if code < 0:
                raise _Failed(self._failure("secure()", code, sid, "secure"))
            return b"", ""
        if options.handshake_timeout is None:
            limit = min(step.timeout, MAX_HANDSHAKE_TIMEOUT)
            options = dataclasses.replace(options, handshake_timeout=limit)
        # What arrived and no expect consumed (a greeting) is the exchange's to read. Called
        # without a wrapping task, so that the exchange listens from this very point on.
        received = bytes(self.inbox.buffer)
        code = await self.calls.starttls(sid, protocol, options, received=received)
        exchanged = bytes(self.inbox.buffer)
        self.inbox.buffer.clear()  # the exchange read it
        if code < 0:
            raise _Failed(self._failure(f"starttls {protocol}", code, sid, "starttls"), exchanged)
        return exchanged, f"the {protocol} exchange, then TLS"

    async def _within(self, step: Step, call: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(call, step.timeout)
        except TimeoutError:
            raise _Failed(f"no answer within {step.timeout:g} s") from None

    async def expect(self, step: Step) -> tuple[bytes, str]:
        inbox = self.inbox
        match = _matcher(step, self.variables)
        deadline = self.loop.time() + step.timeout
        while True:
            found = match(inbox.buffer)
            if found is not None:
                end, captured = found
                data = bytes(inbox.buffer[:end])
                del inbox.buffer[:end]
                self.variables.update(captured)
                note = ", ".join(f"{k} = {v!r}" for k, v in captured.items())
                return data, note
            if inbox.end is not None:
                raise _Failed(
                    f"the stream ended ({describe_result(inbox.end)}) before a match; "
                    f"{inbox.shown()}"
                )
            left = deadline - self.loop.time()
            if left <= 0:
                raise _Failed(f"no match within {step.timeout:g} s; {inbox.shown()}")
            await inbox.changed(left)

    async def expect_closed(self, step: Step) -> tuple[bytes, str]:
        inbox = self.inbox
        deadline = self.loop.time() + step.timeout
        while inbox.end is None:
            left = deadline - self.loop.time()
            if left <= 0:
                raise _Failed(f"the stream did not end within {step.timeout:g} s; {inbox.shown()}")
            await inbox.changed(left)
        if step.value is not True and inbox.end != step.value:
            raise _Failed(f"the stream ended with {describe_result(inbox.end)}, not {step.value}")
        return b"", describe_result(inbox.end)


async def run_conversation(
    conversation: Conversation,
    tcp: TcpSockets,
    *,
    calls: TcpCalls | None = None,
    variables: Mapping[str, str] | None = None,
    socket_id: int | None = None,
    keep_socket: bool = False,
    on_start: Callable[[Step], object] | None = None,
    on_step: Callable[[StepReport], object] | None = None,
) -> ConversationReport:
    """Run ``conversation`` and report each step.

    ``tcp``: the core whose events carry the received bytes; ``calls``: what makes the calls
    (default ``tcp``). ``socket_id``: run on this connected socket (the steps only) instead of
    a new one. ``keep_socket``: at the end, or when a step fails, disconnect the socket rather
    than close it (its row and capture stay). ``on_start``: told of each step as it starts;
    ``on_step``: of each step's report as it ends (or is not run).
    """
    run = _Run(conversation, tcp, calls if calls is not None else tcp, variables or {})
    report = ConversationReport(conversation)
    started = run.loop.time()
    try:
        if socket_id is None:
            report.error = await run.open()
        else:
            run.inbox.socket_id = socket_id
        await _steps(run, report, on_start, on_step)
    finally:
        run.inbox.detach()
        report.elapsed = run.loop.time() - started
        report.variables = dict(run.variables)
        await _end(run, socket_id is None, keep_socket, report.passed)
    return report


async def _steps(
    run: _Run,
    report: ConversationReport,
    on_start: Callable[[Step], object] | None,
    on_step: Callable[[StepReport], object] | None,
) -> None:
    stopped = report.error is not None
    for step in run.conversation.steps:
        if stopped:
            status = (
                Status.ERROR if report.error is not None and not report.steps else Status.NOT_RUN
            )
            detail = report.error if status is Status.ERROR else ""
            done = StepReport(step, status, detail=detail or "")
        else:
            if on_start is not None:
                on_start(step)
            t0 = run.loop.time()
            try:
                data, note = await run.step(step)
                done = StepReport(step, Status.PASSED, run.loop.time() - t0, data, note)
            except _Failed as failed:
                done = StepReport(
                    step, Status.FAILED, run.loop.time() - t0, failed.data, failed.detail
                )
                stopped = True
        report.steps.append(done)
        if on_step is not None:
            on_step(done)


#: States where a kept socket is left as it is: it never connected, or its connection ended.
_ENDED = (State.CREATED, State.DISCONNECTED)


async def _end(run: _Run, created: bool, keep_socket: bool, passed: bool) -> None:
    """A socket the run created ends with it; one it was given ends only when a step
    failed (a conversation that passed leaves the user's socket as it found it)."""
    sid = run.inbox.socket_id
    if sid is None or (passed and not created):
        return
    with contextlib.suppress(SocketNotFoundError):  # the user closed it meanwhile
        if keep_socket or not created:
            if run.tcp.state_of(sid) in _ENDED:
                # Nothing to disconnect, and a disconnect() would wipe why it ended (a
                # refused connect, a failed [tls], the peer's close) from its row.
                return
            await run.calls.disconnect(sid)
        else:
            await run.calls.close(sid)
