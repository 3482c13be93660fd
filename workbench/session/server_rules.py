"""Response rules per listening socket: each session server's ordered rule list, answering every
connection it accepts (docs/rules.md).

Per server: the :class:`~workbench.core.rules.RuleSet` the user applied, its
:class:`~workbench.core.rules.CompiledRules` (the live hit counts and faults, across the
server's connections) and a :class:`~workbench.net.responder.Responder` over the session's
``tcp``. ``LoggedServers.accepting`` announces each accepted socket while it is still paused,
before "read at once" resumes it, and the responder is attached there: its ``open`` rules run
at once (a greeting is sent even to a socket left paused), and no received byte can reach the
socket before the rules listen.

Applying rules is all or nothing: :meth:`ServerRules.set_rules` checks the whole set
(``check_rules``) and refuses it with every error, leaving what was there untouched.

Connections keep the rules they were accepted with. New rules apply to connections accepted
from then on; an open connection goes on with its own framing, per-connection counts and the
old rules until it ends (switching it would cut a frame in half and run the ``open`` rules a
second time). Closing the server (contract L9: its accepted sockets stay) leaves them answered
in the same way. The hit counts shown are those of the rules in force: a new set starts at 0.

A rule that fails while running is disabled by the engine and stops only itself; each fault
is written to the call log under the server, once: ``rule 2 "ping" failed and is disabled:
…``. Saved form: the server's ``ServerIntent.rules`` holds ``ruleset_to_dict`` of the rules
in force, for persistence to write as is; :meth:`ServerRules.load_rules` is its way back.
"""

from __future__ import annotations

import contextlib
import logging

from workbench.core.errors import SocketNotFoundError
from workbench.core.events import Event
from workbench.core.rules import CompiledRules, RuleError, RuleSet, check_rules
from workbench.core.rules_store import LoadResult, ruleset_from_dict, ruleset_to_dict
from workbench.core.types import AcceptInfo, ServerSecureOptions
from workbench.net.responder import ActionRecord, FaultRecord, Responder
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_servers import LoggedServers, server_key
from workbench.session.record import ServerRecord

__all__ = ["ServerRules"]

_log = logging.getLogger("workbench.session")


class _Rules:
    """One server's rules in force: what was applied, compiled, and the responder that
    answers the connections accepted since. ``moved``: counts changed since last read."""

    __slots__ = ("compiled", "moved", "responder", "ruleset")

    def __init__(self, ruleset: RuleSet, compiled: CompiledRules, responder: Responder) -> None:
        self.ruleset = ruleset
        self.compiled = compiled
        self.responder = responder
        self.moved = False


class ServerRules:
    """The response rules of every server of ``servers`` (a session's ``LoggedServers``),
    answering on ``tcp`` (the same session's ``TcpSockets``). See the module docstring.

    Event: ``hits_moved`` (server id): the hit counts or faults of that server's rules
    changed. Coalesced at the source: dispatched once, then not again for that server until
    :meth:`hit_counts` has been read, so a view refreshes at its own pace and never per frame.
    """

    def __init__(self, tcp: TcpSockets, servers: LoggedServers) -> None:
        self.tcp = tcp
        self.servers = servers
        self.call_log = servers.call_log
        self.registry = servers.registry
        self.hits_moved: Event[int] = Event("hitsMoved")
        self._rules: dict[int, _Rules] = {}
        self._tls: dict[int, ServerSecureOptions] = {}
        #: responders of replaced rules (or closed servers) still answering old connections.
        self._retired: list[Responder] = []
        servers.accepting.add_listener(self._on_accepting)
        servers.start_tls_changed.add_listener(self._on_start_tls_changed)
        self.registry.removed.add_listener(self._on_removed)

    def __repr__(self) -> str:
        return f"<ServerRules servers={sorted(self._rules)} retired={len(self._retired)}>"

    # -- queries ------------------------------------------------------------------------------

    def ruleset(self, server_id: int) -> RuleSet | None:
        """The rules in force on server ``server_id`` (``None``: none)."""
        rules = self._rules.get(server_id)
        return rules.ruleset if rules is not None else None

    def compiled(self, server_id: int) -> CompiledRules | None:
        rules = self._rules.get(server_id)
        return rules.compiled if rules is not None else None

    def responder(self, server_id: int) -> Responder | None:
        """The responder answering the connections accepted under the rules in force."""
        rules = self._rules.get(server_id)
        return rules.responder if rules is not None else None

    def hit_counts(self, server_id: int) -> tuple[int, ...]:
        """Each rule's hits across the server's connections (empty: no rules); reading them
        re-arms ``hits_moved`` for this server."""
        rules = self._rules.get(server_id)
        if rules is None:
            return ()
        rules.moved = False
        return rules.compiled.hit_counts()

    def faults(self, server_id: int) -> dict[int, str]:
        """Rules disabled by a failure: index (0-based) → message."""
        rules = self._rules.get(server_id)
        return rules.compiled.faults() if rules is not None else {}

    # -- changes ------------------------------------------------------------------------------

    def set_rules(self, server_id: int, ruleset: RuleSet) -> list[RuleError]:
        """Apply ``ruleset`` to the connections server ``server_id`` accepts from now on and
        remember it on the server's intent; an empty rule list removes the rules. Returns
        every problem of the set (nothing is changed then), or ``[]`` once applied.
        ``SocketNotFoundError`` for a server the session does not know."""
        record = self._record(server_id)
        problems = check_rules(ruleset)
        if problems:
            return problems
        if not ruleset.rules:
            self._retire(server_id)
            self._remember(record, None)
            return []
        try:
            compiled = CompiledRules(ruleset)
        except RuleError as exc:  # check_rules found nothing: a disagreement of the engine's
            return [exc]
        self._install(server_id, ruleset, compiled)
        self._remember(record, ruleset_to_dict(ruleset))
        return []

    def clear_rules(self, server_id: int) -> None:
        """No rules for the connections accepted from now on."""
        self.set_rules(server_id, RuleSet())

    def load_rules(self, server_id: int, saved: object) -> LoadResult:
        """Apply the rules saved as ``saved`` (``ServerIntent.rules`` of a restored server):
        those that load are applied; the result names those that did not. The saved form
        stays the intent as it was, bad entries included, so that saving again loses
        nothing until the user applies other rules."""
        record = self._record(server_id)
        result = ruleset_from_dict(saved)
        loaded = result.ruleset
        if loaded.rules:
            self._install(server_id, loaded, CompiledRules(loaded))
        else:
            self._retire(server_id)
        record.intent.rules = dict(saved) if isinstance(saved, dict) else None
        self.registry.mark(record.key)
        return result

    def set_tls(self, server_id: int, options: ServerSecureOptions | None) -> None:
        """What a ``start-tls`` rule gives ``secure_server`` on this server's connections
        (``None``: a ``start-tls`` fails with -2), from now on and for the open ones too.
        A server's TLS setting "when a rule says Start TLS" (``ServerTls.on_accept`` False,
        ``LoggedServers.set_tls``) calls it, with its options, and with None when it stops."""
        if options is None:
            self._tls.pop(server_id, None)
        else:
            self._tls[server_id] = options
        rules = self._rules.get(server_id)
        if rules is not None:
            rules.responder.tls = options

    def close(self) -> None:
        """Stop answering everything (the session is ending)."""
        self.servers.accepting.remove_listener(self._on_accepting)
        self.servers.start_tls_changed.remove_listener(self._on_start_tls_changed)
        self.registry.removed.remove_listener(self._on_removed)
        responders = [rules.responder for rules in self._rules.values()] + self._retired
        self._rules.clear()
        self._retired.clear()
        for responder in responders:
            # A delay under way is cancelled: its loop may already be closed.
            with contextlib.suppress(RuntimeError):
                responder.close()

    # -- inside -------------------------------------------------------------------------------

    def _record(self, server_id: int) -> ServerRecord:
        record = self.servers.record(server_id)
        if record is None:
            raise SocketNotFoundError()
        return record

    def _remember(self, record: ServerRecord, saved: dict[str, object] | None) -> None:
        record.intent.rules = saved
        self.registry.mark(record.key)

    def _install(self, server_id: int, ruleset: RuleSet, compiled: CompiledRules) -> None:
        self._retire(server_id)
        responder = Responder(self.tcp, compiled, tls=self._tls.get(server_id))
        rules = self._rules[server_id] = _Rules(ruleset, compiled, responder)
        responder.on_action.add_listener(lambda record: self._acted(server_id, rules, record))
        responder.on_fault.add_listener(lambda fault: self._fault(server_id, rules, fault))
        self._moved(server_id, rules)

    def _acted(self, server_id: int, rules: _Rules, record: ActionRecord) -> None:
        # What a rule sent is the socket's traffic like any other: in its capture and count.
        if record.sent:
            self.registry.record_sent(SocketKey.tcp(record.socket_id), record.data[: record.sent])
        self._moved(server_id, rules)

    def _retire(self, server_id: int) -> None:
        """The rules in force stop taking new connections; the open ones keep them."""
        rules = self._rules.pop(server_id, None)
        self._retired = [r for r in self._retired if r.attached()]
        if rules is None:
            return
        if rules.responder.attached():
            self._retired.append(rules.responder)
        self.hits_moved.dispatch(server_id)

    def _moved(self, server_id: int, rules: _Rules) -> None:
        if not rules.moved and self._rules.get(server_id) is rules:
            rules.moved = True
            self.hits_moved.dispatch(server_id)

    def _fault(self, server_id: int, rules: _Rules, record: FaultRecord) -> None:
        """One line per fault: the engine reports each failing rule once, then disables it."""
        text = f"{record.fault} (answering socket {record.socket_id})"
        self.call_log.add(server_key(server_id), text, ok=False)
        self._moved(server_id, rules)

    def _on_accepting(self, info: AcceptInfo) -> None:
        rules = self._rules.get(info.socket_id)
        if rules is None:
            return
        try:
            rules.responder.attach(info.client_socket_id)
        except (ValueError, SocketNotFoundError) as exc:
            # Gone between the accept and its event: there is nobody to answer.
            _log.info("socket %d not answered: %s", info.client_socket_id, exc)

    def _on_start_tls_changed(self, server_id: int) -> None:
        # The server's TLS setting says "when a rule says Start TLS" (or no longer does).
        self.set_tls(server_id, self.servers.start_tls_options(server_id))

    def _on_removed(self, key: SocketKey) -> None:
        if key.kind is SocketKind.TCP_SERVER:
            self._tls.pop(key.id, None)
            self._retire(key.id)
