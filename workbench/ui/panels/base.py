"""What the option panels share: the selected socket, one call at a time through the task
runner, the result beside the button that made it, and which controls are enabled.

The TCP panels show a TCP socket; a server's panels (``ListenPanel``) a listening socket, by
its server id: they override the few hooks that say where results are kept and which session
signals tell of changes (``_watch``, ``_stored_result``, ``_store_result``, ``_exists``,
``_failure_detail``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from workbench.session.controls import Control, enabled_controls
from workbench.session.record import SocketRecord
from workbench.sockets import SocketInfo, SocketNotFoundError
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.widgets import ERROR_COLOR, ResultLabel

__all__ = ["Call", "Panel"]

#: One call of a panel on the socket it is given: ``LoggedTcp.connect`` and the like, bound
#: to the panel's values; a result code, or ``None`` for the calls Chrome answers with nothing.
Call = Callable[[int], Awaitable[int | None]]

#: The calls whose failures the core explains in words (``TcpSockets.error_detail``).
_DETAILED = ("connect", "secure")


class Panel(QWidget):
    """The selected socket, calls through the runner, results per socket and control.

    Subclasses build their form, call ``_start`` from their buttons, and override the hooks
    ``refresh``, ``_switched``, ``_forget``, ``_call_ended`` and ``_update_controls``; a panel
    whose form can be wrong says why with ``_set_form_error``.

    Signals:
        formErrorChanged(): ``form_error()`` changed (the toolbar's action follows it).
    """

    formErrorChanged = Signal()

    #: How a task's name calls the socket the panel shows ("connect (socket 3)").
    NOUN = "socket"

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._sid: int | None = None
        self._labels: dict[str, ResultLabel] = {}
        #: per socket: control → (text, colour) for calls still running or ended without a code
        self._local: dict[int, dict[str, tuple[str, str | None]]] = {}
        # (socket, control) → the core's error_detail() for the last failed connect/secure.
        self._details: dict[tuple[int, str], str] = {}
        self._form_error: str | None = None
        self._watch(session)
        self.setEnabled(False)

    def _watch(self, session: SocketSession) -> None:
        """Hook: connect the session's signals that tell of changes to the shown socket."""
        session.socketStatesChanged.connect(self._on_socket_changed)
        session.socketRemoved.connect(self._on_socket_removed)

    def _stored_result(self, sid: int, key: str) -> int | None:
        """Hook: the last result of control ``key`` on ``sid``, as the session keeps it."""
        return self._session.result(sid, key)

    def _store_result(self, sid: int, key: str, code: int) -> None:
        """Hook: keep ``code`` as the last result of control ``key`` on ``sid``."""
        self._session.set_result(sid, key, code)

    def _exists(self, sid: int) -> bool:
        """Hook: whether ``sid`` is still a socket of the session."""
        return sid in self._session

    def _failure_detail(self, sid: int, key: str) -> str | None:
        """Hook: why the call ``key`` failed, in the operating system's words."""
        if key in _DETAILED:
            detail: str | None = self._session.sockets.error_detail(sid, key)
            return detail
        return None

    # -- selection -----------------------------------------------------------------------

    def socket_id(self) -> int | None:
        return self._sid

    def set_socket(self, sid: int | None) -> None:
        """Show socket ``sid`` (``None``: no socket selected, the panel disables itself).

        Selecting the socket already shown only refreshes: what the user typed stays."""
        if sid == self._sid:
            self._show_socket()
            return
        previous, self._sid = self._sid, sid
        self.setEnabled(sid is not None)
        self._switched(previous, sid)
        for key in self._labels:
            self._show_result(key)
        self._show_socket()

    def reload(self) -> None:
        """Fill the form again from the shown socket's saved settings: they were set after it
        was shown (a restore gives a socket its settings after creating it, and the window
        may show it at once). What was typed for it is replaced."""
        if self._sid is not None:
            self._switched(None, self._sid)
            self._show_socket()

    def refresh(self) -> None:
        """Bring the read-only parts up to date with ``session.info``."""

    def _switched(self, previous: int | None, sid: int | None) -> None:
        """Hook: the selected socket changed (fill the form for ``sid``)."""

    def _update_controls(self) -> None:
        """Hook: enable the buttons ``_allowed()`` allows (and the form's checks pass)."""

    def _show_socket(self) -> None:
        self.refresh()
        self._update_controls()

    def _info(self) -> SocketInfo | None:
        return None if self._sid is None else self._session.info(self._sid)

    def _record(self) -> SocketRecord | None:
        return None if self._sid is None else self._session.ui(self._sid)

    def _allowed(self) -> frozenset[Control]:
        """The calls that make sense on the shown socket now (``enabled_controls``)."""
        return enabled_controls(self._record())

    def _on_socket_changed(self, sids: frozenset[int]) -> None:
        if self._sid in sids:
            for key in self._labels:  # results set elsewhere (e.g. the toolbar's Pause)
                self._show_result(key)
            self._show_socket()

    def _on_socket_removed(self, sid: int) -> None:
        self._local.pop(sid, None)
        self._forget(sid)
        if sid == self._sid:
            self.set_socket(None)

    def _forget(self, sid: int) -> None:
        """Hook: drop per-socket state of a closed socket."""

    # -- the form ----------------------------------------------------------------------

    def form_error(self) -> str | None:
        """Why the form cannot be used now (the first field's message), or None. The window's
        action for this panel's button is disabled with this reason too: one rule."""
        return self._form_error

    def _set_form_error(self, error: str | None) -> None:
        if error != self._form_error:
            self._form_error = error
            self.formErrorChanged.emit()

    # -- calls ---------------------------------------------------------------------------

    def _result_label(self, key: str, what: str, object_name: str) -> ResultLabel:
        label = ResultLabel(what)
        label.setObjectName(object_name)
        self._labels[key] = label
        return label

    def _show_result(self, key: str) -> None:
        label = self._labels[key]
        sid = self._sid
        if sid is None:
            label.clear_result()
            return
        local = self._local.get(sid, {}).get(key)
        if local is not None:
            label.show_message(*local)
            return
        code = self._stored_result(sid, key)
        if code is None:
            label.clear_result()
        else:
            label.show_code(code, self._details.get((sid, key)))

    def _pending(self, sid: int | None, key: str) -> bool:
        return sid is not None and self._local.get(sid, {}).get(key, ("", ""))[1] is None

    def _start(
        self, key: str, what: str, call: Call, *, pending: str = "…"
    ) -> asyncio.Task[None] | None:
        """Run ``call`` on the shown socket; its result goes beside control ``key``."""
        sid = self._sid
        if sid is None:
            return None
        self._local.setdefault(sid, {})[key] = (pending, None)
        self._show_result(key)
        task: asyncio.Task[None] = self._runner.start(
            self._run(sid, key, call), name=f"{what} ({self.NOUN} {sid})"
        )
        return task

    async def _run(self, sid: int, key: str, call: Call) -> None:
        try:
            result = await call(sid)
        except SocketNotFoundError:
            self._finish(sid, key, None, "Socket not found: it was closed.")
            return
        except asyncio.CancelledError:
            self._finish(sid, key, None, "Cancelled.")
            raise
        except Exception as exc:
            # The runner logs it and reports it; the panel says so where the user looked.
            self._finish(sid, key, None, f"Failed: {type(exc).__name__}: {exc}")
            raise
        code = 0 if result is None else int(result)
        self._details.pop((sid, key), None)
        if code < 0:
            detail = self._failure_detail(sid, key)
            if detail:
                self._details[(sid, key)] = detail
        self._finish(sid, key, code, None)

    def _finish(self, sid: int, key: str, code: int | None, note: str | None) -> None:
        if not shiboken6.isValid(self):  # the window was closed while the call ran
            return
        local = self._local.get(sid)
        if local is not None:
            local.pop(key, None)
        if self._exists(sid):
            if note is not None:
                self._local.setdefault(sid, {})[key] = (note, ERROR_COLOR)
            if code is not None:
                self._store_result(sid, key, code)
        if sid == self._sid:
            self._show_result(key)
            self._call_ended(key)
            self._update_controls()

    def _call_ended(self, key: str) -> None:
        """Hook: a call of this panel on the shown socket ended."""
