"""What a received datagram costs: the UDP core alone, and the core with the session (registry,
capture with its datagram index, a 25 ms look as the window takes). A quick measurement for
the coming flood benchmark, not one of ``make bench``'s (the leading ``_`` keeps it out).

    .venv/bin/python -m benchmarks._udp_receive_cost [--rate 100000] [--seconds 3] [--size 32]

A separate process (its own GIL) sends ``size``-byte datagrams to 127.0.0.1 at ``rate`` per
second for ``seconds``; the receiver counts them. Each row: datagrams sent, received, dropped by
the OS (``/proc/net/udp``'s drops for the port), and the receiver process's CPU time (all its
threads: the capture's writer thread too) per datagram received. A plain ``recvfrom`` loop on
a blocking socket is the reference.

``--drain`` measures the receive path alone, with nothing else running: the socket is paused,
a plain socket queues ``burst`` datagrams in its receive buffer, and the time (wall and CPU)
from the resume to the last datagram is divided by ``burst``; best of ``repeats`` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from workbench.net.tcp import TcpSockets
from workbench.net.udp import UdpSockets
from workbench.session.session import Session

SENDER = """
import socket, sys, time
port, rate, seconds, size = map(float, sys.argv[1:5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload, addr, n = b"x" * int(size), ("127.0.0.1", int(port)), 0
start = time.perf_counter()
while (now := time.perf_counter()) < start + seconds:
    due = int((now - start) * rate)
    while n < due:
        try:
            s.sendto(payload, addr)
        except OSError:  # ENOBUFS: the local queue is full; counted as not sent
            due -= 1
            continue
        n += 1
print(n)
"""


def _drops(port: int) -> int:
    with open("/proc/net/udp", encoding="ascii") as table:
        for row in table.read().splitlines()[1:]:
            fields = row.split()
            if int(fields[1].split(":")[1], 16) == port:
                return int(fields[-1])
    return -1


def _sender(port: int, args: argparse.Namespace) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", SENDER, str(port), str(args.rate), str(args.seconds)]
    return subprocess.Popen([*argv, str(args.size)], stdout=subprocess.PIPE, text=True)


def _row(name: str, sent: int, got: int, drops: int, cpu: float, wall: float) -> None:
    per = cpu / got * 1e6 if got else float("nan")
    print(
        f"{name:<16} sent {sent:>8}  received {got:>8}  os drops {drops:>7}  "
        f"cpu {cpu:6.2f} s / wall {wall:5.2f} s  {per:6.2f} µs/datagram",
        flush=True,
    )


def reference(args: argparse.Namespace) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.3)
    port = sock.getsockname()[1]
    proc = _sender(port, args)
    got, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    buf = bytearray(4096)
    while True:
        try:
            sock.recvfrom_into(buf)
            got += 1
        except TimeoutError:
            if proc.poll() is not None:
                break
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0 - 0.3
    sent = int(proc.communicate()[0])
    _row("reference", sent, got, _drops(port), cpu - 0.0, wall)
    sock.close()


async def _run(port: int, count: Callable[[], int], args: argparse.Namespace, name: str) -> None:
    proc = _sender(port, args)
    cpu0, t0 = time.process_time(), time.perf_counter()
    while proc.poll() is None:
        await asyncio.sleep(0.05)
    last = -1
    while count() != last:  # what is still queued arrives
        last = count()
        await asyncio.sleep(0.1)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    sent = int(proc.communicate()[0])
    _row(name, sent, count(), _drops(port), cpu, wall)


async def core(args: argparse.Namespace) -> None:
    async with UdpSockets() as udp:
        got = [0]

        def on_receive(_info: object) -> None:
            got[0] += 1

        udp.on_receive.add_listener(on_receive)
        sid = (await udp.create()).socket_id
        assert await udp.bind(sid, "127.0.0.1", 0) == 0
        port = udp.info_now(sid).local_port
        assert port
        await _run(port, lambda: got[0], args, "core")


async def session(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        s = Session(TcpSockets(), capture_dir=Path(folder))
        looking = True

        async def look() -> None:  # the window's throttle: one look per 25 ms
            while looking:
                s.registry.take_changes()
                await asyncio.sleep(0.025)

        task = asyncio.get_running_loop().create_task(look())
        sid = (await s.udp.create()).socket_id
        assert await s.udp.bind(sid, "127.0.0.1", 0) == 0
        record = s.udp.record(sid)
        assert record is not None and record.info.local_port
        await _run(record.info.local_port, lambda: record.datagrams_in, args, "core+session")
        assert record.capture.record_count == record.datagrams_in
        looking = False
        await task
        await s.close_all()
        s.shutdown()


async def _drain(
    udp: UdpSockets, sid: int, port: int, count: Callable[[], int], burst: int
) -> tuple[float, float]:
    """(wall, cpu) seconds per datagram for one burst drained from the OS buffer."""
    await udp.set_paused(sid, True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for _ in range(burst):
            sender.sendto(b"x" * 32, ("127.0.0.1", port))
    start = count()
    t0, c0 = time.perf_counter(), time.process_time()
    await udp.set_paused(sid, False)
    while count() < start + burst:
        await asyncio.sleep(0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / burst, cpu / burst


async def drain(args: argparse.Namespace, with_session: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        s = Session(TcpSockets(), capture_dir=Path(folder)) if with_session else None
        udp = s.udp.raw if s is not None else UdpSockets()
        got = [0]
        if s is None:
            udp.on_receive.add_listener(lambda _info: got.__setitem__(0, got[0] + 1))
        sid = (await udp.create()).socket_id
        assert await udp.bind(sid, "127.0.0.1", 0) == 0
        port = udp.info_now(sid).local_port
        assert port
        record = s.registry.udp_record(sid) if s is not None else None
        count = (lambda: record.datagrams_in) if record is not None else (lambda: got[0])
        best = min([await _drain(udp, sid, port, count, args.burst) for _ in range(args.repeats)])
        name = "core+session" if s is not None else "core"
        print(
            f"drain {name:<13} {best[0] * 1e6:6.2f} µs wall  {best[1] * 1e6:6.2f} µs cpu "
            f"per datagram (best of {args.repeats} bursts of {args.burst})",
            flush=True,
        )
        await udp.shutdown()
        if s is not None:
            s.registry.take_changes()
            s.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    if args.drain:
        asyncio.run(drain(args, False))
        asyncio.run(drain(args, True))
        return
    print(f"{args.rate}/s of {args.size}-byte datagrams for {args.seconds} s")
    for _ in range(args.repeats):
        reference(args)
        asyncio.run(core(args))
        asyncio.run(session(args))


if __name__ == "__main__":
    main()
