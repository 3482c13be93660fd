"""``socket-workbench run``: conversations headless, as CI runs them: the lines it prints, its
exit codes, its JUnit report (parsed), and no Qt imported."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.peers import closed_port
from tests.net.tls_peers import ThreadedServer, plain_echo_handler

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def echo() -> Iterator[ThreadedServer]:
    server = ThreadedServer(plain_echo_handler, name="echo").start()
    yield server
    server.stop()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def write(path: Path, port: int, steps: str) -> Path:
    path.write_text(f'host = "127.0.0.1"\nport = {port}\ntimeout = 2\n{steps}', encoding="utf-8")
    return path


PASSING = """
[[steps]]
send = 'hello ${who}\\n'
[[steps]]
expect_regex = 'hello (?P<name>\\w+)'
"""

FAILING = """
[[steps]]
send = 'ping\\n'
[[steps]]
expect = 'pong'
timeout = 0.2
[[steps]]
send = 'never'
"""


def test_a_passing_conversation_prints_each_step_and_exits_0(
    echo: ThreadedServer, tmp_path: Path
) -> None:
    path = write(tmp_path / "hello.toml", echo.port, PASSING)
    done = run(str(path), "--var", "who=alice", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"hello.toml ({path})"
    assert lines[1].startswith("  ✓ 0 send 'hello ${who}\\n'  ") and lines[1].endswith(" ms")
    assert lines[2].startswith("  ✓ 1 expect_regex 'hello (?P<name>\\w+)'  ")
    assert lines[3].startswith("hello.toml: passed, 2 steps in ")
    assert lines[-1] == "1 of 1 conversations passed"
    assert bytes(echo.received) == b"hello alice\n"


def test_a_failure_exits_1_and_the_junit_report_says_which_step(
    echo: ThreadedServer, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.toml", echo.port, PASSING)
    bad = write(tmp_path / "bad.toml", echo.port, FAILING)
    refused = write(tmp_path / "refused.toml", closed_port(), FAILING)
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    done = run(
        str(good), str(bad), str(refused), "--var", "who=x", "--junit", str(junit), cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert "  ✗ 1 expect 'pong'" in done.stdout
    assert 'no match within 0.2 s; received 5 bytes: "ping\\n"' in done.stdout
    assert "  - 2 send 'never'  not run" in done.stdout
    assert "1 of 3 conversations passed" in done.stdout

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "1", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["good.toml", "bad.toml", "refused.toml"]
    cases = suites["bad.toml"].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "0 send 'ping\\n'",
        "1 expect 'pong'",
        "2 send 'never'",
    ]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and "no match within 0.2 s" in (failure.get("message") or "")
    assert cases[2].find("skipped") is not None
    refused_cases = suites["refused.toml"].findall("testcase")
    error = refused_cases[0].find("error")
    assert error is not None and "-102" in (error.get("message") or "")
    assert all(c.find("skipped") is not None for c in refused_cases[1:])


def test_quiet_prints_only_failed_steps_and_the_summary(
    echo: ThreadedServer, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.toml", echo.port, PASSING)
    bad = write(tmp_path / "bad.toml", echo.port, FAILING)
    done = run(str(good), str(bad), "--var", "who=x", "--quiet", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("  ")] == [
        line for line in lines if line.startswith("  ✗") or line.startswith("    ")
    ]
    assert any(line.startswith("  ✗ 1 expect 'pong'") for line in lines)
    assert not any("✓" in line for line in lines)
    assert lines[-1] == "1 of 2 conversations passed"


def test_a_bad_file_exits_2_names_file_and_line_and_nothing_runs(
    echo: ThreadedServer, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.toml", echo.port, PASSING)
    bad = tmp_path / "bad.toml"
    bad.write_text('host = "h"\nport = 1\n[[steps]]\nsend = "a"\nexpect = "b"\n')
    done = run(str(good), str(bad), "--var", "who=x", cwd=tmp_path)
    assert done.returncode == 2
    assert f"error: {bad}:3: step 0 has two verbs (send, expect)" in done.stderr
    assert done.stdout == ""
    assert echo.accepted == 0  # the good file did not run either


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(cwd=tmp_path).returncode == 2  # no file
    done = run("x.toml", "--var", "novalue", cwd=tmp_path)
    assert done.returncode == 2 and "NAME=VALUE" in done.stderr
    missing_var = write(tmp_path / "v.toml", 1, "[[steps]]\nsend = '${nobody}'\n")
    done = run(str(missing_var), cwd=tmp_path)
    assert done.returncode == 2 and "${nobody}" in done.stderr


def test_help_documents_the_file_format(tmp_path: Path) -> None:
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0
    for word in ("expect_regex", "send_hex", "starttls", "expect_closed", "--junit", "[tls]"):
        assert word in done.stdout


def test_run_imports_no_qt(echo: ThreadedServer, tmp_path: Path) -> None:
    path = write(tmp_path / "hello.toml", echo.port, PASSING)
    code = (
        "import sys\n"
        "from workbench.app import main\n"
        f"rc = main(['run', {str(path)!r}, '--var', 'who=q', '--quiet'])\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync'))\n"
        "print('QT', qt, 'RC', rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "QT [] RC 0" in done.stdout, done.stdout + done.stderr


def test_pcapng_writes_the_sockets_that_ran_for_tshark(
    echo: ThreadedServer, tmp_path: Path
) -> None:
    path = write(tmp_path / "hello.toml", echo.port, PASSING)
    capture = tmp_path / "run.pcapng"
    done = run(str(path), "--var", "who=bob", "--pcapng", str(capture), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 1 sockets" in done.stdout
    follow = subprocess.run(
        ["tshark", "-r", str(capture), "-qz", "follow,tcp,raw,0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert b"hello bob\n".hex() in follow
    assert "\t" + b"hello bob\n".hex() in follow  # and the echo, the other way
    missing = str(tmp_path / "no" / "x.pcapng")
    bad = run(str(path), "--var", "who=x", "--pcapng", missing, cwd=tmp_path)
    assert bad.returncode == 2 and "--pcapng: no folder" in bad.stderr
