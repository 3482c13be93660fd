"""The Conversations pane's lists: a conversation's steps with their status and time while and
after it runs (``StepsList``), and the summary of a folder's run (``SummaryTable``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from workbench.core.conversation import ConversationError, Step
from workbench.core.conversation_report import ConversationReport, Status, StepReport

__all__ = ["RUNNING", "STOPPED", "StepsList", "SummaryTable", "failure"]

#: The status of the step that runs now, and of the one a Stop ended.
RUNNING = "running…"
STOPPED = "stopped"
_MARK = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.ERROR: "!",
    Status.NOT_RUN: "-",
}
_COLOR = {
    Status.PASSED: QColor("#26a269"),
    Status.FAILED: QColor("#d1242f"),
    Status.ERROR: QColor("#d1242f"),
}
#: How often the running step's time is redrawn, in milliseconds (only while one runs).
TICK_MS = 100


def failure(report: ConversationReport) -> str:
    """Why the conversation failed: its first failed step and the reason, or ""."""
    failed = next((s for s in report.steps if s.status in (Status.FAILED, Status.ERROR)), None)
    if failed is None:
        return report.error or ""
    return f"step {failed.step.index} {failed.step.label()}: {failed.detail}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


class _Tree(QTreeWidget):
    """A flat list with columns: the first ones fit their content, the last one stretches."""

    def __init__(self, headers: Sequence[str], stretch: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(list(headers))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        header = self.header()
        header.setStretchLastSection(False)
        for column in range(len(headers)):
            mode = (
                QHeaderView.ResizeMode.Stretch
                if column == stretch
                else QHeaderView.ResizeMode.ResizeToContents
            )
            header.setSectionResizeMode(column, mode)

    def items(self) -> list[QTreeWidgetItem]:
        found = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in found if item is not None]

    def texts(self, column: int) -> list[str]:
        return [item.text(column) for item in self.items()]

    @staticmethod
    def paint(item: QTreeWidgetItem, status: Status | None, columns: Sequence[int]) -> None:
        color = _COLOR.get(status) if status is not None else None
        for column in columns:
            item.setForeground(column, QBrush(color) if color is not None else QBrush())


class StepsList(_Tree):
    """Each step of the conversation (``conversationSteps``): its index, label, status, time
    and detail (why it failed, or what it captured)."""

    INDEX, STEP, STATUS, TIME, DETAIL = range(5)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(("#", "Step", "Status", "Time", "Detail"), self.DETAIL, parent)
        self.setObjectName("conversationSteps")
        self.setAccessibleName("Conversation steps")
        self.setToolTip("The conversation's steps, with each one's status and time as it runs")
        self.header().setSectionResizeMode(self.STEP, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(self.STEP, 220)
        self.steps: tuple[Step, ...] = ()
        self._running: QTreeWidgetItem | None = None
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def show_steps(self, steps: Sequence[Step]) -> None:
        """List ``steps``, none run yet."""
        self._stop_timer()
        self.steps = tuple(steps)
        self.clear()
        for step in steps:
            item = QTreeWidgetItem([str(step.index), step.label(), "", "", ""])
            item.setToolTip(self.STEP, step.label(width=400))
            item.setTextAlignment(self.INDEX, Qt.AlignmentFlag.AlignRight)
            item.setTextAlignment(self.TIME, Qt.AlignmentFlag.AlignRight)
            self.addTopLevelItem(item)

    def labels(self) -> list[str]:
        return self.texts(self.STEP)

    def statuses(self) -> list[str]:
        """Each step's status as shown: "", "running…", "passed", "failed", "not run"…"""
        return [text.split(" ", 1)[-1] for text in self.texts(self.STATUS)]

    def details(self) -> list[str]:
        return self.texts(self.DETAIL)

    def started(self, step: Step) -> None:
        item = self.topLevelItem(step.index)
        if item is None:
            return
        item.setText(self.STATUS, f"▶ {RUNNING}")
        self.paint(item, None, (self.STATUS, self.TIME))
        self._running = item
        self._started = time.monotonic()
        self._timer.start()
        self.scrollToItem(item)

    def finished(self, report: StepReport) -> None:
        item = self.topLevelItem(report.step.index)
        if item is None:
            return
        if item is self._running:
            self._stop_timer()
        status = report.status
        item.setText(self.STATUS, f"{_MARK[status]} {status}")
        item.setText(self.TIME, "" if status is Status.NOT_RUN else _ms(report.elapsed))
        item.setText(self.DETAIL, report.detail)
        item.setToolTip(self.DETAIL, report.detail)
        self.paint(item, status, (self.STATUS, self.DETAIL))

    def stopped(self, why: str = "") -> None:
        """A Stop ended the run: the running step is stopped, the rest not run. ``why``: it
        ended otherwise (the socket was closed under it): the running step failed with it."""
        running = self._running
        self._stop_timer()
        for item in self.items():
            if item is running and why:
                item.setText(self.STATUS, f"{_MARK[Status.FAILED]} {Status.FAILED}")
                item.setText(self.DETAIL, why)
                item.setToolTip(self.DETAIL, why)
                self.paint(item, Status.FAILED, (self.STATUS, self.DETAIL))
            elif item is running:
                item.setText(self.STATUS, f"■ {STOPPED}")
            elif not item.text(self.STATUS) or item.text(self.STATUS).endswith(RUNNING):
                item.setText(self.STATUS, f"{_MARK[Status.NOT_RUN]} {Status.NOT_RUN}")

    def _stop_timer(self) -> None:
        self._timer.stop()
        self._running = None

    def _tick(self) -> None:
        if self._running is not None:
            self._running.setText(self.TIME, _ms(time.monotonic() - self._started))


class SummaryTable(_Tree):
    """Run all in a folder (``conversationSummary``): one row per file, with its result, the
    steps passed, failed and not run, and the time; a bad file's row gives its error."""

    FILE, RESULT, PASSED, FAILED, NOT_RUN, TIME, DETAIL = range(7)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            ("File", "Result", "Passed", "Failed", "Not run", "Time", "Detail"), self.DETAIL, parent
        )
        self.setObjectName("conversationSummary")
        self.setAccessibleName("Run all summary")
        self.setToolTip("Each file of the folder's run; double-click a row to open the file")

    def add_file(self, path: Path) -> QTreeWidgetItem:
        item = QTreeWidgetItem([path.name, "waiting", "", "", "", "", ""])
        item.setData(self.FILE, Qt.ItemDataRole.UserRole, str(path))
        item.setToolTip(self.FILE, str(path))
        for column in (self.PASSED, self.FAILED, self.NOT_RUN, self.TIME):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        self.addTopLevelItem(item)
        return item

    @staticmethod
    def path_of(item: QTreeWidgetItem) -> str:
        return str(item.data(SummaryTable.FILE, Qt.ItemDataRole.UserRole) or "")

    def set_running(self, item: QTreeWidgetItem) -> None:
        item.setText(self.RESULT, RUNNING)
        self.scrollToItem(item)

    def set_bad(self, item: QTreeWidgetItem, error: ConversationError) -> None:
        where = f"line {error.line}: " if error.line is not None else ""
        item.setText(self.RESULT, "bad file")
        item.setText(self.DETAIL, where + error.reason)
        item.setToolTip(self.DETAIL, str(error))
        self.paint(item, Status.ERROR, (self.RESULT, self.DETAIL))

    def set_report(self, item: QTreeWidgetItem, report: ConversationReport) -> None:
        if report.passed:
            result, status = "passed", Status.PASSED
        elif report.error is not None:
            result, status = "error", Status.ERROR
        else:
            result, status = "failed", Status.FAILED
        item.setText(self.RESULT, result)
        item.setText(self.PASSED, str(report.count(Status.PASSED)))
        item.setText(self.FAILED, str(report.count(Status.FAILED) + report.count(Status.ERROR)))
        item.setText(self.NOT_RUN, str(report.count(Status.NOT_RUN)))
        item.setText(self.TIME, _ms(report.elapsed))
        detail = failure(report)
        item.setText(self.DETAIL, detail)
        item.setToolTip(self.DETAIL, detail)
        self.paint(item, status, (self.RESULT,))

    def set_stopped(self, item: QTreeWidgetItem, why: str = "") -> None:
        """A Stop ended the file's run; ``why``: it ended otherwise (its socket closed)."""
        item.setText(self.RESULT, "error" if why else STOPPED)
        item.setText(self.DETAIL, why)
        item.setToolTip(self.DETAIL, why)
        self.paint(item, Status.ERROR if why else None, (self.RESULT, self.DETAIL))

    def rows(self) -> list[tuple[str, ...]]:
        """(file, result, passed, failed, not run, detail) of each row: what tests compare."""
        columns = (self.FILE, self.RESULT, self.PASSED, self.FAILED, self.NOT_RUN, self.DETAIL)
        return [tuple(item.text(c) for c in columns) for item in self.items()]
