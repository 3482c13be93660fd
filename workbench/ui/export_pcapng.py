"""File → Export → pcapng…: the selected sockets (or all) in one pcapng file for Wireshark.

The file is asked for with a non-modal ``QFileDialog`` (``open()``, never ``exec()``); the
export (``workbench.session.pcapng_export.export_pcapng``) then runs in a worker thread
(``asyncio.to_thread``) under a non-modal progress dialog with Cancel, and the status bar
says what was written and what was skipped, and why. A failure is shown in the window's
banner, never as a traceback.

A capture store is owned by the event-loop thread ("Not thread-safe: one event-loop thread
owns it", ``CaptureStore``): a socket may still be receiving while it is exported, and
reading a store writes the bytes it holds first. So the worker reads the stores through
``LoopBoundStore``, which runs each store call on the loop thread and waits for it; the
packet building, checksums and file writes, the export's real work, stay in the worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from workbench.core.capture import CaptureStore, DatagramStore
from workbench.core.formatting import format_size
from workbench.session import SocketKey, SocketKind
from workbench.session.pcapng_export import ExportResult, export_pcapng
from workbench.session.record import SocketRecord, UdpRecord
from workbench.session.registry import Registry

__all__ = ["ExportStopped", "LoopBoundStore", "PcapngExporter", "export_records", "summary"]

#: How often the progress dialog reads the worker's count (ms).
PROGRESS_MS = 100
#: How long the worker waits for the loop before it checks whether it should stop (s).
_WAIT_S = 0.5


class ExportStopped(Exception):
    """The window stopped the export while the worker waited for the loop."""


class LoopBoundStore:
    """A capture store seen from another thread: each attribute read or method call runs on
    ``loop``'s thread (``call_soon_threadsafe``) and the caller waits for its result.

    ``stop`` set: a waiting call raises ``ExportStopped`` (the window is closing)."""

    def __init__(
        self, store: CaptureStore, loop: asyncio.AbstractEventLoop, stop: threading.Event
    ) -> None:
        self._store = store
        self._loop = loop
        self._stop = stop

    def _on_loop(self, fn: Callable[[], Any]) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the worker, which raises it
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        while True:
            try:
                return future.result(timeout=_WAIT_S)
            except concurrent.futures.TimeoutError:
                if self._stop.is_set() or self._loop.is_closed():
                    raise ExportStopped("the export was stopped") from None

    def __getattr__(self, name: str) -> Any:
        store = self._store
        if isinstance(getattr(type(store), name, None), property):
            return self._on_loop(lambda: getattr(store, name))
        attribute = getattr(store, name)
        if not callable(attribute):
            return attribute
        return lambda *args: self._on_loop(lambda: attribute(*args))


def export_records(
    registry: Registry, keys: Iterable[SocketKey]
) -> tuple[list[SocketRecord], list[UdpRecord]]:
    """The TCP and UDP records an export of ``keys`` writes, each kind in socket order; no
    keys: every socket. A listening socket has no bytes of its own: it stands for the sockets
    it accepted."""
    keys = list(keys)
    tcp = [r for k in registry if (r := registry.get(k)) is not None]
    if not keys:
        udp = [u for k in registry.udp_keys() if (u := registry.udp(k)) is not None]
        return sorted(tcp, key=lambda r: r.key.id), udp
    chosen = set(keys)
    servers = {k for k in keys if k.kind is SocketKind.TCP_SERVER}
    picked = [r for r in tcp if r.key in chosen or r.server in servers]
    udp = [u for k in keys if k.kind is SocketKind.UDP and (u := registry.udp(k)) is not None]
    return sorted(picked, key=lambda r: r.key.id), sorted(udp, key=lambda u: u.key.id)


def summary(result: ExportResult) -> str:
    """What the status bar says after an export."""
    if result.cancelled:
        return f"Export cancelled; {result.path} was removed."
    text = (
        f"Wrote {result.sockets} socket{'s' if result.sockets != 1 else ''}, "
        f"{result.packets} packets to {result.path}"
    )
    if result.skipped:
        text += f"; skipped {'; '.join(result.skipped)}"
    return text + "."


class PcapngExporter(QObject):
    """The export action's work: ask for the file, export in a worker, show progress.

    Signals:
        started(object): the export's ``QProgressDialog`` is shown; the worker starts next.
        finished(object): the ``ExportResult`` of an export that ran (cancelled or not).
        failed(str): what went wrong, in words (also shown through ``report_error``).
    """

    started = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        parent: QWidget,
        registry: Registry,
        keys: Callable[[], list[SocketKey]],
        start: Callable[[Any, str], object],
        show_message: Callable[[str, int], object],
        report_error: Callable[[str], object],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._registry = registry
        self._keys = keys
        self._start = start
        self._show_message = show_message
        self._report_error = report_error
        self.dialog: QFileDialog | None = None
        self.progress: QProgressDialog | None = None
        self._done = 0  # written by the worker, read by the timer (an int: one store)
        self._cancelled = False
        self._stop = threading.Event()
        #: an export is under way (one at a time: they share the progress count).
        self.running = False

    # -- asking for the file ----------------------------------------------------------------

    def ask(self, *_args: Any) -> QFileDialog:
        """Open the non-modal file dialog; choosing a file starts the export."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.raise_()
            return self.dialog
        keys = self._keys()
        dialog = QFileDialog(
            self._parent, "Export as pcapng", "", "pcapng captures (*.pcapng);;All files (*)"
        )
        dialog.setObjectName("exportPcapngDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("pcapng")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The sockets are the ones selected when the action was chosen, not when the file is.
        dialog.fileSelected.connect(lambda path: self.export_to(path, keys))
        dialog.adjustSize()
        self.dialog = dialog
        dialog.open()
        return dialog

    # -- the export -------------------------------------------------------------------------

    def export_to(self, path: str, keys: list[SocketKey] | None = None) -> object:
        """Export ``keys`` (None: the selection now; none selected: every socket) to
        ``path``, through the window's task runner."""
        if self.running:
            self._show_message("An export is already under way; wait for it or cancel it.", 5000)
            return None
        chosen = self._keys() if keys is None else keys
        tcp, udp = export_records(self._registry, chosen)
        self.running = True  # until the task ends (set now: a second call waits for it)
        return self._start(self._export(Path(path), tcp, udp), f"export pcapng to {path}")

    def cancel(self) -> None:
        """Stop the export under way (its partial file is removed)."""
        self._cancelled = True

    def stop(self) -> None:
        """The window is closing: a worker waiting for the loop gives up."""
        self._cancelled = True
        self._stop.set()

    def _progress(self, done: int) -> bool:
        # In the worker: no Qt here, only the count the timer reads.
        self._done = done
        return not self._cancelled

    async def _export(self, path: Path, tcp: list[SocketRecord], udp: list[UdpRecord]) -> None:
        loop = asyncio.get_running_loop()
        total = sum(_bytes_of(r) for r in tcp) + sum(u.capture.total_bytes for u in udp)
        self._done, self._cancelled = 0, False
        self._stop = threading.Event()
        bound_tcp = [_bound(r, loop, self._stop) for r in tcp]
        bound_udp = [_bound_udp(u, loop, self._stop) for u in udp]
        progress = self._show_progress(path, total)
        timer = QTimer(self)
        timer.timeout.connect(lambda: self._update_progress(progress, total))
        timer.start(PROGRESS_MS)
        self.started.emit(progress)
        try:
            result = await asyncio.to_thread(
                export_pcapng, path, bound_tcp, bound_udp, progress=self._progress
            )
        except (OSError, ValueError, ExportStopped) as exc:
            _remove_partial(path)
            self._fail(f"Could not export to {path}: {_reason(exc)}")
            return
        except asyncio.CancelledError:
            self.stop()  # the worker stops at its next segment and removes the file
            raise
        finally:
            self.running = False
            timer.stop()
            _close(progress)
        self._show_message(summary(result), 10000)
        self.finished.emit(result)

    def _show_progress(self, path: Path, total: int) -> QProgressDialog:
        progress = QProgressDialog(
            f"Exporting {format_size(total)} to {path.name}…", "Cancel", 0, 1000, self._parent
        )
        progress.setObjectName("exportPcapngProgress")
        progress.setWindowTitle("Export as pcapng")
        progress.setWindowModality(Qt.WindowModality.NonModal)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.setMinimumDuration(0)
        progress.canceled.connect(self.cancel)
        progress.setValue(0)
        progress.show()
        self.progress = progress
        return progress

    def _update_progress(self, progress: QProgressDialog, total: int) -> None:
        if shiboken6.isValid(progress) and not progress.wasCanceled():
            progress.setValue(min(1000, self._done * 1000 // total) if total else 0)

    def _fail(self, message: str) -> None:
        self._report_error(message)
        self.failed.emit(message)


def _bytes_of(record: SocketRecord) -> int:
    connection = record.connection
    start = connection.start_offset if connection is not None else 0
    return max(0, record.capture.total_bytes - start)


def _bound(
    record: SocketRecord, loop: asyncio.AbstractEventLoop, stop: threading.Event
) -> SocketRecord:
    store = cast(CaptureStore, LoopBoundStore(record.capture, loop, stop))
    return dataclasses.replace(record, capture=store)


def _bound_udp(
    record: UdpRecord, loop: asyncio.AbstractEventLoop, stop: threading.Event
) -> UdpRecord:
    store = cast(DatagramStore, LoopBoundStore(record.capture, loop, stop))
    return dataclasses.replace(record, capture=store)


#: The first bytes of a pcapng file (a section header block's type).
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def _remove_partial(path: Path) -> None:
    """Remove what the export began writing; a file it could not open (one the user cannot
    write, say) is not its own and stays."""
    try:
        with path.open("rb") as file:
            ours = file.read(4) in (_PCAPNG_MAGIC, b"")
        if ours:
            os.unlink(path)
    except OSError:
        pass  # never created (an unwritable path), or already gone


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _close(progress: QProgressDialog) -> None:
    if shiboken6.isValid(progress):
        progress.close()
        progress.deleteLater()
