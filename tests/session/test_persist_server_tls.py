"""A persistent server's TLS on accept: saved with it, checked when read, and restored so that
the first client after a restart is secured again."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from workbench.core.rules_presets import Preset, preset
from workbench.core.rules_store import ruleset_to_dict
from workbench.core.types import ServerSocketProperties
from workbench.net.servers.certificates import ensure_certificates
from workbench.net.tcp import TcpSockets
from workbench.session.persist_servers import persisted_servers, restore_servers
from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls
from workbench.session.session import Session
from workbench.session.settings import PersistedServer, Settings, SettingsStore
from workbench.session.settings_servers import server_tls_from_json, server_tls_to_json

LOOPBACK = "127.0.0.1"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    s.servers.cert_dir = tmp_path / "test-ca"
    yield s
    s.shutdown()


@pytest.mark.parametrize(
    "tls",
    [
        ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES),
        ServerTls(test_ca_names=("a.test",), ca_file="/ca.pem"),
        ServerTls(cert_file="/c.pem", key_file="/k.pem"),
        ServerTls(cert_file="/c.pem", key_file="/k.pem", ca_file="/ca.pem"),
        ServerTls(test_ca_names=("localhost",), on_accept=False),
        ServerTls(cert_file="/c.pem", key_file="/k.pem", on_accept=False),
    ],
)
def test_tls_settings_round_trip(tls: ServerTls) -> None:
    saved = server_tls_to_json(tls)
    assert saved is not None
    assert server_tls_from_json(saved) == tls
    entry = PersistedServer.from_json({"name": "t", "tls": saved})
    assert entry is not None and entry.problem() is None and entry.tls == saved
    assert entry.to_json()["tls"] == saved


def test_on_accept_is_saved_only_when_off_and_old_files_load_as_on_accept() -> None:
    on_accept = ServerTls(test_ca_names=("localhost",))
    assert server_tls_to_json(on_accept) == {"test_ca_names": ["localhost"], "ca_file": None}
    assert server_tls_from_json({"test_ca_names": ["localhost"]}).on_accept
    saved = server_tls_to_json(ServerTls(test_ca_names=("localhost",), on_accept=False))
    assert saved == {"test_ca_names": ["localhost"], "ca_file": None, "on_accept": False}


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        ("yes", 'tls must be an object or null, not "yes"'),
        ({"cert_file": "/c.pem"}, "a certificate file and its key file go together"),
        ({}, "a certificate comes from files or from the test CA: one of them"),
        ({"test_ca_names": "localhost"}, "test_ca_names must be a list of names"),
        ({"test_ca_names": ["x"], "pin": 1}, "unknown TLS setting 'pin'"),
        ({"cert_file": 7, "key_file": "/k"}, "cert_file must be a str or None, not int"),
        ({"test_ca_names": ["x"], "on_accept": "no"}, "on_accept must be a bool, not str"),
    ],
)
def test_bad_tls_settings_make_the_entry_bad(tls: Any, problem: str) -> None:
    entry = PersistedServer.from_json({"name": "t", "address": LOOPBACK, "port": 1, "tls": tls})
    assert entry is not None
    found = entry.problem()
    assert found is not None and found.endswith(problem)


async def test_a_tls_server_comes_back_securing_its_clients(
    session: Session, tmp_path: Path
) -> None:
    servers = session.servers
    sid = (await servers.create(ServerSocketProperties(name="tls", persistent=True))).socket_id
    tls = ServerTls(test_ca_names=("localhost",))
    servers.set_tls(sid, tls)
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    record = servers.record(sid)
    assert record is not None and record.info.local_port
    port = record.info.local_port
    saved = persisted_servers(session)
    assert saved == [
        PersistedServer(
            name="tls",
            address=LOOPBACK,
            port=port,
            tls={"test_ca_names": ["localhost"], "ca_file": None},
        )
    ]
    store = SettingsStore(tmp_path / "cfg")
    assert store.save(Settings(servers=saved)) is None
    await servers.close_all()

    tcp = TcpSockets()
    later = Session(tcp, capture_dir=tmp_path / "later")
    later.servers.cert_dir = tmp_path / "test-ca"
    try:
        settings, message = store.load()
        assert message is None
        restored = await restore_servers(later, settings.servers)
        assert restored.messages == [] and len(restored.keys) == 1
        again = later.registry.server(restored.keys[0])
        assert again is not None and again.intent.tls == tls and again.listening
        context = ssl.create_default_context(
            cafile=str(ensure_certificates(tmp_path / "test-ca").ca_file)
        )
        _, writer = await asyncio.open_connection(
            LOOPBACK, port, ssl=context, server_hostname="localhost"
        )
        try:
            rows: list[Any] = []

            def secured() -> bool:
                rows[:] = [r for k in later.registry if (r := later.registry[k]).server]
                return bool(rows) and rows[0].info.tls is not None

            await wait_for(secured)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
        assert persisted_servers(later) == saved
    finally:
        await later.servers.close_all()
        later.shutdown()
        await tcp.shutdown()


async def test_the_test_ca_without_a_directory_skips_the_entry(session: Session) -> None:
    session.servers.cert_dir = None
    entry = PersistedServer(name="tls", tls={"test_ca_names": ["localhost"]})
    restored = await restore_servers(session, [entry])
    assert restored.keys == [] and len(restored.skipped) == 1
    assert "the built-in test CA has no directory" in restored.messages[0]
    assert list(session.registry.server_keys()) == []


async def test_a_start_tls_server_comes_back_with_its_rules_holding_the_certificate(
    session: Session,
) -> None:
    rules = ruleset_to_dict(preset(Preset.TLS_ECHO))
    entry = PersistedServer(
        name="starttls",
        rules=rules,
        tls={"test_ca_names": ["localhost"], "ca_file": None, "on_accept": False},
    )
    restored = await restore_servers(session, [entry])
    try:
        assert restored.messages == [] and len(restored.keys) == 1
        sid = restored.keys[0].id
        record = session.servers.record(sid)
        assert record is not None and record.intent.tls is not None
        assert not record.intent.tls.on_accept
        responder = session.rules.responder(sid)
        options = session.servers.start_tls_options(sid)
        assert responder is not None and options is not None and responder.tls == options
        assert session.servers.tls_options(sid) is None
        assert persisted_servers(session)[0].tls == entry.tls
    finally:
        await session.servers.close_all()
