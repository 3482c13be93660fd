"""Built-in test peers: something to talk to at once, and real targets for the tests.

Each server is an asyncio server bound to 127.0.0.1 on a free port (port 0) by default:

- ``echo``: sends back every byte it receives.
- ``tls-echo``: the same over TLS 1.2 to 1.3. Its certificate comes from a private test CA,
  "Socket Workbench Test CA", made with trustme on first use into the manager's directory and
  reused while it stays valid; ``RunningServer.ca_file`` is what a client trusts
  (``SecureOptions(ca_file=...)``).
- ``discard``: RFC 863 — reads and drops.
- ``chargen``: RFC 864 — "the data may be anything"; the recommended pattern is 72-character
  lines of rotating printable ASCII, each starting one character further on. It writes only
  while the transport's buffer is under its high-water mark, so a client that stops reading
  stops the stream (TCP flow control, then ``pause_writing``) and memory stays bounded.
- ``close-after``: echo until N bytes were received in all, then a clean close: FIN after the
  echoed bytes (``write_eof``), reading and dropping until the client closes too, so the kernel
  never turns the close into a reset because of unread bytes.
- ``reset-after``: echo until N bytes were received, then ``SO_LINGER`` 0 and close: RST.
  Echoed bytes still in flight when the reset leaves may be lost — that is what a reset does.
- ``slow-drip``: one byte of a message every ``interval`` seconds, over and over.
- ``udp-echo``: UDP; every datagram goes back to its sender.
- ``udp-reply-after``: UDP; every datagram goes back to its sender ``delay_ms`` after it
  arrived, never earlier (for testing time-outs). Both run on asyncio datagram endpoints, not
  on ``UdpSockets`` (``datagrams`` says why).

Every echoing server stops reading while its own writes are blocked, so a client that sends
without reading cannot make it buffer without bound.

tls-echo writes the keys of its handshakes to the global TLS key log when it is on
(``ServerManager.keylog_from``: the window's ``TcpSockets.keylog_file``), asked at each
handshake, so turning it on or off applies to the handshakes from then on.

The modules: ``spec`` (what to start), ``manager`` (``ServerManager``, ``RunningServer``),
``peers`` (one protocol per TCP kind), ``datagrams`` (the UDP kinds) and ``certificates``
(the test CA). Importing this package imports ``spec`` and ``manager`` only: the first server
start imports ``peers`` (or ``datagrams``), and ``certificates`` is imported when its names
are first used (the first tls-echo start, or ``ServerManager.ca_file``); cryptography and
trustme only when the test CA is made or checked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench.net.servers.manager import (
    CLOSE_TIMEOUT,
    KeylogHolder,
    RunningServer,
    ServerManager,
)
from workbench.net.servers.spec import (
    CHARGEN_LINE_LENGTH,
    KIND_DESCRIPTIONS,
    MAX_REPLY_DELAY_MS,
    SLOW_DRIP_MESSAGE,
    ServerKind,
    ServerSpec,
    chargen_cycle,
)

if TYPE_CHECKING:
    from workbench.net.servers.certificates import (
        CA_COMMON_NAME,
        CertificateFiles,
        ensure_certificates,
    )
    from workbench.net.servers.peers import TLS_HANDSHAKE_TIMEOUT

#: Names of the modules that only a running server needs, imported on first use (PEP 562):
#: the window imports this package before its first paint and starts a server after it.
_LAZY = {
    "CA_COMMON_NAME": "certificates",
    "CertificateFiles": "certificates",
    "ensure_certificates": "certificates",
    "TLS_HANDSHAKE_TIMEOUT": "peers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CA_COMMON_NAME",
    "CHARGEN_LINE_LENGTH",
    "CLOSE_TIMEOUT",
    "KIND_DESCRIPTIONS",
    "MAX_REPLY_DELAY_MS",
    "SLOW_DRIP_MESSAGE",
    "TLS_HANDSHAKE_TIMEOUT",
    "CertificateFiles",
    "KeylogHolder",
    "RunningServer",
    "ServerKind",
    "ServerManager",
    "ServerSpec",
    "chargen_cycle",
    "ensure_certificates",
]
