"""What a built-in server is: its kind and the settings it starts with.

The kinds, and what RFC 864's chargen stream looks like, are described in the package's
docstring (``workbench/net/servers/__init__.py``).
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress

__all__ = [
    "CHARGEN_LINE_LENGTH",
    "KIND_DESCRIPTIONS",
    "MAX_REPLY_DELAY_MS",
    "SLOW_DRIP_MESSAGE",
    "ServerKind",
    "ServerSpec",
    "chargen_cycle",
]


class ServerKind(enum.StrEnum):
    ECHO = "echo"
    TLS_ECHO = "tls-echo"
    DISCARD = "discard"
    CHARGEN = "chargen"
    CLOSE_AFTER = "close-after"
    RESET_AFTER = "reset-after"
    SLOW_DRIP = "slow-drip"
    UDP_ECHO = "udp-echo"
    UDP_REPLY_AFTER = "udp-reply-after"

    @property
    def udp(self) -> bool:
        """A UDP server: it answers datagrams and has no connections."""
        return self in (ServerKind.UDP_ECHO, ServerKind.UDP_REPLY_AFTER)


#: One sentence per kind, for tooltips and the self-test transcript.
KIND_DESCRIPTIONS: dict[ServerKind, str] = {
    ServerKind.ECHO: "Sends back every byte it receives.",
    ServerKind.TLS_ECHO: "Echo over TLS 1.2 to 1.3, with a certificate from the private "
    '"Socket Workbench Test CA" for localhost, 127.0.0.1 and ::1.',
    ServerKind.DISCARD: "Reads everything and sends nothing (RFC 863).",
    ServerKind.CHARGEN: "Streams rotating 72-character lines of printable ASCII as fast as "
    "the client reads (RFC 864).",
    ServerKind.CLOSE_AFTER: "Echoes until N bytes were received, then closes cleanly (FIN).",
    ServerKind.RESET_AFTER: "Echoes until N bytes were received, then resets the connection (RST).",
    ServerKind.SLOW_DRIP: "Sends a short message one byte at a time, one byte per interval, "
    "over and over.",
    ServerKind.UDP_ECHO: "UDP: sends every datagram back to its sender.",
    ServerKind.UDP_REPLY_AFTER: "UDP: sends every datagram back to its sender after a delay of "
    "N ms, for testing time-outs.",
}

#: The longest delay the UDP reply-after server takes: a minute.
MAX_REPLY_DELAY_MS = 60_000

SLOW_DRIP_MESSAGE = b"Socket Workbench slow drip\r\n"

#: RFC 864: 'the line is 72 characters long'.
CHARGEN_LINE_LENGTH = 72
#: The 95 printable ASCII characters in RFC 864's order: its sample starts at "!", and the
#: space comes round after "~".
_PRINTABLE = bytes(range(33, 127)) + b" "


def chargen_cycle() -> bytes:
    """One full period of the chargen stream: 95 lines of 72 characters plus CRLF."""
    doubled = _PRINTABLE * 2
    return b"".join(doubled[i : i + CHARGEN_LINE_LENGTH] + b"\r\n" for i in range(len(_PRINTABLE)))


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """What to start. ``n`` is used by close-after and reset-after, ``interval`` (seconds) and
    ``message`` by slow-drip, ``delay_ms`` by udp-reply-after. ``host`` must be an IP
    literal: a name could bind several sockets, each on a different free port."""

    kind: ServerKind
    host: str = "127.0.0.1"
    port: int = 0
    n: int = 1024
    interval: float = 0.2
    message: bytes = SLOW_DRIP_MESSAGE
    delay_ms: int = 1000

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ServerKind(self.kind))
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise ValueError(f"host must be an IP address literal, not {self.host!r}") from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise TypeError(f"port must be an int, not {type(self.port).__name__}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"n must be an int >= 0, not {self.n!r}")
        if not self.interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {self.interval!r}")
        if not isinstance(self.message, bytes) or not self.message:
            raise ValueError("message must be non-empty bytes")
        delay = self.delay_ms
        if isinstance(delay, bool) or not isinstance(delay, int):
            raise ValueError(f"delay_ms must be an int, not {delay!r}")
        if not 0 <= delay <= MAX_REPLY_DELAY_MS:
            raise ValueError(f"delay_ms must be in 0..{MAX_REPLY_DELAY_MS}, not {delay}")
