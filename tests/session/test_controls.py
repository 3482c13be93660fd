"""Which controls a view enables (workbench/session/controls.py): every row state, the two facts
beside it (plain or TLS, paused by a user or by the stream's end), and the same rule on records
a real session keeps for sockets on a loopback peer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.peers import EchoServer
from workbench.core.capture import CaptureStore, DatagramStore
from workbench.core.state import State
from workbench.core.types import ServerSocketInfo, SocketInfo, TlsInfo, UdpSocketInfo
from workbench.net.tcp import TcpSockets
from workbench.session.controls import (
    Control,
    disabled_reason,
    enabled_controls,
    send_refusal,
    user_paused,
)
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import RowState, ServerRecord, SocketRecord, UdpRecord, row_state
from workbench.session.session import Session
from workbench.session.udp_state import UdpState, udp_state, udp_state_text

C = Control
ALWAYS = {C.UPDATE, C.CLOSE}
CONNECTED = ALWAYS | {C.DISCONNECT, C.SEND, C.SET_OPTIONS}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CaptureStore]:
    capture = CaptureStore(temp_dir=tmp_path)
    yield capture
    capture.close()


def make_record(
    store: CaptureStore,
    state: State,
    *,
    paused: bool = False,
    tls: bool = False,
    error: int | None = None,
    ever_connected: bool = False,
    paused_by_user: bool = False,
) -> SocketRecord:
    info = SocketInfo(
        socket_id=1,
        persistent=False,
        paused=paused,
        connected=state.connected,
        tls=TlsInfo(version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256") if tls else None,
    )
    record = SocketRecord(
        key=SocketKey.tcp(1),
        info=info,
        state=state,
        capture=store,
        error=error,
        ever_connected=ever_connected,
    )
    record.intent.paused = paused_by_user
    return record


# (row state it must have, record fields, the controls enabled)
CASES: list[tuple[RowState, dict[str, object], set[Control]]] = [
    (RowState.CREATED, {"state": State.CREATED}, ALWAYS | {C.CONNECT, C.PAUSE}),
    (
        RowState.CREATED,
        {"state": State.CREATED, "paused": True, "paused_by_user": True},
        ALWAYS | {C.CONNECT, C.RESUME},
    ),
    (RowState.CONNECTING, {"state": State.CONNECTING}, ALWAYS | {C.DISCONNECT, C.PAUSE}),
    (RowState.CONNECTED, {"state": State.CONNECTED}, CONNECTED | {C.SECURE, C.PAUSE}),
    (
        RowState.PAUSED,
        {"state": State.CONNECTED, "paused": True},
        CONNECTED | {C.SECURE, C.RESUME},  # T2: a paused plain socket can be secured
    ),
    (
        RowState.PAUSED,
        {"state": State.SECURE, "paused": True, "tls": True},
        CONNECTED | {C.RESUME},
    ),
    # S5: the core lets a send wait for the handshake; the window does not offer one.
    (RowState.SECURING, {"state": State.SECURING}, CONNECTED - {C.SEND} | {C.PAUSE}),
    (RowState.SECURE, {"state": State.SECURE, "tls": True}, CONNECTED | {C.PAUSE}),
    (
        # R3: the stream ended, the core paused it: nothing to resume, Pause is for later.
        RowState.DISCONNECTED,
        {"state": State.DISCONNECTED, "paused": True, "ever_connected": True},
        ALWAYS | {C.CONNECT, C.PAUSE},
    ),
    (
        RowState.DISCONNECTED,
        {
            "state": State.DISCONNECTED,
            "paused": True,
            "ever_connected": True,
            "paused_by_user": True,
        },
        ALWAYS | {C.CONNECT, C.RESUME},
    ),
    (
        RowState.FAILED,
        {"state": State.DISCONNECTED, "error": -102},
        ALWAYS | {C.CONNECT, C.PAUSE},
    ),
    (
        RowState.FAILED,
        {"state": State.DISCONNECTED, "error": -202, "paused": True, "ever_connected": True},
        ALWAYS | {C.CONNECT, C.PAUSE},
    ),
]


@pytest.mark.parametrize(("shown", "fields", "expected"), CASES)
def test_enabled_controls_for_each_row_state(
    store: CaptureStore, shown: RowState, fields: dict[str, object], expected: set[Control]
) -> None:
    record = make_record(store, **fields)
    assert row_state(record) is shown
    assert enabled_controls(record) == expected
    # Exactly one of Pause and Resume, and Resume exactly when the user sees it paused.
    assert len(enabled_controls(record) & {C.PAUSE, C.RESUME}) == 1
    assert (C.RESUME in expected) == user_paused(record)


def test_every_row_state_has_a_case() -> None:
    assert {shown for shown, _, _ in CASES} == set(RowState)


def test_no_socket_no_controls() -> None:
    assert enabled_controls(None) == frozenset()


def test_controls_compare_as_the_session_s_control_names(store: CaptureStore) -> None:
    enabled = enabled_controls(make_record(store, State.CONNECTED))
    assert "connect" not in enabled and "secure" in enabled and "send" in enabled
    assert Control.SECURE == "secure" and Control.SET_OPTIONS == "set_options"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


async def test_the_rule_follows_a_real_socket_through_its_life(session: Session) -> None:
    key = await session.create()
    record = session.registry[key]
    assert enabled_controls(record) == ALWAYS | {C.CONNECT, C.PAUSE}
    with EchoServer() as server:
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert enabled_controls(record) == CONNECTED | {C.SECURE, C.PAUSE}
        await session.set_paused(key, True)
        await wait_for(lambda: record.info.paused)
        assert enabled_controls(record) == CONNECTED | {C.SECURE, C.RESUME}
        await session.set_paused(key, False)
        await session.disconnect(key)
        # D1: the core pauses a disconnected socket; the user did not: no Resume.
        await wait_for(lambda: record.info.paused and not record.info.connected)
        assert record.state is State.DISCONNECTED
        assert enabled_controls(record) == ALWAYS | {C.CONNECT, C.PAUSE}


def test_send_refusal_says_why_send_is_not_offered(store: CaptureStore) -> None:
    assert send_refusal(None) == "no socket is selected."
    assert send_refusal(make_record(store, State.CONNECTED)) is None
    assert send_refusal(make_record(store, State.SECURE, tls=True)) is None
    # S5: the core would let it wait for the handshake; the window does not offer it.
    assert send_refusal(make_record(store, State.SECURING)) == (
        "the TLS handshake is still running; Send waits until it is done."
    )
    assert send_refusal(make_record(store, State.CONNECTING)) == "the socket is still connecting."
    assert send_refusal(make_record(store, State.CREATED)) == (
        "the socket is not connected (the Connect tab connects it)."
    )


# ------------------------------------------------------------------------- listening sockets


def server_record(*, port: int | None = None, paused: bool = False) -> ServerRecord:
    info = ServerSocketInfo(
        socket_id=1,
        persistent=False,
        paused=paused,
        local_address="127.0.0.1" if port is not None else None,
        local_port=port,
    )
    return ServerRecord(key=SocketKey(SocketKind.TCP_SERVER, 1), info=info)


@pytest.mark.parametrize(
    ("port", "paused", "expected"),
    [
        (None, False, ALWAYS | {C.LISTEN}),
        # L4: no second listen; L8: stop listening; L7: pause or resume accepting.
        (8080, False, ALWAYS | {C.DISCONNECT, C.PAUSE}),
        (8080, True, ALWAYS | {C.DISCONNECT, C.RESUME}),
    ],
)
def test_a_server_listens_stops_pauses_and_closes(
    port: int | None, paused: bool, expected: set[Control]
) -> None:
    record = server_record(port=port, paused=paused)
    assert enabled_controls(record) == expected
    assert user_paused(record) is paused


def test_a_server_never_connects_secures_or_sends_and_says_why() -> None:
    record = server_record(port=8080)
    for control in (C.CONNECT, C.SECURE, C.SEND, C.SET_OPTIONS):
        assert control not in enabled_controls(record)
        assert disabled_reason(record, control)
    assert disabled_reason(record, C.CLOSE) is None
    assert disabled_reason(None, C.CONNECT) is None
    assert send_refusal(record) == (
        "a server has no data of its own; select one of its connections."
    )


# ------------------------------------------------------------------------------ UDP sockets


@pytest.fixture
def datagrams(tmp_path: Path) -> Iterator[DatagramStore]:
    capture = DatagramStore(temp_dir=tmp_path)
    yield capture
    capture.close()


def udp_record(
    store: DatagramStore, *, port: int | None = None, paused: bool = False, error: int | None = None
) -> UdpRecord:
    info = UdpSocketInfo(
        socket_id=1,
        persistent=False,
        paused=paused,
        local_address="127.0.0.1" if port is not None else None,
        local_port=port,
    )
    return UdpRecord(key=SocketKey(SocketKind.UDP, 1), info=info, capture=store, error=error)


@pytest.mark.parametrize(
    ("port", "paused", "error", "expected", "state"),
    [
        # D9, D10: join and broadcast only once bound; pausing works at any time. Send is
        # offered unbound too: the core's -15 (D4) shows beside Send with its reason.
        (None, False, None, ALWAYS | {C.BIND, C.SEND, C.PAUSE}, UdpState.UNBOUND),
        (None, True, None, ALWAYS | {C.BIND, C.SEND, C.RESUME}, UdpState.UNBOUND),
        # D3: no second bind.
        (5353, False, None, ALWAYS | {C.SEND, C.MULTICAST, C.PAUSE}, UdpState.BOUND),
        (5353, True, None, ALWAYS | {C.SEND, C.MULTICAST, C.RESUME}, UdpState.PAUSED),
        # D8: a receive error paused the socket; resuming reads again.
        (5353, True, -101, ALWAYS | {C.SEND, C.MULTICAST, C.RESUME}, UdpState.FAILED),
    ],
)
def test_a_udp_socket_binds_then_sends_and_pauses_at_any_time(
    datagrams: DatagramStore,
    port: int | None,
    paused: bool,
    error: int | None,
    expected: set[Control],
    state: UdpState,
) -> None:
    record = udp_record(datagrams, port=port, paused=paused, error=error)
    assert enabled_controls(record) == expected
    assert user_paused(record) is paused
    assert udp_state(record) is state


def test_a_udp_socket_never_connects_secures_or_disconnects_and_says_why(
    datagrams: DatagramStore,
) -> None:
    unbound, bound = udp_record(datagrams), udp_record(datagrams, port=5353)
    for control in (C.CONNECT, C.SECURE, C.DISCONNECT, C.SET_OPTIONS, C.LISTEN):
        assert control not in enabled_controls(bound)
        assert disabled_reason(bound, control)
    assert disabled_reason(bound, C.CLOSE) is None
    # D4: 'The socket must be bound to a local port before calling this method': Send is not
    # refused before the call; the core's -15 and its reason show beside the button.
    assert send_refusal(unbound) is None
    assert send_refusal(bound) is None


def test_the_udp_state_text_says_a_pause_before_bind(datagrams: DatagramStore) -> None:
    assert udp_state_text(udp_record(datagrams)) == "Not bound"
    assert udp_state_text(udp_record(datagrams, paused=True)) == "Not bound, paused"
    assert udp_state_text(udp_record(datagrams, port=53, paused=True)) == "Paused on 127.0.0.1:53"
    failed = udp_record(datagrams, port=53, error=-101)
    assert udp_state_text(failed) == "Error: CONNECTION_RESET"
