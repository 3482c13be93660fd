"""``socket-workbench --self-test``: the real window, offscreen, driven through its own controls
against the built-in echo and TLS echo servers, with a transcript of what it saw."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QWidget

from workbench.net.servers import ServerKind, ServerSpec
from workbench.ui.main_window import MainWindow

__all__ = ["SelfTest", "SelfTestError"]

W = TypeVar("W", bound=QWidget)


class SelfTestError(AssertionError):
    pass


async def until(what: str, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SelfTestError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def set_text(widget: Any, text: str) -> None:
    if hasattr(widget, "setPlainText"):
        widget.setPlainText(text)
    elif hasattr(widget, "setEditText"):
        widget.setEditText(text)
    else:
        widget.setText(text)


class SelfTest:
    """The steps, each through the window's own widgets, found by their object names."""

    def __init__(self, window: MainWindow, say: Callable[[str], None]) -> None:
        self.window = window
        self.session = window.session
        self.say = say

    def find(self, kind: type[W], name: str) -> W:
        widget = self.window.findChild(kind, name)
        if widget is None:
            raise SelfTestError(f"no {kind.__name__} named {name!r} in the window")
        return widget

    async def run(self) -> None:
        window = self.window
        await until("the window's set-up",
                    lambda: window.setup_task is None or window.setup_task.done())
        manager = window.server_manager
        echo = manager.find(ServerKind.ECHO) if manager is not None else None
        if manager is None or echo is None:
            raise SelfTestError("the built-in echo server did not start")
        tls = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        self.say(f"servers: echo on 127.0.0.1:{echo.port}, tls-echo on 127.0.0.1:{tls.port}")
        sid = await self.new_socket()
        await self.connect(sid, echo.port)
        await self.send(sid, "Text", "hello, workbench", b"hello, workbench")
        await self.send(sid, "Hex", "de ad be ef 00 0a", bytes.fromhex("deadbeef000a"))
        sid2 = await self.new_socket()
        await self.connect(sid2, tls.port)
        await self.secure(sid2, str(tls.ca_file))
        await self.send(sid2, "Text", "secret over TLS", b"secret over TLS")
        entries = window.call_log.entries()
        failures = [e.text for e in entries if not e.ok]
        if failures:
            raise SelfTestError(f"failed calls in the call log: {failures}")
        self.say(f"call log: {len(entries)} calls, none failed")

    async def new_socket(self) -> int:
        session, window = self.session, self.window
        before = set(session.ids())
        window.new_action.trigger()
        await until("the new socket", lambda: set(session.ids()) - before)
        sid = max(set(session.ids()) - before)
        await until("the new socket to be selected", lambda: window.current_socket() == sid)
        return sid

    async def connect(self, sid: int, port: int) -> None:
        set_text(self.find(QComboBox, "connectAddress"), "127.0.0.1")
        set_text(self.find(QLineEdit, "connectPort"), str(port))
        self.find(QPushButton, "connectButton").click()
        session = self.session
        await until(f"socket {sid} to connect",
                    lambda: (i := session.info(sid)) is not None and i.connected)
        self.say(f"socket {sid}: connect(127.0.0.1, {port}) → 0, state "
                 f"{session.state_text(sid)}")

    async def secure(self, sid: int, ca_file: str) -> None:
        set_text(self.find(QLineEdit, "tlsCaFile"), ca_file)
        button = self.find(QPushButton, "secureButton")
        await until("the Secure button", button.isEnabled)
        button.click()
        session = self.session
        await until("the TLS handshake",
                    lambda: (i := session.info(sid)) is not None and i.tls is not None)
        info = session.info(sid)
        assert info is not None and info.tls is not None
        self.say(f"socket {sid}: secure() → 0, {info.tls.version} {info.tls.cipher}, "
                 f"verified={info.tls.verified}")

    async def send(self, sid: int, mode: str, text: str, expected: bytes) -> None:
        store = self.session.captures(sid)
        before = store.bytes_in
        combo = self.find(QComboBox, "sendMode")
        combo.setCurrentIndex(combo.findText(mode))
        endings = self.find(QComboBox, "sendLineEnding")
        endings.setCurrentIndex(endings.findText("None"))
        set_text(self.find(QWidget, "sendInput"), text)
        button = self.find(QPushButton, "sendButton")
        await until("the Send button to accept the input", button.isEnabled)
        button.click()
        await until(f"the echo of {text!r}", lambda: store.bytes_in >= before + len(expected))
        echoed = store.read(store.total_bytes - len(expected), len(expected))
        if echoed != expected:
            raise SelfTestError(f"echo mismatch: sent {expected!r}, got {echoed!r}")
        self.say(f"socket {sid}: sent {mode.lower()} {text!r} → echoed {expected.hex(' ')}")
