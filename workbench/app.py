"""Entry point (placeholder until the window lands; this module becomes the composition root).

``socket-workbench --version`` prints the versions that matter when reporting a bug;
``socket-workbench --self-test`` runs the Qt + qasync + asyncio stack headless, for machines
without a display.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import ssl
import sys

from workbench import __version__

NAME = "socket-workbench"


def version_line() -> str:
    """One line: ours, then Python, Qt, PySide6 and OpenSSL (PySide6 imported only here)."""
    import PySide6
    from PySide6 import QtCore

    return (
        f"{NAME} {__version__} (Python {platform.python_version()}, Qt {QtCore.qVersion()}, "
        f"PySide6 {PySide6.__version__}, {ssl.OPENSSL_VERSION})"
    )


async def _loopback_echo() -> bytes:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(64))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping")
        reply = await reader.read(64)
        writer.close()
        await writer.wait_closed()
    return reply


def self_test() -> int:
    """Start a QCoreApplication and a qasync loop, and echo a few bytes over loopback TCP."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Import PySide6 before qasync (or set QT_API): with several bindings installed,
    # qasync otherwise prefers PyQt.
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QCoreApplication

    import qasync

    app = QCoreApplication.instance() or QCoreApplication([NAME])
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        reply = runner.run(asyncio.wait_for(_loopback_echo(), timeout=10))
    if reply != b"ping":
        print(f"self-test FAILED: echo returned {reply!r}", file=sys.stderr)
        return 1
    print(f"{version_line()}: self-test passed (qasync loop, loopback TCP echo)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=NAME, description="Test TCP and TLS servers.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    parser.add_argument(
        "--self-test", action="store_true", help="check the Qt/asyncio stack without a window"
    )
    args = parser.parse_args(argv)
    if args.version:
        print(version_line())
        return 0
    if args.self_test:
        return self_test()
    print(f"Socket Workbench {__version__}: the window arrives in a later version.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
