"""The session layer: every socket of every kind, its capture and records, the call log.

No Qt: the window is an adapter over it, and scripts and tests drive it directly.
"""

from workbench.session.call_log import CallLog, CallLogEntry
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged import LoggedTcp
from workbench.session.logged_servers import LoggedServers, server_key
from workbench.session.record import (
    RowState,
    ServerIntent,
    ServerRecord,
    SocketIntent,
    SocketRecord,
    row_state,
    server_text,
    state_text,
)
from workbench.session.registry import DEFAULT_CAPTURE_LIMIT, Registry
from workbench.session.server_rules import ServerRules
from workbench.session.session import Session

__all__ = [
    "DEFAULT_CAPTURE_LIMIT",
    "CallLog",
    "CallLogEntry",
    "LoggedServers",
    "LoggedTcp",
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
    "row_state",
    "server_key",
    "server_text",
    "state_text",
]
