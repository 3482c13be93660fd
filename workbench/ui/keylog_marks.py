"""The mark a socket whose TLS keys are being written carries, on its row and its TLS tab.

K4: "A socket whose keys are being written shows it on its row and on its TLS tab." K2: "if
[an existing key log file] is readable by group or others, the row says so." The file named
by ``TlsInfo.keylog_file`` decrypts the socket's traffic, so the mark names it.

Whether others can read the file is asked once per handshake (``prepare_keylog``, a
``fstat``), when a row or the tab first shows the secured socket, never per repaint.
"""

from __future__ import annotations

import dataclasses
import os

from workbench.core.keylog import prepare_keylog
from workbench.core.types import TlsInfo

__all__ = ["MARKS", "KeylogMark", "KeylogMarks"]


@dataclasses.dataclass(frozen=True)
class KeylogMark:
    """Where a secured socket's keys go, and whether group or others can read that file."""

    path: str
    readable_by_others: bool
    #: Why the keys go there when the global option chose the file ("" otherwise): a
    #: socket whose own "Write TLS keys to…" field says "off" is marked all the same.
    origin: str = ""

    @property
    def state(self) -> str:
        """The State column's suffix (the column always on screen)."""
        return "keys logged, readable by others!" if self.readable_by_others else "keys logged"

    @property
    def cell(self) -> str:
        """The TLS cell's suffix: short, with the file's name."""
        text = f"keys → {os.path.basename(self.path) or self.path}"
        return text + " (readable by others!)" if self.readable_by_others else text

    @property
    def tip(self) -> str:
        """The tooltip and the TLS tab's note: the whole path, and why it matters."""
        text = (
            f"TLS keys are being written to {self.path}: anyone with this file can decrypt "
            "this connection (Wireshark: tls.keylog_file)."
        )
        if self.origin:
            text += f" {self.origin}"
        if self.readable_by_others:
            text += " The file is readable by group or others: chmod 600 it."
        return text


class KeylogMarks:
    """The marks of the sockets that log keys, by socket id, each worked out once for the
    ``TlsInfo`` it was asked for (a new handshake is a new ``TlsInfo``)."""

    def __init__(self) -> None:
        self._marks: dict[int, tuple[TlsInfo, KeylogMark]] = {}
        self._global: tuple[str, str] | None = None

    def set_global(self, path: str | None, origin: str) -> None:
        """The global key log is ``path`` now (None: off), chosen as ``origin`` says; the
        marks of later handshakes writing to it say so."""
        self._global = (path, origin) if path else None

    def mark(self, socket_id: int, tls: TlsInfo | None) -> KeylogMark | None:
        if tls is None or not tls.keylog_file:
            return None
        known = self._marks.get(socket_id)
        if known is not None and known[0] is tls:
            return known[1]
        try:
            readable = prepare_keylog(tls.keylog_file)
        except OSError:
            readable = False  # gone or unwritable now: the handshake wrote to it all the same
        origin = ""
        if self._global is not None and self._global[0] == tls.keylog_file:
            origin = self._global[1]
        found = KeylogMark(tls.keylog_file, readable, origin)
        self._marks[socket_id] = (tls, found)
        return found

    def forget(self, socket_id: int) -> None:
        self._marks.pop(socket_id, None)


#: One for the process: the table and the TLS tab ask about the same handshakes.
MARKS = KeylogMarks()
