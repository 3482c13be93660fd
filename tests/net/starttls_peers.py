"""Fake STARTTLS servers, one per protocol of ``STARTTLS_PROTOCOLS``: blocking loopback
servers in threads (``ThreadedServer``) that follow the protocol's RFC exchange, then run TLS
and echo. ``openssl s_client -starttls <protocol>`` proves each faithful
(``tests/net/test_starttls.py``) before the workbench is tested against it.

A server reports, in ``server.events``:

- ``("plaintext", (received, sent))``: every plaintext byte of the exchange, both ways, once
  it said "go ahead" (or refused);
- ``("refused", None)`` after a refusal, then ``("after_refusal", bytes)`` with what the
  client sent after it, once the client closed;
- the TLS events of ``tls_accept`` (``handshake``, ``handshake_failed``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections.abc import Callable

from tests.net.tls_peers import Handler, ThreadedServer, tls_echo

#: What each fake server answers its "go ahead" command with when it refuses (ST2), and the
#: words the workbench must quote.
REFUSALS: dict[str, bytes] = {
    "smtp": b"454 4.7.0 TLS not available due to temporary reason",
    "lmtp": b"454 4.7.0 TLS not available due to temporary reason",
    "imap": b"BAD STARTTLS not available",
    "pop3": b"-ERR STLS not available",
    "ftp": b"534 TLS not available",
    "xmpp": b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    "nntp": b"580 Can not initiate TLS negotiation",
    "sieve": b'NO "STARTTLS not available"',
    "ldap": b"StartTLS is not configured",
    "postgres": b"N",
    "mysql": b"CLIENT_SSL",
}


class Plain:
    """The plaintext side of a connection: buffered reads, and a record of both ways."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.pending = b""
        self.received = bytearray()
        self.sent = bytearray()

    def send(self, data: bytes) -> None:
        self.sent += data
        self.conn.sendall(data)

    def _fill(self, most: int = 4096) -> None:
        chunk = self.conn.recv(most)
        if not chunk:
            raise EOFError("the client closed during the exchange")
        self.pending += chunk

    def until(self, marker: bytes) -> bytes:
        while (i := self.pending.find(marker)) < 0:
            self._fill()
        end = i + len(marker)
        data, self.pending = self.pending[:end], self.pending[end:]
        self.received += data
        return data

    def line(self) -> bytes:
        return self.until(b"\n")

    def exact(self, size: int) -> bytes:
        while len(self.pending) < size:
            # Never past the message: a MySQL client sends its ClientHello right behind its
            # SSL request, and those bytes are for TLS.
            self._fill(size - len(self.pending))
        data, self.pending = self.pending[:size], self.pending[size:]
        self.received += data
        return data


Script = Callable[[Plain, bool], bool]


def _smtp_like(hello: bytes) -> Script:
    def script(io: Plain, refuse: bool) -> bool:
        io.send(b"220 fake.example ESMTP ready\r\n")
        command = io.line()
        assert command.upper().startswith(hello + b" "), command
        io.send(b"250-fake.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 STARTTLS\r\n")
        assert io.line() == b"STARTTLS\r\n"
        if refuse:
            io.send(REFUSALS["smtp"] + b"\r\n")
            return False
        io.send(b"220 2.0.0 Ready to start TLS\r\n")
        return True

    return script


def _imap(io: Plain, refuse: bool) -> bool:
    io.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] fake ready\r\n")
    while True:
        tag, _, command = io.line().rstrip(b"\r\n").partition(b" ")
        if command.upper() == b"CAPABILITY":
            io.send(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n")
            io.send(tag + b" OK CAPABILITY completed\r\n")
            continue
        assert command.upper() == b"STARTTLS", command
        if refuse:
            io.send(tag + b" " + REFUSALS["imap"] + b"\r\n")
            return False
        io.send(tag + b" OK Begin TLS negotiation now\r\n")
        return True


def _pop3(io: Plain, refuse: bool) -> bool:
    io.send(b"+OK fake POP3 server ready\r\n")
    assert io.line() == b"STLS\r\n"
    if refuse:
        io.send(REFUSALS["pop3"] + b"\r\n")
        return False
    io.send(b"+OK Begin TLS negotiation\r\n")
    return True


def _ftp(io: Plain, refuse: bool) -> bool:
    io.send(b"220-fake FTP server\r\n220 ready\r\n")
    assert io.line() == b"AUTH TLS\r\n"
    if refuse:
        io.send(REFUSALS["ftp"] + b"\r\n")
        return False
    io.send(b"234 AUTH TLS successful\r\n")
    return True


def _xmpp(io: Plain, refuse: bool) -> bool:
    header = io.until(b">")
    assert header.startswith(b"<stream:stream") or b"<stream:stream" in header, header
    io.send(
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' id='fake1' from='fake.example' "
        b"version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
        b"<required/></starttls></stream:features>"
    )
    command = io.until(b"/>")
    assert command.startswith(b"<starttls"), command
    if refuse:
        io.send(REFUSALS["xmpp"] + b"</stream:stream>")
        return False
    io.send(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    return True


def _nntp(io: Plain, refuse: bool) -> bool:
    io.send(b"200 fake NNTP service ready, posting allowed\r\n")
    while True:
        command = io.line()
        if command == b"CAPABILITIES\r\n":
            io.send(b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n")
            continue
        assert command == b"STARTTLS\r\n", command
        if refuse:
            io.send(REFUSALS["nntp"] + b"\r\n")
            return False
        io.send(b"382 Continue with TLS negotiation\r\n")
        return True


def _sieve(io: Plain, refuse: bool) -> bool:
    io.send(
        b'"IMPLEMENTATION" "fake sieve"\r\n"SIEVE" "fileinto vacation"\r\n'
        b'"STARTTLS"\r\n"VERSION" "1.0"\r\nOK "ready"\r\n'
    )
    assert io.line() == b"STARTTLS\r\n"
    if refuse:
        io.send(REFUSALS["sieve"] + b"\r\n")
        return False
    io.send(b'OK "Begin TLS negotiation now"\r\n')
    return True


_LDAP_OID = b"1.3.6.1.4.1.1466.20037"


def _ber(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80
    return bytes((tag, len(value))) + value


def _ldap(io: Plain, refuse: bool) -> bool:
    head = io.exact(2)
    assert head[0] == 0x30, head
    message = io.exact(head[1])
    assert _LDAP_OID in message and message[3:4] == b"\x77", message
    message_id = message[2:3]
    code, diagnostic = (2, REFUSALS["ldap"]) if refuse else (0, b"")
    # RFC 4511 4.14.2: ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF
    # LDAPResult, responseName [10] LDAPOID OPTIONAL ... }
    result = _ber(0x0A, bytes((code,))) + _ber(0x04, b"") + _ber(0x04, diagnostic)
    result += _ber(0x8A, _LDAP_OID)
    io.send(_ber(0x30, _ber(0x02, message_id) + _ber(0x78, result)))
    return not refuse


def _postgres(io: Plain, refuse: bool) -> bool:
    assert io.exact(8) == struct.pack("!ii", 8, 80877103)
    io.send(b"N" if refuse else b"S")
    return not refuse


def mysql_greeting(ssl_capable: bool) -> bytes:
    """A Protocol::HandshakeV10 packet (sequence 0)."""
    low = 0xFFFF if ssl_capable else 0xFFFF & ~0x0800
    payload = (
        b"\x0a"
        + b"8.0.0-fake\x00"
        + struct.pack("<I", 7)
        + b"abcdefgh"
        + b"\x00"
        + struct.pack("<H", low)
        + b"\x21"
        + struct.pack("<H", 2)
        + struct.pack("<H", 0x81FF)
        + bytes((21,))
        + bytes(10)
        + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


def _mysql(io: Plain, refuse: bool) -> bool:
    io.send(mysql_greeting(ssl_capable=not refuse))
    if refuse:
        return False
    head = io.exact(4)
    size = int.from_bytes(head[:3], "little")
    assert head[3] == 1 and size == 32, head
    flags = struct.unpack("<I", io.exact(size)[:4])[0]
    assert flags & 0x0800, hex(flags)
    return True


SCRIPTS: dict[str, Script] = {
    "smtp": _smtp_like(b"EHLO"),
    "lmtp": _smtp_like(b"LHLO"),
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "xmpp": _xmpp,
    "nntp": _nntp,
    "sieve": _sieve,
    "ldap": _ldap,
    "postgres": _postgres,
    "mysql": _mysql,
}


def starttls_server_handler(protocol: str, ctx: ssl.SSLContext, *, refuse: bool = False) -> Handler:
    """``protocol``'s fake server: the RFC's exchange, then TLS and an echo; with ``refuse``
    it answers the "go ahead" command with ``REFUSALS[protocol]`` and stays plain."""
    script = SCRIPTS[protocol]

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        io = Plain(conn)
        go = script(io, refuse)
        server.events.put(("plaintext", (bytes(io.received), bytes(io.sent))))
        if go:
            assert not io.pending, io.pending  # the client waited for our "go ahead"
            tls_echo(conn, server, ctx)
            return
        server.events.put(("refused", None))
        # Until the client closes, or sends more (openssl s_client tries TLS after some
        # refusals: closing then ends its handshake at once).
        after = io.pending
        with contextlib.suppress(OSError):
            after = after or conn.recv(4096)
        server.events.put(("after_refusal", after))

    return handler


def silent_handler(conn: socket.socket, server: ThreadedServer) -> None:
    """Accepts and never says a word (ST3: -7), reading until the client goes."""
    server.events.put(("accepted", None))
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def closing_handler(conn: socket.socket, server: ThreadedServer) -> None:
    """Accepts and closes at once, before any greeting or answer (ST3: -100)."""
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()
    server.events.put(("closed", None))
