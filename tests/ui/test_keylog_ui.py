"""The TLS key log in the window: per socket on the TLS tab ("Write TLS keys to…"), the mark
on the row and the tab (K4) with the file's mode (K2), the global option in Edit (kept in the
settings) and ``SSLKEYLOGFILE`` at start (K3), all against a real local TLS server."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QPushButton

import pytest

from tests.net.tls_peers import Pki, ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_listen_panel import wait_accepted
from tests.ui.test_listen_tls import ca_file, tls_server
from tests.ui.test_main_window import (
    action,
    child,
    click,
    connect_to,
    new_socket,
    row_state,
    show_tab,
    type_into,
)
from workbench.net.servers import ServerKind, ServerManager, ServerSpec
from workbench.session.settings import SettingsStore
from workbench.ui.main_window import MainWindow
from workbench.ui.socket_model import Column

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def secure(qtbot: Any, window: MainWindow, port: int, pki: Pki, keylog: Path | None = None) -> int:
    """A new socket connected to the TLS echo server and secured from its TLS tab (with
    ``keylog`` in "Write TLS keys to…" when given)."""
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, port)
    show_tab(window, window.tls_panel)
    type_into(qtbot, child(window, "tlsCaFile", QLineEdit), str(pki.ca_file))
    field = child(window, "tlsKeylogFile", QLineEdit)
    assert field.text() == ""  # off by default
    if keylog is not None:
        type_into(qtbot, field, str(keylog))
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: window.session.result(sid, "secure") is not None, timeout=WAIT_MS)
    assert window.session.result(sid, "secure") == 0
    return sid


def cell(window: MainWindow, sid: int, column: Column, role: int = 0) -> str:
    row = window.model.row_of(sid)
    assert row is not None
    return str(window.model.index(row, column).data(role))


def nss_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_K4_a_socket_writing_its_keys_is_marked_on_its_row_and_its_tls_tab(
    qtbot: Any,
    workbench_window: MainWindow,
    tls_echo_server: ThreadedServer,
    pki: Pki,
    tmp_path: Path,
) -> None:
    window = workbench_window
    keys = tmp_path / "keys.log"
    sid = secure(qtbot, window, tls_echo_server.port, pki, keys)

    info = window.session.info(sid)
    assert info.tls is not None and info.tls.keylog_file == str(keys)
    # K1, K2: NSS key log lines, in a new file made 0600.
    assert nss_lines(keys) and all(line.split()[0].isupper() for line in nss_lines(keys))
    assert keys.stat().st_mode & 0o777 == 0o600
    qtbot.waitUntil(lambda: "keys logged" in row_state(window, sid), timeout=WAIT_MS)
    assert row_state(window, sid).endswith(" · keys logged")
    assert "readable by others" not in row_state(window, sid)
    assert cell(window, sid, Column.TLS).endswith("keys → keys.log")
    assert str(keys) in cell(window, sid, Column.STATE, 3)  # ToolTipRole
    note = child(window, "tlsKeylogNote", QLabel)
    qtbot.waitUntil(lambda: str(keys) in note.text(), timeout=WAIT_MS)
    assert note.isVisible()
    assert "readable by group or others" not in note.text()


def test_a_socket_without_a_key_log_has_no_mark(
    qtbot: Any,
    workbench_window: MainWindow,
    tls_echo_server: ThreadedServer,
    pki: Pki,
) -> None:
    window = workbench_window
    sid = secure(qtbot, window, tls_echo_server.port, pki)
    info = window.session.info(sid)
    assert info.tls is not None and info.tls.keylog_file is None
    qtbot.waitUntil(lambda: row_state(window, sid).startswith("TLS 1."), timeout=WAIT_MS)
    assert "keys" not in row_state(window, sid)
    assert not child(window, "tlsKeylogNote", QLabel).isVisible()


def test_K2_a_key_log_others_can_read_is_said_on_the_row_and_the_tab(
    qtbot: Any,
    workbench_window: MainWindow,
    tls_echo_server: ThreadedServer,
    pki: Pki,
    tmp_path: Path,
) -> None:
    window = workbench_window
    keys = tmp_path / "shared.keys"
    keys.write_text("")
    os.chmod(keys, 0o644)
    sid = secure(qtbot, window, tls_echo_server.port, pki, keys)

    assert keys.stat().st_mode & 0o777 == 0o644  # appended to, its mode kept
    assert nss_lines(keys)
    qtbot.waitUntil(lambda: "keys logged" in row_state(window, sid), timeout=WAIT_MS)
    assert row_state(window, sid).endswith("keys logged, readable by others!")
    assert "readable by group or others" in cell(window, sid, Column.STATE, 3)
    note = child(window, "tlsKeylogNote", QLabel)
    qtbot.waitUntil(lambda: "readable by group or others" in note.text(), timeout=WAIT_MS)
    assert note.isVisible()


def choose_global(qtbot: Any, window: MainWindow, path: Path) -> None:
    action(window, "globalKeylogAction").trigger()
    keylog = window.commands.keylog
    assert keylog is not None
    dialog = keylog.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()
    qtbot.waitUntil(lambda: keylog.path == str(path), timeout=WAIT_MS)


def test_the_global_key_log_applies_to_a_new_socket_and_persists(
    qtbot: Any,
    make_window: Callable[..., MainWindow],
    tls_echo_server: ThreadedServer,
    pki: Pki,
    tmp_path: Path,
) -> None:
    settings_dir = tmp_path / "settings"
    window = make_window(settings_dir=settings_dir)
    every = window.session.core.tcp
    assert every.keylog_file is None and not action(window, "globalKeylogAction").isChecked()
    keys = tmp_path / "every.keys"

    choose_global(qtbot, window, keys)

    assert every.keylog_file == str(keys)
    assert action(window, "globalKeylogAction").isChecked()
    assert str(keys) in action(window, "globalKeylogAction").toolTip()
    sid = secure(qtbot, window, tls_echo_server.port, pki)  # its own field left empty
    info = window.session.info(sid)
    assert info.tls is not None and info.tls.keylog_file == str(keys)
    assert nss_lines(keys)
    qtbot.waitUntil(lambda: "keys logged" in row_state(window, sid), timeout=WAIT_MS)
    # Its own field says "off": the note says where the keys come from all the same.
    note = child(window, "tlsKeylogNote", QLabel)
    qtbot.waitUntil(lambda: str(keys) in note.text(), timeout=WAIT_MS)
    assert "It is the global key log (Edit → Write TLS keys" in note.text()

    assert window.save_settings() is None
    saved, message = SettingsStore(settings_dir).load()
    assert message is None and saved.keylog_file == str(keys)

    # Chosen again: off, and kept off.
    action(window, "globalKeylogAction").trigger()
    assert every.keylog_file is None and not action(window, "globalKeylogAction").isChecked()
    window.save_settings()
    assert SettingsStore(settings_dir).load()[0].keylog_file is None


def test_the_saved_global_key_log_is_on_at_the_next_start(
    make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    settings_dir = tmp_path / "settings"
    store = SettingsStore(settings_dir)
    settings, _ = store.load()
    settings.keylog_file = str(tmp_path / "saved.keys")
    assert store.save(settings) is None

    window = make_window(settings_dir=settings_dir)

    assert window.session.core.tcp.keylog_file == str(tmp_path / "saved.keys")
    assert action(window, "globalKeylogAction").isChecked()


def test_K3_SSLKEYLOGFILE_turns_the_global_option_on_and_is_not_saved(
    make_window: Callable[..., MainWindow], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_dir = tmp_path / "settings"
    store = SettingsStore(settings_dir)
    settings, _ = store.load()
    settings.keylog_file = str(tmp_path / "chosen.keys")
    assert store.save(settings) is None
    from_env = tmp_path / "env.keys"
    monkeypatch.setenv("SSLKEYLOGFILE", str(from_env))

    window = make_window(settings_dir=settings_dir)

    assert window.session.core.tcp.keylog_file == str(from_env)
    assert from_env.exists() and from_env.stat().st_mode & 0o777 == 0o600
    global_action = action(window, "globalKeylogAction")
    assert global_action.isChecked()
    assert "(from $SSLKEYLOGFILE)" in global_action.text()
    assert "from $SSLKEYLOGFILE in the environment" in global_action.toolTip()
    assert window.save_settings() is None
    assert SettingsStore(settings_dir).load()[0].keylog_file == str(tmp_path / "chosen.keys")


def test_K3_the_global_key_log_covers_the_server_side_of_a_listening_socket(
    qtbot: Any, workbench_window: MainWindow, tmp_path: Path
) -> None:
    window = workbench_window
    window.attach_servers(ServerManager(tmp_path / "test-ca"))
    keys = tmp_path / "servers.keys"
    choose_global(qtbot, window, keys)
    server_id, port = tls_server(qtbot, window)
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, port)
    show_tab(window, window.tls_panel)
    type_into(qtbot, child(window, "tlsCaFile", QLineEdit), str(ca_file(tmp_path)))
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: window.session.result(sid, "secure") is not None, timeout=WAIT_MS)
    assert window.session.result(sid, "secure") == 0

    (accepted,) = wait_accepted(qtbot, window, server_id, 1)
    qtbot.waitUntil(lambda: window.session.info(accepted).tls is not None, timeout=WAIT_MS)
    tls = window.session.info(accepted).tls
    assert tls is not None and tls.keylog_file == str(keys)
    qtbot.waitUntil(lambda: "keys logged" in row_state(window, accepted), timeout=WAIT_MS)
    # Both ends of the one handshake logged it: the client's and the server's lines.
    assert len(nss_lines(keys)) >= 2 * 5


def test_K3_the_global_key_log_covers_the_built_in_tls_server(
    qtbot: Any, workbench_window: MainWindow, tmp_path: Path
) -> None:
    """Tools → Local servers' tls-echo writes its keys to the global key log too: the one
    handshake of a "New socket" to it is in the file twice, once from each end."""
    window = workbench_window
    window.attach_servers(ServerManager(tmp_path / "test-ca"))
    keys = tmp_path / "every.keys"
    choose_global(qtbot, window, keys)
    manager = window.server_manager
    assert manager is not None and manager.keylog_file == str(keys)
    task = window.runner.start(manager.start(ServerSpec(ServerKind.TLS_ECHO)), name="tls-echo")
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    server = task.result()
    panel = window.servers_panel
    assert panel is not None
    panel.newSocketRequested.emit(server.host, server.port, "tls-echo")
    qtbot.waitUntil(lambda: len(window.session.ids()) == 1, timeout=WAIT_MS)
    (sid,) = window.session.ids()
    qtbot.waitUntil(lambda: window.session.state_text(sid).startswith("TLS 1.3"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(nss_lines(keys)) >= 2 * 5, timeout=WAIT_MS)
    counts = Counter(nss_lines(keys))
    assert len(counts) == 5 and set(counts.values()) == {2}, counts
    # Its row in Local servers carries the mark too, naming the file (K4).
    state = child(window, "tlsEchoServerState", QLabel)
    panel.refresh()
    assert state.text() == "Running, keys logged" and str(keys) in state.toolTip()
    # Off again (Edit menu): the server follows (its next handshake writes no keys).
    action(window, "globalKeylogAction").trigger()
    assert manager.keylog_file is None
    panel.refresh()
    assert state.text() == "Running" and str(keys) not in state.toolTip()
