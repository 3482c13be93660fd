"""The session layer: every socket of every kind, its capture and records, the call log.

No Qt: the window is an adapter over it, and scripts and tests drive it directly.

Its names load when first used (PEP 562): ``socket-workbench run`` imports one module of it
and starts without the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.session.call_log import CallLog, CallLogEntry
    from workbench.session.keys import SocketKey, SocketKind
    from workbench.session.logged import LoggedTcp
    from workbench.session.logged_servers import LoggedServers, server_key
    from workbench.session.logged_udp import LoggedUdp
    from workbench.session.record import (
        RowState,
        ServerIntent,
        ServerRecord,
        SocketIntent,
        SocketRecord,
        UdpIntent,
        UdpRecord,
        row_state,
        server_text,
        state_text,
        udp_text,
    )
    from workbench.session.registry import DEFAULT_CAPTURE_LIMIT, Registry
    from workbench.session.server_rules import ServerRules
    from workbench.session.session import Session
    from workbench.session.udp_book import udp_key

_HOMES = {
    "CallLog": "workbench.session.call_log",
    "CallLogEntry": "workbench.session.call_log",
    "SocketKey": "workbench.session.keys",
    "SocketKind": "workbench.session.keys",
    "LoggedTcp": "workbench.session.logged",
    "LoggedServers": "workbench.session.logged_servers",
    "server_key": "workbench.session.logged_servers",
    "LoggedUdp": "workbench.session.logged_udp",
    "RowState": "workbench.session.record",
    "ServerIntent": "workbench.session.record",
    "ServerRecord": "workbench.session.record",
    "SocketIntent": "workbench.session.record",
    "SocketRecord": "workbench.session.record",
    "UdpIntent": "workbench.session.record",
    "UdpRecord": "workbench.session.record",
    "row_state": "workbench.session.record",
    "server_text": "workbench.session.record",
    "state_text": "workbench.session.record",
    "udp_text": "workbench.session.record",
    "DEFAULT_CAPTURE_LIMIT": "workbench.session.registry",
    "Registry": "workbench.session.registry",
    "ServerRules": "workbench.session.server_rules",
    "Session": "workbench.session.session",
    "udp_key": "workbench.session.udp_book",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_CAPTURE_LIMIT",
    "CallLog",
    "CallLogEntry",
    "LoggedServers",
    "LoggedTcp",
    "LoggedUdp",
    "Registry",
    "RowState",
    "ServerIntent",
    "ServerRecord",
    "ServerRules",
    "Session",
    "SocketIntent",
    "SocketKey",
    "SocketKind",
    "SocketRecord",
    "UdpIntent",
    "UdpRecord",
    "row_state",
    "server_key",
    "server_text",
    "state_text",
    "udp_key",
    "udp_text",
]
