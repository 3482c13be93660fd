"""A UDP socket's receive buffer (``RECEIVE_BUFFER``, asked for at bind): a burst of small
datagrams far larger than the usual default buffer waits in the OS while the socket is paused
(D7), and is delivered whole once it is resumed. Where the system caps receive buffers too low
to show it (``net.core.rmem_max``), the test skips and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.net.test_udp import Datagrams, Peer, bound, peers, udp_receive_queue
from workbench.net.udp import UdpSockets
from workbench.net.udp_socket import RECEIVE_BUFFER

#: Datagrams in the burst: about 2.5 MiB of kernel memory (each small one costs ~800 bytes of
#: buffer), more than ten times the usual default of 208 KiB.
BURST = 3000


def _rmem_max() -> int:
    try:
        return int(Path("/proc/sys/net/core/rmem_max").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return 0


@pytest.mark.skipif(
    _rmem_max() < RECEIVE_BUFFER,
    reason=f"net.core.rmem_max is {_rmem_max()}: the kernel caps SO_RCVBUF below "
    f"RECEIVE_BUFFER ({RECEIVE_BUFFER})",
)
async def test_D7_a_burst_far_over_the_default_buffer_waits_while_paused() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, port = await bound(udp)
        await udp.set_paused(sid, True)
        with peers() as made:
            made.append(peer := Peer())
            for n in range(BURST):
                peer.send(n.to_bytes(4, "big") * 4, port)
            queued = udp_receive_queue(port)
            assert queued is not None and queued > 212992  # more than the default buffer holds
            await udp.set_paused(sid, False)
            received = await got.wait(BURST)
        assert [int.from_bytes(r.data[:4], "big") for r in received] == list(range(BURST))
