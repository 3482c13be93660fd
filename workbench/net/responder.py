"""The runner of response rules: it answers connected sockets of a ``TcpSockets`` by rule.

``workbench.core.rules`` decides (a :class:`~workbench.core.rules.Reaction` per event); this
module does: per connection it waits each action's ``delay_ms``, sends its ``data`` with
``tcp.send`` and then does its ``then``, strictly in order, one action after the other. Each
connection has its own queue and, while the queue has work, its own task, so one
connection's delay never holds up another's.

What it feeds the engine is only what the socket received (``on_receive``) and its end
(``on_receive_error``), never what the rules sent: that, and the engine's one answer per
rule per frame, is why an echo rule facing an echo peer answers each frame once instead of
looping.

``then`` on Chrome's API, which has no half-close:

- ``close`` is ``tcp.disconnect()``: a FIN, after the reply, because ``tcp.send`` completes
  only once the OS has every byte, and ``disconnect`` closes gracefully when nothing is left
  queued (unread input is drained first, so the FIN does not turn into a reset). Unlike a
  ``shutdown(SHUT_WR)`` the connection cannot be read any further.
- ``reset`` is ``tcp.reset()``: SO_LINGER 0 and close, so the peer sees an RST.
- ``pause`` is ``tcp.set_paused(id, True)``: the socket stops reading (back-pressure).
- ``start-tls`` is ``tcp.secure_server(id, tls)`` with the responder's server TLS options.
  From the action's arrival to the end of the handshake, what the socket still delivers
  was sent in plaintext before the handshake and is dropped, not answered (the STARTTLS
  command injection flaw, CVE-2011-0411); the socket is paused just before the reply that
  invites the handshake, so the client's ClientHello waits in the OS for ``secure_server``.

A send or a ``then`` that fails (the peer went away, the socket was closed) ends the
connection's actions quietly: logged once, reported on ``on_action`` with its code, never
raised into the event loop. A rule that fails inside the engine is reported on
``on_fault`` and is disabled by the engine; the others go on.

A connection's end, as Chrome reports it (``on_receive_error``), comes after the socket has
been torn down: the engine still sees it (``ended()``: the last, unterminated frame), but
what its rules would send then cannot be sent any more, and is reported as such.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging

from workbench.core.errors import NetError
from workbench.core.events import Event
from workbench.core.rules import Action, CompiledRules, ConnectionRules, Reaction, RuleFault, Then
from workbench.core.state import State
from workbench.core.types import (
    ChangeReason,
    ReceiveErrorInfo,
    ReceiveInfo,
    ServerSecureOptions,
    SocketChange,
)
from workbench.net.tcp import TcpSockets

__all__ = ["ActionRecord", "FaultRecord", "Responder"]

_log = logging.getLogger("workbench.responder")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action carried out (or that could not be) on socket ``socket_id``: made by rule
    ``rule_index`` (0-based) named ``rule_name`` for frame ``frame_no`` (0: on open); ``sent``
    bytes are with the OS, then ``then`` was done. ``result_code`` is 0, or the negative
    code of the send or the ``then`` that failed, which ended the connection's actions.
    ``data`` is the reply the action was to send; its first ``sent`` bytes went out."""

    socket_id: int
    rule_index: int
    rule_name: str
    frame_no: int
    sent: int
    then: Then
    result_code: int
    data: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class FaultRecord:
    """A rule failed while answering socket ``socket_id`` and is disabled for the server."""

    socket_id: int
    fault: RuleFault


class _Connection:
    """One answered socket: the engine's state for it, the actions waiting, the task that
    carries them out (``None`` while idle), and whether the socket is ``ended``."""

    __slots__ = (
        "discarding",
        "paused_before_tls",
        "queue",
        "rules",
        "sleeping",
        "socket_id",
        "stopped",
        "task",
    )

    def __init__(self, socket_id: int, rules: ConnectionRules) -> None:
        self.socket_id = socket_id
        self.rules = rules
        self.queue: collections.deque[Action] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.sleeping = False  # the task waits for an action's delay
        self.stopped = False  # no more actions: one failed, or the connection is gone
        self.discarding = False  # a start-tls is on its way: plaintext received is dropped
        self.paused_before_tls = False

    def __repr__(self) -> str:
        return (
            f"<_Connection socket {self.socket_id} queued={len(self.queue)} "
            f"running={self.task is not None} stopped={self.stopped}>"
        )

    def stop(self) -> None:
        """No more actions: the waiting ones are dropped, a delay under way is cancelled.
        A send or ``then`` under way is left to finish (or fail) by itself: cancelling
        ``tcp.disconnect()`` or ``tcp.send()`` halfway would cut short what Chrome's API
        promises about them (the -100 after a disconnect, the send's result)."""
        self.stopped = True
        self.queue.clear()
        task = self.task
        if self.sleeping and task is not None and not task.done():
            task.cancel()


class Responder:
    """Answers sockets of ``tcp`` by ``rules`` (one server's :class:`CompiledRules`; their hit
    counts and faults are across every socket this responder answers).

    ``tls`` is what ``start-tls`` passes to ``tcp.secure_server``; without it a ``start-tls``
    fails with -2 (FAILED) and ends that connection's actions.

    ``attach(id)`` starts answering a connected socket (its ``open`` rules run at once),
    ``detach(id)`` stops, ``close()`` detaches every socket. A socket that is closed, or
    whose connection is over, is detached by itself; so is one whose action failed.

    Events for the window: ``on_action`` (:class:`ActionRecord`, one per action once it is
    done or has failed) and ``on_fault`` (:class:`FaultRecord`, a rule that failed).
    """

    def __init__(
        self, tcp: TcpSockets, rules: CompiledRules, *, tls: ServerSecureOptions | None = None
    ) -> None:
        self.tcp = tcp
        self.rules = rules
        self.tls = tls
        self.on_action: Event[ActionRecord] = Event("onAction")
        self.on_fault: Event[FaultRecord] = Event("onFault")
        self._connections: dict[int, _Connection] = {}
        self._listening = False

    def __repr__(self) -> str:
        return f"<Responder sockets={sorted(self._connections)} rules={self.rules!r}>"

    def attached(self) -> list[int]:
        """The ids of the sockets being answered, in ascending order."""
        return sorted(self._connections)

    def busy(self, socket_id: int) -> bool:
        """True while socket ``socket_id`` has actions waiting or under way."""
        connection = self._connections.get(socket_id)
        return connection is not None and (bool(connection.queue) or connection.task is not None)

    def attach(self, socket_id: int) -> None:
        """Start answering socket ``socket_id`` of ``tcp``, which must be connected: its
        ``open`` rules run now, and every chunk it receives from here on goes to the rules.
        ``ValueError`` if it is already attached or not connected; ``SocketNotFoundError``
        for an unknown id."""
        if socket_id in self._connections:
            raise ValueError(f"socket {socket_id} is already answered")
        info = self.tcp.info_now(socket_id)
        if not info.connected or info.peer_address is None or info.peer_port is None:
            raise ValueError(f"socket {socket_id} is not connected")
        self._listen()
        rules = self.rules.connection((info.peer_address, info.peer_port), socket_id)
        connection = self._connections[socket_id] = _Connection(socket_id, rules)
        self._react(connection, rules.opened())

    def detach(self, socket_id: int) -> None:
        """Stop answering socket ``socket_id``: waiting actions (and their delays) are
        cancelled. Nothing happens for a socket that is not attached."""
        connection = self._connections.pop(socket_id, None)
        if connection is not None:
            connection.stop()
        if not self._connections:
            self._unlisten()

    def close(self) -> None:
        """Detach every socket."""
        for socket_id in list(self._connections):
            self.detach(socket_id)

    # -- the events of tcp -----------------------------------------------------------------

    def _listen(self) -> None:
        # Listeners only while a socket is answered: a server with no connection costs the
        # other sockets nothing, and one with connections a dict lookup per chunk.
        if not self._listening:
            self._listening = True
            self.tcp.on_receive.add_listener(self._on_receive)
            self.tcp.on_receive_error.add_listener(self._on_receive_error)
            self.tcp.on_changed.add_listener(self._on_changed)

    def _unlisten(self) -> None:
        if self._listening:
            self._listening = False
            self.tcp.on_receive.remove_listener(self._on_receive)
            self.tcp.on_receive_error.remove_listener(self._on_receive_error)
            self.tcp.on_changed.remove_listener(self._on_changed)

    def _on_receive(self, info: ReceiveInfo) -> None:
        connection = self._connections.get(info.socket_id)
        if connection is None or connection.stopped:
            return
        if connection.discarding:
            return  # plaintext behind a STARTTLS command (see the module docstring)
        self._react(connection, connection.rules.received(info.data))

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        """The end of the stream, which Chrome reports once the connection is torn down:
        the engine answers its last frame, but nothing can be sent any more."""
        connection = self._connections.get(info.socket_id)
        if connection is None:
            return
        reaction = connection.rules.ended()
        self._report_faults(connection, reaction)
        for action in reaction.actions:
            self._record(connection, action, 0, NetError.SOCKET_NOT_CONNECTED)
        self._forget(connection)

    def _on_changed(self, change: SocketChange) -> None:
        connection = self._connections.get(change.socket_id)
        if connection is None:
            return
        if change.reason is ChangeReason.CLOSED:
            self.detach(change.socket_id)
        elif change.reason is ChangeReason.STATE and change.state is State.DISCONNECTED:
            # The connection is gone: nothing waiting can be sent. The peer's end is
            # reported next, synchronously (on_receive_error feeds it to the engine); a
            # disconnect() reports its -100 turns later, if at all: forget the socket then.
            connection.stop()
            asyncio.get_running_loop().call_soon(self._forget, connection)

    # -- carrying out ----------------------------------------------------------------------

    def _report_faults(self, connection: _Connection, reaction: Reaction) -> None:
        for fault in reaction.faults:
            _log.warning("socket %d: %s", connection.socket_id, fault)
            self.on_fault.dispatch(FaultRecord(connection.socket_id, fault))

    def _react(self, connection: _Connection, reaction: Reaction) -> None:
        if reaction.faults:
            self._report_faults(connection, reaction)
        if not reaction.actions:
            return
        if any(action.then is Then.START_TLS for action in reaction.actions):
            connection.discarding = True
        connection.queue.extend(reaction.actions)
        if connection.task is None:
            connection.task = asyncio.get_running_loop().create_task(self._run(connection))

    def _forget(self, connection: _Connection) -> None:
        if self._connections.get(connection.socket_id) is connection:
            self.detach(connection.socket_id)

    async def _run(self, connection: _Connection) -> None:
        """Carry out the connection's actions in order until its queue is empty."""
        try:
            while connection.queue and not connection.stopped:
                action = connection.queue.popleft()
                code = await self._carry_out(connection, action)
                if code != NetError.OK:
                    connection.stopped = True
                    connection.queue.clear()
        finally:
            connection.task = None
            if connection.stopped:
                self._forget(connection)

    async def _carry_out(self, connection: _Connection, action: Action) -> int:
        """Wait, send, then do ``then``; the result code (the failure ends the actions)."""
        sid = connection.socket_id
        if action.delay_ms:
            connection.sleeping = True
            try:
                await asyncio.sleep(action.delay_ms / 1000)
            finally:
                connection.sleeping = False
        sent = 0
        try:
            if action.then is Then.START_TLS and self.tls is not None:
                await self._hold_for_tls(connection)
            if action.data:
                result = await self.tcp.send(sid, action.data)
                if result.result_code != NetError.OK:
                    return self._failed(connection, action, result.result_code, "send")
                sent = len(action.data)
            code = await self._then(connection, action.then)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a closed id, the write quota: the connection is over
            what = f"action ({type(exc).__name__}: {exc})"
            return self._failed(connection, action, NetError.FAILED, what, sent)
        if code != NetError.OK:
            return self._failed(connection, action, code, action.then.value, sent)
        self._record(connection, action, sent, NetError.OK)
        return NetError.OK

    async def _hold_for_tls(self, connection: _Connection) -> None:
        """Stop reading before the reply that invites the handshake: the client's ClientHello
        stays in the OS for ``secure_server`` (row LS1: nothing is read from the OS first)."""
        sid = connection.socket_id
        connection.paused_before_tls = self.tcp.info_now(sid).paused
        await self.tcp.set_paused(sid, True)

    async def _then(self, connection: _Connection, then: Then) -> int:
        sid = connection.socket_id
        if then is Then.NOTHING:
            return NetError.OK
        if then is Then.CLOSE:
            await self.tcp.disconnect(sid)
        elif then is Then.RESET:
            await self.tcp.reset(sid)
        elif then is Then.PAUSE:
            await self.tcp.set_paused(sid, True)
        else:
            return await self._start_tls(connection)
        return NetError.OK

    async def _start_tls(self, connection: _Connection) -> int:
        sid = connection.socket_id
        if self.tls is None:
            _log.warning("socket %d: start-tls without server TLS options", sid)
            return NetError.FAILED
        code = await self.tcp.secure_server(sid, self.tls)
        connection.discarding = False
        if code == NetError.OK and not connection.paused_before_tls:
            await self.tcp.set_paused(sid, False)
        return code

    def _failed(
        self, connection: _Connection, action: Action, code: int, what: str, sent: int = 0
    ) -> int:
        """Log once per connection (the actions stop here) and report the action."""
        _log.info(
            "socket %d: rule %d %s failed (%d); its connection's actions stop",
            connection.socket_id,
            action.rule_index + 1,
            what,
            code,
        )
        self._record(connection, action, sent, code)
        return code

    def _record(self, connection: _Connection, action: Action, sent: int, code: int) -> None:
        if self.on_action.listeners:
            self.on_action.dispatch(
                ActionRecord(
                    connection.socket_id,
                    action.rule_index,
                    action.rule_name,
                    action.frame_no,
                    sent,
                    action.then,
                    code,
                    action.data,
                )
            )
