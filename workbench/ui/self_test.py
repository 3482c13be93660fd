"""``socket-workbench --self-test``: the real window, offscreen, driven through its own controls
against the built-in echo and TLS echo servers, with a transcript of what it saw.

Its last step checks collation, which the package's cut-down ICU data must keep working:
``QCollator`` orders where ICU and code points disagree, and the socket table sorted by name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from functools import cmp_to_key
from typing import Any, TypeVar

from PySide6.QtCore import QCollator, QLocale, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QWidget

from workbench.net.servers import ServerKind, ServerSpec
from workbench.ui.main_window import MainWindow
from workbench.ui.panels import PropertiesPanel
from workbench.ui.socket_model import SOCKET_ID_ROLE, Column

__all__ = ["COLLATION_CASES", "SelfTest", "SelfTestError", "check_collation", "collated"]

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


#: (locale, words, the order ICU's collation gives them). Code points order each differently
#: (capitals first); the Swedish order ("ä" after "z") needs that language's own collation data,
#: coll/sv.res, where ICU's root collation, which English uses, puts "ä" next to "a".
COLLATION_CASES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("en_US", ("c", "B", "ä", "a"), ("a", "ä", "B", "c")),
    ("sv_SE", ("ä", "Z", "a"), ("a", "Z", "ä")),
)


def collated(words: Iterable[str], collator: QCollator) -> list[str]:
    return sorted(words, key=cmp_to_key(collator.compare))


def check_collation(
    collator_for: Callable[[str], QCollator] = lambda name: QCollator(QLocale(name)),
) -> list[str]:
    """Raise ``SelfTestError`` unless every ``COLLATION_CASES`` order holds; one line each.
    ``QCollator`` without its ICU data compares code points."""
    lines = []
    for locale, words, expected in COLLATION_CASES:
        got = collated(words, collator_for(locale))
        if tuple(got) != expected:
            raise SelfTestError(
                f"collation ({locale}): {' < '.join(got)}, expected {' < '.join(expected)}"
            )
        lines.append(f"collation ({locale}): {' < '.join(got)}")
    return lines


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
        await until(
            "the window's set-up", lambda: window.setup_task is None or window.setup_task.done()
        )
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
        for line in check_collation():
            self.say(line)
        await self.sort_by_name({sid: "B-echo", sid2: "a-tls"})

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
        await until(
            f"socket {sid} to connect", lambda: (i := session.info(sid)) is not None and i.connected
        )
        self.say(f"socket {sid}: connect(127.0.0.1, {port}) → 0, state {session.state_text(sid)}")

    async def secure(self, sid: int, ca_file: str) -> None:
        set_text(self.find(QLineEdit, "tlsCaFile"), ca_file)
        button = self.find(QPushButton, "secureButton")
        await until("the Secure button", button.isEnabled)
        button.click()
        session = self.session
        await until(
            "the TLS handshake", lambda: (i := session.info(sid)) is not None and i.tls is not None
        )
        info = session.info(sid)
        assert info is not None and info.tls is not None
        self.say(
            f"socket {sid}: secure() → 0, {info.tls.version} {info.tls.cipher}, "
            f"verified={info.tls.verified}"
        )

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

    async def rename(self, sid: int, name: str) -> None:
        """Through the Properties tab: select the socket, type the name, Apply."""
        window, session = self.window, self.session
        window.table.select_id(sid)
        panel = self.find(PropertiesPanel, "propertiesPanel")
        await until(f"the Properties tab to show socket {sid}", lambda: panel.socket_id() == sid)
        set_text(self.find(QLineEdit, "propertiesName"), name)
        button = self.find(QPushButton, "propertiesApply")
        await until("the Apply button", button.isEnabled)
        button.click()
        await until(
            f"socket {sid}'s name {name!r}",
            lambda: (i := session.info(sid)) is not None and i.name == name,
        )

    async def sort_by_name(self, names: dict[int, str]) -> None:
        """Name the sockets, sort the table by its Name column, and check that its rows come in
        the order an English collator gives the names; then sort by id again."""
        for sid, name in names.items():
            await self.rename(sid, name)
        table = self.window.table
        table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        model = table.model()
        shown = [model.index(row, 0).data(SOCKET_ID_ROLE) for row in range(model.rowCount())]
        order = [names[sid] for sid in shown if sid in names]
        expected = collated(names.values(), QCollator(QLocale("en_US")))
        table.sortByColumn(Column.ID, Qt.SortOrder.AscendingOrder)
        if order != expected:
            raise SelfTestError(f"the table sorted by name shows {order}, expected {expected}")
        self.say(f"socket table sorted by name: {', '.join(order)}")
