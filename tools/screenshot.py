"""Take docs/screenshot.png: the real window under Xvfb with a few live sockets.

    .venv/bin/python tools/screenshot.py [--output docs/screenshot.png] [--size 1280x800]

Without a display it re-runs itself under ``xvfb-run -a``. The window runs on its own built-in
servers (echo, TLS echo, chargen) with a temporary settings directory, so the user's settings
are never touched. Sockets: a plain one with some traffic, one secured with TLS, a paused
chargen, one refused (-102) and one with certificate verification turned off.

``--scene servers``: listening sockets instead: a server on 127.0.0.1 with two accepted
connections from plain clients, one on every interface (amber), one not listening; the
first server's row is selected, on its Listen tab.

``--scene certificates`` (docs/certificate-view.png): a socket secured against ``openssl
s_server`` with a three-level trustme chain and ALPN, on its TLS tab scrolled to the
certificate view, the intermediate selected.

``--scene tls``: the same secured socket on its TLS tab in the window's default layout (docks
and splitters as a new user has them), a picture a page of the tab at a time (``-2``, ``-3``…
for the pages after the first), to judge how the tab reads at this size.
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


def _chain_server(folder: Path) -> tuple[subprocess.Popen[str], int, Path]:
    """``openssl s_server`` sending leaf + intermediate (a trustme chain), ALPN h2: (process,
    port, the root's PEM file)."""
    import datetime as dt

    import trustme

    root = trustme.CA(organization_name="Workbench Demo Root")
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert(
        "localhost", "127.0.0.1", common_name="localhost",
        not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=21),
    )  # fmt: skip
    root.cert_pem.write_to_path(str(folder / "root.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(folder / "leaf.pem"))
    leaf.cert_chain_pems[1].write_to_path(str(folder / "chain.pem"))
    leaf.private_key_pem.write_to_path(str(folder / "key.pem"))
    port = _free_port()
    command = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-rev",
               "-cert", str(folder / "leaf.pem"), "-key", str(folder / "key.pem"),
               "-cert_chain", str(folder / "chain.pem"), "-alpn", "h2,http/1.1"]  # fmt: skip
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ACCEPT"):
            break
    return proc, port, folder / "root.pem"


async def _certificates_scene(window, output: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QDockWidget

    proc, port, root = _chain_server(Path(tempfile.mkdtemp(prefix="workbench-chain-")))
    try:
        panel = await _secured_chain_socket(window, root, port)
        view = panel.certificateView
        for dock in window.findChildren(QDockWidget):
            dock.hide()  # the room goes to the TLS tab
        await asyncio.sleep(0.2)
        splitters = window.window_layout.splitters
        main, right = splitters["main"], splitters["right"]
        main.setSizes([430, main.width() - 430])
        right.setSizes([right.height() - 150, 60, 90])
        right.splitterMoved.emit(0, 1)  # as if the user moved it: the layout keeps it
        await asyncio.sleep(0.3)
        scroll = window.tabs.scroll_of(panel)
        scroll.verticalScrollBar().setValue(view.mapTo(panel, view.rect().topLeft()).y())
        await asyncio.sleep(0.3)
        image = window.grab()
        output.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(output))
        print(f"wrote {output} ({image.width()}x{image.height()})")
    finally:
        proc.kill()
        proc.wait()


async def _secured_chain_socket(window, root: Path, port: int):  # type: ignore[no-untyped-def]
    """A socket connected to the chain server and secured on its TLS tab: the panel."""
    from workbench.sockets import SocketProperties

    tcp = window.sockets
    sid = (await tcp.create(SocketProperties(name="h2 demo"))).socket_id
    window.prefill_peer(sid, "localhost", port)
    await tcp.connect(sid, "localhost", port, "ipv4")
    window.select_socket(sid)
    panel = window.tabs.tls_panel
    window.tabs.show_panel(panel)
    panel.set_ca_file(str(root))
    panel.secureExtras.alpnEdit.setText("h2, http/1.1")
    panel.secureButton.click()
    await _until(lambda: panel.secureResult.text() == "OK")
    await _until(lambda: panel.certificateView.lists[0].count() == 2)
    return panel


async def _tls_scene(window, output: Path) -> None:  # type: ignore[no-untyped-def]
    proc, port, root = _chain_server(Path(tempfile.mkdtemp(prefix="workbench-chain-")))
    try:
        panel = await _secured_chain_socket(window, root, port)
        panel.moreOptions.set_expanded(False)  # folded again: its header names ALPN
        await asyncio.sleep(0.3)
        bar = window.tabs.scroll_of(panel).verticalScrollBar()
        output.parent.mkdir(parents=True, exist_ok=True)
        page, value = 1, 0
        while True:
            bar.setValue(value)
            await asyncio.sleep(0.2)
            name = output if page == 1 else output.with_stem(f"{output.stem}-{page}")
            window.grab().save(str(name))
            print(f"wrote {name} (scrolled to {bar.value()} of {bar.maximum()})")
            if bar.value() >= bar.maximum() or page >= 6:
                break
            page, value = page + 1, value + bar.pageStep()
    finally:
        proc.kill()
        proc.wait()


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
        if what == "certificates":
            await _certificates_scene(window, output)
            return
        if what == "tls":
            await _tls_scene(window, output)
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
    parser.add_argument(
        "--scene", default="sockets", choices=("sockets", "servers", "udp", "certificates", "tls")
    )
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
