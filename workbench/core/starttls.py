"""The plaintext exchanges that come before TLS on eleven protocols (``tcp.starttls()``).

No I/O here (websockets' sans-I/O model): each protocol is a generator that yields what to do
next, a ``Send`` of bytes or a ``Read`` with a parser, and is sent back what the parser made of
the bytes received; it returns once the server said "go ahead", or raises ``Refused`` with the
server's own words. ``workbench.net.starttls`` runs it on a socket.

Each exchange follows its RFC and, where they differ in detail, what ``openssl s_client
-starttls <protocol>`` does (OpenSSL 3, apps/s_client.c): the same commands, and, like
s_client, a capability list without STARTTLS is not a refusal: the command is sent anyway and
the server's answer to it decides.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Generator
from typing import Any

__all__ = [
    "STARTTLS_PROTOCOLS",
    "Exchange",
    "Read",
    "Refused",
    "Send",
    "check_protocol",
    "exchange",
]

#: What ``tcp.starttls()`` accepts, in the contract's order.
STARTTLS_PROTOCOLS: tuple[str, ...] = (
    "smtp",
    "lmtp",
    "imap",
    "pop3",
    "ftp",
    "xmpp",
    "nntp",
    "sieve",
    "ldap",
    "postgres",
    "mysql",
)

#: A parser: the bytes received so far → (bytes it consumed, what it read), or ``None`` until
#: they hold a whole answer.
Parser = Callable[[bytes], "tuple[int, Any] | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    parser: Parser


class Refused(Exception):
    """The server said no (or cannot do TLS): ``detail`` quotes it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


Exchange = Generator["Send | Read", Any, None]


def check_protocol(protocol: object) -> str:
    """``protocol`` if it names a preset; ``TypeError``/``ValueError`` listing them otherwise."""
    if not isinstance(protocol, str):
        raise TypeError(f"protocol must be a str, not {type(protocol).__name__}")
    if protocol not in STARTTLS_PROTOCOLS:
        raise ValueError(
            f"unknown STARTTLS protocol {protocol!r}; one of {', '.join(STARTTLS_PROTOCOLS)}"
        )
    return protocol


def exchange(protocol: str, host: str) -> Exchange:
    """The exchange for ``protocol`` (checked); ``host`` is the name the client addresses
    (XMPP's ``to``)."""
    check_protocol(protocol)
    if protocol == "xmpp":
        return _xmpp(host)
    return _EXCHANGES[protocol]()


# -- parsers ----------------------------------------------------------------------------------


def _lines(buf: bytes, done: Callable[[bytes], bool]) -> tuple[int, list[bytes]] | None:
    """Whole lines (without their ending) up to and including the first for which ``done``
    holds."""
    lines: list[bytes] = []
    start = 0
    while (end := buf.find(b"\n", start)) >= 0:
        line = buf[start:end].rstrip(b"\r")
        lines.append(line)
        start = end + 1
        if done(line):
            return start, lines
    return None


def _reply_done(line: bytes) -> bool:
    # RFC 5321 4.2.1: 'the last line will begin with the reply code, followed immediately by
    # <SP>' (or nothing); every other line has a hyphen there. FTP (RFC 959 4.2) is the same.
    return len(line) < 4 or line[3:4] != b"-"


def reply(buf: bytes) -> tuple[int, list[bytes]] | None:
    """An SMTP/LMTP/FTP reply, its lines."""
    return _lines(buf, _reply_done)


def line(buf: bytes) -> tuple[int, list[bytes]] | None:
    """One line (POP3, NNTP status, IMAP greeting)."""
    return _lines(buf, lambda _line: True)


def _tagged(tag: bytes) -> Parser:
    return lambda buf: _lines(buf, lambda ln: ln.startswith(tag + b" "))


def _nntp_list(buf: bytes) -> tuple[int, list[bytes]] | None:
    # RFC 3977 3.1.1: a multi-line block ends with a line of a single '.'.
    return _lines(buf, lambda ln: ln == b".")


def _sieve_response(buf: bytes) -> tuple[int, list[bytes]] | None:
    # RFC 5804 1.2: a response ends with a line starting OK, NO or BYE.
    return _lines(buf, lambda ln: ln[:3].upper() in (b"OK", b"OK ", b"NO", b"NO ", b"BYE"))


def _until(*markers: bytes) -> Parser:
    """Everything up to and including the first of ``markers`` (XMPP has no line framing)."""

    def parse(buf: bytes) -> tuple[int, bytes] | None:
        found = [(i, m) for m in markers if (i := buf.find(m)) >= 0]
        if not found:
            return None
        i, marker = min(found)
        close = buf.find(b">", i + len(marker) - 1)
        if close < 0:
            return None
        return close + 1, buf[: close + 1]

    return parse


def _one_byte(buf: bytes) -> tuple[int, bytes] | None:
    return (1, buf[:1]) if buf else None


def _ber_length(buf: bytes, at: int) -> tuple[int, int] | None:
    """A BER length at ``at``: (length, where the value starts), or None if incomplete."""
    if len(buf) <= at:
        return None
    first = buf[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if len(buf) < at + 1 + count:
        return None
    return int.from_bytes(buf[at + 1 : at + 1 + count], "big"), at + 1 + count


def _ber_message(buf: bytes) -> tuple[int, bytes] | None:
    """One whole BER element (an LDAPMessage)."""
    head = _ber_length(buf, 1)
    if head is None:
        return None
    size, start = head
    return (start + size, buf[: start + size]) if len(buf) >= start + size else None


def _mysql_packet(buf: bytes) -> tuple[int, bytes] | None:
    # 'int<3> payload_length, int<1> sequence_id, payload' (MySQL protocol, Protocol::Packet).
    if len(buf) < 4:
        return None
    size = int.from_bytes(buf[:3], "little")
    return (4 + size, buf[4 : 4 + size]) if len(buf) >= 4 + size else None


def _quote(lines: list[bytes]) -> str:
    return " / ".join(ln.decode("utf-8", "replace") for ln in lines)


# -- the exchanges ----------------------------------------------------------------------------


def _expect_code(lines: list[bytes], codes: tuple[bytes, ...], what: str) -> None:
    if lines[-1][:3] not in codes:
        raise Refused(f"{what}: {_quote(lines)}")


def _smtp_like(hello: bytes) -> Callable[[], Exchange]:
    def run() -> Exchange:
        # RFC 3207 4: 'The STARTTLS keyword is used to tell the SMTP client that the SMTP
        # server is currently able to negotiate the use of TLS'; s_client (OpenSSL 3) greets
        # with 'EHLO mail.example.com' (LHLO for LMTP, RFC 2033) and sends STARTTLS whatever
        # the list says.
        greeting = yield Read(reply)
        _expect_code(greeting, (b"220",), "the server's greeting")
        yield Send(hello + b" mail.example.com\r\n")
        ehlo = yield Read(reply)
        _expect_code(ehlo, (b"250",), "the answer to " + hello.decode())
        yield Send(b"STARTTLS\r\n")
        # 'Ready to start TLS' is 220; 454 'TLS not available due to temporary reason'.
        answer = yield Read(reply)
        _expect_code(answer, (b"220",), "the answer to STARTTLS")

    return run


def _imap() -> Exchange:
    greeting = yield Read(line)
    if not greeting[0].upper().startswith((b"* OK", b"* PREAUTH")):
        raise Refused(f"the server's greeting: {_quote(greeting)}")
    # s_client asks for the CAPABILITY list first, with the tag '.', then sends STARTTLS
    # whatever it says (RFC 3501 6.2.1: 'A [TLS] negotiation begins immediately after the
    # CRLF at the end of the tagged OK response from the server').
    yield Send(b". CAPABILITY\r\n")
    capability = yield Read(_tagged(b"."))
    if not capability[-1].upper().startswith(b". OK"):
        raise Refused(f"the answer to CAPABILITY: {_quote(capability[-1:])}")
    yield Send(b". STARTTLS\r\n")
    answer = yield Read(_tagged(b"."))
    if not answer[-1].upper().startswith(b". OK"):
        raise Refused(f"the answer to STARTTLS: {_quote(answer[-1:])}")


def _pop3() -> Exchange:
    greeting = yield Read(line)
    if not greeting[0].startswith(b"+OK"):
        raise Refused(f"the server's greeting: {_quote(greeting)}")
    # RFC 2595 4: 'STLS ... Responses: +OK -ERR'.
    yield Send(b"STLS\r\n")
    answer = yield Read(line)
    if not answer[0].startswith(b"+OK"):
        raise Refused(f"the answer to STLS: {_quote(answer)}")


def _ftp() -> Exchange:
    greeting = yield Read(reply)
    _expect_code(greeting, (b"220",), "the server's greeting")
    # RFC 4217 6: 'AUTH TLS' → '234 ... the server accepts the security mechanism'.
    yield Send(b"AUTH TLS\r\n")
    answer = yield Read(reply)
    _expect_code(answer, (b"234",), "the answer to AUTH TLS")


def _xmpp(host: str) -> Exchange:
    # RFC 6120 5.4.2: the client opens a stream, the server's features offer <starttls/>, the
    # client sends <starttls/> and gets <proceed/> (or <failure/>). s_client's stream header.
    yield Send(
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
        b"xmlns='jabber:client' to='" + _name(host) + b"' version='1.0'>"
    )
    features = yield Read(_until(b"</stream:features>", b"</stream:stream>", b"<stream:error"))
    if b"<stream:features" not in features:
        raise Refused(f"the server ended the stream: {features.decode('utf-8', 'replace')}")
    yield Send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    answer = yield Read(_until(b"<proceed", b"<failure", b"</stream:stream>"))
    tail = answer[answer.rfind(b"<") :]
    if not tail.startswith(b"<proceed"):
        raise Refused(f"the answer to <starttls/>: {tail.decode('utf-8', 'replace')}")


def _name(host: str) -> bytes:
    try:
        return host.encode("idna")
    except UnicodeError:
        return host.encode("utf-8")


def _nntp() -> Exchange:
    greeting = yield Read(line)
    _expect_code(greeting, (b"200", b"201"), "the server's greeting")
    # s_client lists CAPABILITIES first (RFC 3977 5.2); 101 is followed by the list.
    yield Send(b"CAPABILITIES\r\n")
    listed = yield Read(line)
    if listed[0][:3] == b"101":
        yield Read(_nntp_list)
    # RFC 4642 2.2: '382 Continue with TLS negotiation'; 580 'Can not initiate TLS'.
    yield Send(b"STARTTLS\r\n")
    answer = yield Read(line)
    _expect_code(answer, (b"382",), "the answer to STARTTLS")


def _sieve() -> Exchange:
    # RFC 5804 1.7: the server greets with its capabilities, ending in OK; STARTTLS → OK.
    greeting = yield Read(_sieve_response)
    if not greeting[-1].upper().startswith(b"OK"):
        raise Refused(f"the server's greeting: {_quote(greeting[-1:])}")
    yield Send(b"STARTTLS\r\n")
    answer = yield Read(_sieve_response)
    if not answer[-1].upper().startswith(b"OK"):
        raise Refused(f"the answer to STARTTLS: {_quote(answer[-1:])}")


#: RFC 4511 4.14.1: ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0]
#: LDAPOID }, with the StartTLS OID, as message 1 (s_client's bytes).
_LDAP_STARTTLS = bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037"


def _ldap() -> Exchange:
    yield Send(_LDAP_STARTTLS)
    message = yield Read(_ber_message)
    code, diagnostic = _ldap_result(message)
    if code != 0:
        said = f" ({diagnostic})" if diagnostic else ""
        raise Refused(f"the answer to the StartTLS request: resultCode {code}{said}")


def _ldap_result(message: bytes) -> tuple[int, str]:
    """The resultCode and diagnosticMessage of an ExtendedResponse ([APPLICATION 24])."""
    try:
        at = _skip_header(message, 0)  # the LDAPMessage SEQUENCE
        at = _skip_element(message, at)  # messageID
        if message[at] != 0x78:
            raise Refused(
                f"the answer to the StartTLS request is not an ExtendedResponse: {message.hex()}"
            )
        at = _skip_header(message, at)
        length, start = _value(message, at)  # resultCode ENUMERATED
        code = int.from_bytes(message[start : start + length], "big")
        at = _skip_element(message, at)  # past resultCode
        at = _skip_element(message, at)  # past matchedDN
        length, start = _value(message, at)  # diagnosticMessage
        return code, message[start : start + length].decode("utf-8", "replace")
    except (IndexError, TypeError):
        raise Refused(f"the answer to the StartTLS request is not LDAP: {message.hex()}") from None


def _value(buf: bytes, at: int) -> tuple[int, int]:
    head = _ber_length(buf, at + 1)
    if head is None:
        raise IndexError(at)
    return head


def _skip_header(buf: bytes, at: int) -> int:
    return _value(buf, at)[1]


def _skip_element(buf: bytes, at: int) -> int:
    length, start = _value(buf, at)
    return start + length


def _postgres() -> Exchange:
    # 'SSLRequest (F): Int32(8) Length, Int32(80877103) The SSL request code'; the server
    # answers one byte, 'S' (go ahead) or 'N' (PostgreSQL docs, 55.2.10 SSL Session Encryption).
    yield Send(struct.pack("!ii", 8, 80877103))
    answer = yield Read(_one_byte)
    if answer != b"S":
        said = "'N': the server does not accept SSL" if answer == b"N" else repr(answer)
        raise Refused(f"the answer to SSLRequest: {said}")


#: 'CLIENT_SSL: Use SSL encryption for the session' (MySQL capability flags).
_CLIENT_SSL = 0x0800

#: s_client's SSLRequest packet: length 32, sequence 1, capabilities with CLIENT_SSL, max
#: packet size 16 MiB, character set 33 (utf8_general_ci), 23 reserved zero bytes.
_MYSQL_SSL_REQUEST = bytes.fromhex("2000000185ae7f000000000121") + bytes(23)


def _mysql() -> Exchange:
    greeting = yield Read(_mysql_packet)
    if greeting[:1] == b"\xff":
        text = greeting[3:].decode("utf-8", "replace")
        raise Refused(f"the server's greeting is an error: {text}")
    if greeting[:1] != b"\x0a":
        raise Refused(f"the server's greeting is not protocol version 10: {greeting[:1].hex()}")
    # Protocol::HandshakeV10: version, server version (NUL-terminated), connection id (4),
    # auth-plugin-data-part-1 (8), filler (1), capability flags, lower 2 bytes.
    end = greeting.find(b"\x00", 1)
    flags_at = end + 1 + 4 + 8 + 1
    if end < 0 or len(greeting) < flags_at + 2:
        raise Refused("the server's greeting is too short to hold its capability flags")
    flags = int.from_bytes(greeting[flags_at : flags_at + 2], "little")
    if not flags & _CLIENT_SSL:
        raise Refused("the server's greeting lacks the CLIENT_SSL capability")
    yield Send(_MYSQL_SSL_REQUEST)


_EXCHANGES: dict[str, Callable[[], Exchange]] = {
    "smtp": _smtp_like(b"EHLO"),
    "lmtp": _smtp_like(b"LHLO"),
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "nntp": _nntp,
    "sieve": _sieve,
    "ldap": _ldap,
    "postgres": _postgres,
    "mysql": _mysql,
}
