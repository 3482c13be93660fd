"""Response rules: what a listening socket's accepted connections are answered, without I/O.

A server has one :class:`RuleSet`: a :class:`Framing` and an ordered tuple of :class:`Rule`.
:class:`CompiledRules` checks and compiles it once and keeps each rule's hit count across the
server's connections; :meth:`CompiledRules.connection` gives each accepted connection its
:class:`ConnectionRules`, which is fed what happens on it and answers with a
:class:`Reaction`: the frames it cut, the :class:`Action` s to carry out in order (wait
``delay_ms``, send ``data``, then do ``then``) and the :class:`RuleFault` s of rules that
failed. The async runner does the waiting, sending and closing; this module only decides.

A rule runs on a trigger: ``frame`` (a frame arrived; see :mod:`workbench.core.rules_frame`)
or ``open`` (the connection was accepted: an SMTP greeting). It matches
(:mod:`workbench.core.rules_match`), replies (:mod:`workbench.core.rules_reply`), waits
``delay_ms`` first, then does ``then``. Rules are tried in order; the first that matches ends
the search unless it says ``continue_matching``. ``from_frame`` (1-based, per connection,
counting every frame) lets a rule start late: "close after the 3rd frame".

No reply loops, by construction: a connection is fed only what it received. Its replies are
never fed back, and each matching rule answers each frame once, so a rule whose reply
matches itself (an echo talking to an echo) makes one reply per frame received, never a
reply to its own reply.

After ``close`` or ``reset`` the connection answers nothing more (what it still receives is
read and dropped: the runner keeps reading after its FIN, so that unread bytes do not turn
the close into a reset). After ``start-tls`` the frames left from the same data and the
buffered bytes are dropped: bytes a client pipelined in plaintext behind STARTTLS must not
be answered as if they came over TLS (the STARTTLS command injection flaw, CVE-2011-0411).

A rule that raises while running (a reply over ``MAX_REPLY_BYTES``, a failure nobody
foresaw) is contained: it is reported once as a :class:`RuleFault` and disabled for the
whole server; the other rules go on. (Python's ``re`` cannot be interrupted, so a regex with
catastrophic backtracking is bounded only by the frame size: ``max_line``.)
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TypeVar

from workbench.core.codecs import escape_bytes
from workbench.core.formatting import format_size
from workbench.core.rules_error import RuleError
from workbench.core.rules_frame import (
    DEFAULT_MAX_LINE,
    MAX_FRAME_LIMIT,
    FrameKind,
    Framer,
    Framing,
    check_framing,
)
from workbench.core.rules_match import CompiledMatch, Match, MatchKind, compile_match
from workbench.core.rules_reply import (
    MAX_REPLY_BYTES,
    Reply,
    ReplyContext,
    Template,
    compile_template,
)

__all__ = [
    "DEFAULT_MAX_LINE",
    "MAX_DELAY_MS",
    "MAX_FRAME_LIMIT",
    "MAX_REPLY_BYTES",
    "Action",
    "CompiledRule",
    "CompiledRules",
    "ConnectionRules",
    "FrameKind",
    "Framing",
    "Match",
    "MatchKind",
    "Reaction",
    "Reply",
    "Rule",
    "RuleError",
    "RuleFault",
    "RuleSet",
    "Then",
    "Trial",
    "Trigger",
    "check_rule",
    "check_rules",
    "try_rules",
]

#: The longest delay a rule may ask for: an hour.
MAX_DELAY_MS = 3_600_000


class Trigger(enum.StrEnum):
    FRAME = "frame"  # when a frame arrives
    OPEN = "open"  # when the connection opens (accepted)


class Then(enum.StrEnum):
    NOTHING = "nothing"
    CLOSE = "close"  # FIN after the reply; the connection ends (the API has no half-close)
    RESET = "reset"  # RST: SO_LINGER 0, then close
    START_TLS = "start-tls"  # secure_server on this socket, in place
    PAUSE = "pause"  # stop reading from the socket (set_paused)


#: What ends a connection's rules for good (``close``, ``reset``) or for the rest of the data
#: at hand (``start-tls``).
_STOPS = frozenset({Then.CLOSE, Then.RESET, Then.START_TLS})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule (see the module docstring). ``enabled=False`` keeps it in the list, unused."""

    name: str = ""
    trigger: Trigger = Trigger.FRAME
    match: Match = dataclasses.field(default_factory=Match)
    reply: Reply = dataclasses.field(default_factory=Reply)
    delay_ms: int = 0
    then: Then = Then.NOTHING
    continue_matching: bool = False
    from_frame: int = 1
    enabled: bool = True


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuleSet:
    """A server's rules: how its connections are framed, and the rules in order."""

    framing: Framing = dataclasses.field(default_factory=Framing)
    rules: tuple[Rule, ...] = ()


@dataclasses.dataclass(frozen=True)
class CompiledRule:
    """A checked rule: the rule, its compiled match (``None`` for ``open``) and reply."""

    rule: Rule
    trigger: Trigger
    then: Then
    match: CompiledMatch | None
    template: Template


_E = TypeVar("_E", bound=enum.StrEnum)


def _enum(cls: type[_E], value: object, field: str) -> _E:
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
    known = ", ".join(member.value for member in cls)
    raise RuleError(f"unknown {field} {value!r} (known: {known})", field=field)


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(
            f"must be a whole number from {low:,} to {high:,}, not {value!r}", field=field
        )
    return value


def check_rule(rule: Rule) -> CompiledRule:
    """Check ``rule`` and compile it; raises :class:`RuleError` for the first problem."""
    if not isinstance(rule.name, str):
        raise RuleError(f"the name must be text, not {rule.name!r}", field="name")
    trigger = _enum(Trigger, rule.trigger, "trigger")
    then = _enum(Then, rule.then, "then")
    _whole(rule.delay_ms, "delay_ms", 0, MAX_DELAY_MS)
    _whole(rule.from_frame, "from_frame", 1, 2**63 - 1)
    for field in ("continue_matching", "enabled"):
        if not isinstance(getattr(rule, field), bool):
            raise RuleError(f"must be true or false, not {getattr(rule, field)!r}", field=field)
    match = compile_match(rule.match)
    if trigger is Trigger.OPEN:
        if match.kind is not MatchKind.ANY:
            raise RuleError(
                "a rule on connection open has no frame to match: use 'any'", field="match"
            )
        if rule.from_frame != 1:
            raise RuleError(
                "a rule on connection open runs once, before any frame", field="from_frame"
            )
        return CompiledRule(rule, trigger, then, None, compile_template(rule.reply, None))
    return CompiledRule(rule, trigger, then, match, compile_template(rule.reply, match))


def check_rules(ruleset: RuleSet) -> list[RuleError]:
    """Every problem of ``ruleset`` (empty: it can be saved and used), each naming its rule
    (the framing's has no rule)."""
    problems: list[RuleError] = []
    try:
        check_framing(ruleset.framing)
    except RuleError as exc:
        problems.append(exc)
    for index, rule in enumerate(ruleset.rules):
        try:
            check_rule(rule)
        except RuleError as exc:
            problems.append(exc.in_rule(index, rule.name if isinstance(rule.name, str) else ""))
    return problems


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing to do, in order: wait ``delay_ms``, send ``data`` (nothing if empty), then
    do ``then``. Made by rule ``rule_index`` (0-based) named ``rule_name`` for frame
    ``frame_no`` (1-based; 0 on connection open) whose bytes are ``frame``."""

    rule_index: int
    rule_name: str
    frame_no: int
    frame: bytes | None
    data: bytes
    delay_ms: int
    then: Then


@dataclasses.dataclass(frozen=True)
class RuleFault:
    """Rule ``rule_index`` raised ``message`` while running and is disabled."""

    rule_index: int
    rule_name: str
    message: str

    def __str__(self) -> str:
        name = f' "{self.rule_name}"' if self.rule_name else ""
        return f"rule {self.rule_index + 1}{name} failed and is disabled: {self.message}"


@dataclasses.dataclass(frozen=True)
class Reaction:
    """What one event on a connection gives: the ``frames`` matched against the rules, the
    ``actions`` to carry out in order, the ``faults`` of rules that failed, and how many
    received bytes were ``discarded`` unanswered after close, reset or STARTTLS (the bytes
    of the frames left and of a partial frame; line endings are not counted)."""

    frames: tuple[bytes, ...] = ()
    actions: tuple[Action, ...] = ()
    faults: tuple[RuleFault, ...] = ()
    discarded: int = 0


class CompiledRules:
    """A server's checked rules and its live counts. Raises :class:`RuleError` (the first
    problem, naming its rule) for a rule set that :func:`check_rules` would refuse.

    ``hit_counts()`` and ``faults()`` are across all the server's connections; ``revision``
    grows at every change of either, so a view can repaint only when it moved.
    """

    def __init__(self, ruleset: RuleSet, *, max_reply: int = MAX_REPLY_BYTES) -> None:
        check_framing(ruleset.framing)
        compiled = []
        for index, rule in enumerate(ruleset.rules):
            try:
                compiled.append(check_rule(rule))
            except RuleError as exc:
                raise exc.in_rule(index, rule.name) from None
        self.ruleset = ruleset
        self.framing = ruleset.framing
        self.max_reply = max_reply
        self.compiled = tuple(compiled)
        self.revision = 0
        self._hits = [0] * len(compiled)
        self._faults: dict[int, str] = {}
        self._by_trigger = {
            trigger: tuple(i for i, c in enumerate(compiled) if c.trigger is trigger)
            for trigger in Trigger
        }

    def __repr__(self) -> str:
        return (
            f"<CompiledRules {len(self.compiled)} rules {self.framing.kind} "
            f"hits={sum(self._hits)} faults={len(self._faults)}>"
        )

    def hit_counts(self) -> tuple[int, ...]:
        return tuple(self._hits)

    def faults(self) -> dict[int, str]:
        """Rules disabled by a failure: index → message."""
        return dict(self._faults)

    def connection(self, peer: tuple[str, int], socket_id: int) -> ConnectionRules:
        """The rules' state for one accepted connection from ``peer`` (host, port)."""
        return ConnectionRules(self, peer, socket_id)

    def apply(
        self,
        connection: ConnectionRules,
        trigger: Trigger,
        frame: bytes | None,
        actions: list[Action],
        faults: list[RuleFault],
    ) -> Then | None:
        """Try the rules of ``trigger`` on ``frame`` (the connection's frame number
        ``connection.frames``) in order, appending what they do; the ``then`` that stops
        the connection's rules (close, reset, start-tls), if one did."""
        frame_no = connection.frames
        for index in self._by_trigger[trigger]:
            compiled = self.compiled[index]
            rule = compiled.rule
            if not rule.enabled or index in self._faults:
                continue
            if frame is not None and frame_no < rule.from_frame:
                continue
            try:
                action = self._try(index, compiled, connection, frame)
            except Exception as exc:  # contained: one failing rule stops only itself
                message = f"{type(exc).__name__}: {exc}"
                self._faults[index] = message
                self.revision += 1
                faults.append(RuleFault(index, rule.name, message))
                continue
            if action is None:
                continue
            actions.append(action)
            if compiled.then in _STOPS:
                return compiled.then
            if not rule.continue_matching:
                break
        return None

    def _try(
        self, index: int, compiled: CompiledRule, connection: ConnectionRules, frame: bytes | None
    ) -> Action | None:
        found = None
        if compiled.match is not None and frame is not None:
            matched, found = compiled.match.test(frame)
            if not matched:
                return None
        count = connection.hits[index] + 1
        context = ReplyContext(
            frame,
            found,
            compiled.match.encoding if compiled.match else "utf-8",
            connection.peer,
            connection.socket_id,
            count,
        )
        data = compiled.template.render(context, self.max_reply)
        connection.hits[index] = count
        self._hits[index] += 1
        self.revision += 1
        rule = compiled.rule
        return Action(
            index, rule.name, connection.frames, frame, data, rule.delay_ms, compiled.then
        )


class ConnectionRules:
    """The rules' state on one connection: its :class:`Framer`, its frame count
    (``frames``), each rule's ``hits`` here (what ``{count}`` shows), and whether it is
    ``finished`` (after close or reset). Feed it :meth:`opened` once, :meth:`received` per
    received chunk, :meth:`ended` at end of stream; never what it sent."""

    def __init__(self, rules: CompiledRules, peer: tuple[str, int], socket_id: int) -> None:
        self.rules = rules
        self.peer = peer
        self.socket_id = socket_id
        self.framer = Framer(rules.framing)
        self.hits = [0] * len(rules.compiled)
        self.frames = 0
        self.finished = False

    def __repr__(self) -> str:
        return (
            f"<ConnectionRules socket {self.socket_id} peer={self.peer!r} "
            f"frames={self.frames} finished={self.finished}>"
        )

    def opened(self) -> Reaction:
        """The connection was accepted: the ``open`` rules."""
        if self.finished:
            return Reaction()
        actions: list[Action] = []
        faults: list[RuleFault] = []
        self._stop(self.rules.apply(self, Trigger.OPEN, None, actions, faults))
        return Reaction((), tuple(actions), tuple(faults))

    def received(self, data: bytes) -> Reaction:
        """``data`` was received: the rules on every frame it completes."""
        if self.finished:
            return Reaction(discarded=len(data))
        return self._frames(self.framer.feed(data))

    def ended(self) -> Reaction:
        """The peer ended the stream: the rules on the last, incomplete frame if any."""
        if self.finished:
            return Reaction(discarded=self.framer.discard())
        return self._frames(self.framer.finish())

    def _frames(self, frames: list[bytes]) -> Reaction:
        actions: list[Action] = []
        faults: list[RuleFault] = []
        for done, frame in enumerate(frames, 1):
            self.frames += 1
            if self._stop(self.rules.apply(self, Trigger.FRAME, frame, actions, faults)):
                dropped = sum(map(len, frames[done:])) + self.framer.discard()
                return Reaction(tuple(frames[:done]), tuple(actions), tuple(faults), dropped)
        return Reaction(tuple(frames), tuple(actions), tuple(faults))

    def _stop(self, then: Then | None) -> bool:
        if then in (Then.CLOSE, Then.RESET):
            self.finished = True
        return then is not None


@dataclasses.dataclass(frozen=True)
class Trial:
    """What :func:`try_rules` found: the connection's ``frames`` and ``actions`` in order,
    ``faults``, bytes ``discarded``, and each rule's hits."""

    frames: tuple[bytes, ...]
    actions: tuple[Action, ...]
    faults: tuple[RuleFault, ...]
    discarded: int
    hit_counts: tuple[int, ...]

    @property
    def sent(self) -> bytes:
        """Every byte the rules would send, in order."""
        return b"".join(action.data for action in self.actions)

    def describe(self, preview: int = 60) -> list[str]:
        """One line per frame and per action, for the panel's test output."""
        opening = [_describe_action(a, preview) for a in self.actions if a.frame_no == 0]
        lines = ["connection opens", *opening] if opening else []
        for number, frame in enumerate(self.frames, 1):
            lines.append(f"frame {number} {_shown(frame, preview)}")
            acts = [a for a in self.actions if a.frame_no == number]
            lines.extend(_describe_action(a, preview) for a in acts)
            if not acts:
                lines.append("  no rule matches")
        lines.extend(f"  {fault}" for fault in self.faults)
        if self.discarded:
            lines.append(f"{format_size(self.discarded)} received after that, not answered")
        return lines


def _shown(data: bytes, preview: int) -> str:
    text = escape_bytes(data[:preview])
    more = "…" if len(data) > preview else ""
    return f"“{text}{more}” ({format_size(len(data))})"


def _describe_action(action: Action, preview: int) -> str:
    name = f' "{action.rule_name}"' if action.rule_name else ""
    wait = f"after {action.delay_ms} ms " if action.delay_ms else ""
    sends = f"sends {_shown(action.data, preview)}" if action.data else "sends nothing"
    then = "" if action.then is Then.NOTHING else f", then {action.then.value}"
    return f"  → rule {action.rule_index + 1}{name}: {wait}{sends}{then}"


def try_rules(
    ruleset: RuleSet,
    sample: bytes,
    *,
    peer: tuple[str, int] = ("127.0.0.1", 50000),
    socket_id: int = 1,
    end_of_stream: bool = True,
) -> Trial:
    """What ``ruleset`` would do on a new connection from ``peer`` that receives ``sample``
    in one piece (and then ends, if ``end_of_stream``): the panel's "test" button. Live hit
    counts are not touched. Raises :class:`RuleError` if the rule set is invalid."""
    rules = CompiledRules(ruleset)
    connection = rules.connection(peer, socket_id)
    reactions = [connection.opened(), connection.received(sample)]
    if end_of_stream:
        reactions.append(connection.ended())
    return Trial(
        frames=tuple(f for r in reactions for f in r.frames),
        actions=tuple(a for r in reactions for a in r.actions),
        faults=tuple(f for r in reactions for f in r.faults),
        discarded=sum(r.discarded for r in reactions),
        hit_counts=rules.hit_counts(),
    )
