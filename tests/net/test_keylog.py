"""TLS key logs (``SecureOptions.keylog_file``, ``ServerSecureOptions.keylog_file``), proved with
the real tools: tcpdump captures a TLS exchange on the loopback, and tshark, given the key log,
shows the HTTP request that was sent; without it, it does not (K5). A new file is 0600 (K2)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TIMEOUT, Recorder, wait_for
from tests.net.tls_peers import Pki, ThreadedServer
from workbench.core.keylog import prepare_keylog
from workbench.sockets import (
    AcceptInfo,
    NetError,
    SecureOptions,
    ServerSecureOptions,
    TcpServerSockets,
    TcpSockets,
)

REQUEST = b"GET /secret-page HTTP/1.1\r\nHost: localhost\r\n\r\n"


class Tcpdump:
    """``tcpdump -i lo`` writing ``path`` for one TCP port, until stopped."""

    def __init__(self, path: Path, port: int) -> None:
        self.path = path
        self.probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.probe.bind(("127.0.0.1", 0))
        probe_port = self.probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                "tcpdump",
                "-i",
                "lo",
                "--immediate-mode",
                "-U",
                "-w",
                str(path),
                f"tcp port {port} or udp port {probe_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.sync()

    def sync(self) -> None:
        """Until tcpdump has written everything sent so far: a datagram to ourselves is
        sent until the file grows (-U writes each packet as it comes). Its "listening on"
        comes a little before its filter captures, and a stop loses what it has not read."""
        size = self.path.stat().st_size if self.path.exists() else 0
        deadline = time.monotonic() + TIMEOUT
        where = self.probe.getsockname()
        while (self.path.stat().st_size if self.path.exists() else 0) <= max(size, 24):
            assert time.monotonic() < deadline, "tcpdump wrote nothing"
            self.probe.sendto(b"sync", where)
            self.probe.recv(16)
            time.sleep(0.01)  # sleep-ok: polling another process's file

    def stop(self) -> None:
        self.sync()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=TIMEOUT)
        self.probe.close()


@pytest.fixture
def dump() -> Iterator[Callable[[Path, int], Tcpdump]]:
    made: list[Tcpdump] = []

    def start(path: Path, port: int) -> Tcpdump:
        made.append(Tcpdump(path, port))
        return made[-1]

    yield start
    for one in made:
        if one.process.poll() is None:
            one.stop()


def uris(capture: Path, port: int, keys: Path | None) -> list[str]:
    # A test port is not TLS's nor HTTP's: tshark is told what runs on it.
    args = ["tshark", "-r", str(capture), "-d", f"tcp.port=={port},tls"]
    # The echo server sends the request back: only what went to the server counts.
    args += ["-d", f"tls.port=={port},http", "-Y", f"http.request and tcp.dstport == {port}"]
    args += ["-T", "fields"]
    args += ["-e", "http.request.uri"]
    if keys is not None:
        args += ["-o", f"tls.keylog_file:{keys}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    return out.split()


async def test_K5_a_capture_decrypts_with_the_key_log_and_not_without(
    tcp: TcpSockets,
    tls_server: Callable[..., ThreadedServer],
    pki: Pki,
    dump: Callable[[Path, int], Tcpdump],
    tmp_path: Path,
) -> None:
    server = tls_server()
    capture, keys = tmp_path / "tls.pcap", tmp_path / "keys.log"
    tcpdump = dump(capture, server.port)
    recorder = Recorder(tcp)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "127.0.0.1", server.port) == 0
    options = SecureOptions(
        ca_file=str(pki.ca_file), server_name="localhost", keylog_file=str(keys)
    )
    assert await tcp.secure(sid, options) == 0
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600  # K2: created private
    await tcp.send(sid, REQUEST)
    assert await recorder.wait_bytes(sid, len(REQUEST)) == REQUEST  # the echo: both ways
    await tcp.disconnect(sid)
    await asyncio.sleep(0)
    tcpdump.stop()
    assert b"CLIENT_TRAFFIC_SECRET_0" in keys.read_bytes() or b"CLIENT_RANDOM" in keys.read_bytes()
    assert uris(capture, server.port, keys) == ["/secret-page"]
    assert uris(capture, server.port, None) == []


async def test_the_server_side_writes_keys_too(tcp: TcpSockets, pki: Pki, tmp_path: Path) -> None:
    keys = tmp_path / "server-keys.log"
    keys.write_bytes(b"")
    keys.chmod(0o644)  # an existing file is appended to and keeps its mode (K2)
    async with TcpServerSockets(tcp) as servers:
        accepts: list[AcceptInfo] = []
        servers.on_accept.add_listener(accepts.append)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, "127.0.0.1", 0) == 0
        port = (await servers.get_info(sid)).local_port
        assert port is not None
        me = (await tcp.create()).socket_id
        assert await tcp.connect(me, "localhost", port) == 0
        await wait_for(lambda: accepts)
        peer = accepts[0].client_socket_id
        client = asyncio.ensure_future(tcp.secure(me, SecureOptions(ca_file=str(pki.ca_file))))
        serving = ServerSecureOptions(
            cert_file=str(pki.valid.cert), key_file=str(pki.valid.key), keylog_file=str(keys)
        )
        assert await tcp.secure_server(peer, serving) == 0
        assert await asyncio.wait_for(client, TIMEOUT) == 0
    assert b"SERVER_TRAFFIC_SECRET_0" in keys.read_bytes() or b"CLIENT_RANDOM" in keys.read_bytes()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o644
    assert prepare_keylog(str(keys)) is True  # readable by others: the window warns


async def test_a_key_log_that_cannot_be_written_refuses_secure_with_the_reason(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], pki: Pki, tmp_path: Path
) -> None:
    server = tls_server()
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "127.0.0.1", server.port) == 0
    where = str(tmp_path / "missing" / "keys.log")
    options = SecureOptions(ca_file=str(pki.ca_file), server_name="localhost", keylog_file=where)
    assert await tcp.secure(sid, options) == NetError.INVALID_ARGUMENT
    detail = tcp.error_detail(sid, "secure")
    assert detail is not None and "cannot write TLS keys to" in detail and where in detail
    assert (await tcp.get_info(sid)).connected  # nothing was sent; the socket is unchanged
    assert not os.path.exists(where)


async def test_the_sockets_own_key_log_applies_where_the_options_name_none(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], pki: Pki, tmp_path: Path
) -> None:
    server = tls_server()
    everyone, own = tmp_path / "global.log", tmp_path / "own.log"
    tcp.keylog_file = str(everyone)
    first, second = (await tcp.create()).socket_id, (await tcp.create()).socket_id
    for sid in (first, second):
        assert await tcp.connect(sid, "127.0.0.1", server.port) == 0
    options = SecureOptions(ca_file=str(pki.ca_file), server_name="localhost")
    assert await tcp.secure(first, options) == 0
    assert await tcp.secure(second, dataclasses.replace(options, keylog_file=str(own))) == 0
    # K4's source: each socket's info names the file its keys go to.
    first_tls, second_tls = (await tcp.get_info(first)).tls, (await tcp.get_info(second)).tls
    assert first_tls is not None and first_tls.keylog_file == str(everyone)
    assert second_tls is not None and second_tls.keylog_file == str(own)
    assert everyone.read_bytes().count(b"CLIENT_TRAFFIC_SECRET_0") == 1
    assert own.read_bytes().count(b"CLIENT_TRAFFIC_SECRET_0") == 1
    tcp.keylog_file = None
    third = (await tcp.create()).socket_id
    assert await tcp.connect(third, "127.0.0.1", server.port) == 0
    assert await tcp.secure(third, options) == 0
    third_tls = (await tcp.get_info(third)).tls
    assert third_tls is not None and third_tls.keylog_file is None
    assert everyone.read_bytes().count(b"CLIENT_TRAFFIC_SECRET_0") == 1
