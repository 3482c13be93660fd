"""The TLS sessions a ``TcpSockets`` keeps for resumption (tls-inspection-contract.md TI6).

'The core keeps the newest session per (peer address, peer port, SNI). A later
``secure(..., resume=True)`` to the same server offers it.' Python ties a session to the
``SSLContext`` it was made with, so the context is kept with it: a resume with the same
settings runs on that context; with other settings there is nothing to offer, and the
handshake is a full one.
"""

from __future__ import annotations

import collections
import dataclasses
import ssl

from workbench.core.types import SecureOptions
from workbench.net.tls_private import InspectingContext

__all__ = ["SessionKey", "TlsSessions", "settings_of"]

#: (peer address, peer port, the server name sent or None).
SessionKey = tuple[str, int, str | None]


def settings_of(options: SecureOptions) -> SecureOptions:
    """The options that make a context: all but ``resume`` and the handshake's timeout."""
    return dataclasses.replace(options, resume=False, handshake_timeout=None)


@dataclasses.dataclass
class _Kept:
    settings: SecureOptions
    context: InspectingContext
    #: The connection's SSLObject: its ``session`` is read when it is offered, so that TLS
    #: 1.3's tickets, which arrive after the handshake, are in it.
    ssl_object: ssl.SSLObject


class TlsSessions:
    """The newest session per ``SessionKey``, at most ``limit`` of them (the oldest go)."""

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._kept: collections.OrderedDict[SessionKey, _Kept] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def offer(
        self, key: SessionKey, options: SecureOptions
    ) -> tuple[InspectingContext, ssl.SSLSession] | None:
        """The context and session to resume with, for ``resume=True`` with the settings the
        newest session for ``key`` was made with; None otherwise."""
        kept = self._kept.get(key)
        if not options.resume or kept is None or kept.settings != settings_of(options):
            return None
        session = kept.ssl_object.session
        if session is None:
            return None
        return kept.context, session

    def keep(
        self,
        key: SessionKey,
        options: SecureOptions,
        context: InspectingContext,
        ssl_object: ssl.SSLObject,
    ) -> None:
        self._kept.pop(key, None)
        self._kept[key] = _Kept(settings_of(options), context, ssl_object)
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)

    def forget(self) -> None:
        """Drop every kept session."""
        self._kept.clear()
