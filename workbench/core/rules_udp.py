"""Response rules on a UDP socket: each datagram is one frame, each reply goes to its sender.

The rules are the same :class:`~workbench.core.rules.RuleSet` a listening socket has, with what
UDP cannot do refused when they are checked (:func:`check_udp_rules`), so that a rule list is
never saved for a UDP socket with a step it could not carry out:

- framing: a datagram is a message already, so the framing is ``chunk`` — one datagram, one
  frame, whatever its bytes (no line or fixed-length framing across datagrams, which come from
  any number of senders, in any order);
- ``open`` rules: there is no connection to open;
- ``then``: ``close`` and ``reset`` (there is no connection to end) and ``start-tls`` (TLS needs
  a connection; DTLS is not offered) are refused with the reason; ``nothing`` and ``pause``
  (``chrome.sockets.udp.setPaused``: the socket stops reading) are kept.

Per socket, one :class:`DatagramRules` holds the state a connection's rules hold on TCP, across
every sender: the frame count (``from_frame`` counts datagrams received since the rules were
applied) and each rule's hits (``{count}``). ``{peer}`` is the sender of the datagram at hand.
One datagram makes at most one reply per matching rule, sent to that datagram's sender; a
reply is never fed back, so an echo rule facing an echo peer answers each datagram once.
"""

from __future__ import annotations

from workbench.core.rules import (
    Action,
    CompiledRules,
    ConnectionRules,
    FrameKind,
    Reaction,
    RuleError,
    RuleFault,
    RuleSet,
    Then,
    Trial,
    Trigger,
    check_rules,
)
from workbench.core.rules_store import LoadProblem, LoadResult, ruleset_from_dict

__all__ = [
    "UDP_FRAMING_REASON",
    "UDP_OPEN_REASON",
    "UDP_REFUSED_THEN",
    "DatagramRules",
    "check_udp_rules",
    "load_udp_rules",
    "try_udp_rules",
]

#: Why each ``then`` UDP cannot do is refused (shown beside the field, and on Apply).
UDP_REFUSED_THEN: dict[Then, str] = {
    Then.CLOSE: "a UDP socket has no connection to close: use 'nothing' or 'pause'",
    Then.RESET: "a UDP socket has no connection to reset: use 'nothing' or 'pause'",
    Then.START_TLS: "TLS needs a connection, and a UDP socket has none (DTLS is not offered)",
}
UDP_OPEN_REASON = "a UDP socket has no connection to open: a rule runs on a datagram"
UDP_FRAMING_REASON = (
    "on a UDP socket each datagram is one frame: the framing must be per datagram (chunk)"
)


def _udp_problem(ruleset: RuleSet, index: int) -> RuleError | None:
    rule = ruleset.rules[index]
    name = rule.name if isinstance(rule.name, str) else ""
    if rule.trigger == Trigger.OPEN:
        return RuleError(UDP_OPEN_REASON, field="trigger").in_rule(index, name)
    reason = UDP_REFUSED_THEN.get(rule.then)  # a StrEnum: its text finds it too
    if reason is not None:
        return RuleError(reason, field="then").in_rule(index, name)
    return None


def check_udp_rules(ruleset: RuleSet) -> list[RuleError]:
    """Every problem of ``ruleset`` on a UDP socket: those of
    :func:`~workbench.core.rules.check_rules`, then, for a valid framing and each valid rule,
    what UDP cannot do (see the module docstring). Empty: it can be saved and used."""
    problems = check_rules(ruleset)
    framing_bad = any(p.index is None for p in problems)
    if not framing_bad and FrameKind(ruleset.framing.kind) is not FrameKind.CHUNK:
        problems.insert(0, RuleError(UDP_FRAMING_REASON, field="framing"))
    bad_rules = {p.index for p in problems if p.index is not None}
    for index in range(len(ruleset.rules)):
        if index not in bad_rules and (problem := _udp_problem(ruleset, index)) is not None:
            problems.append(problem)
    problems.sort(key=lambda p: -1 if p.index is None else p.index)
    return problems


def load_udp_rules(saved: object) -> LoadResult:
    """The rules saved as ``saved`` for a UDP socket: as ``ruleset_from_dict``, and a rule UDP
    cannot carry out is left out too (a framing other than ``chunk`` is not used), each with
    its problem."""
    loaded = ruleset_from_dict(saved)
    ruleset = loaded.ruleset
    problems = list(loaded.problems)
    framing = ruleset.framing
    if framing.kind != FrameKind.CHUNK:
        problems.append(LoadProblem(None, RuleError(UDP_FRAMING_REASON, field="framing"), None))
        framing = type(framing)()
    kept = []
    for index, rule in enumerate(ruleset.rules):
        problem = _udp_problem(ruleset, index)
        if problem is None:
            kept.append(rule)
        else:
            problems.append(LoadProblem(index, problem, None))
    return LoadResult(RuleSet(framing=framing, rules=tuple(kept)), tuple(problems))


class DatagramRules(ConnectionRules):
    """The rules' state on one UDP socket (see the module docstring): feed it
    :meth:`datagram` per datagram received, never what it sent."""

    def __init__(self, rules: CompiledRules, socket_id: int) -> None:
        super().__init__(rules, ("", 0), socket_id)

    def __repr__(self) -> str:
        return f"<DatagramRules socket {self.socket_id} datagrams={self.frames}>"

    def datagram(self, data: bytes, sender: tuple[str, int]) -> Reaction:
        """A datagram ``data`` from ``sender`` (address, port): what the rules do with it,
        as one frame. Its actions' replies go to ``sender``."""
        self.peer = sender  # what {peer} shows for this datagram's replies
        actions: list[Action] = []
        faults: list[RuleFault] = []
        self.frames += 1
        self.rules.apply(self, Trigger.FRAME, data, actions, faults)
        return Reaction((data,), tuple(actions), tuple(faults))


def try_udp_rules(
    ruleset: RuleSet, datagrams: list[bytes], *, sender: tuple[str, int] = ("127.0.0.1", 50000)
) -> Trial:
    """What ``ruleset`` would do on a UDP socket that receives ``datagrams`` from ``sender``:
    the panel's "test" button for a UDP socket. Raises :class:`RuleError` if the rule set is
    invalid (:func:`check_udp_rules` is the caller's to run first)."""
    rules = CompiledRules(ruleset)
    state = DatagramRules(rules, 1)
    reactions = [state.datagram(data, sender) for data in datagrams]
    return Trial(
        frames=tuple(f for r in reactions for f in r.frames),
        actions=tuple(a for r in reactions for a in r.actions),
        faults=tuple(f for r in reactions for f in r.faults),
        discarded=0,
        hit_counts=rules.hit_counts(),
    )
