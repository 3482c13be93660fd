"""The TCP socket options, declared once: what each one is called, what it takes, what it is
after connect.

One row per option. The core's ``TcpSockets.set_option`` checks the arguments against the row,
the net layer applies them (``workbench.net.options.SETTERS``, one setter per row), and the
session logs the call under the row's Chrome method name, remembers the arguments as the
socket's intent and persists them by the row's name. Adding an option is a row here, a setter
there, and a control on the TCP options panel (docs/architecture.md walks through it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Final

from workbench.core.types import check_bool, check_int

__all__ = [
    "DEFAULT_KEEP_ALIVE_DELAY",
    "KEEP_ALIVE",
    "MAX_KEEP_ALIVE_DELAY",
    "NO_DELAY",
    "OPTIONS",
    "OptionArgs",
    "OptionSpec",
    "Param",
]

#: Chromium's TCPClientSocket enables TCP_NODELAY and a 45 s keep-alive on every connected
#: desktop socket (net/socket/tcp_socket_posix.cc, kTCPKeepAliveSeconds): contract K2.
DEFAULT_KEEP_ALIVE_DELAY: Final = 45
#: Linux's largest TCP_KEEPIDLE / TCP_KEEPINTVL (MAX_TCP_KEEPIDLE in include/net/tcp.h).
MAX_KEEP_ALIVE_DELAY: Final = 32767

OptionArgs = tuple[bool | int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Param:
    """One argument of an option call: a bool, or an int in ``[low, high]``."""

    name: str
    kind: type[bool] | type[int]
    low: int = 0
    high: int = 0
    unit: str = ""

    def check(self, value: object) -> bool | int:
        if self.kind is bool:
            return check_bool(value, self.name)
        number = check_int(value, self.name)
        if not self.low <= number <= self.high:
            raise ValueError(
                f"{self.name} must be {self.low}..{self.high}{self.unit}, not {number}"
            )
        return number


@dataclasses.dataclass(frozen=True, slots=True)
class OptionSpec:
    #: The key everywhere outside the call: intent, settings file, ``get_socket_options``.
    name: str
    #: Chrome's method, as the call log writes it: ``chrome.sockets.tcp.setKeepAlive(…)``.
    method: str
    params: tuple[Param, ...]
    #: The arguments the core applies on connect (contract K2).
    default: OptionArgs

    def check(self, args: Sequence[object]) -> OptionArgs:
        """The arguments, checked: ``TypeError`` for a wrong type, ``ValueError`` for a value
        out of range or a wrong count. Trailing parameters take their default."""
        if len(args) > len(self.params):
            raise ValueError(f"{self.method} takes {len(self.params)} arguments, not {len(args)}")
        full = (*args, *self.default[len(args):])
        return tuple(p.check(v) for p, v in zip(self.params, full, strict=True))


KEEP_ALIVE: Final = OptionSpec(
    "keep_alive",
    "setKeepAlive",
    (Param("enable", bool), Param("delay", int, 0, MAX_KEEP_ALIVE_DELAY, " seconds")),
    (True, DEFAULT_KEEP_ALIVE_DELAY),
)
NO_DELAY: Final = OptionSpec("no_delay", "setNoDelay", (Param("no_delay", bool),), (True,))

#: Every option, by name, in the order the panel shows them.
OPTIONS: Final[dict[str, OptionSpec]] = {spec.name: spec for spec in (KEEP_ALIVE, NO_DELAY)}
