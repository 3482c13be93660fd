"""``connect()``: resolve, try each address, hand the connection to the socket.

An IP literal is answered on the spot (``getaddrinfo`` with ``AI_NUMERICHOST`` never asks a
resolver, so it cannot block); only names take the trip through the executor. Running out of
descriptors, buffers or memory is a result code like any other failure (Chromium's
``MapSystemError``: EMFILE/ENFILE -12, ENOBUFS -176, ENOMEM -13), with the detail in words.
"""

from __future__ import annotations

import asyncio
import encodings.idna
import errno
import socket
import sys
from typing import Any

from workbench.core.errors import NetError, map_os_error
from workbench.core.formatting import format_endpoint
from workbench.core.state import StateEvent
from workbench.core.types import DnsQueryType
from workbench.net import options as sockopts
from workbench.net.tcp_socket import Connection, TcpSocket
from workbench.net.words import reason

if sys.platform != "win32":  # Windows has no RLIMIT_NOFILE
    import resource

__all__ = ["adopt_accepted", "connect", "numeric_addresses"]

# getaddrinfo imports the IDNA codec on first use; with no descriptor left, that import would
# fail, so it is imported with this module.
_preloaded = encodings.idna

# (family, type, proto, canonname, sockaddr), as getaddrinfo returns them.
AddrInfo = tuple[Any, ...]

_FAMILIES = {
    DnsQueryType.ANY: socket.AF_UNSPEC,
    DnsQueryType.IPV4: socket.AF_INET,
    DnsQueryType.IPV6: socket.AF_INET6,
}

# What the OS says when something ran out, in words a user can act on.
_RUN_OUT = {
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
    errno.ENOBUFS: "no buffer space available",
    errno.ENOMEM: "out of memory",
}


async def connect(s: TcpSocket, host: str, port: int, query: DnsQueryType) -> int:
    """'Connects the socket to a remote machine.' The table has already said GO."""
    s.begin_connect(host)
    code = await s.run_op(lambda op: _connect(s, op, host, port, query))
    if code == NetError.OK:
        s.announce()
    return code


async def adopt_accepted(s: TcpSocket, sock: socket.socket) -> None:
    """Make the accepted OS socket ``sock`` the connection of ``s``, a new socket that is not
    in its registry yet: after this ``s`` has its transport, its addresses and the options of
    a connected socket (contract K2), and its state is still ``CREATED``; the caller registers
    it and then ``accepted(s)``. On failure ``sock`` is closed and the ``OSError`` raised.

    'Note the client socket is initially paused and must be explictly un-paused by the
    application to start receiving data.' (sockets_tcp_server.idl, AcceptInfo): the caller
    sets ``paused`` first, so that ``Connection.connection_made`` stops asyncio's first read.
    """
    conn = Connection(s)
    s.conn = conn
    try:
        sock.setblocking(False)
        transport, _ = await s.loop.connect_accepted_socket(lambda: conn, sock=sock)
    except BaseException:
        s.conn = None
        sock.close()
        raise
    s.adopt(sock, transport)
    try:
        sockopts.apply_defaults(sock)
        s.local = _address(sock.getsockname())
        s.peer = _address(sock.getpeername())
    except OSError:
        s.teardown(NetError.CONNECTION_FAILED)
        raise
    # secure() as a client on an accepted socket names the peer by its address.
    s.host = s.peer[0]


def accepted(s: TcpSocket) -> None:
    """The registered socket ``s`` is connected from here on (its ``CREATED`` has been
    announced): it may deliver what it holds, once unpaused (contract L5)."""
    s.advance(StateEvent.ACCEPTED)
    s.announce()
    s.update_reading()


async def _connect(
    s: TcpSocket, op: asyncio.Future[int], host: str, port: int, query: DnsQueryType
) -> None:
    s.details.pop("connect", None)
    infos, code = await _resolve(s, host, port, query)
    sock = None
    if infos:
        sock, code = await _first_reachable(s, infos)
    if sock is None:
        s.connect_failed(op, code)
        return
    if op.done():  # aborted while the last await ran
        sock.close()
        return
    conn = Connection(s)
    s.conn = conn
    try:
        transport, _ = await s.loop.create_connection(lambda: conn, sock=sock)
    except OSError as exc:  # registering with the selector can run out of memory too
        sock.close()
        s.teardown(NetError.CONNECTION_FAILED)
        s.details["connect"] = _describe(exc, format_endpoint(host, port))
        s.connect_failed(op, map_os_error(exc, "connect"))
        return
    except BaseException:
        sock.close()
        raise
    if op.done() or s.conn is not conn:
        transport.abort()
        return
    s.adopt(sock, transport)
    try:
        sockopts.apply_defaults(sock)  # contract K2
        s.local = _address(sock.getsockname())
        s.peer = _address(sock.getpeername())
    except OSError as exc:
        s.teardown(NetError.CONNECTION_FAILED)
        s.connect_failed(op, map_os_error(exc, "connect"))
        return
    s.connected()
    s.details.pop("connect", None)  # an earlier address may have failed
    s.ops.finish(op, NetError.OK)
    s.update_reading()


async def _resolve(
    s: TcpSocket, host: str, port: int, query: DnsQueryType
) -> tuple[list[AddrInfo], int]:
    """The addresses to try, or none and the result code to answer with."""
    # An empty name is no name; never let a resolver read it as "this machine".
    if not host.strip():
        s.details["connect"] = "the address is empty"
        return [], NetError.NAME_NOT_RESOLVED
    family = _FAMILIES[query]
    infos = numeric_addresses(host, port, family)
    if infos is not None:
        return infos, NetError.OK
    try:
        resolved = await s.loop.getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        if isinstance(exc, OSError) and _ran_out(exc):
            s.details["connect"] = _describe(exc, host)
            return [], map_os_error(exc, "connect")
        s.details["connect"] = f"{host}: {reason(exc)}"
        return [], NetError.NAME_NOT_RESOLVED
    return list(resolved), NetError.OK


def numeric_addresses(host: str, port: int, family: int) -> list[AddrInfo] | None:
    """The address of an IP literal, at once, or ``None`` for anything else (a name, or a
    literal of the other family), which goes to the resolver as before: its failure is the
    one to report. ``AI_NUMERICHOST`` makes getaddrinfo parse and never look anything up."""
    try:
        infos = socket.getaddrinfo(
            host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_NUMERICHOST
        )
    except (OSError, UnicodeError):
        return None
    return list(infos)


async def _first_reachable(s: TcpSocket, infos: list[AddrInfo]) -> tuple[socket.socket | None, int]:
    """A connected socket to the first address that answers, or the last failure's code."""
    code: int = NetError.CONNECTION_FAILED
    for family, kind, proto, _, address in infos:
        try:
            candidate = socket.socket(family, kind, proto)
        except OSError as exc:  # EMFILE and friends: an outcome, not a bug
            s.details["connect"] = _describe(exc, _format_sockaddr(address))
            code = map_os_error(exc, "connect")
            continue
        try:
            candidate.setblocking(False)
            await s.loop.sock_connect(candidate, address)
        except OSError as exc:
            candidate.close()
            code = map_os_error(exc, "connect")
            s.details["connect"] = _describe(exc, _format_sockaddr(address))
            continue
        except BaseException:
            candidate.close()
            raise
        return candidate, NetError.OK
    return None, code


def _ran_out(exc: OSError) -> bool:
    return exc.errno in _RUN_OUT


def _describe(exc: OSError, where: str) -> str:
    """``"127.0.0.1:9: Connection refused"``; running out of something says what and why."""
    if not _ran_out(exc):
        return f"{where}: {reason(exc)}"
    words = _RUN_OUT.get(exc.errno or 0, "")
    if exc.errno == errno.EMFILE and sys.platform != "win32":
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        why = f"this program may have {soft} open at a time (RLIMIT_NOFILE)"
    elif exc.errno == errno.ENFILE:
        why = "the whole system has reached its limit (fs.file-max)"
    else:
        why = "the operating system is short of memory for sockets"
    return f"{words}: {why}, so no connection to {where} could be made"


def _format_sockaddr(address: Any) -> str:
    return format_endpoint(str(address[0]), int(address[1]))


def _address(sockaddr: Any) -> tuple[str, int]:
    return str(sockaddr[0]), int(sockaddr[1])
