"""Persistent servers and UDP sockets through the window: saved when it closes, restored when it
starts again (servers with their rules, UDP sockets bound where they were), a bad entry named in
the banner and written back as it was (issue 9: 'a persistent server with rules is restored';
issue 10: 'A persistent UDP socket comes back bound to the same address and port')."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.net.test_tcp_server import connect_plain, recv_exactly
from tests.ui.conftest import WAIT_MS, close_window
from workbench.core.rules_presets import Preset, preset
from workbench.core.types import ServerSocketProperties, UdpSocketProperties

LOOPBACK = "127.0.0.1"
BAD = {"name": "smtp", "address": LOOPBACK, "port": 70000, "rules": None}


def test_a_persistent_server_with_rules_is_restored(
    qtbot: Any, make_window: Callable[..., Any], aio: Callable[..., Any], tmp_path: Path
) -> None:
    settings_dir = tmp_path / "cfg"
    settings_dir.mkdir()
    (settings_dir / "settings.json").write_text(
        json.dumps({"first_start_done": True, "servers": [BAD]}), encoding="utf-8"
    )
    window = make_window(restore_session=True, settings_dir=settings_dir)
    servers = window.session.core.servers
    sid = aio(servers.create(ServerSocketProperties(name="redis", persistent=True))).socket_id
    assert aio(servers.listen(sid, LOOPBACK, 0)) == 0
    assert window.session.core.rules.set_rules(sid, preset(Preset.REDIS)) == []
    aio(servers.create(ServerSocketProperties(name="not kept")))
    port = servers.record(sid).info.local_port
    close_window(qtbot, window)
    saved = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["port"]) for s in saved["servers"]] == [("redis", port), ("smtp", 70000)]
    assert saved["servers"][1] == BAD

    window = make_window(restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(
            lambda: window.setup_task is not None and window.setup_task.done(), timeout=WAIT_MS
        )
        assert window.setup_task.exception() is None
        registry = window.session.core.registry
        (key,) = registry.server_keys()
        record = registry.server(key)
        assert record.info.name == "redis" and record.info.persistent
        assert (record.info.local_address, record.info.local_port) == (LOOPBACK, port)
        assert window.session.core.rules.ruleset(key.id) == preset(Preset.REDIS)
        assert aio(_ping(port)) == b"+PONG\r\n"
        reported = [message for message, _ in window.error_banner.messages]
        assert reported == [
            "The persistent server 'smtp' (127.0.0.1:70000) cannot be restored (port must be "
            "in 0..65535, not 70000); it is kept in the settings file as it is."
        ]
    finally:
        close_window(qtbot, window)
    again = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert again["servers"] == saved["servers"]


async def _ping(port: int) -> bytes:
    made: list[socket.socket] = []
    try:
        client = await connect_plain(made, port)
        await asyncio.get_running_loop().sock_sendall(client, b"PING\r\n")
        return await recv_exactly(client, 7)
    finally:
        for sock in made:
            sock.close()


BAD_UDP = {"name": "mdns", "address": LOOPBACK, "port": 5353, "ttl": 999}


def test_a_persistent_udp_socket_is_restored_bound_where_it_was(
    qtbot: Any, make_window: Callable[..., Any], aio: Callable[..., Any], tmp_path: Path
) -> None:
    """Issue 10: 'A persistent UDP socket comes back bound to the same address and port':
    saved when the window closes, bound again when it starts; a bad entry named in the banner
    and written back as it was."""
    settings_dir = tmp_path / "cfg"
    settings_dir.mkdir()
    (settings_dir / "settings.json").write_text(
        json.dumps({"first_start_done": True, "udp": [BAD_UDP]}), encoding="utf-8"
    )
    window = make_window(restore_session=True, settings_dir=settings_dir)
    udp = window.session.core.udp
    sid = aio(udp.create(UdpSocketProperties(name="syslog", persistent=True))).socket_id
    assert aio(udp.bind(sid, LOOPBACK, 0)) == 0
    assert aio(udp.set_multicast_time_to_live(sid, 3)) == 0
    aio(udp.bind((aio(udp.create(UdpSocketProperties(name="not kept")))).socket_id, LOOPBACK, 0))
    port = udp.record(sid).info.local_port
    close_window(qtbot, window)
    saved = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert [(s["name"], s["port"]) for s in saved["udp"]] == [("syslog", port), ("mdns", 5353)]
    assert saved["udp"][1] == BAD_UDP

    window = make_window(restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(
            lambda: window.setup_task is not None and window.setup_task.done(), timeout=WAIT_MS
        )
        assert window.setup_task.exception() is None
        registry = window.session.core.registry
        (key,) = registry.udp_keys()
        record = registry.udp(key)
        assert record.info.name == "syslog" and record.info.persistent
        assert (record.info.local_address, record.info.local_port) == (LOOPBACK, port)
        assert record.intent.ttl == 3
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.sendto(b"ping", (LOOPBACK, port))
            qtbot.waitUntil(lambda: record.datagrams_in == 1, timeout=WAIT_MS)
        reported = [message for message, _ in window.error_banner.messages]
        assert reported == [
            "The persistent UDP socket 'mdns' (127.0.0.1:5353) cannot be restored (ttl must be "
            "in 0..255, not 999); it is kept in the settings file as it is."
        ]
    finally:
        close_window(qtbot, window)
    again = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert again["udp"] == saved["udp"]
