"""Response rules per UDP socket: each datagram one frame, one reply per matching rule to the
datagram's sender (``workbench.core.rules_udp``, docs/rules.md).

The same shape as ``ServerRules`` (``session.rules``), keyed by UDP socket id: per socket, the
:class:`~workbench.core.rules.RuleSet` the user applied, its
:class:`~workbench.core.rules.CompiledRules` (live hit counts and faults) and a
:class:`~workbench.net.udp_responder.UdpResponder` over the session's ``udp``.

Applying rules is all or nothing: :meth:`UdpRules.set_rules` checks the whole set with
``check_udp_rules`` (which refuses what UDP cannot do: close, reset, start TLS, ``open``
rules, a framing other than per datagram) and refuses it with every error, leaving what was
there untouched. Unlike a server's, whose open connections keep their rules, a UDP socket has
no connection: new rules answer from the next datagram on, and replies of the old rules still
waiting for their delay are cancelled.

Replies are logged in the call log as what they are, ``chrome.sockets.udp.send`` calls:
``chrome.sockets.udp.send(2, <5 bytes>, "127.0.0.1", 40000) → {"resultCode":0,"bytesSent":5}``,
and kept in the socket's capture with their destination as peer, as ``LoggedUdp.send`` does;
unlike it, a reply does not touch the record's "send" result, which is the Send button's
(a rule's reply is not the user's send). A rule that fails while running is disabled by the
engine, stops only itself and is written to the call log under the socket, once.

Saved form: :meth:`UdpRules.saved` gives ``ruleset_to_dict`` of the rules in force (plain
JSON, as ``ServerIntent.rules`` is for a server) for persistence to write as is, and every
change marks the socket's key in the registry; :meth:`UdpRules.load_rules` is its way back.
"""

from __future__ import annotations

import contextlib
import logging

from workbench.core.errors import NetError, SocketNotFoundError, net_error_description
from workbench.core.events import Event
from workbench.core.rules import CompiledRules, RuleError, RuleSet
from workbench.core.rules_store import LoadResult, ruleset_to_dict
from workbench.core.rules_udp import check_udp_rules, load_udp_rules
from workbench.core.types import SendInfo
from workbench.net.responder import FaultRecord
from workbench.net.udp_responder import UdpActionRecord, UdpResponder
from workbench.session.call_log import logged_call, send_result
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_udp import LoggedUdp
from workbench.session.udp_book import udp_key

__all__ = ["UdpRules"]

_log = logging.getLogger("workbench.session")
_API = SocketKind.UDP.api


class _Rules:
    """One socket's rules in force: what was applied, compiled, its responder, and the saved
    form. ``moved``: counts changed since last read."""

    __slots__ = ("compiled", "moved", "responder", "ruleset", "saved")

    def __init__(
        self, ruleset: RuleSet, compiled: CompiledRules, responder: UdpResponder, saved: object
    ) -> None:
        self.ruleset = ruleset
        self.compiled = compiled
        self.responder = responder
        self.saved = saved
        self.moved = False


class UdpRules:
    """The response rules of every UDP socket of ``udp`` (a session's ``LoggedUdp``). See the
    module docstring.

    Event: ``hits_moved`` (UDP socket id): the hit counts or faults of that socket's rules
    changed; dispatched once, then not again for that socket until :meth:`hit_counts` has
    been read (as ``ServerRules.hits_moved``).
    """

    def __init__(self, udp: LoggedUdp) -> None:
        self.udp = udp
        self.raw = udp.raw
        self.call_log = udp.call_log
        self.registry = udp.registry
        self.hits_moved: Event[int] = Event("hitsMoved")
        self._rules: dict[int, _Rules] = {}
        self.registry.removed.add_listener(self._on_removed)

    def __repr__(self) -> str:
        return f"<UdpRules sockets={sorted(self._rules)}>"

    # -- queries ------------------------------------------------------------------------------

    def ruleset(self, udp_id: int) -> RuleSet | None:
        """The rules in force on UDP socket ``udp_id`` (``None``: none)."""
        rules = self._rules.get(udp_id)
        return rules.ruleset if rules is not None else None

    def compiled(self, udp_id: int) -> CompiledRules | None:
        rules = self._rules.get(udp_id)
        return rules.compiled if rules is not None else None

    def responder(self, udp_id: int) -> UdpResponder | None:
        rules = self._rules.get(udp_id)
        return rules.responder if rules is not None else None

    def hit_counts(self, udp_id: int) -> tuple[int, ...]:
        """Each rule's hits (empty: no rules); reading them re-arms ``hits_moved``."""
        rules = self._rules.get(udp_id)
        if rules is None:
            return ()
        rules.moved = False
        return rules.compiled.hit_counts()

    def faults(self, udp_id: int) -> dict[int, str]:
        """Rules disabled by a failure: index (0-based) → message."""
        rules = self._rules.get(udp_id)
        return rules.compiled.faults() if rules is not None else {}

    def saved(self, udp_id: int) -> dict[str, object] | None:
        """The rules to save with the socket (``ruleset_to_dict``; after a load, the saved
        form as it was loaded, bad entries included), or ``None``: no rules."""
        rules = self._rules.get(udp_id)
        if rules is None or not isinstance(rules.saved, dict):
            return None
        return dict(rules.saved)

    # -- changes ------------------------------------------------------------------------------

    def set_rules(self, udp_id: int, ruleset: RuleSet) -> list[RuleError]:
        """Answer the datagrams UDP socket ``udp_id`` receives from now on by ``ruleset``; an
        empty rule list removes the rules. Returns every problem of the set (nothing is
        changed then), or ``[]`` once applied. ``SocketNotFoundError`` for a socket the
        session does not know."""
        key = self._key(udp_id)
        problems = check_udp_rules(ruleset)
        if problems:
            return problems
        if not ruleset.rules:
            self._drop(udp_id)
            self.registry.mark(key)
            return []
        try:
            compiled = CompiledRules(ruleset)
        except RuleError as exc:  # check_udp_rules found nothing: the engine disagrees
            return [exc]
        self._install(udp_id, ruleset, compiled, ruleset_to_dict(ruleset))
        self.registry.mark(key)
        return []

    def clear_rules(self, udp_id: int) -> None:
        self.set_rules(udp_id, RuleSet())

    def load_rules(self, udp_id: int, saved: object) -> LoadResult:
        """Apply the rules saved as ``saved`` (what :meth:`saved` gave): those that load and
        that UDP can carry out are applied; the result names the others. The saved form is
        kept as it was, bad entries included, until the user applies other rules."""
        key = self._key(udp_id)
        result = load_udp_rules(saved)
        loaded = result.ruleset
        if loaded.rules:
            self._install(udp_id, loaded, CompiledRules(loaded), saved)
        else:
            self._drop(udp_id)
        self.registry.mark(key)
        return result

    def close(self) -> None:
        """Stop answering everything (the session is ending)."""
        self.registry.removed.remove_listener(self._on_removed)
        responders = [rules.responder for rules in self._rules.values()]
        self._rules.clear()
        for responder in responders:
            with contextlib.suppress(RuntimeError):  # its loop may already be closed
                responder.close()

    # -- inside -------------------------------------------------------------------------------

    def _key(self, udp_id: int) -> SocketKey:
        record = self.udp.record(udp_id)
        if record is None:
            raise SocketNotFoundError()
        return record.key

    def _install(
        self, udp_id: int, ruleset: RuleSet, compiled: CompiledRules, saved: object
    ) -> None:
        self._drop(udp_id)
        responder = UdpResponder(self.raw, compiled, send=self._send)
        rules = self._rules[udp_id] = _Rules(ruleset, compiled, responder, saved)
        responder.on_action.add_listener(lambda record: self._acted(udp_id, rules, record))
        responder.on_fault.add_listener(lambda fault: self._fault(udp_id, rules, fault))
        responder.attach(udp_id)
        self._moved(udp_id, rules)

    def _drop(self, udp_id: int) -> None:
        rules = self._rules.pop(udp_id, None)
        if rules is not None:
            rules.responder.close()
            self.hits_moved.dispatch(udp_id)

    async def _send(self, udp_id: int, data: bytes, address: str, port: int) -> SendInfo:
        """A reply: a ``chrome.sockets.udp.send`` in the call log and a datagram in the
        capture, without touching the Send button's result (see the module docstring)."""
        key = udp_key(udp_id)

        def show(info: SendInfo) -> tuple[str, bool]:
            code = info.result_code
            why = (self.udp.error_detail(udp_id) or net_error_description(code)) if code else None
            return send_result(info, why), code == NetError.OK

        info = await logged_call(
            self.call_log,
            _API,
            key,
            (
                "send",
                (udp_id, data, address, port),
                lambda: self.raw.send(udp_id, data, address, port),
            ),
            show,
        )
        if info.result_code == NetError.OK:
            self.registry.record_sent_datagram(key, data, address, port)
        return info

    def _acted(self, udp_id: int, rules: _Rules, record: UdpActionRecord) -> None:
        self._moved(udp_id, rules)

    def _moved(self, udp_id: int, rules: _Rules) -> None:
        if not rules.moved and self._rules.get(udp_id) is rules:
            rules.moved = True
            self.hits_moved.dispatch(udp_id)

    def _fault(self, udp_id: int, rules: _Rules, record: FaultRecord) -> None:
        """One line per fault: the engine reports each failing rule once, then disables it."""
        text = f"{record.fault} (answering UDP socket {record.socket_id})"
        self.call_log.add(udp_key(udp_id), text, ok=False)
        self._moved(udp_id, rules)

    def _on_removed(self, key: SocketKey) -> None:
        if key.kind is SocketKind.UDP:
            self._drop(key.id)
