"""64 MiB through one socket while the test pauses, resumes and resizes it at random.

Rows R1 (chunks of 1..buffer_size bytes whose concatenation is exactly the stream), C2 (no
buffer_size: at most 4096), C4 ('a new buffer_size applies from the next chunk'), P1 (nothing
while paused, nothing lost) and R2 (the FIN after the last byte is one -100) under load.

The sender is a plain thread that writes pseudo-random bytes as fast as the kernel takes them
and hashes what it wrote; the receiver hashes what ``on_receive`` delivered. The seed is
printed on failure; set ``WORKBENCH_INTEGRITY_SEED`` to replay a run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.conftest import TIMEOUT
from tests.net.tls_peers import ThreadedServer
from workbench.sockets import (
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SocketProperties,
    TcpSockets,
)

TOTAL = 64 * 2**20
BLOCK = 2**20
SEED = int(os.environ.get("WORKBENCH_INTEGRITY_SEED", "0") or 0) or random.randrange(1, 2**31)
#: Values given to update(buffer_size=...): tiny, odd, huge, and the "default" ones (None
#: leaves the size as is; 0 and negatives mean 4096).
SIZES: list[int | None] = [1, 7, 100, 1000, 4096, 5000, 16384, 65536, 262144, 2**20, 0, -3, None]


def effective(size: int | None) -> int:
    return size if size is not None and size > 0 else 4096


def sender(seed: int, total: int) -> Callable[[socket.socket, ThreadedServer], None]:
    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        rng = random.Random(seed)
        digest = hashlib.sha256()
        left = total
        while left:
            block = rng.randbytes(min(BLOCK, left))
            digest.update(block)
            conn.sendall(block)  # blocks while the receiver is paused: TCP flow control
            left -= len(block)
        server.events.put(("sent", digest.hexdigest()))
        conn.shutdown(socket.SHUT_WR)  # FIN after the last byte
        while conn.recv(65536):  # wait for the client to close; it should send nothing
            pass

    return handler


@dataclass
class Receiver:
    """What ``on_receive`` saw, checked chunk by chunk against the rules in force."""

    socket_id: int
    limit: int  # the largest chunk allowed right now
    paused: bool = False  # set once set_paused(True) has returned, cleared before resuming
    count: int = 0
    chunks: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    errors: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Set by on_receive once ``count`` reaches ``target`` (or the stream ended), so the test
    #: acts at the next loop turn instead of at its next poll.
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    target: int = 0

    def arm(self, target: int) -> None:
        self.target = target
        if self.count >= target or self.errors:
            self.reached.set()
        else:
            self.reached.clear()

    def on_receive(self, info: ReceiveInfo) -> None:
        if info.socket_id != self.socket_id:
            return
        n = len(info.data)
        if self.errors:
            self.violations.append(f"{n} bytes after on_receive_error at {self.count}")
        if self.paused:
            self.violations.append(f"{n} bytes delivered while paused at offset {self.count}")
        if not 1 <= n <= self.limit:
            self.violations.append(f"chunk of {n} bytes at {self.count}, limit {self.limit}")
        self.digest.update(info.data)
        self.count += n
        self.chunks += 1
        if self.count >= self.target:
            self.reached.set()

    def on_error(self, info: ReceiveErrorInfo) -> None:
        if info.socket_id == self.socket_id:
            self.errors.append(info.result_code)
            self.reached.set()


@pytest.mark.slow
async def test_R1_C4_P1_64_mib_survive_random_pauses_and_buffer_sizes(
    tcp: TcpSockets, serve: Callable[..., ThreadedServer]
) -> None:
    rng = random.Random(SEED)
    context = f"seed {SEED} (WORKBENCH_INTEGRITY_SEED={SEED} replays it)"
    server = serve(sender(SEED, TOTAL), name="bulk-sender")

    initial = rng.choice([s for s in SIZES if s is not None])
    socket_id = (await tcp.create(SocketProperties(buffer_size=initial))).socket_id
    size = effective(initial)
    receiver = Receiver(socket_id, limit=size)
    tcp.on_receive.add_listener(receiver.on_receive)
    tcp.on_receive_error.add_listener(receiver.on_error)
    assert await tcp.connect(socket_id, "127.0.0.1", server.port, DnsQueryType.IPV4) == 0

    pauses = resizes = 0
    while not receiver.errors:
        # Let a random number of chunks of the current size go by, then act.
        receiver.arm(receiver.count + min(rng.randint(1, 100) * size, 512 * 2**10))
        try:
            await asyncio.wait_for(receiver.reached.wait(), TIMEOUT)
        except TimeoutError:
            pytest.fail(f"stalled at {receiver.count} of {TOTAL} bytes; {context}")
        if receiver.errors:
            break
        if rng.random() < 0.5:
            pauses += 1
            await tcp.set_paused(socket_id, True)
            receiver.paused = True
            # A few loop turns in which a (wrong) delivery would be caught by on_receive.
            for _ in range(rng.randint(0, 5)):
                await asyncio.sleep(0)
            if rng.random() < 0.3:  # resize while paused: applies to the held bytes too
                new = rng.choice(SIZES)
                receiver.limit = max(size, effective(new) if new is not None else size)
                await tcp.update(socket_id, SocketProperties(buffer_size=new))
                size = size if new is None else effective(new)
                receiver.limit = size
            receiver.paused = False
            await tcp.set_paused(socket_id, False)
        else:
            resizes += 1
            new = rng.choice(SIZES)
            # 'A new buffer_size applies from the next chunk': while update() runs, either
            # size is fine; once it has returned, only the new one.
            receiver.limit = max(size, effective(new) if new is not None else size)
            await tcp.update(socket_id, SocketProperties(buffer_size=new))
            size = size if new is None else effective(new)
            receiver.limit = size

    sent_digest = server.wait_event("sent")
    summary = (
        f"{context}; {receiver.count} bytes in {receiver.chunks} chunks, "
        f"{pauses} pauses, {resizes} resizes"
    )
    assert receiver.violations == [], f"{receiver.violations[:5]} ... {summary}"
    assert receiver.errors == [-100], summary
    assert receiver.count == TOTAL, summary
    assert receiver.digest.hexdigest() == sent_digest, summary
    info = await tcp.get_info(socket_id)
    assert (info.connected, info.paused) == (False, True), summary  # R3
    assert pauses and resizes, summary  # the run exercised both
