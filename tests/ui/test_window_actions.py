"""Which of the window's actions apply, decided from socket state alone (``action_states``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.capture import CaptureStore
from workbench.core.state import State
from workbench.core.types import ServerSocketInfo
from workbench.session import ServerRecord, SocketKey, SocketKind, SocketRecord
from workbench.session.controls import Control
from workbench.sockets import SocketInfo, TlsInfo
from workbench.ui.window_actions import ActionStates, action_states, all_paused

TLS = TlsInfo(version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CaptureStore]:
    capture = CaptureStore(temp_dir=tmp_path)
    try:
        yield capture
    finally:
        capture.close()


def info(state: State, *, paused: bool = False, sid: int = 1) -> SocketInfo:
    return SocketInfo(
        socket_id=sid,
        persistent=False,
        paused=paused,
        connected=state.connected,
        tls=TLS if state is State.SECURE else None,
    )


def record(store: CaptureStore, state: State, *, paused: bool = False) -> SocketRecord:
    return SocketRecord(
        key=SocketKey.tcp(1), info=info(state, paused=paused), state=state, capture=store
    )


def test_nothing_applies_without_a_socket() -> None:
    assert action_states(None, []) == ActionStates(
        connect=False, secure=False, selection=False, disconnect=False, current=False,
        resume=False, send=False,
    )


@pytest.mark.parametrize(
    ("state", "connect", "secure", "send"),
    [
        (State.CREATED, True, False, False),
        (State.CONNECTING, False, False, False),  # busy: neither until the connect ends
        (State.CONNECTED, False, True, True),
        (State.SECURING, False, False, False),  # busy: Send waits for the handshake (S5)
        (State.SECURE, False, False, True),  # TLS already
        (State.DISCONNECTED, True, False, False),
    ],
)
def test_connect_secure_and_send_follow_the_current_socket(
    store: CaptureStore, state: State, connect: bool, secure: bool, send: bool
) -> None:
    current = record(store, state)
    states = action_states(current, [current])
    assert (states.connect, states.secure, states.send) == (connect, secure, send)
    assert states.selection and states.current


def test_pause_reads_resume_only_when_every_selected_socket_is_paused(
    store: CaptureStore,
) -> None:
    paused = record(store, State.CONNECTED, paused=True)
    running = record(store, State.CONNECTED)
    # A socket whose stream ended is paused by the core (R3), not by the user: Pause, for
    # its next connect, never Resume.
    ended = record(store, State.DISCONNECTED, paused=True)
    assert all_paused([paused, paused])
    assert not all_paused([paused, running])
    assert not all_paused([paused, None])  # a socket closed meanwhile is not paused
    assert not all_paused([])
    assert not all_paused([ended])
    assert action_states(None, [paused]).resume
    assert not action_states(None, [paused, running]).resume


def test_disconnect_needs_a_connection_and_connect_a_single_row(store: CaptureStore) -> None:
    created = record(store, State.CREATED)
    connected = record(store, State.CONNECTED)
    assert not action_states(created, [created]).disconnect  # as the Connect tab's button
    assert action_states(created, [created, connected]).disconnect  # one of them can
    # The tabs' forms are one socket's: with two rows highlighted, Connect waits.
    assert action_states(created, [created]).connect
    assert not action_states(created, [created, created]).connect


def test_a_server_row_pauses_stops_and_closes_but_never_connects_or_sends() -> None:
    info = ServerSocketInfo(
        socket_id=1, persistent=False, paused=True, local_address="127.0.0.1", local_port=80
    )
    server = ServerRecord(key=SocketKey(SocketKind.TCP_SERVER, 1), info=info)
    states = action_states(server, [server])
    assert (states.connect, states.secure, states.send) == (False, False, False)
    assert states.selection and states.disconnect and states.resume
    assert not states.current  # no data of its own: Clear, Save and the copies wait
    reasons = dict(states.reasons)
    assert set(reasons) == {Control.CONNECT, Control.SECURE, Control.SEND}
    assert action_states(None, []).reasons == ()
