"""The examples of ``docs/conversations.md``, run as written (only the port changes) against the
workbench's own listening sockets and their response rules: a complete, local, repeatable
test, as the documentation promises."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.session.test_server_tls import TEST_CA, listening, smtp_with_starttls
from workbench.core.conversation import parse_conversation
from workbench.core.rules import RuleSet
from workbench.core.rules_presets import Preset, preset
from workbench.net.servers.certificates import ensure_certificates
from workbench.net.tcp import TcpSockets
from workbench.session.conversation_run import run_conversation
from workbench.session.record import ServerTls
from workbench.session.session import Session

DOC = Path(__file__).resolve().parents[2] / "docs" / "conversations.md"


def examples() -> dict[str, str]:
    """Every TOML block of the document that names its conversation, by name."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    found = {}
    for block in blocks:
        name = re.search(r'^name = "([^"]+)"$', block, re.M)
        if name and "[[steps]]" in block and "#" not in block:
            found[name.group(1)] = block
    return found


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    s.servers.cert_dir = tmp_path / "test-ca"
    yield s
    s.shutdown()


def test_the_document_has_the_three_examples() -> None:
    assert list(examples()) == [
        "SMTP greeting and STARTTLS",
        "Redis PING",
        "HTTP page and its charset",
    ]


async def run_example(
    session: Session,
    tcp: TcpSockets,
    name: str,
    rules: RuleSet,
    tls: ServerTls | None = None,
    variables: dict[str, str] | None = None,
) -> dict[str, str]:
    async with listening(session, tls) as (sid, port):
        assert session.rules.set_rules(sid, rules) == []
        text = re.sub(r"^port = \d+$", f"port = {port}", examples()[name], flags=re.M)
        report = await run_conversation(parse_conversation(text, f"{name}.toml", variables), tcp)
        assert report.passed, [(s.step.label(), s.status, s.detail) for s in report.steps]
        return dict(report.variables)


async def test_smtp_with_starttls(session: Session, tcp: TcpSockets) -> None:
    assert session.servers.cert_dir is not None
    ca = str(ensure_certificates(session.servers.cert_dir).ca_file)
    on_starttls = dataclasses.replace(TEST_CA, on_accept=False)
    found = await run_example(
        session,
        tcp,
        "SMTP greeting and STARTTLS",
        smtp_with_starttls(),
        on_starttls,
        {"CA": ca},
    )
    assert found["me"] == "client.test"


async def test_redis_ping(session: Session, tcp: TcpSockets) -> None:
    await run_example(session, tcp, "Redis PING", preset(Preset.REDIS))


async def test_http_with_a_captured_header(session: Session, tcp: TcpSockets) -> None:
    found = await run_example(session, tcp, "HTTP page and its charset", preset(Preset.HTTP))
    assert found["charset"] == "utf-8" and int(found["length"]) > 0
