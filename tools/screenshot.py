"""Take docs/screenshot.png: the real window under Xvfb with a few live sockets.

    .venv/bin/python tools/screenshot.py [--output docs/screenshot.png] [--size 1280x800]

Without a display it re-runs itself under ``xvfb-run -a``. The window runs on its own built-in
servers (echo, TLS echo, chargen) with a temporary settings directory, so the user's settings
are never touched. Sockets: a plain one with some traffic, one secured with TLS, a paused
chargen, one refused (-102) and one with certificate verification turned off.

``--scene servers``: listening sockets instead: a server on 127.0.0.1 with two accepted
connections from plain clients, one on every interface (amber), one not listening; the
first server's row is selected, on its Listen tab.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the screenshot scene did not settle")
        await asyncio.sleep(0.02)


async def _servers_scene(window, output: Path) -> None:  # type: ignore[no-untyped-def]
    session = window.session
    servers = session.servers
    echo = (await window.sockets.create()).socket_id
    manager = window.server_manager
    from workbench.net.servers import ServerKind

    port = manager.find(ServerKind.ECHO).port
    window.prefill_peer(echo, "127.0.0.1", port)
    await window.sockets.connect(echo, "127.0.0.1", port)
    await window.sockets.send(echo, b"hello echo\r\n")
    web = (await servers.create()).socket_id
    await servers.listen(web, "127.0.0.1", 0)
    listening = session.server(web).info.local_port
    clients = []
    for text in (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"PING\r\n"):
        client = socket.create_connection(("127.0.0.1", listening))
        client.sendall(text)
        clients.append(client)
    await _until(lambda: session.server(web).open == 2)
    wide = (await servers.create()).socket_id
    await servers.listen(wide, "0.0.0.0", 0)
    await servers.create()
    window.current.select_key(session.server(web).key)
    await asyncio.sleep(0.3)  # let the coalesced repaints land (a screenshot, not a test)
    image = window.grab()
    if not image.save(str(output)):
        raise OSError(f"could not write {output}")
    window.tabs.show_panel(window.rules_panel)
    await asyncio.sleep(0.2)
    window.grab().save(str(output.with_name(output.stem + "-rules" + output.suffix)))
    accepted = [s for s in session.ids() if session.ui(s).server is not None]
    window.select_socket(accepted[0])
    await asyncio.sleep(0.3)
    second = output.with_name(output.stem + "-accepted" + output.suffix)
    window.grab().save(str(second))
    print(f"wrote {output} and {second}")
    for client in clients:
        client.close()


async def _udp_scene(window, output: Path) -> None:  # type: ignore[no-untyped-def]
    from workbench.net.servers import ServerKind, ServerSpec
    from workbench.session import SocketKey, SocketKind
    from workbench.sockets import UdpSocketProperties

    session = window.session
    udp = session.udp
    echo = await window.server_manager.start(ServerSpec(ServerKind.UDP_ECHO))
    dns = (await udp.create(UdpSocketProperties(name="dns probe"))).socket_id
    await udp.bind(dns, "127.0.0.1", 0)
    query = bytes.fromhex("1234 0100 0001 0000 0000 0000 0765 7861 6d70 6c65 0363 6f6d 00")
    query += bytes.fromhex("0001 0001")  # a DNS query for example.com, type A
    for message in (query, b"ping", b"a longer datagram that the buffer size will cut" * 3):
        await udp.send(dns, message, "127.0.0.1", echo.port)
    record = session.udp_record(dns)
    await _until(lambda: record.datagrams_in == 3)
    await udp.update(dns, UdpSocketProperties(buffer_size=32))
    await udp.send(dns, b"this reply is longer than 32 bytes: it is cut", "127.0.0.1", echo.port)
    await _until(lambda: record.datagrams_in == 4)
    group = (await udp.create(UdpSocketProperties(name="multicast"))).socket_id
    await udp.bind(group, "0.0.0.0", 0)
    await udp.join_group(group, "239.255.0.42")
    await udp.create()
    window.current.select_key(SocketKey(SocketKind.UDP, dns))
    window.tabs.show_panel(window.tabs.bind_panel)
    window.composer.set_text("ping")
    window.composer.to_address.setEditText("127.0.0.1")
    window.composer.to_port.setValue(echo.port)
    window.data_pane.mode_combo.setCurrentText("Hex")
    await asyncio.sleep(0.3)  # let the coalesced repaints land (a screenshot, not a test)
    window.data_view.scroll_to_start()
    await asyncio.sleep(0.2)
    image = window.grab()
    output.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(output))
    print(f"wrote {output} ({image.width()}x{image.height()})")


async def _scene(output: Path, width: int, height: int, theme: str, what: str) -> None:
    from PySide6.QtWidgets import QApplication

    from workbench.app import build_main_window
    from workbench.net.servers import ServerKind, ServerSpec
    from workbench.sockets import SecureOptions, SocketProperties, TcpSockets
    from workbench.ui.theme import apply_theme

    settings_dir = Path(tempfile.mkdtemp(prefix="workbench-shot-"))
    window = build_main_window(TcpSockets(), servers=True, settings_dir=settings_dir)
    app = QApplication.instance()
    apply_theme(app, theme)
    window.resize(width, height)
    window.show()
    try:
        await _until(lambda: window.setup_task is None or window.setup_task.done())
        if what == "servers":
            await _servers_scene(window, output)
            return
        if what == "udp":
            await _udp_scene(window, output)
            return
        manager = window.server_manager
        echo = manager.find(ServerKind.ECHO)
        tls = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        chargen = await manager.start(ServerSpec(ServerKind.CHARGEN))
        tcp = window.sockets
        session = window.session

        async def make(name: str, port: int) -> int:
            sid = (await tcp.create(SocketProperties(name=name))).socket_id
            window.prefill_peer(sid, "127.0.0.1", port)
            code = await tcp.connect(sid, "127.0.0.1", port)
            session.set_result(sid, "connect", code)
            return sid

        web = await make("echo", echo.port)
        for message in (
            b"GET /status HTTP/1.1\r\nHost: localhost\r\nUser-Agent: workbench\r\n\r\n",
            bytes.fromhex("16 03 01 00 2e 01 00 00 2a 03 03") + bytes(range(0, 48)),
            "héllo, wörld — UTF-8 ✓\n".encode(),
        ):
            await tcp.send(web, message)
        await _until(lambda: session.captures(web).bytes_in >= session.captures(web).bytes_out)

        secure = await make("tls-echo", tls.port)
        options = SecureOptions(ca_file=str(tls.ca_file))
        session.set_result(secure, "secure", await tcp.secure(secure, options))
        await tcp.send(secure, b"PING over TLS 1.3\r\n")

        stream = await make("chargen", chargen.port)
        await _until(lambda: session.counters(stream)[0] > 20_000)
        await tcp.set_paused(stream, True)
        session.set_result(stream, "pause", 0)

        insecure = await make("no-verify", tls.port)
        session.set_result(insecure, "secure", await tcp.secure(
            insecure, SecureOptions(verify=False)))

        await make("refused", _free_port())
        await tcp.set_keep_alive(web, True, 30)

        window.select_socket(web)
        window.tabs.setCurrentIndex(0)
        window.data_pane.mode_combo.setCurrentText("Hex")
        window.composer.set_text(r"QUIT\r\n", mode="Escaped")
        await asyncio.sleep(0.3)  # let the coalesced repaints land (a screenshot, not a test)
        window.data_view.scroll_to_start()
        await asyncio.sleep(0.2)
        image = window.grab()
        output.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(output)):
            raise OSError(f"could not write {output}")
        print(f"wrote {output} ({image.width()}x{image.height()}, "
              f"{len(session.ids())} sockets)")
    finally:
        window.close()
        await _until(lambda: window.shut_down)
        shutil.rmtree(settings_dir, ignore_errors=True)


def _inner(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtWidgets import QApplication

    from workbench.app import make_event_loop

    width, height = (int(v) for v in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: make_event_loop(app)) as runner:
        scene = _scene(Path(args.output), width, height, args.theme, args.scene)
        runner.run(asyncio.wait_for(scene, 60))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    parser.add_argument("--scene", default="sockets", choices=("sockets", "servers", "udp"))
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return _inner(args)
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        print("screenshot: no display and no xvfb-run (apt install xvfb)", file=sys.stderr)
        return 1
    command = [xvfb, "-a", "-s", "-screen 0 1920x1200x24", sys.executable, __file__,
               "--inner", "--output", args.output, "--size", args.size, "--theme", args.theme,
               "--scene", args.scene]
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
