"""What a conversation run reports: per step, pass or fail, the time it took, the bytes it sent
or matched and, when it failed, why (with what was received, as escaped text). One line per
step for people (``✓ 2 expect_regex '250[- ]STARTTLS'  12 ms``) and JUnit XML for CI: one
``testsuite`` per file, one ``testcase`` per step.

A failed step ends the conversation; the steps after it are reported as not run. A connection
or ``[tls]`` that fails is an error of the first step (its result code and reason), and the
rest are not run.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from workbench.core.codecs import escape_bytes
from workbench.core.conversation import Conversation, Step

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

__all__ = [
    "ConversationReport",
    "Status",
    "StepReport",
    "junit_xml",
    "step_line",
    "step_output",
    "summary_line",
]


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    #: the step could not start: the connection or ``[tls]`` failed.
    ERROR = "error"
    NOT_RUN = "not run"


_MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.ERROR: "!", Status.NOT_RUN: "-"}


@dataclasses.dataclass(frozen=True, slots=True)
class StepReport:
    step: Step
    status: Status
    #: seconds the step took (0 for a step not run).
    elapsed: float = 0.0
    #: the bytes it sent, or matched (an expect), or b"".
    data: bytes = b""
    #: why it failed, or what it caught ("user = alice"), or "".
    detail: str = ""


@dataclasses.dataclass(slots=True)
class ConversationReport:
    conversation: Conversation
    steps: list[StepReport] = dataclasses.field(default_factory=list)
    #: the connection's or ``[tls]``'s failure, with its result code and reason, or None.
    error: str | None = None
    #: seconds from the start to the end of the run.
    elapsed: float = 0.0
    #: every variable at the end: the given ones and the captured ones.
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.status is Status.PASSED for s in self.steps)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.steps if s.status is status)


def step_line(report: StepReport) -> str:
    """``✓ 2 expect_regex '250[- ]STARTTLS'  12 ms``; a failure adds its reason."""
    step = report.step
    text = f"{_MARK[report.status]} {step.index} {step.label()}"
    if report.status is Status.NOT_RUN:
        return f"{text}  not run"
    text += f"  {report.elapsed * 1000:.0f} ms"
    if report.status is not Status.PASSED and report.detail:
        text += f"\n    {report.detail}"
    return text


def step_output(report: StepReport) -> str:
    """What a passed step sent or matched (escaped), and what it caught: ``matched 6 bytes:
    "220 ok"`` / ``sent 9 bytes: "EHLO me\\r\\n"``."""
    lines = []
    if report.data:
        verb = "matched" if report.step.verb.expects else "sent"
        lines.append(f'{verb} {len(report.data)} bytes: "{escape_bytes(report.data[:2000])}"')
    if report.detail and report.status is Status.PASSED:
        lines.append(report.detail)
    return "\n".join(lines)


def summary_line(report: ConversationReport) -> str:
    """``smtp.toml: passed, 7 steps in 0.31 s`` or ``…: FAILED at step 3 …``."""
    head = f"{report.conversation.title}: "
    took = f"in {report.elapsed:.2f} s"
    if report.passed:
        return f"{head}passed, {len(report.steps)} steps {took}"
    failed = next((s for s in report.steps if s.status in (Status.FAILED, Status.ERROR)), None)
    if failed is None:  # an error with no step to carry it (a file with no steps)
        return f"{head}FAILED: {report.error} {took}"
    counts = ", ".join(
        f"{report.count(status)} {status}"
        for status in Status
        if report.count(status) and status is not Status.ERROR
    )
    return f"{head}FAILED at step {failed.step.index} ({counts}) {took}"


def junit_xml(reports: Sequence[ConversationReport]) -> str:
    """JUnit XML: ``testsuites`` holding one ``testsuite`` per file, one ``testcase`` per
    step (``failure`` for a failed step, ``error`` for a connection that failed, ``skipped``
    for a step not run)."""
    # Imported here: a report is written at the end of a run, never at the window's start.
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="socket-workbench")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for report in reports:
        suite = _suite(report)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(report: ConversationReport) -> ET.Element:
    import xml.etree.ElementTree as ET

    conversation = report.conversation
    suite = ET.Element(
        "testsuite",
        name=conversation.title,
        file=conversation.path,
        tests=str(len(report.steps)),
        failures=str(report.count(Status.FAILED)),
        errors=str(report.count(Status.ERROR)),
        skipped=str(report.count(Status.NOT_RUN)),
        time=f"{report.elapsed:.3f}",
    )
    classname = conversation.title
    for step_report in report.steps:
        step = step_report.step
        case = ET.SubElement(
            suite,
            "testcase",
            classname=classname,
            name=f"{step.index} {step.label()}",
            time=f"{step_report.elapsed:.3f}",
        )
        if step.line is not None:
            case.set("file", conversation.path)
            case.set("line", str(step.line))
        if step_report.data or (step_report.detail and step_report.status is Status.PASSED):
            ET.SubElement(case, "system-out").text = step_output(step_report)
        if step_report.status is Status.FAILED:
            ET.SubElement(case, "failure", message=step_report.detail).text = step_report.detail
        elif step_report.status is Status.ERROR:
            ET.SubElement(case, "error", message=step_report.detail).text = step_report.detail
        elif step_report.status is Status.NOT_RUN:
            ET.SubElement(case, "skipped", message="not run: an earlier step failed")
    if report.error is not None and not report.steps:
        ET.SubElement(suite, "error", message=report.error).text = report.error
        suite.set("errors", "1")
    return suite
