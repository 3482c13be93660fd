"""Reports of a run: one line per step for people, JUnit XML for CI (parsed back here)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workbench.core.conversation import parse_conversation
from workbench.core.conversation_report import (
    ConversationReport,
    Status,
    StepReport,
    junit_xml,
    step_line,
    summary_line,
)

TEXT = """\
host = "127.0.0.1"
port = 2525
[[steps]]
expect = "220 "
[[steps]]
expect_regex = '250[- ]STARTTLS'
[[steps]]
send = 'QUIT\\r\\n'
"""


def report(*statuses: Status, error: str | None = None) -> ConversationReport:
    conversation = parse_conversation(TEXT, "smtp.toml")
    steps = [
        StepReport(step, status, 0.012, detail="no match" if status is Status.FAILED else "")
        for step, status in zip(conversation.steps, statuses, strict=True)
    ]
    return ConversationReport(conversation, steps, error=error, elapsed=0.5)


def test_a_step_line_has_the_mark_index_label_and_time() -> None:
    lines = [step_line(s) for s in report(Status.PASSED, Status.FAILED, Status.NOT_RUN).steps]
    assert lines[0] == "✓ 0 expect '220 '  12 ms"
    assert lines[1] == "✗ 1 expect_regex '250[- ]STARTTLS'  12 ms\n    no match"
    assert lines[2] == "- 2 send 'QUIT\\r\\n'  not run"


def test_the_summary_says_passed_or_where_it_failed() -> None:
    assert summary_line(report(Status.PASSED, Status.PASSED, Status.PASSED)) == (
        "smtp.toml: passed, 3 steps in 0.50 s"
    )
    failed = report(Status.PASSED, Status.FAILED, Status.NOT_RUN)
    assert not failed.passed
    assert summary_line(failed) == (
        "smtp.toml: FAILED at step 1 (1 passed, 1 failed, 1 not run) in 0.50 s"
    )


def test_junit_has_a_suite_per_file_and_a_case_per_step() -> None:
    reports = [
        report(Status.PASSED, Status.FAILED, Status.NOT_RUN),
        report(Status.ERROR, Status.NOT_RUN, Status.NOT_RUN, error="connect → -102"),
    ]
    root = ET.fromstring(junit_xml(reports))
    assert [root.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["6", "1", "1", "3"]
    first, second = root.findall("testsuite")
    assert first.get("name") == "smtp.toml" and first.get("file") == "smtp.toml"
    cases = first.findall("testcase")
    assert [c.get("line") for c in cases] == ["4", "6", "8"]
    # What a step sent or matched goes to its system-out.
    assert cases[0].find("system-out") is None  # this report kept no bytes
    matched = report(Status.PASSED, Status.PASSED, Status.PASSED)
    matched.steps[0] = StepReport(matched.steps[0].step, Status.PASSED, 0.001, b"220 \r\n")
    out = ET.fromstring(junit_xml([matched])).find("testsuite/testcase/system-out")
    assert out is not None and out.text == 'matched 6 bytes: "220 \\r\\n"'
    assert cases[1].find("failure") is not None and cases[2].find("skipped") is not None
    assert second.findall("testcase")[0].find("error") is not None
