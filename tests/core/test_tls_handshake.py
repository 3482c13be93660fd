"""Reading handshake messages (workbench.core.tls_handshake), on a real ClientHello that
OpenSSL writes into a memory BIO, and on messages built byte by byte from the RFCs."""

from __future__ import annotations

import hashlib
import ssl

import pytest

from workbench.core.tls_handshake import (
    body_length,
    client_hello_sni,
    group_name,
    message_name,
    server_hello_group,
    server_key_exchange_group,
    ticket_lifetime,
)


def client_hello(server_hostname: str | None) -> bytes:
    """The ClientHello OpenSSL sends for ``server_hostname``, without its record header."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    record = outgoing.read()
    assert record[0] == 22  # a handshake record
    return record[5:]


def _message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _server_hello(random: bytes, extensions: bytes) -> bytes:
    body = b"\x03\x03" + random + b"\x00" + b"\x13\x01" + b"\x00"
    body += len(extensions).to_bytes(2, "big") + extensions
    return _message(2, body)


def test_client_hello_names_and_lengths() -> None:
    hello = client_hello("example.test")
    assert message_name(hello) == "client_hello"
    assert body_length(hello) == len(hello) - 4
    assert client_hello_sni(hello) == "example.test"


def test_client_hello_without_a_name() -> None:
    assert client_hello_sni(client_hello(None)) is None
    assert client_hello_sni(client_hello("192.0.2.1")) is None  # an IP literal is not sent


def test_server_hello_key_share_and_hello_retry_request() -> None:
    key_share = b"\x00\x33\x00\x24" + b"\x00\x1d" + b"\x00\x20" + bytes(32)
    hello = _server_hello(bytes(range(32)), key_share)
    assert message_name(hello) == "server_hello"
    assert server_hello_group(hello) == "x25519"
    retry = _server_hello(
        hashlib.sha256(b"HelloRetryRequest").digest(), b"\x00\x33\x00\x02\x00\x18"
    )
    assert message_name(retry) == "hello_retry_request"
    assert server_hello_group(retry) == "secp384r1"
    assert server_hello_group(_server_hello(bytes(32), b"")) is None


def test_server_key_exchange_named_curve() -> None:
    ecdhe = _message(12, b"\x03\x00\x17\x41" + bytes(65))
    assert message_name(ecdhe) == "server_key_exchange"
    assert server_key_exchange_group(ecdhe) == "secp256r1"
    assert server_key_exchange_group(_message(12, b"\x01\x00" + bytes(256))) is None


def test_ticket_lifetime_and_names() -> None:
    ticket = _message(4, (7200).to_bytes(4, "big") + bytes(8))
    assert (message_name(ticket), ticket_lifetime(ticket)) == ("new_session_ticket", 7200)
    assert ticket_lifetime(_message(4, b"")) is None
    assert message_name(_message(14, b"")) == "server_hello_done"
    assert body_length(_message(14, b"")) == 0
    assert message_name(_message(99, b"")) == "unknown_99"
    assert group_name(0x0100) == "ffdhe2048"
    assert group_name(0xABCD) == "0xabcd"
