"""Fixtures for the UDP panels' tests: a session over a fresh core (its ``UdpSockets`` the
session's own), a task runner, and the panels in a host widget, against real sockets (plain
loopback peers from ``tests.net.test_udp``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.session import LoggedUdp, UdpRecord
from workbench.sockets import TcpSockets, UdpSocketInfo, UdpSocketProperties
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels import ResultLabel

LOOPBACK = "127.0.0.1"
API = "chrome.sockets.udp"


class UdpEnv:
    """A ``SocketSession`` (whose ``core.udp`` is the logged ``chrome.sockets.udp``), a runner,
    and helpers to make UDP sockets and panels."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.session = SocketSession(TcpSockets())
        self.runner = TaskRunner()
        self.failures: list[str] = []
        self.hosts: list[QWidget] = []
        self.runner.failed.connect(self.failures.append)

    @property
    def udp(self) -> LoggedUdp:
        return self.session.core.udp

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run one coroutine on the qasync loop from the (synchronous) test body."""
        task = asyncio.get_event_loop().create_task(coro)
        self.qtbot.waitUntil(task.done, timeout=WAIT_MS)
        return task.result()

    def create(self, properties: UdpSocketProperties | None = None) -> int:
        return int(self.run(self.udp.create(properties)).socket_id)

    def bound(self, properties: UdpSocketProperties | None = None) -> tuple[int, int]:
        """A new socket bound to 127.0.0.1 and a free port: (id, port)."""
        sid = self.create(properties)
        assert self.run(self.udp.bind(sid, LOOPBACK, 0)) == 0
        port = self.core_info(sid).local_port
        assert port
        return sid, port

    def core_info(self, sid: int) -> UdpSocketInfo:
        """The core's own answer (unlogged)."""
        info: UdpSocketInfo = self.run(self.udp.raw.get_info(sid))
        return info

    def record(self, sid: int) -> UdpRecord:
        record = self.udp.record(sid)
        assert record is not None
        return record

    def calls(self, method: str) -> list[str]:
        prefix = f"{API}.{method}("
        return [e.text for e in self.session.call_log.entries() if e.text.startswith(prefix)]

    def panel(self, cls: type[QWidget], sid: int | None = None) -> Any:
        # In a layout-less host, as inside the window (see tests/ui/test_panels.py).
        host = QWidget()
        self.hosts.append(host)
        self.qtbot.addWidget(host)
        host.resize(560, 640)
        panel = cls(self.session, self.runner, host)
        panel.setGeometry(0, 0, 560, 640)
        host.show()
        if sid is not None:
            panel.set_socket(sid)
        return panel

    def close(self) -> None:
        self.qtbot.waitUntil(lambda: self.runner.running == 0, timeout=WAIT_MS)
        self.run(self.session.close_all())
        self.session.shutdown()


@pytest.fixture
def env(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[UdpEnv]:
    environment = UdpEnv(qtbot)
    yield environment
    environment.close()
    assert environment.failures == []


def click(qtbot: Any, button: QAbstractButton) -> None:
    assert button.isEnabled(), f"{button.objectName()} is disabled: {button.toolTip()}"
    if isinstance(button, QCheckBox):
        # The box itself: the centre of a stretched check box can be empty space.
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(6, button.height() // 2))
    else:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_code(qtbot: Any, label: ResultLabel) -> int:
    """Wait until ``label`` shows a result code; that code."""
    qtbot.waitUntil(lambda: label.code is not None, timeout=WAIT_MS)
    assert label.code is not None
    return label.code
