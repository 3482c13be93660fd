"""The runner of response rules on UDP sockets: one reply per matching datagram, to its sender.

``workbench.core.rules_udp`` decides (a :class:`~workbench.core.rules.Reaction` per datagram);
this module does. For each datagram that makes actions, one task carries them out in order
(wait ``delay_ms``, send ``data`` to the datagram's sender, then do ``then``). Datagrams are
independent, as UDP's are: a delay counts from its own datagram's arrival, so "reply after
500 ms" answers each of ten datagrams 500 ms after it came, not the tenth after 5 s; and two
senders each get their own replies.

What it feeds the engine is only what the socket received (``on_receive``), never what the
rules sent: an echo rule facing an echo peer answers each datagram once instead of looping.

Sends go through ``send`` (``UdpSockets.send`` by default; the session passes
``LoggedUdp.send``, so that each reply is a ``chrome.sockets.udp.send`` in the call log and a
datagram in the socket's capture, like the user's own). ``pause`` is ``udp.set_paused(id,
True)`` on the core: the socket stops reading, its datagrams wait in the OS.

``close``, ``reset`` and ``start-tls`` have no meaning on UDP; ``check_udp_rules`` refuses
them before rules are applied, and should one reach this runner anyway it fails with -2
(FAILED) and is reported, never carried out.

A datagram's actions end at the first that fails (the socket was closed, the send was
refused): reported on ``on_action`` with its code, logged, never raised into the event loop;
the socket's later datagrams are answered as usual. A rule that fails inside the engine is
reported on ``on_fault`` and disabled by the engine; the others go on. At most
``MAX_PENDING`` datagrams per socket wait for their actions: past that (a flood against a
delayed rule) a datagram is left unanswered and counted in ``dropped``, as a full UDP buffer
would drop it, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from workbench.core.errors import NetError
from workbench.core.events import Event
from workbench.core.rules import Action, CompiledRules, Reaction, Then
from workbench.core.rules_udp import DatagramRules
from workbench.core.types import ChangeReason, SendInfo, UdpChange, UdpReceiveInfo
from workbench.net.responder import FaultRecord
from workbench.net.udp import UdpSockets

__all__ = ["MAX_PENDING", "UdpActionRecord", "UdpResponder", "UdpSend"]

_log = logging.getLogger("workbench.responder")

#: The most datagrams of one socket whose actions may wait or run at once.
MAX_PENDING = 1024

#: How a reply is sent: ``(socket_id, data, address, port) → SendInfo``.
UdpSend = Callable[[int, bytes, str, int], Awaitable[SendInfo]]


@dataclasses.dataclass(frozen=True, slots=True)
class UdpActionRecord:
    """One action carried out (or that could not be) on UDP socket ``socket_id``: made by rule
    ``rule_index`` (0-based) named ``rule_name`` for datagram ``frame_no`` (1-based, counted
    since the rules were applied) from ``address``:``port``, where its reply went. ``sent``
    bytes left in one datagram (0 or ``len(data)``), then ``then`` was done; ``result_code`` is
    0 or the negative code of the send or ``then`` that failed."""

    socket_id: int
    rule_index: int
    rule_name: str
    frame_no: int
    address: str
    port: int
    sent: int
    then: Then
    result_code: int
    data: bytes = b""


class _Socket:
    """One answered UDP socket: the engine's state, the datagrams' tasks under way, those of
    them waiting for a delay, and whether it is ``stopped``."""

    __slots__ = ("rules", "sleeping", "socket_id", "stopped", "tasks")

    def __init__(self, socket_id: int, rules: DatagramRules) -> None:
        self.socket_id = socket_id
        self.rules = rules
        self.tasks: set[asyncio.Task[None]] = set()
        self.sleeping: set[asyncio.Task[None]] = set()
        self.stopped = False

    def stop(self) -> None:
        """No more actions: delays under way are cancelled; a send under way finishes by
        itself (cancelling it halfway would lose its result and its call-log line)."""
        self.stopped = True
        for task in list(self.sleeping):
            task.cancel()


class UdpResponder:
    """Answers sockets of ``udp`` by ``rules`` (their hit counts and faults are across every
    socket this responder answers); see the module docstring.

    ``attach(id)`` starts answering a socket (bound or not: it answers what it receives once
    bound), ``detach(id)`` stops, ``close()`` detaches every socket; a socket that is closed
    is detached by itself. Events: ``on_action`` (:class:`UdpActionRecord`, one per action once
    done or failed) and ``on_fault`` (:class:`~workbench.net.responder.FaultRecord`).
    """

    def __init__(
        self, udp: UdpSockets, rules: CompiledRules, *, send: UdpSend | None = None
    ) -> None:
        self.udp = udp
        self.rules = rules
        self.send: UdpSend = send if send is not None else udp.send
        self.on_action: Event[UdpActionRecord] = Event("onAction")
        self.on_fault: Event[FaultRecord] = Event("onFault")
        #: datagrams left unanswered because ``MAX_PENDING`` of theirs were under way.
        self.dropped = 0
        self._sockets: dict[int, _Socket] = {}
        self._listening = False

    def __repr__(self) -> str:
        return f"<UdpResponder sockets={sorted(self._sockets)} rules={self.rules!r}>"

    def attached(self) -> list[int]:
        """The ids of the sockets being answered, in ascending order."""
        return sorted(self._sockets)

    def busy(self, socket_id: int) -> bool:
        """True while socket ``socket_id`` has actions waiting or under way."""
        state = self._sockets.get(socket_id)
        return state is not None and bool(state.tasks)

    def attach(self, socket_id: int) -> None:
        """Start answering UDP socket ``socket_id``: every datagram it receives from here on
        goes to the rules. ``ValueError`` if it is already attached, ``SocketNotFoundError``
        for an unknown id."""
        if socket_id in self._sockets:
            raise ValueError(f"UDP socket {socket_id} is already answered")
        self.udp.info_now(socket_id)  # SocketNotFoundError for an unknown id
        self._listen()
        self._sockets[socket_id] = _Socket(socket_id, DatagramRules(self.rules, socket_id))

    def detach(self, socket_id: int) -> None:
        """Stop answering socket ``socket_id``: delays under way are cancelled."""
        state = self._sockets.pop(socket_id, None)
        if state is not None:
            state.stop()
        if not self._sockets:
            self._unlisten()

    def close(self) -> None:
        """Detach every socket."""
        for socket_id in list(self._sockets):
            self.detach(socket_id)

    # -- the events of udp -----------------------------------------------------------------

    def _listen(self) -> None:
        if not self._listening:
            self._listening = True
            self.udp.on_receive.add_listener(self._on_receive)
            self.udp.on_changed.add_listener(self._on_changed)

    def _unlisten(self) -> None:
        if self._listening:
            self._listening = False
            self.udp.on_receive.remove_listener(self._on_receive)
            self.udp.on_changed.remove_listener(self._on_changed)

    def _on_receive(self, info: UdpReceiveInfo) -> None:
        state = self._sockets.get(info.socket_id)
        if state is None or state.stopped:
            return
        if len(state.tasks) >= MAX_PENDING:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % MAX_PENDING == 0:
                _log.warning(
                    "UDP socket %d: %d datagrams not answered", state.socket_id, self.dropped
                )
            return
        sender = (info.remote_address, info.remote_port)
        reaction = state.rules.datagram(info.data, sender)
        self._react(state, reaction, sender)

    def _on_changed(self, change: UdpChange) -> None:
        if change.reason is ChangeReason.CLOSED and change.socket_id in self._sockets:
            self.detach(change.socket_id)

    # -- carrying out ----------------------------------------------------------------------

    def _react(self, state: _Socket, reaction: Reaction, sender: tuple[str, int]) -> None:
        for fault in reaction.faults:
            _log.warning("UDP socket %d: %s", state.socket_id, fault)
            self.on_fault.dispatch(FaultRecord(state.socket_id, fault))
        if not reaction.actions:
            return
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run(state, reaction.actions, sender))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def _run(
        self, state: _Socket, actions: tuple[Action, ...], sender: tuple[str, int]
    ) -> None:
        """Carry out one datagram's actions in order, until one fails."""
        for action in actions:
            if state.stopped:
                return
            if await self._carry_out(state, action, sender) != NetError.OK:
                return

    async def _carry_out(self, state: _Socket, action: Action, sender: tuple[str, int]) -> int:
        """Wait, send to ``sender``, then do ``then``: the result code."""
        if action.delay_ms:
            task = asyncio.current_task()
            assert task is not None
            state.sleeping.add(task)
            try:
                await asyncio.sleep(action.delay_ms / 1000)
            finally:
                state.sleeping.discard(task)
            if state.stopped:
                return NetError.ABORTED
        sid, (address, port) = state.socket_id, sender
        sent = 0
        try:
            if action.data:
                result = await self.send(sid, action.data, address, port)
                if result.result_code != NetError.OK:
                    return self._record(state, action, sender, 0, result.result_code)
                sent = len(action.data)
            code = await self._then(sid, action.then)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a closed id: the socket is gone
            _log.info("UDP socket %d: rule %d failed: %r", sid, action.rule_index + 1, exc)
            return self._record(state, action, sender, sent, NetError.FAILED)
        return self._record(state, action, sender, sent, code)

    async def _then(self, socket_id: int, then: Then) -> int:
        if then is Then.NOTHING:
            return NetError.OK
        if then is Then.PAUSE:
            await self.udp.set_paused(socket_id, True)
            return NetError.OK
        # check_udp_rules refuses these; a rule set that skipped it still does nothing here.
        _log.warning("UDP socket %d: %r has no meaning on UDP, not done", socket_id, then.value)
        return NetError.FAILED

    def _record(
        self, state: _Socket, action: Action, sender: tuple[str, int], sent: int, code: int
    ) -> int:
        if code != NetError.OK:
            _log.info(
                "UDP socket %d: rule %d failed (%d) answering %s:%d",
                state.socket_id,
                action.rule_index + 1,
                code,
                *sender,
            )
        if self.on_action.listeners:
            self.on_action.dispatch(
                UdpActionRecord(
                    state.socket_id,
                    action.rule_index,
                    action.rule_name,
                    action.frame_no,
                    sender[0],
                    sender[1],
                    sent,
                    action.then,
                    code,
                    action.data,
                )
            )
        return code
