"""Random sequences of API calls against a live echo peer, checked against a model.

Hypothesis drives create/update/connect/set_paused/send/disconnect/close/get_info/
get_sockets/set_no_delay/set_keep_alive and a "drain" step. The model is the contract's
table: C1 (ids strictly increase), C2 (buffer_size ≤ 0 reads as None), C3 (closed ids raise
SocketNotFoundError), C4 (update changes only the given fields), U1 (addresses when
connected), U4 (-23 on a connected socket), U6 (paused kept across reconnect), P1 (nothing
while paused), D1/D2 (-100 and then nothing; paused, disconnected), S1/S2, K1, L1, R3.
The ``on_changed`` extension is checked alongside: after every step, the last change reported
for each socket is exactly what ``state_of``/``info_now`` say, and a closed socket's last
change is CLOSED.

Hypothesis is synchronous, so each machine owns one ``asyncio.Runner`` (plain asyncio; the
harness' qasync parametrization applies to async tests only) and every rule runs its
coroutine with ``runner.run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import TIMEOUT, wait_for
from tests.net.tls_peers import ThreadedServer, plain_echo_handler
from workbench.sockets import (
    ChangeReason,
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SendInfo,
    SocketChange,
    SocketInfo,
    SocketNotFoundError,
    SocketProperties,
    TcpSockets,
)

T = TypeVar("T")

names = st.none() | st.text(max_size=12)
persistents = st.none() | st.booleans()
buffer_sizes = st.none() | st.integers(min_value=-5, max_value=70_000)
payloads = st.binary(min_size=0, max_size=3000) | st.binary(min_size=500, max_size=3000)


@dataclass
class Model:
    """What the contract says get_info() must show for one socket."""

    name: str | None = None
    persistent: bool = False
    buffer_size: int | None = None
    #: None: the contract does not pin the flag down here (disconnect of an idle socket)
    paused: bool | None = False
    connected: bool = False
    sent: bytearray = field(default_factory=bytearray)  # since the last connect
    received_at_connect: int = 0  # len(received[id]) when the last connect returned


class SocketMachine(RuleBasedStateMachine):
    sockets = Bundle("sockets")

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.runner = asyncio.Runner(debug=True)
        self.tcp = TcpSockets()
        self.model: dict[int, Model] = {}
        self.closed: set[int] = set()
        self.max_id = 0
        self.received: dict[int, bytearray] = {}
        self.errors: dict[int, list[int]] = {}
        self.violations: list[str] = []
        #: disconnect()/close() calls that ended a connection: each may emit one -100
        self.ended: dict[int, int] = {}
        self.tcp.on_receive.add_listener(self._on_receive)
        self.tcp.on_receive_error.add_listener(self._on_error)
        #: the last on_changed per socket
        self.last_change: dict[int, SocketChange] = {}
        self.tcp.on_changed.add_listener(self._on_changed)

    # -- plumbing ------------------------------------------------------------------------------

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(TIMEOUT):
                return await make()

        return self.runner.run(bounded())

    def _on_receive(self, info: ReceiveInfo) -> None:
        sid = info.socket_id
        self.received.setdefault(sid, bytearray()).extend(info.data)
        if not info.data:
            self.violations.append(f"empty on_receive for {sid}")
        if sid in self.closed:
            self.violations.append(f"{len(info.data)} bytes for {sid} after close() (D2)")
            return
        m = self.model.get(sid)
        if m is not None and m.paused is True:
            self.violations.append(f"{len(info.data)} bytes for paused socket {sid} (P1)")
        if m is not None and not m.connected:
            self.violations.append(f"{len(info.data)} bytes for {sid} after disconnect (D1)")
        if m is not None and m.buffer_size is not None and len(info.data) > m.buffer_size:
            self.violations.append(f"chunk {len(info.data)} > buffer_size {m.buffer_size}")
        if m is not None and m.buffer_size is None and len(info.data) > 4096:
            self.violations.append(f"chunk {len(info.data)} > 4096 without buffer_size (C2)")

    def _on_changed(self, change: SocketChange) -> None:
        self.last_change[change.socket_id] = change

    def _on_error(self, info: ReceiveErrorInfo) -> None:
        sid = info.socket_id
        self.errors.setdefault(sid, []).append(info.result_code)
        if info.result_code != -100:
            self.violations.append(f"on_receive_error({info.result_code}) for {sid}")
        m = self.model.get(sid)
        if m is not None and m.connected:
            # The echo peer never closes first: an error can only end a connection that we
            # disconnected, and R3 says the socket is disconnected once it is reported.
            self.violations.append(f"on_receive_error for {sid} while it is connected")

    def expect(self, info: SocketInfo, sid: int) -> None:
        m = self.model[sid]
        assert info.socket_id == sid
        assert info.name == m.name
        assert info.persistent is m.persistent
        assert info.buffer_size == m.buffer_size
        assert info.connected is m.connected
        if m.paused is not None:
            assert info.paused is m.paused
        if m.connected:
            assert info.peer_address == "127.0.0.1"
            assert info.peer_port == self.port
            assert info.local_address == "127.0.0.1"
            assert isinstance(info.local_port, int) and info.local_port > 0
        else:
            assert (info.local_address, info.local_port) == (None, None)
            assert (info.peer_address, info.peer_port) == (None, None)
        assert info.tls is None

    def raises_not_found(self, make: Callable[[], Coroutine[Any, Any, object]]) -> None:
        with pytest.raises(SocketNotFoundError):
            self.run(make)

    # -- rules -------------------------------------------------------------------------------

    @rule(target=sockets, name=names, persistent=persistents, buffer_size=buffer_sizes)
    def create(self, name: str | None, persistent: bool | None, buffer_size: int | None) -> int:
        props = SocketProperties(name=name, persistent=persistent, buffer_size=buffer_size)
        sid = self.run(lambda: self.tcp.create(props)).socket_id
        assert sid > self.max_id, f"id {sid} after {self.max_id} (C1)"
        self.max_id = sid
        self.model[sid] = Model(
            name=name,
            persistent=bool(persistent),
            buffer_size=buffer_size if buffer_size is not None and buffer_size > 0 else None,
        )
        return sid

    @rule(sid=sockets, name=names, persistent=persistents, buffer_size=buffer_sizes)
    def update(
        self, sid: int, name: str | None, persistent: bool | None, buffer_size: int | None
    ) -> None:
        props = SocketProperties(name=name, persistent=persistent, buffer_size=buffer_size)
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.update(sid, props))
            return
        self.run(lambda: self.tcp.update(sid, props))
        m = self.model[sid]
        if name is not None:
            m.name = name
        if persistent is not None:
            m.persistent = persistent
        if buffer_size is not None:
            m.buffer_size = buffer_size if buffer_size > 0 else None

    @rule(sid=sockets)
    def connect(self, sid: int) -> None:
        if sid in self.closed:
            self.raises_not_found(
                lambda: self.tcp.connect(sid, "127.0.0.1", self.port, DnsQueryType.IPV4)
            )
            return
        m = self.model[sid]
        result = self.run(lambda: self.tcp.connect(sid, "127.0.0.1", self.port, "ipv4"))
        if m.connected:
            assert result == -23, f"connect on a connected socket gave {result} (U4)"
            return
        assert result == 0, f"connect gave {result}"
        m.connected = True
        m.sent = bytearray()
        m.received_at_connect = len(self.received.get(sid, b""))

    @rule(sid=sockets, paused=st.booleans())
    def set_paused(self, sid: int, paused: bool) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.set_paused(sid, paused))
            return
        m = self.model[sid]
        if not paused:
            m.paused = False  # deliveries may start as soon as the call runs
        self.run(lambda: self.tcp.set_paused(sid, paused))
        m.paused = paused

    @rule(sid=sockets, data=payloads)
    def send(self, sid: int, data: bytes) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.send(sid, data))
            return
        m = self.model[sid]
        info = self.run(lambda: self.tcp.send(sid, data))
        if m.connected:
            assert info == SendInfo(result_code=0, bytes_sent=len(data)), info
            m.sent += data
        else:
            assert info == SendInfo(result_code=-15, bytes_sent=None), info

    @rule(sid=sockets)
    def disconnect(self, sid: int) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.disconnect(sid))
            return
        m = self.model[sid]
        if m.connected:
            self.ended[sid] = self.ended.get(sid, 0) + 1
            # From the call on, the connection is over: its -100 may come during the call,
            # and no more data may (D1).
            m.connected = False
            self.run(lambda: self.tcp.disconnect(sid))
            m.paused = True  # D1 (a paused socket simply stays paused)
        else:
            self.run(lambda: self.tcp.disconnect(sid))
            m.paused = None  # not pinned down by the contract

    @rule(sid=sockets)
    def close(self, sid: int) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.close(sid))
            return
        m = self.model.pop(sid)
        self.closed.add(sid)  # 'the id is invalid at once' (D2)
        if m.connected:
            self.ended[sid] = self.ended.get(sid, 0) + 1
        self.run(lambda: self.tcp.close(sid))
        self.raises_not_found(lambda: self.tcp.get_info(sid))

    @rule(sid=sockets)
    def get_info(self, sid: int) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.get_info(sid))
            return
        self.expect(self.run(lambda: self.tcp.get_info(sid)), sid)

    @initialize(target=sockets, name=names, buffer_size=buffer_sizes)
    def a_connected_socket(self, name: str | None, buffer_size: int | None) -> int:
        """Start every run with one connected socket, so traffic is the rule, not luck."""
        sid = self.create(name, None, buffer_size)
        self.connect(sid)
        return sid

    @invariant()
    def get_sockets(self) -> None:
        infos = self.run(self.tcp.get_sockets)
        assert [i.socket_id for i in infos] == sorted(self.model), "L1: every open socket"
        for info in infos:
            self.expect(info, info.socket_id)

    @rule(sid=sockets, no_delay=st.booleans())
    def set_no_delay(self, sid: int, no_delay: bool) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.set_no_delay(sid, no_delay))
            return
        result = self.run(lambda: self.tcp.set_no_delay(sid, no_delay))
        assert result == (0 if self.model[sid].connected else -2), f"K1: {result}"

    @rule(sid=sockets, enable=st.booleans(), delay=st.integers(min_value=0, max_value=7200))
    def set_keep_alive(self, sid: int, enable: bool, delay: int) -> None:
        if sid in self.closed:
            self.raises_not_found(lambda: self.tcp.set_keep_alive(sid, enable, delay))
            return
        result = self.run(lambda: self.tcp.set_keep_alive(sid, enable, delay))
        assert result == (0 if self.model[sid].connected else -2), f"K1: {result}"

    def _connected(self) -> list[int]:
        return sorted(sid for sid, m in self.model.items() if m.connected)

    @precondition(lambda self: bool(self._connected()))
    @rule(data=st.data(), payload=payloads)
    def send_on_a_connected_socket(self, data: st.DataObject, payload: bytes) -> None:
        """Plain ``send`` mostly meets unconnected sockets; this one makes echo traffic."""
        self.send(data.draw(st.sampled_from(self._connected()), label="sid"), payload)

    @precondition(lambda self: bool(self._connected()))
    @rule(data=st.data())
    def drain_a_connected_socket(self, data: st.DataObject) -> None:
        self.drain(data.draw(st.sampled_from(self._connected()), label="sid"))

    @rule(sid=sockets)
    def drain(self, sid: int) -> None:
        """Unpause and wait until everything sent on this connection has come back."""
        if sid in self.closed or not self.model[sid].connected:
            return
        m = self.model[sid]
        m.paused = False
        self.run(lambda: self.tcp.set_paused(sid, False))

        def echoed() -> bytes:
            return bytes(self.received.get(sid, b""))[m.received_at_connect :]

        def complete() -> bool:
            return len(echoed()) >= len(m.sent)

        self.run(
            lambda: wait_for(
                complete, message=lambda: f"socket {sid}: {len(echoed())} of {len(m.sent)}"
            )
        )
        assert echoed() == bytes(m.sent), "echo differs from what this connection sent (R1)"

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def no_violations(self) -> None:
        assert self.violations == [], self.violations

    @invariant()
    def every_visible_change_was_reported(self) -> None:
        assert set(self.last_change) == set(self.model) | self.closed
        for sid in self.model:
            change = self.last_change[sid]
            assert change.state is self.tcp.state_of(sid), (sid, change)
            assert change.info == self.tcp.info_now(sid), (sid, change)
        for sid in self.closed:
            assert self.last_change[sid] == SocketChange(sid, ChangeReason.CLOSED, None, None)

    @invariant()
    def at_most_one_error_per_ended_connection(self) -> None:
        for sid, codes in self.errors.items():
            assert len(codes) <= self.ended.get(sid, 0), f"socket {sid}: errors {codes}"

    def teardown(self) -> None:
        try:
            self.run(self.tcp.shutdown)
        finally:
            self.runner.close()


@pytest.mark.asyncio_only
@pytest.mark.slow
def test_C1_C3_D1_P1_random_call_sequences_match_the_model(
    serve: Callable[..., ThreadedServer],
) -> None:
    echo = serve(plain_echo_handler, name="echo")
    run_state_machine_as_test(
        lambda: SocketMachine(echo.port),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
