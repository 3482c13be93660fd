"""Running conversations from the window: one at a time, on a new socket or the selected one,
or every ``*.toml`` of a folder one after another; Stop cancels the run.

The calls go through the session's logged ``LoggedTcp`` (the call log and the socket's row
show them, the data view shows the bytes as for any socket), the received bytes come through
the core's own events; the run keeps its socket (``keep_socket``): the row and its capture
stay after it, disconnected, for the user to look at.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTreeWidgetItem

from workbench.core.conversation import Conversation, ConversationError, load_conversation
from workbench.core.conversation_report import ConversationReport, summary_line
from workbench.core.types import CreateInfo, DnsQueryType, SecureOptions, SendInfo
from workbench.session.conversation_run import run_conversation
from workbench.session.logged import LoggedTcp
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.conversation_steps import StepsList, SummaryTable, failure

__all__ = ["ConversationRuns"]

_log = logging.getLogger("workbench.ui")


class _Calls:
    """The session's logged calls (``TcpCalls``), telling ``created`` of the socket a run
    creates, so that the window can show its row."""

    def __init__(self, calls: LoggedTcp, created: Callable[[int], object] | None) -> None:
        self._calls = calls
        self._created = created

    async def create(self) -> CreateInfo:
        info = await self._calls.create()
        if self._created is not None:
            self._created(info.socket_id)
        return info

    async def connect(
        self, socket_id: int, peer_address: str, peer_port: int, dns_query_type: DnsQueryType
    ) -> int:
        return await self._calls.connect(socket_id, peer_address, peer_port, dns_query_type)

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int:
        return await self._calls.secure(socket_id, options)

    async def starttls(
        self,
        socket_id: int,
        protocol: str,
        options: SecureOptions | None = None,
        *,
        received: bytes = b"",
    ) -> int:
        return await self._calls.starttls(socket_id, protocol, options, received=received)

    async def send(self, socket_id: int, data: bytes) -> SendInfo:
        return await self._calls.send(socket_id, data)

    async def disconnect(self, socket_id: int) -> None:
        await self._calls.disconnect(socket_id)

    async def close(self, socket_id: int) -> None:
        await self._calls.close(socket_id)

    def error_detail(self, socket_id: int, call: str) -> str | None:
        return self._calls.error_detail(socket_id, call)


class ConversationRuns(QObject):
    """The pane's runs, one at a time, shown in ``steps`` (a conversation) or ``summary`` (a
    folder).

    Signals:
        runningChanged(bool): a run started, or ended (however it ended).
        reported(str, bool): the run's summary line, and whether it passed.
        socketCreated(int, str, int, str): a run created this socket (its row is in the
            table now), to connect to this host, port and DNS query type.
    """

    runningChanged = Signal(bool)
    reported = Signal(str, bool)
    socketCreated = Signal(int, str, int, str)

    def __init__(
        self,
        session: SocketSession,
        runner: TaskRunner,
        steps: StepsList,
        summary: SummaryTable,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._steps = steps
        self._summary = summary
        self.task: asyncio.Task[Any] | None = None
        #: the last conversation's report (None until one ended).
        self.report: ConversationReport | None = None
        #: the running conversation's socket, and why the run ended early ("" for a Stop).
        self._sid: int | None = None
        self._why = ""
        session.socketRemoved.connect(self._removed)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def run(self, conversation: Conversation, socket_id: int | None = None) -> asyncio.Task[Any]:
        """Run ``conversation`` on a new socket, or on connected ``socket_id`` (its steps
        only)."""
        self._steps.show_steps(conversation.steps)
        return self._start(self._run_one(conversation, socket_id), f"run {conversation.title}")

    def run_folder(self, folder: Path, variables: Mapping[str, str]) -> asyncio.Task[Any]:
        """Run every ``*.toml`` of ``folder`` in name order, each on a new socket."""
        if self.running:
            raise RuntimeError("a conversation is running already")
        self._summary.clear()
        files = sorted(p for p in folder.glob("*.toml") if p.is_file())
        # Every file is listed at once, waiting its turn.
        items = [self._summary.add_file(path) for path in files]
        work = self._run_all(folder, list(zip(files, items, strict=True)), dict(variables))
        return self._start(work, f"run all in {folder}")

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _start(self, coro: Any, name: str) -> asyncio.Task[Any]:
        if self.running:
            coro.close()
            raise RuntimeError("a conversation is running already")
        self._sid, self._why = None, ""
        task = self._runner.start(coro, name=name)
        self.task = task
        task.add_done_callback(self._ended)
        self.runningChanged.emit(True)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if task is self.task:
            self.runningChanged.emit(False)

    def _removed(self, sid: int) -> None:
        """The run's socket was closed under it (Close socket): the run ends, saying so."""
        if sid == self._sid and self.task is not None and self.running:
            self._why = f"socket {sid} was closed"
            self.task.cancel()

    def _execute(
        self, conversation: Conversation, socket_id: int | None = None, *, show: bool = True
    ) -> Coroutine[Any, Any, ConversationReport]:
        """The run; ``show``: in the steps list, with the new socket's row selected."""

        def created(sid: int) -> None:
            self._sid = sid
            if show:
                where = (conversation.host, conversation.port, conversation.dns.value)
                self.socketCreated.emit(sid, *where)

        self._sid = socket_id
        return run_conversation(
            conversation,
            self._session.raw,
            calls=_Calls(self._session.sockets, created),
            socket_id=socket_id,
            keep_socket=True,
            on_start=self._steps.started if show else None,
            on_step=self._steps.finished if show else None,
        )

    async def _run_one(self, conversation: Conversation, socket_id: int | None) -> None:
        title = conversation.title
        try:
            report = await self._execute(conversation, socket_id)
        except asyncio.CancelledError:
            self._steps.stopped(self._why)
            self.reported.emit(f"{title}: {self._why or 'stopped'}", False)
            raise
        except Exception as exc:  # a call refused under the run: said in the pane, logged
            _log.warning("the conversation %s ended: %r", title, exc)
            why = f"the run ended: {type(exc).__name__}: {exc}"
            self._steps.stopped(why)
            self.reported.emit(f"{title}: {why}", False)
            return
        self.report = report
        why = failure(report)
        self.reported.emit(summary_line(report) + (f"\n{why}" if why else ""), report.passed)

    async def _run_all(
        self, folder: Path, files: list[tuple[Path, QTreeWidgetItem]], variables: dict[str, str]
    ) -> None:
        passed = 0
        for index, (path, item) in enumerate(files):
            try:
                conversation = load_conversation(path, variables)
            except ConversationError as exc:
                self._summary.set_bad(item, exc)
                continue
            self._summary.set_running(item)
            try:
                report = await self._execute(conversation, show=False)
            except asyncio.CancelledError:
                self._summary.set_stopped(item, self._why)
                for _, later in files[index + 1 :]:
                    later.setText(SummaryTable.RESULT, "not run")
                self.reported.emit(f"{folder.name}: {self._why or 'stopped'}", False)
                raise
            except Exception as exc:  # as in _run_one; the next files still run
                _log.warning("the conversation %s ended: %r", path, exc)
                self._summary.set_stopped(item, f"the run ended: {type(exc).__name__}: {exc}")
                continue
            self._summary.set_report(item, report)
            passed += report.passed
        total = len(files)
        text = f"{folder.name}: {passed} of {total} conversations passed"
        self.reported.emit(text if total else f"{folder.name}: no *.toml files", passed == total)
