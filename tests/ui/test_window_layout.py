"""The window's layout: it opens inside the screen (item 12), and the panels leave the data view
alone (item 15).

The screen tests run the window in a child process: ``QT_SCALE_FACTOR`` is read when the
QApplication is made, and the offscreen platform's screen is sized from a config file
(``offscreen:configfile=…``, Qt ≥ 6.5).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QLineEdit, QScrollArea

import pytest

from tests.conftest import TIMEOUT
from tests.net.tls_peers import Pki, ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import action, new_socket, show_tab, type_into
from workbench.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]

#: Builds the window with ``settings_dir``, shows it and prints its frame geometry and the
#: available geometry of its screen; with ``save``, first moves and resizes it and saves.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from workbench.app import build_main_window
    from workbench.sockets import TcpSockets

    app = QApplication([])
    window = build_main_window(TcpSockets(), settings_dir=Path(sys.argv[1]))
    if len(sys.argv) > 2:
        x, y, w, h = (int(v) for v in sys.argv[2].split(","))
        window.show()
        window.setMinimumSize(0, 0)
        window.setGeometry(x, y, w, h)
        app.processEvents()
        window.save_settings()
    else:
        window.show()
        app.processEvents()
    def rect(r):
        return [r.x(), r.y(), r.width(), r.height()]
    print(json.dumps({"frame": rect(window.frameGeometry()), "geometry": rect(window.geometry()),
                      "available": rect(window.screen().availableGeometry())}), flush=True)
    os._exit(0)  # no event loop here for the window's asynchronous shutdown
    """
)


def _screen_config(directory: Path, width: int, height: int) -> str:
    path = directory / f"screen-{width}x{height}.json"
    screen = {
        "name": "probe",
        "x": 0,
        "y": 0,
        "width": width,
        "height": height,
        "logicalDpi": 96,
        "dpr": 1,
    }
    path.write_text(json.dumps({"screens": [screen]}))
    return f"offscreen:configfile={path}"


def _probe(
    settings: Path, platform: str, scale: float, save: str | None = None
) -> dict[str, list[int]]:
    env = dict(
        os.environ, QT_QPA_PLATFORM=platform, QT_SCALE_FACTOR=str(scale), PYTHONPATH=str(ROOT)
    )
    args = [sys.executable, "-c", PROBE, str(settings)] + ([save] if save else [])
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=TIMEOUT * 4, check=False
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    result: dict[str, list[int]] = json.loads(line)
    return result


def _inside(frame: list[int], available: list[int]) -> bool:
    x, y, w, h = frame
    ax, ay, aw, ah = available
    return x >= ax and y >= ay and x + w <= ax + aw and y + h <= ay + ah


#: Saved geometries made on a 1200x800 screen: too big for the 1024x700 one, and partly off
#: it. (Qt drops a saved geometry when the screen's width changed by more than a quarter, as at
#: scale 1.5 and 2: the window then opens at its default size.)
SAVED = {"fresh": None, "too-big": "100,50,1100,740", "off-screen": "650,300,500,490"}


@pytest.mark.parametrize("scale", [1, 1.5, 2])
@pytest.mark.parametrize("profile", list(SAVED))
def test_the_window_opens_inside_the_available_geometry(
    tmp_path: Path, scale: float, profile: str
) -> None:
    settings = tmp_path / "settings"
    saved = SAVED[profile]
    wanted = (1280, 800)
    if saved is not None:
        made = _probe(settings, _screen_config(tmp_path, 1200, 800), 1, save=saved)
        assert made["geometry"][:2] == [int(v) for v in saved.split(",")[:2]], made
    shown = _probe(settings, _screen_config(tmp_path, 1024, 700), scale)
    frame, geometry, available = shown["frame"], shown["geometry"], shown["available"]
    assert available[2:] == [round(1024 / scale), round(700 / scale)]
    assert _inside(frame, available), shown
    room = (available[2] - (frame[2] - geometry[2]), available[3] - (frame[3] - geometry[3]))
    assert geometry[2] <= room[0] and geometry[3] <= room[1], shown
    if saved is None:
        # Fitted, not shrunk more than the screen asks.
        assert geometry[2:] == [min(wanted[0], room[0]), min(wanted[1], room[1])], shown


# ------------------------------------------------------------------------------ item 15


def _rows_visible(window: MainWindow) -> int:
    view = window.data_view
    return view.viewport().height() // view.row_height()


def test_the_panel_area_keeps_one_height_on_every_tab(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    qtbot.waitUntil(lambda: window.width() == 1280 and window.height() == 800, timeout=WAIT_MS)
    tabs, pane = window.tabs, window.data_pane
    first = (tabs.height(), pane.geometry())
    for index in (*range(tabs.count()), 0):
        tabs.setCurrentIndex(index)
        assert (tabs.height(), pane.geometry()) == first, tabs.tabText(index)


def test_toolbar_connect_acts_without_changing_the_tab(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    type_into(qtbot, window.connect_panel.findChild(QComboBox, "connectAddress"), "127.0.0.1")
    type_into(
        qtbot, window.connect_panel.findChild(QLineEdit, "connectPort"), str(echo_server.port)
    )
    show_tab(window, window.properties_panel)
    action(window, "connectAction").trigger()
    qtbot.waitUntil(lambda: window.session.state_text(sid) == "Connected", timeout=WAIT_MS)
    assert window.tabs.current_panel() is window.properties_panel


def test_toolbar_secure_acts_without_changing_the_tab(
    qtbot: Any, workbench_window: MainWindow, tls_echo_server: ThreadedServer, pki: Pki
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    type_into(qtbot, window.connect_panel.findChild(QComboBox, "connectAddress"), "127.0.0.1")
    type_into(
        qtbot, window.connect_panel.findChild(QLineEdit, "connectPort"), str(tls_echo_server.port)
    )
    action(window, "connectAction").trigger()
    qtbot.waitUntil(lambda: window.session.state_text(sid) == "Connected", timeout=WAIT_MS)
    window.tabs.trust_ca(str(pki.ca_file))
    show_tab(window, window.tcp_panel)
    qtbot.waitUntil(lambda: action(window, "secureAction").isEnabled(), timeout=WAIT_MS)
    action(window, "secureAction").trigger()
    qtbot.waitUntil(lambda: window.session.state_text(sid).startswith("TLS 1."), timeout=WAIT_MS)
    assert window.tabs.current_panel() is window.tcp_panel


def test_the_tls_tab_scrolls_to_the_top_when_the_socket_changes(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    first = new_socket(qtbot, window)
    new_socket(qtbot, window)
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900 and window.height() == 600, timeout=WAIT_MS)
    show_tab(window, window.tls_panel)
    scroll = window.tabs.scroll_of(window.tls_panel)
    assert isinstance(scroll, QScrollArea)
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)
    bar.setValue(bar.maximum())
    window.select_socket(first)
    assert window.current_socket() == first
    assert bar.value() == 0


def test_at_900_by_600_the_data_view_shows_8_rows(qtbot: Any, workbench_window: MainWindow) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900 and window.height() == 600, timeout=WAIT_MS)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        assert _rows_visible(window) >= 8, window.tabs.tabText(index)
