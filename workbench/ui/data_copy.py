"""Copying out of the data view: the selection (capped), and one datagram's Copy datagram (as
text, as hex) and Save datagram….

A UDP socket's capture is a ``DatagramStore``: one record per datagram, each under its own
header row. ``DatagramActions`` is a helper of ``DataView`` (no widget of its own): the view
gives it the datagram under the pointer (or where the selection starts) and its context menu,
and it adds the per-datagram actions beside the whole capture's.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from workbench.core import codecs
from workbench.core.capture import CaptureStore, DatagramStore
from workbench.core.dump_layout import Row, write_datagram
from workbench.core.formatting import format_size
from workbench.ui.data_save import HEX_FILTER, CaptureSaver

__all__ = [
    "COPY_DATAGRAM_HEX_ACTION",
    "COPY_DATAGRAM_TEXT_ACTION",
    "DATAGRAM_FILTERS",
    "RAW_DATAGRAM_FILTER",
    "SAVE_DATAGRAM_ACTION",
    "DatagramActions",
    "read_to_copy",
]

#: objectNames of the context menu's per-datagram actions.
COPY_DATAGRAM_TEXT_ACTION = "copyDatagramTextAction"
COPY_DATAGRAM_HEX_ACTION = "copyDatagramHexAction"
SAVE_DATAGRAM_ACTION = "saveDatagramAction"

RAW_DATAGRAM_FILTER = "Raw bytes of the datagram (*.bin)"
#: Save datagram…'s file types: whether each is the hex dump (its header row, then its rows).
DATAGRAM_FILTERS: dict[str, bool] = {RAW_DATAGRAM_FILTER: False, HEX_FILTER: True}


def read_to_copy(
    store: CaptureStore | None,
    to_copy: Callable[[int, int], tuple[int, int, int]],
    cap: int,
    what: str,
    say: Callable[[str], None],
) -> bytes | None:
    """The bytes a whole-capture copy takes: ``to_copy(total, cap)`` gives (start, end,
    wanted), the selection's or everything's (``ByteSelection.to_copy``), at most ``cap``
    bytes; ``say`` tells the user when there is nothing, or what the cap left out."""
    if store is None or store.total_bytes == 0:
        say(f"{what}: nothing to copy")
        return None
    start, end, wanted = to_copy(store.total_bytes, cap)
    if wanted > cap:
        say(
            f"{what}: copied the first {format_size(cap)} of {format_size(wanted)}; "
            "use Save data… for all of it"
        )
    else:
        say("")
    return store.read(start, end - start)


class DatagramActions(QObject):
    """Copy and save one datagram of a ``DatagramStore`` (by index: its record's).

    ``store`` gives the view's capture, ``as_text`` turns bytes into what Copy as text copies
    (the view's encoding and escapes), ``saver`` keeps the folder the last save went to.
    Only the datagram's bytes are copied or saved raw: never its header row.

    Signals:
        message(str): for the user (copied, saved, or why not).
    """

    message = Signal(str)

    def __init__(
        self,
        parent: QWidget,
        store: Callable[[], CaptureStore | None],
        as_text: Callable[[bytes], str],
        saver: CaptureSaver,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._store = store
        self._as_text = as_text
        self._saver = saver

    def __repr__(self) -> str:
        return f"<DatagramActions {self.datagram_store()!r}>"

    def datagram_store(self) -> DatagramStore | None:
        """The view's capture if it keeps datagrams (an open ``DatagramStore``), else None."""
        store = self._store()
        return store if isinstance(store, DatagramStore) and not store.closed else None

    def index_at(
        self,
        point: QPoint | None,
        rows: list[Row],
        line_height: int,
        selection: tuple[int, int] | None,
    ) -> int | None:
        """The datagram whose row (header or bytes) is at ``point`` among the view's ``rows``
        (from its top, ``line_height`` apart); without a point, the one where ``selection``
        starts. None: there is none, or the capture keeps no datagrams."""
        store = self.datagram_store()
        if store is None:
            return None
        if point is None:
            return None if selection is None else store.record_at(selection[0]).index
        i = point.y() // line_height
        return rows[i].record.index if point.y() >= 0 and i < len(rows) else None

    def data(self, index: int) -> bytes:
        """The bytes of datagram ``index`` (its kept bytes, without its header row)."""
        store = self.datagram_store()
        if store is None:
            raise ValueError("the capture shown keeps no datagrams")
        record = store.record(index)
        return store.read(record.stream_offset, record.size)

    def copy_as_text(self, index: int) -> bool:
        """Datagram ``index`` on the clipboard as the text view shows it (Copy as text's)."""
        return self._copy(index, self._as_text)

    def copy_as_hex(self, index: int) -> bool:
        """Datagram ``index`` on the clipboard as "68 65 6c 6c 6f"."""
        return self._copy(index, codecs.hex_pairs)

    def _copy(self, index: int, convert: Callable[[bytes], str]) -> bool:
        if self.datagram_store() is None:
            self.message.emit("Copy datagram: the capture shown keeps no datagrams")
            return False
        data = self.data(index)
        QGuiApplication.clipboard().setText(convert(data))
        self.message.emit(f"Copied the datagram ({format_size(len(data))})")
        return True

    def save(self, index: int, path: str | os.PathLike[str], as_hex_dump: bool = False) -> int:
        """Write datagram ``index`` to ``path``: its bytes, or its header row and hex rows
        (``dump_layout.write_datagram``); returns its size. At once: a datagram is small."""
        store = self.datagram_store()
        if store is None:
            raise ValueError("the capture shown keeps no datagrams")
        return write_datagram(store, index, path, as_hex_dump)

    def save_dialog(self, index: int) -> QFileDialog:
        """Ask where to save datagram ``index`` (non-modal), then save it and say so."""

        def chosen(path: str, name_filter: str) -> None:
            try:
                size = self.save(index, path, DATAGRAM_FILTERS.get(name_filter, False))
            except (OSError, ValueError, IndexError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.message.emit(f"Could not save {path}: {reason}")
                return
            self.message.emit(f"Saved the datagram ({format_size(size)}) to {path}")

        return self._saver.save_dialog(
            self._parent, "Save datagram", list(DATAGRAM_FILTERS), chosen
        )

    def add_to_menu(self, menu: QMenu, index: int | None) -> None:
        """The per-datagram actions, for datagram ``index`` (None: none under the pointer, so
        they are there but disabled); nothing when the capture keeps no datagrams."""
        if self.datagram_store() is None:
            return
        menu.addSeparator()
        for name, label, act in (
            (COPY_DATAGRAM_TEXT_ACTION, "Copy datagram as text (as shown)", self.copy_as_text),
            (COPY_DATAGRAM_HEX_ACTION, "Copy datagram as hex", self.copy_as_hex),
            (SAVE_DATAGRAM_ACTION, "Save datagram…", self.save_dialog),
        ):
            action = menu.addAction(label)
            action.setObjectName(name)
            action.setEnabled(index is not None)
            if index is not None:
                action.triggered.connect(lambda _=False, act=act, i=index: act(i))
