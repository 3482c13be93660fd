"""Reading TLS handshake messages: their names, and the few facts the inspection needs from
their bodies (the group, the server name sent, a ticket's lifetime). Pure bytes in, values
out; ``workbench.net.tls`` feeds it the messages OpenSSL reports.

Each message is given whole, with its 4-byte header (type, 24-bit length), as OpenSSL's
message callback passes it.
"""

from __future__ import annotations

import hashlib
import struct

__all__ = [
    "GROUP_NAMES",
    "MESSAGE_NAMES",
    "body_length",
    "client_hello_sni",
    "group_name",
    "is_hello_retry_request",
    "message_name",
    "server_hello_group",
    "server_key_exchange_group",
    "ticket_lifetime",
]

#: RFC 8446 4 and RFC 5246 7.4 HandshakeType, in snake case.
MESSAGE_NAMES = {
    0: "hello_request",
    1: "client_hello",
    2: "server_hello",
    3: "hello_verify_request",
    4: "new_session_ticket",
    5: "end_of_early_data",
    8: "encrypted_extensions",
    11: "certificate",
    12: "server_key_exchange",
    13: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    20: "finished",
    21: "certificate_url",
    22: "certificate_status",
    23: "supplemental_data",
    24: "key_update",
    25: "compressed_certificate",
    254: "message_hash",
}

#: The IANA TLS Supported Groups registry, as OpenSSL names the groups.
GROUP_NAMES = {
    0x0017: "secp256r1",
    0x0018: "secp384r1",
    0x0019: "secp521r1",
    0x001A: "brainpoolP256r1",
    0x001B: "brainpoolP384r1",
    0x001C: "brainpoolP512r1",
    0x001D: "x25519",
    0x001E: "x448",
    0x001F: "brainpoolP256r1tls13",
    0x0020: "brainpoolP384r1tls13",
    0x0021: "brainpoolP512r1tls13",
    0x0100: "ffdhe2048",
    0x0101: "ffdhe3072",
    0x0102: "ffdhe4096",
    0x0103: "ffdhe6144",
    0x0104: "ffdhe8192",
}

#: RFC 8446 4.1.3: 'For reasons of backward compatibility with middleboxes ... the
#: HelloRetryRequest message uses the same structure as the ServerHello, but with Random set
#: to the special value of the SHA-256 of "HelloRetryRequest"'.
_HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

_EXT_SERVER_NAME = 0x0000
_EXT_KEY_SHARE = 0x0033
_NAMED_CURVE = 3  # RFC 8422 5.4 ECCurveType named_curve


def group_name(group: int) -> str:
    return GROUP_NAMES.get(group, f"0x{group:04x}")


def message_name(message: bytes) -> str:
    """The message's RFC name; a ServerHello that is a HelloRetryRequest is named so."""
    kind = message[0]
    if kind == 2 and is_hello_retry_request(message):
        return "hello_retry_request"
    return MESSAGE_NAMES.get(kind, f"unknown_{kind}")


def body_length(message: bytes) -> int:
    """The body's length from the header, without the header's 4 bytes."""
    if len(message) < 4:
        return max(0, len(message) - 4)
    return int.from_bytes(message[1:4], "big")


def is_hello_retry_request(message: bytes) -> bool:
    return message[:1] == b"\x02" and message[6:38] == _HRR_RANDOM


def _extensions(data: bytes, at: int) -> dict[int, bytes]:
    """The extensions block that starts at ``at`` (its 2-byte length first)."""
    found: dict[int, bytes] = {}
    if at + 2 > len(data):
        return found
    (total,) = struct.unpack_from("!H", data, at)
    at += 2
    end = min(len(data), at + total)
    while at + 4 <= end:
        kind, size = struct.unpack_from("!HH", data, at)
        found[kind] = data[at + 4 : at + 4 + size]
        at += 4 + size
    return found


def _server_hello_extensions(message: bytes) -> dict[int, bytes]:
    # header 4, legacy_version 2, random 32, session id (1 + n), cipher 2, compression 1
    at = 4 + 2 + 32
    if at >= len(message):
        return {}
    at += 1 + message[at] + 2 + 1
    return _extensions(message, at)


def server_hello_group(message: bytes) -> str | None:
    """The group of a TLS 1.3 ServerHello's key_share (RFC 8446 4.2.8: 'In a ServerHello
    message, the "extension_data" field of this extension contains a KeyShareServerHello'; in
    a HelloRetryRequest, the selected_group). None without one (TLS 1.2, or PSK only)."""
    share = _server_hello_extensions(message).get(_EXT_KEY_SHARE)
    if share is None or len(share) < 2:
        return None
    return group_name(int.from_bytes(share[:2], "big"))


def server_key_exchange_group(message: bytes) -> str | None:
    """The named curve of a TLS 1.2 ECDHE ServerKeyExchange (RFC 8422 5.4: 'ECCurveType
    curve_type; select (curve_type) { case named_curve: NamedCurve namedcurve; }'). The caller
    knows from the cipher that the exchange is ECDHE: a DHE one starts with the prime's length,
    whose first byte can be 3 too."""
    if len(message) < 4 + 3 or message[4] != _NAMED_CURVE:
        return None
    return group_name(int.from_bytes(message[5:7], "big"))


def client_hello_sni(message: bytes) -> str | None:
    """The host_name of a ClientHello's server_name extension (RFC 6066 3); None when the
    ClientHello carries none."""
    # header 4, legacy_version 2, random 32, session id (1 + n), ciphers (2 + n),
    # compression methods (1 + n)
    at = 4 + 2 + 32
    try:
        at += 1 + message[at]
        at += 2 + int.from_bytes(message[at : at + 2], "big")
        at += 1 + message[at]
    except IndexError:
        return None
    data = _extensions(message, at).get(_EXT_SERVER_NAME)
    if data is None or len(data) < 5:
        return None
    # ServerNameList: length 2, then name_type 1 (0 = host_name), length 2, name
    if data[2] != 0:
        return None
    size = int.from_bytes(data[3:5], "big")
    return data[5 : 5 + size].decode("ascii", "replace")


def ticket_lifetime(message: bytes) -> int | None:
    """A NewSessionTicket's lifetime in seconds: the first field of its body in TLS 1.3
    ('uint32 ticket_lifetime', RFC 8446 4.6.1) and in TLS 1.2 ('uint32
    ticket_lifetime_hint', RFC 5077 3.3)."""
    if len(message) < 8:
        return None
    return int.from_bytes(message[4:8], "big")
