"""``socket-workbench run``: conversations from the command line, headless, for CI.

The core runs on plain asyncio and nothing here imports Qt, so it starts fast and runs on a
machine with no display. Exit codes: 0 when every conversation passed, 1 when any failed, 2
for a usage or file error (then nothing ran).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from workbench.core.conversation import Conversation, ConversationErrors, load_conversations
from workbench.core.conversation_report import (
    ConversationReport,
    Status,
    StepReport,
    junit_xml,
    step_line,
    summary_line,
)

if TYPE_CHECKING:
    from workbench.session.conversation_run import TcpCalls
    from workbench.sockets import TcpSockets

__all__ = ["main"]

PASSED, FAILED, USAGE = 0, 1, 2

_FORMAT = """\
A conversation file is TOML:

  name = "SMTP greeting"        # optional
  host = "127.0.0.1"            # required
  port = 2525                   # required
  timeout = 5.0                 # each step's time-out in seconds (default 5)
  dns = "any"                   # any | ipv4 | ipv6
  [tls]                         # optional: secure() right after connect
  server_name = "mail.test"     # also ca_file, verify, client_cert, client_key,
                                # min_version, max_version ("tls1.2", "tls1.3")
  [[steps]]
  expect = "220 "               # received bytes (as UTF-8) contain this text
  [[steps]]
  send = 'EHLO me\\r\\n'          # escapes: \\r \\n \\t \\0 \\\\ \\xNN
  [[steps]]
  expect_regex = '250[- ](?P<ext>STARTTLS)'   # named groups become variables: ${ext}

Other steps: send_hex = "00 01 ff", expect_hex = "00 01", starttls = { server_name = "…" },
starttls = "smtp" (a protocol's STARTTLS exchange first: smtp lmtp imap pop3 ftp xmpp nntp
sieve ldap postgres mysql; add protocol = "…" to a table for both), sleep = 0.2,
expect_closed = -100 (or true for any end). Any step may set its own timeout.
An expect consumes what arrived up to and including its match. ${NAME} in any string is a
variable from --var or from an earlier capture. Steps are numbered from 0.
Exit status: 0 all passed, 1 a conversation failed, 2 a usage or file error.
See docs/conversations.md."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits with 2 on a usage error already; this keeps its message short.
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> _Parser:
    parser = _Parser(
        prog="socket-workbench run",
        description="Run conversation files (send/expect exchanges) against their peers.",
        epilog=_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="conversation files (TOML)")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable for ${NAME} (repeatable)",
    )
    parser.add_argument("--junit", metavar="PATH", help="write a JUnit XML report to PATH")
    parser.add_argument(
        "--pcapng",
        metavar="PATH",
        help="write the sockets of the conversations that ran to PATH (pcapng, for Wireshark)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only failed steps and the summary"
    )
    return parser


def _variables(pairs: Sequence[str], parser: _Parser) -> dict[str, str]:
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            parser.error(f"--var wants NAME=VALUE, not {pair!r}")
        variables[name] = value
    return variables


def main(argv: Sequence[str], out: TextIO | None = None) -> int:
    """``socket-workbench run FILE… [--var NAME=VALUE]… [--junit PATH] [--quiet]``."""
    out = out if out is not None else sys.stdout
    parser = _parser()
    args = parser.parse_args(list(argv))
    variables = _variables(args.var, parser)
    for option, target in (("--junit", args.junit), ("--pcapng", args.pcapng)):
        if target is not None and not Path(target).resolve().parent.is_dir():
            parser.error(f"{option}: no folder for {target}")
    try:
        conversations = load_conversations(args.files, variables)
    except ConversationErrors as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        print("nothing ran: every file must be valid", file=sys.stderr)
        return USAGE
    reports = asyncio.run(_run_all(conversations, out, quiet=args.quiet, pcapng=args.pcapng))
    if args.junit:
        try:
            Path(args.junit).write_text(junit_xml(reports), encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.junit}: {exc.strerror or exc}", file=sys.stderr)
            return USAGE
    passed = sum(1 for r in reports if r.passed)
    print(f"{passed} of {len(reports)} conversations passed", file=out)
    return PASSED if passed == len(reports) else FAILED


async def _run_all(
    conversations: Sequence[Conversation], out: TextIO, *, quiet: bool, pcapng: str | None
) -> list[ConversationReport]:
    from workbench.sockets import TcpSockets

    def show(step: StepReport) -> None:  # as each step ends: a CI log follows the run
        if not quiet or step.status in (Status.FAILED, Status.ERROR):
            print(f"  {step_line(step)}", file=out, flush=True)

    async with TcpSockets() as tcp:
        if pcapng is None:
            return await _run_each(conversations, tcp, None, out, quiet, show)
        # With --pcapng the sockets need captures: the session layer keeps them.
        from workbench.session.logged import LoggedTcp
        from workbench.session.pcapng_export import export_pcapng
        from workbench.session.session import Session

        session = Session(tcp)
        try:
            reports = await _run_each(conversations, tcp, LoggedTcp(session), out, quiet, show)
            records = [session.registry[key] for key in sorted(session.registry)]
            result = export_pcapng(pcapng, records)
            print(f"wrote {result.sockets} sockets, {result.packets} packets to {pcapng}", file=out)
            await session.close_all()
        finally:
            session.shutdown()
        return reports


async def _run_each(
    conversations: Sequence[Conversation],
    tcp: TcpSockets,
    calls: TcpCalls | None,
    out: TextIO,
    quiet: bool,
    show: Callable[[StepReport], None],
) -> list[ConversationReport]:
    from workbench.session.conversation_run import run_conversation

    reports = []
    for conversation in conversations:
        if not quiet:
            print(f"{conversation.title} ({conversation.path})", file=out, flush=True)
        report = await run_conversation(
            conversation, tcp, calls=calls, keep_socket=calls is not None, on_step=show
        )
        print(summary_line(report), file=out, flush=True)
        reports.append(report)
    return reports
