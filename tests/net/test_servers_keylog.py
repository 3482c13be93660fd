"""The built-in TLS server (tls-echo) writes the keys of its handshakes to the global TLS key
log (``ServerManager.keylog_from``: the window's ``TcpSockets``), asked at each handshake.

The peer is the workbench's own client, or ``openssl s_client``: its keys go to a file of its
own (``SecureOptions.keylog_file`` wins over the global one; s_client's ``-keylogfile``), so
every line of the global file is the server's, and the same secrets as the client's lines
prove it is that handshake's.
"""

from __future__ import annotations

import logging
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Recorder, wait_for
from workbench.net.servers import RunningServer, ServerKind, ServerManager, ServerSpec
from workbench.sockets import SecureOptions, TcpSockets, TLSVersionConstraints

#: The label a handshake's key log line starts with, per TLS version: TLS 1.2's master secret
#: (``CLIENT_RANDOM``), TLS 1.3's traffic secrets (RFC 8446 names them, NSS writes them).
TLS12_LABELS = {"CLIENT_RANDOM"}
TLS13_LABELS = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
}


def nss_lines(path: Path) -> list[str]:
    """The key log's lines (``LABEL <client random> <secret>``), comments left out."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


async def handshake(tcp: TcpSockets, server: RunningServer, own_keys: Path, version: str) -> None:
    """Connect to ``server``, secure with ``version`` writing the client's keys to
    ``own_keys``, and prove the TLS connection carries bytes both ways."""
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "localhost", server.port) == 0
    options = SecureOptions(
        ca_file=server.ca_file,
        tls_version=TLSVersionConstraints(min=version, max=version),
        keylog_file=str(own_keys),
    )
    assert await tcp.secure(sid, options) == 0
    recorder = Recorder(tcp)
    assert (await tcp.send(sid, b"ping")).result_code == 0
    assert await recorder.wait_bytes(sid, 4) == b"ping"
    await tcp.close(sid)


@pytest.mark.parametrize(
    ("version", "labels"), [("tls1.2", TLS12_LABELS), ("tls1.3", TLS13_LABELS)]
)
async def test_tls_echo_writes_its_handshake_keys_to_the_global_key_log(
    tcp: TcpSockets, tmp_path: Path, version: str, labels: set[str]
) -> None:
    keys, client_keys = tmp_path / "global.keys", tmp_path / "client.keys"
    tcp.keylog_file = str(keys)  # the global key log is on before the server starts
    async with ServerManager(tmp_path / "ca", keylog_from=tcp) as manager:
        assert manager.keylog_file == str(keys)
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        await handshake(tcp, server, client_keys, version)
    server_lines = nss_lines(keys)
    assert {line.split()[0] for line in server_lines} == labels
    # The same secrets the client logged for that handshake, from the other end.
    assert sorted(server_lines) == sorted(nss_lines(client_keys))
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600  # K2: created private


async def test_turning_the_key_log_on_and_off_applies_to_the_next_handshakes(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    keys = tmp_path / "global.keys"
    own = [tmp_path / f"client-{n}.keys" for n in range(4)]
    async with ServerManager(tmp_path / "ca", keylog_from=tcp) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))  # started while off
        await handshake(tcp, server, own[0], "tls1.3")
        assert not keys.exists()
        tcp.keylog_file = str(keys)  # on: the server writes from its next handshake
        await handshake(tcp, server, own[1], "tls1.3")
        assert sorted(nss_lines(keys)) == sorted(nss_lines(own[1]))
        tcp.keylog_file = None  # off again
        await handshake(tcp, server, own[2], "tls1.3")
        assert sorted(nss_lines(keys)) == sorted(nss_lines(own[1]))
        tcp.keylog_file = str(keys)  # and on: appended
        await handshake(tcp, server, own[3], "tls1.3")
    assert sorted(nss_lines(keys)) == sorted(nss_lines(own[1]) + nss_lines(own[3]))
    assert len(nss_lines(own[3])) == len(TLS13_LABELS)


async def test_without_a_key_log_holder_no_keys_are_written(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    tcp.keylog_file = str(tmp_path / "global.keys")
    async with ServerManager(tmp_path / "ca") as manager:  # nothing to follow
        assert manager.keylog_file is None
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        await handshake(tcp, server, tmp_path / "client.keys", "tls1.3")
        assert server.ssl_context is not None and server.ssl_context.keylog_filename is None
    assert not (tmp_path / "global.keys").exists()


async def test_a_key_log_that_cannot_be_written_is_logged_and_the_handshake_runs(
    tcp: TcpSockets, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    where = tmp_path / "missing" / "global.keys"
    tcp.keylog_file = str(where)
    async with ServerManager(tmp_path / "ca", keylog_from=tcp) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        with caplog.at_level(logging.WARNING, logger="workbench.servers"):
            await handshake(tcp, server, tmp_path / "client.keys", "tls1.3")
        assert server.handshake_failures == 0
    assert not where.exists()
    (record,) = [r for r in caplog.records if "cannot write TLS keys" in r.getMessage()]
    assert str(where) in record.getMessage() and "tls-echo" in record.getMessage()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_an_openssl_s_client_handshake_is_logged_by_tls_echo(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    keys, client_keys = tmp_path / "global.keys", tmp_path / "s_client.keys"
    tcp.keylog_file = str(keys)
    async with ServerManager(tmp_path / "ca", keylog_from=tcp) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        assert server.ca_file is not None
        command = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
                   "-servername", "localhost", "-CAfile", server.ca_file, "-verify_return_error",
                   "-quiet", "-no_ign_eof", "-keylogfile", str(client_keys)]  # fmt: skip
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"ping\n")
            proc.stdin.close()
            await wait_for(lambda: proc.poll() is not None, message="s_client did not end")
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else b""
            # The server logs as it finishes its side of the handshake.
            await wait_for(
                lambda: sorted(nss_lines(keys)) == sorted(nss_lines(client_keys)),
                message=lambda: f"server {nss_lines(keys)} client {nss_lines(client_keys)}",
            )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
    assert {line.split()[0] for line in nss_lines(keys)} == TLS13_LABELS
