"""``workbench.core.state``: the one table of transitions and the one table of refusals.

The expected tables are written out here independently of the module, so a change to either
table shows up as a failing row. Every legal ``(State, StateEvent)`` pair is checked, and every
other pair must raise ``StateTransitionError``. The refusals are the contract's rows (U4, U7,
T1, S1, S5, K1). ``tests/net`` drives the same table through real sockets.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from workbench.core.errors import NetError
from workbench.core.state import (
    GO,
    WAIT,
    Go,
    Op,
    Refuse,
    State,
    StateEvent,
    StateTransitionError,
    Wait,
    legal_transitions,
    transition,
    verdict,
)

S = State
E = StateEvent

#: Every legal transition, and nothing else.
LEGAL: dict[tuple[State, StateEvent], State] = {
    (S.CREATED, E.CONNECT_STARTED): S.CONNECTING,
    (S.DISCONNECTED, E.CONNECT_STARTED): S.CONNECTING,
    (S.CONNECTING, E.CONNECT_SUCCEEDED): S.CONNECTED,
    (S.CONNECTING, E.CONNECT_FAILED): S.DISCONNECTED,
    (S.CREATED, E.ACCEPTED): S.CONNECTED,
    (S.CONNECTED, E.SECURE_STARTED): S.SECURING,
    (S.SECURING, E.SECURE_SUCCEEDED): S.SECURE,
    (S.SECURING, E.SECURE_SETUP_FAILED): S.CONNECTED,
    (S.SECURING, E.SECURE_FAILED): S.DISCONNECTED,
    (S.DISCONNECTED, E.SECURE_FAILED): S.DISCONNECTED,
    (S.CONNECTED, E.STREAM_ENDED): S.DISCONNECTED,
    (S.SECURING, E.STREAM_ENDED): S.DISCONNECTED,
    (S.SECURE, E.STREAM_ENDED): S.DISCONNECTED,
    (S.CREATED, E.DROPPED): S.CREATED,
    (S.CONNECTING, E.DROPPED): S.DISCONNECTED,
    (S.CONNECTED, E.DROPPED): S.DISCONNECTED,
    (S.SECURING, E.DROPPED): S.DISCONNECTED,
    (S.SECURE, E.DROPPED): S.DISCONNECTED,
    (S.DISCONNECTED, E.DROPPED): S.DISCONNECTED,
    (S.CREATED, E.INTERNAL_ERROR): S.DISCONNECTED,
    (S.CONNECTING, E.INTERNAL_ERROR): S.DISCONNECTED,
    (S.CONNECTED, E.INTERNAL_ERROR): S.DISCONNECTED,
    (S.SECURING, E.INTERNAL_ERROR): S.DISCONNECTED,
    (S.SECURE, E.INTERNAL_ERROR): S.DISCONNECTED,
    (S.DISCONNECTED, E.INTERNAL_ERROR): S.DISCONNECTED,
}

ILLEGAL = [pair for pair in itertools.product(State, StateEvent) if pair not in LEGAL]


def _id(pair: tuple[State, StateEvent]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


# -- transitions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", list(LEGAL), ids=_id)
def test_every_legal_transition(pair: tuple[State, StateEvent]) -> None:
    assert transition(*pair) is LEGAL[pair]


@pytest.mark.parametrize("pair", ILLEGAL, ids=_id)
def test_every_other_transition_is_refused(pair: tuple[State, StateEvent]) -> None:
    state, event = pair
    with pytest.raises(StateTransitionError) as refused:
        transition(state, event)
    assert (refused.value.state, refused.value.event) == (state, event)
    assert state.value in str(refused.value) and event.value in str(refused.value)


def test_the_module_table_is_exactly_the_legal_one() -> None:
    assert legal_transitions() == LEGAL
    assert len(ILLEGAL) == len(State) * len(StateEvent) - len(LEGAL) > 0


def test_a_transition_error_is_a_bug_not_an_outcome() -> None:
    # Like h11's LocalProtocolError: an exception for the programmer, never a result code.
    assert issubclass(StateTransitionError, RuntimeError)
    assert not issubclass(StateTransitionError, (OSError, LookupError))


def test_the_life_of_a_socket() -> None:
    life = [
        E.CONNECT_STARTED,
        E.CONNECT_SUCCEEDED,
        E.SECURE_STARTED,
        E.SECURE_SUCCEEDED,
        E.STREAM_ENDED,
        E.CONNECT_STARTED,  # U6: connect again after the end
        E.CONNECT_FAILED,
        E.CONNECT_STARTED,
        E.CONNECT_SUCCEEDED,
        E.SECURE_STARTED,
        E.SECURE_SETUP_FAILED,  # nothing went over the wire: plain again
        E.SECURE_STARTED,
        E.SECURE_FAILED,  # T5
        E.DROPPED,
    ]
    state = S.CREATED
    seen = [state]
    for event in life:
        state = transition(state, event)
        seen.append(state)
    assert seen == [
        S.CREATED,
        S.CONNECTING,
        S.CONNECTED,
        S.SECURING,
        S.SECURE,
        S.DISCONNECTED,
        S.CONNECTING,
        S.DISCONNECTED,
        S.CONNECTING,
        S.CONNECTED,
        S.SECURING,
        S.CONNECTED,
        S.SECURING,
        S.DISCONNECTED,
        S.DISCONNECTED,
    ]


def test_the_life_of_an_accepted_socket() -> None:
    # sockets-server-udp-contract.md L5/L6: an accepted connection is connected from the start,
    # then lives as any connected socket does; it cannot be accepted twice, nor once connected.
    life = [E.ACCEPTED, E.SECURE_STARTED, E.SECURE_SUCCEEDED, E.STREAM_ENDED, E.CONNECT_STARTED]
    state = S.CREATED
    seen = [state]
    for event in life:
        state = transition(state, event)
        seen.append(state)
    assert seen == [S.CREATED, S.CONNECTED, S.SECURING, S.SECURE, S.DISCONNECTED, S.CONNECTING]
    for other in (S.CONNECTING, S.CONNECTED, S.SECURE, S.DISCONNECTED):
        with pytest.raises(StateTransitionError):
            transition(other, E.ACCEPTED)


def test_every_state_is_reachable_and_none_is_a_trap() -> None:
    reachable = {S.CREATED}
    frontier = [S.CREATED]
    while frontier:
        state = frontier.pop()
        for (source, _), target in LEGAL.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(State)
    # disconnect() and close() work from every state (D1, D2, U5).
    for state in State:
        assert (state, E.DROPPED) in LEGAL


def test_connected_is_what_socket_info_reports() -> None:
    assert {s for s in State if s.connected} == {S.CONNECTED, S.SECURING, S.SECURE}


# -- refusals ------------------------------------------------------------------------------------

REFUSALS: dict[Op, dict[State, Go | Wait | Refuse]] = {
    # U4: -23 when connected, -104 while a connect is pending; U7: -23 while secure() runs.
    Op.CONNECT: {
        S.CREATED: GO,
        S.CONNECTING: Refuse(NetError.CONNECTION_FAILED),
        S.CONNECTED: Refuse(NetError.SOCKET_IS_CONNECTED),
        S.SECURING: Refuse(NetError.SOCKET_IS_CONNECTED),
        S.SECURE: Refuse(NetError.SOCKET_IS_CONNECTED),
        S.DISCONNECTED: GO,
    },
    # T1: -4 unless connected and plain; U7: -4 while a connect is pending.
    Op.SECURE: {
        S.CREATED: Refuse(NetError.INVALID_ARGUMENT),
        S.CONNECTING: Refuse(NetError.INVALID_ARGUMENT),
        S.CONNECTED: GO,
        S.SECURING: Refuse(NetError.INVALID_ARGUMENT),
        S.SECURE: Refuse(NetError.INVALID_ARGUMENT),
        S.DISCONNECTED: Refuse(NetError.INVALID_ARGUMENT),
    },
    # S1: -15 when not connected; S5: a send during the handshake waits for it.
    Op.SEND: {
        S.CREATED: Refuse(NetError.SOCKET_NOT_CONNECTED),
        S.CONNECTING: Refuse(NetError.SOCKET_NOT_CONNECTED),
        S.CONNECTED: GO,
        S.SECURING: WAIT,
        S.SECURE: GO,
        S.DISCONNECTED: Refuse(NetError.SOCKET_NOT_CONNECTED),
    },
    # K1: -2 when not connected; TLS sockets too.
    Op.SET_OPTION: {
        S.CREATED: Refuse(NetError.FAILED),
        S.CONNECTING: Refuse(NetError.FAILED),
        S.CONNECTED: GO,
        S.SECURING: GO,
        S.SECURE: GO,
        S.DISCONNECTED: Refuse(NetError.FAILED),
    },
}


@pytest.mark.parametrize(
    ("op", "state"), list(itertools.product(Op, State)), ids=lambda v: str(v.value)
)
def test_U4_U7_T1_S1_S5_K1_verdicts(op: Op, state: State) -> None:
    assert verdict(state, op) == REFUSALS[op][state]


def test_verdicts_narrow_by_type() -> None:
    rule = verdict(S.CONNECTED, Op.CONNECT)
    assert isinstance(rule, Refuse)
    assert rule.code is NetError.SOCKET_IS_CONNECTED and int(rule.code) == -23
    assert isinstance(verdict(S.SECURING, Op.SEND), Wait)
    assert isinstance(verdict(S.SECURE, Op.SEND), Go)
    assert isinstance(GO, Go) and isinstance(WAIT, Wait) and GO != WAIT


def test_verdicts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Refuse(NetError.FAILED).code = NetError.OK  # type: ignore[misc]
