"""Socket → New server from preset, and the Local servers dock's "As a server row": a server
row listening on 127.0.0.1 with a preset's rules, on its Rules tab, against real clients (plain
sockets and Python's ssl client trusting the built-in test CA)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMenu, QToolButton

import pytest

from tests.ui.conftest import WAIT_MS
from tests.ui.test_listen_panel import (
    LOOPBACK,
    clients,  # noqa: F401 - a fixture
    connect_client,
    server,
    wait_accepted,
)
from tests.ui.test_listen_tls import ca_file
from tests.ui.test_main_window import action, child
from workbench.core.rules_presets import Preset, preset
from workbench.net.servers import ServerManager
from workbench.session import SocketKey, SocketKind
from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls
from workbench.ui.main_window import MainWindow
from workbench.ui.server_presets import PRESET_N, SERVER_PRESETS, ServerPreset
from workbench.ui.servers_panel import object_prefix

#: The rules each preset must install (TLS echo: TLS on accept, then the echo rule).
EXPECTED_RULES = {
    "echo": preset(Preset.ECHO),
    "tls-echo": preset(Preset.ECHO),
    "discard": preset(Preset.DISCARD),
    "close-after": preset(Preset.CLOSE_AFTER, 3),
    "reset-after": preset(Preset.RESET_AFTER, 3),
    "smtp": preset(Preset.SMTP),
    "redis": preset(Preset.REDIS),
    "http": preset(Preset.HTTP),
}


@pytest.fixture
def window(workbench_window: MainWindow, tmp_path: Path) -> MainWindow:
    """The window with its built-in servers and their test CA (as the application has)."""
    workbench_window.attach_servers(ServerManager(tmp_path / "test-ca"))
    return workbench_window


def wait_new_server(qtbot: Any, window: MainWindow, before: set[int]) -> int:
    """The server row made since ``before``, once it listens and is the current row."""
    qtbot.waitUntil(lambda: bool(set(window.session.server_ids()) - before), timeout=WAIT_MS)
    (server_id,) = set(window.session.server_ids()) - before
    qtbot.waitUntil(lambda: server(window, server_id).listening, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.current.server_id == server_id, timeout=WAIT_MS)
    return server_id


def from_preset(qtbot: Any, window: MainWindow, name: str) -> tuple[int, int]:
    """Trigger Socket → New server from preset → ``name``: (server id, its port)."""
    menu = child(window, "newServerPresetMenu", QMenu)
    found = action(window, f"newServerPreset_{name}")
    assert found in menu.actions()
    before = set(window.session.server_ids())
    found.trigger()
    server_id = wait_new_server(qtbot, window, before)
    port = server(window, server_id).info.local_port
    assert port is not None
    return server_id, port


def receive(qtbot: Any, sock: socket.socket, count: int) -> bytes:
    """``count`` bytes from a non-blocking ``sock``, read while the loop runs."""
    sock.setblocking(False)
    got = bytearray()

    def arrived() -> bool:
        try:
            chunk = sock.recv(4096)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        got.extend(chunk)
        return len(got) >= count or not chunk

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    return bytes(got)


def test_the_submenu_has_one_action_per_preset(window: MainWindow) -> None:
    menu = child(window, "newServerPresetMenu", QMenu)
    names = [a.objectName() for a in menu.actions()]
    assert names == [f"newServerPreset_{entry.name}" for entry in SERVER_PRESETS]
    assert [a.text() for a in menu.actions()] == [
        "Echo", "TLS echo", "Discard", "Close after 3", "Reset after 3", "SMTP", "Redis",
        "HTTP 200",
    ]  # fmt: skip
    assert set(EXPECTED_RULES) == {entry.name for entry in SERVER_PRESETS}
    assert PRESET_N == 3


@pytest.mark.parametrize("entry", SERVER_PRESETS, ids=lambda e: e.name)
def test_each_preset_makes_a_listening_row_with_its_rules_on_its_rules_tab(
    qtbot: Any, window: MainWindow, entry: ServerPreset
) -> None:
    server_id, port = from_preset(qtbot, window, entry.name)
    record = server(window, server_id)
    assert record.info.local_address == LOOPBACK and port > 0
    assert record.info.name == entry.label
    assert record.intent.listen == (LOOPBACK, 0, None)
    assert window.session.core.rules.ruleset(server_id) == EXPECTED_RULES[entry.name]
    expected_tls = ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES) if entry.tls else None
    assert record.intent.tls == expected_tls
    assert (window.session.servers.tls_options(server_id) is not None) == entry.tls
    assert window.current.key == SocketKey(SocketKind.TCP_SERVER, server_id)
    assert window.tabs.current_panel() is window.rules_panel
    assert window.rules_panel.server_id() == server_id
    assert window.rules_panel.ruleset() == EXPECTED_RULES[entry.name]


def test_echo_answers_a_plain_client(
    qtbot: Any,
    window: MainWindow,
    clients: list[socket.socket],  # noqa: F811
) -> None:
    server_id, port = from_preset(qtbot, window, "echo")
    sock = connect_client(clients, port)
    wait_accepted(qtbot, window, server_id, 1)
    sock.sendall(b"hello preset\n")
    assert receive(qtbot, sock, 13) == b"hello preset\n"
    assert window.session.core.rules.hit_counts(server_id) == (1,)


def test_tls_echo_handshakes_with_a_client_trusting_the_test_ca(
    qtbot: Any,
    window: MainWindow,
    clients: list[socket.socket],  # noqa: F811
    tmp_path: Path,
) -> None:
    server_id, port = from_preset(qtbot, window, "tls-echo")
    context = ssl.create_default_context(cafile=str(ca_file(tmp_path)))
    raw = connect_client(clients, port)
    tls = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    clients.append(tls)
    tls.setblocking(False)

    def handshaken() -> bool:
        try:
            tls.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        return True

    qtbot.waitUntil(handshaken, timeout=WAIT_MS)
    assert tls.version() is not None
    (accepted,) = wait_accepted(qtbot, window, server_id, 1)
    qtbot.waitUntil(lambda: window.session.info(accepted).tls is not None, timeout=WAIT_MS)
    tls.sendall(b"over tls")
    assert receive(qtbot, tls, 8) == b"over tls"


def test_tls_echo_without_a_test_ca_makes_no_row_and_says_why(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window  # no built-in servers: no test CA directory
    before = set(window.session.server_ids())
    action(window, "newServerPreset_tls-echo").trigger()
    assert "Cannot make the TLS echo server" in window.statusBar().currentMessage()
    assert set(window.session.server_ids()) == before


@pytest.mark.parametrize("kind", ["echo", "tls-echo", "discard", "close-after", "reset-after"])
def test_the_dock_s_as_a_server_row_makes_the_same_preset(
    qtbot: Any, window: MainWindow, kind: str
) -> None:
    button = child(window, f"{object_prefix(kind)}AsRow", QToolButton)
    before = set(window.session.server_ids())
    button.click()
    server_id = wait_new_server(qtbot, window, before)
    assert window.session.core.rules.ruleset(server_id) == EXPECTED_RULES[kind]
    assert window.tabs.current_panel() is window.rules_panel


def test_chargen_and_slow_drip_stay_code_and_the_dock_says_so(window: MainWindow) -> None:
    panel = window.servers_panel
    assert panel is not None
    assert panel.row("chargen").as_row is None
    assert panel.row("slow-drip").as_row is None
    assert panel.row("echo").as_row is not None
    dock = window.servers_dock
    assert dock is not None
    assert "Chargen" in dock.toolTip() and "stay built-in code" in dock.toolTip()
    assert panel.toolTip() == dock.toolTip()
