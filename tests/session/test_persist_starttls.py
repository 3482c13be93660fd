"""A persistent socket's STARTTLS preset: saved with its TLS settings (as ALPN and "Resume
session" are), read back from the settings file, and run again by the restored socket's
Secure, against the fake STARTTLS servers of ``tests/net/starttls_peers.py``. A file written
before the preset was kept still loads, and its sockets are secured with a plain
``secure()``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.net.starttls_peers import starttls_server_handler
from tests.net.tls_peers import Pki, ThreadedServer, server_context
from workbench.core.types import SecureOptions, SocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey
from workbench.session.persist import persisted_sockets, restore_persistent
from workbench.session.session import Session
from workbench.session.settings import PersistedSocket, Settings, SettingsStore
from workbench.sockets import STARTTLS_PROTOCOLS


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def calls(session: Session, key: SocketKey, method: str) -> list[str]:
    prefix = f"chrome.sockets.tcp.{method}("
    return [
        e.text for e in session.call_log.entries() if e.key == key and e.text.startswith(prefix)
    ]


async def test_a_starttls_preset_survives_save_load_and_restore(
    session: Session,
    serve: Callable[..., ThreadedServer],
    pki: Pki,
    tmp_path: Path,
) -> None:
    server = serve(starttls_server_handler("smtp", server_context(pki.valid)), name="smtp")
    options = SecureOptions(ca_file=str(pki.ca_file), alpn=("smtp",), resume=True)
    key = await session.create(SocketProperties(name="mail", persistent=True))
    assert await session.connect(key, "localhost", server.port) == 0
    assert await session.starttls(key, "smtp", options) == 0
    server.wait_event("handshake")
    assert session.registry[key].intent.starttls == "smtp"

    store = SettingsStore(tmp_path / "cfg")
    settings = Settings(sockets=persisted_sockets(session))
    assert store.save(settings) is None
    written = json.loads(store.path.read_text(encoding="utf-8"))["sockets"]
    assert written[0]["starttls"] == "smtp" and written[0]["was_secure"] is True
    assert written[0]["secure"]["alpn"] == ["smtp"] and written[0]["secure"]["resume"] is True
    await session.close(key)

    loaded, message = store.load()
    assert message is None
    (entry,) = loaded.sockets
    assert entry.starttls == "smtp"
    restored = await restore_persistent(session, loaded.sockets)
    assert restored.messages == []
    (again,) = restored.keys
    record = session.registry[again]
    assert record.intent.starttls == "smtp" and record.intent.secure == options
    # The restored socket's Secure ran the preset's exchange, then the handshake.
    received, sent = server.wait_event("plaintext")  # type: ignore[misc]
    assert b"STARTTLS" in received and sent.startswith(b"220 ")
    server.wait_event("handshake")
    assert record.info.tls is not None and record.info.tls.verified
    (call,) = calls(session, again, "starttls")
    assert '"smtp"' in call and call.endswith("→ 0")
    assert calls(session, again, "secure") == []
    # Saved again as it came back.
    assert persisted_sockets(session)[0].starttls == "smtp"


async def test_a_file_without_the_preset_restores_a_plain_secure(
    session: Session,
    tls_server: Callable[..., ThreadedServer],
    pki: Pki,
    tmp_path: Path,
) -> None:
    server = tls_server()
    store = SettingsStore(tmp_path)
    old_entry = {
        "name": "old",
        "host": "localhost",
        "port": server.port,
        "secure": {"caFile": str(pki.ca_file), "verify": True},
        "was_secure": True,
    }
    store.path.write_text(json.dumps({"format": 1, "sockets": [old_entry]}), encoding="utf-8")
    loaded, message = store.load()
    assert message is None
    (entry,) = loaded.sockets
    assert entry.starttls is None
    (key,) = (await restore_persistent(session, loaded.sockets)).keys
    server.wait_event("handshake")
    assert session.registry[key].info.tls is not None
    assert session.registry[key].intent.starttls is None
    (call,) = calls(session, key, "secure")
    assert call.endswith("→ 0")
    assert calls(session, key, "starttls") == []


async def test_a_plain_secure_forgets_the_preset(
    session: Session, tls_server: Callable[..., ThreadedServer], pki: Pki
) -> None:
    """The preset saved is the one the last Secure ran: a plain ``secure()`` after a preset
    was drafted saves none."""
    server = tls_server()
    key = await session.create(SocketProperties(persistent=True))
    session.set_intent(key, starttls="imap")
    assert await session.connect(key, "localhost", server.port) == 0
    assert await session.secure(key, SecureOptions(ca_file=str(pki.ca_file))) == 0
    assert session.registry[key].intent.starttls is None
    assert persisted_sockets(session)[0].starttls is None


async def test_an_unknown_protocol_is_not_remembered(session: Session) -> None:
    key = await session.create(SocketProperties(persistent=True))
    with pytest.raises(ValueError, match="unknown STARTTLS protocol"):
        await session.starttls(key, "gopher")
    assert session.registry[key].intent.starttls is None
    assert session.registry[key].intent.secure is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("gopher", "unknown STARTTLS protocol 'gopher'"),
        ("", "unknown STARTTLS protocol ''"),
        (7, "unknown STARTTLS protocol '7'"),
    ],
)
def test_a_preset_this_version_does_not_know_keeps_the_entry_aside(
    value: object, problem: str
) -> None:
    """Restored without its preset, Secure would run another exchange: the entry is bad,
    named, and kept in the file as it was (issue 8, item 3)."""
    data = {"name": "mail", "host": "127.0.0.1", "port": 25, "starttls": value}
    settings = Settings.from_json({"sockets": [data]})
    assert settings.sockets == [] and settings.kept_sockets == [data]
    (message,) = settings.problems
    assert problem in message and ", ".join(STARTTLS_PROTOCOLS) in message
    assert settings.to_json()["sockets"] == [data]


def test_each_preset_round_trips_through_json() -> None:
    for protocol in (None, *STARTTLS_PROTOCOLS):
        entry = PersistedSocket(name="s", host="h.test", port=1, starttls=protocol)
        back = PersistedSocket.from_json(json.loads(json.dumps(entry.to_json())))
        assert back is not None and back.starttls == protocol and back.problem() is None
