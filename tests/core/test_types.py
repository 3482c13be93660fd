"""The API's value types: frozen, keyword-constructible dataclasses with Chrome's defaults, and
their JSON form (``to_json``: Chrome's camelCase keys, compact, ``None`` fields left out)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from workbench.sockets import (
    CertificateInfo,
    ChangeReason,
    CreateInfo,
    DnsQueryType,
    HandshakeMessage,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
    SocketChange,
    SocketInfo,
    SocketProperties,
    State,
    TlsInfo,
    TLSVersionConstraints,
    to_json,
)

TLS = TlsInfo(
    version="TLSv1.3",
    cipher="TLS_AES_256_GCM_SHA384",
    server_name="example.test",
    peer_subject="CN=example.test",
    peer_issuer="CN=Test CA",
    peer_not_after="2030-01-01T00:00:00Z",
    verified=True,
)

EXAMPLES: list[Any] = [
    SocketProperties(name="n", persistent=True, buffer_size=1),
    CreateInfo(socket_id=1),
    SendInfo(result_code=0, bytes_sent=6),
    ReceiveInfo(socket_id=1, data=b"x"),
    ReceiveErrorInfo(socket_id=1, result_code=-100),
    SocketInfo(socket_id=1, persistent=False, paused=False, connected=False),
    TLS,
    TLSVersionConstraints(min="tls1.2", max="tls1.3"),
    SecureOptions(),
    SocketChange(1, ChangeReason.CLOSED, None, None),
]


def compact(text: str) -> None:
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


# -- the dataclasses ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda v: type(v).__name__)
def test_types_are_frozen_dataclasses(value: Any) -> None:
    assert dataclasses.is_dataclass(value)
    field = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, getattr(value, field))


def test_defaults_match_the_contract() -> None:
    assert SocketProperties() == SocketProperties(name=None, persistent=None, buffer_size=None)
    assert SendInfo(result_code=-15).bytes_sent is None
    info = SocketInfo(socket_id=3, persistent=True, paused=True, connected=True)
    assert (info.name, info.buffer_size, info.tls) == (None, None, None)
    assert (info.local_address, info.local_port, info.peer_address, info.peer_port) == (
        None,
        None,
        None,
        None,
    )
    assert TLSVersionConstraints() == TLSVersionConstraints(min=None, max=None)
    options = SecureOptions()
    assert options.tls_version is None
    assert options.ca_file is None
    assert options.verify is True
    assert (options.server_name, options.client_cert, options.client_key) == (None, None, None)


def test_keyword_construction_and_equality() -> None:
    assert ReceiveInfo(socket_id=2, data=b"ab") == ReceiveInfo(data=b"ab", socket_id=2)
    assert ReceiveErrorInfo(socket_id=2, result_code=-101).result_code == -101
    assert CreateInfo(socket_id=7).socket_id == 7
    assert SendInfo(result_code=0, bytes_sent=0) != SendInfo(result_code=0)
    assert hash(SendInfo(result_code=0, bytes_sent=1)) == hash(
        SendInfo(result_code=0, bytes_sent=1)
    )


def test_socket_change_carries_a_snapshot_or_nothing_once_closed() -> None:
    info = SocketInfo(socket_id=3, persistent=False, paused=True, connected=False)
    change = SocketChange(socket_id=3, reason=ChangeReason.PAUSED, state=State.CREATED, info=info)
    assert change == SocketChange(3, ChangeReason.PAUSED, State.CREATED, info)
    assert (change.state, change.info) == (State.CREATED, info)
    closed = SocketChange(3, ChangeReason.CLOSED, None, None)
    assert (closed.state, closed.info) == (None, None)
    assert not hasattr(change, "__dict__")  # slots: one is made per change, thousands a second
    assert [r.name for r in ChangeReason] == [
        "CREATED",
        "STATE",
        "PAUSED",
        "PROPERTIES",
        "CLOSED",
    ]


def test_dns_query_type_is_a_str_enum() -> None:
    assert [m.value for m in DnsQueryType] == ["any", "ipv4", "ipv6"]
    assert DnsQueryType.IPV4 == "ipv4"
    assert isinstance(DnsQueryType.ANY, str)
    assert DnsQueryType("ipv6") is DnsQueryType.IPV6


# -- JSON ---------------------------------------------------------------------------------------


def test_to_json_examples_from_the_agreement() -> None:
    assert to_json(SendInfo(result_code=0, bytes_sent=6)) == '{"resultCode":0,"bytesSent":6}'
    assert to_json(CreateInfo(socket_id=1)) == '{"socketId":1}'


def test_to_json_omits_none_fields() -> None:
    assert to_json(SendInfo(result_code=-15)) == '{"resultCode":-15}'
    assert to_json(SendInfo(result_code=-15, bytes_sent=None)) == '{"resultCode":-15}'
    assert to_json(SocketProperties()) == "{}"
    assert to_json(TLSVersionConstraints(min="tls1.2")) == '{"min":"tls1.2"}'


def test_to_json_receive_error_info() -> None:
    text = to_json(ReceiveErrorInfo(socket_id=3, result_code=-100))
    compact(text)
    assert json.loads(text) == {"socketId": 3, "resultCode": -100}


def test_to_json_receive_info_uses_camel_case_keys() -> None:
    text = to_json(ReceiveInfo(socket_id=4, data=b"hello"))
    compact(text)
    assert set(json.loads(text)) == {"socketId", "data"}
    assert json.loads(text)["socketId"] == 4


def test_to_json_socket_properties() -> None:
    text = to_json(SocketProperties(name="web", persistent=False, buffer_size=8192))
    compact(text)
    assert json.loads(text) == {"name": "web", "persistent": False, "bufferSize": 8192}


def test_to_json_socket_info_keeps_false_and_drops_none() -> None:
    text = to_json(
        SocketInfo(
            socket_id=1,
            persistent=False,
            paused=True,
            connected=True,
            local_address="127.0.0.1",
            local_port=50000,
            peer_address="::1",
            peer_port=443,
        )
    )
    compact(text)
    assert json.loads(text) == {
        "socketId": 1,
        "persistent": False,
        "paused": True,
        "connected": True,
        "localAddress": "127.0.0.1",
        "localPort": 50000,
        "peerAddress": "::1",
        "peerPort": 443,
    }


def test_to_json_socket_info_nests_tls_with_camel_case_keys() -> None:
    text = to_json(SocketInfo(socket_id=9, persistent=True, paused=False, connected=True, tls=TLS))
    compact(text)
    assert json.loads(text)["tls"] == {
        "version": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "serverName": "example.test",
        "peerSubject": "CN=example.test",
        "peerIssuer": "CN=Test CA",
        "peerNotAfter": "2030-01-01T00:00:00Z",
        "verified": True,
    }
    unverified = TlsInfo(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256", verified=False)
    assert json.loads(to_json(unverified)) == {
        "version": "TLSv1.2",
        "cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "verified": False,
    }


def test_to_json_secure_options_nest_tls_version() -> None:
    options = SecureOptions(tls_version=TLSVersionConstraints(max="tls1.3"), verify=False)
    text = to_json(options)
    compact(text)
    assert json.loads(text) == {"tlsVersion": {"max": "tls1.3"}, "verify": False}
    full = SecureOptions(ca_file="/ca.pem", server_name="h", client_cert="c", client_key="k")
    assert json.loads(to_json(full)) == {
        "caFile": "/ca.pem",
        "verify": True,
        "serverName": "h",
        "clientCert": "c",
        "clientKey": "k",
    }


def test_to_json_socket_change_writes_enums_as_their_values() -> None:
    info = SocketInfo(socket_id=2, persistent=False, paused=False, connected=True)
    change = SocketChange(2, ChangeReason.STATE, State.CONNECTED, info)
    text = to_json(change)
    compact(text)
    assert json.loads(text) == {
        "socketId": 2,
        "reason": "state",
        "state": "connected",
        "info": {"socketId": 2, "persistent": False, "paused": False, "connected": True},
    }
    assert to_json(SocketChange(2, ChangeReason.CLOSED, None, None)) == (
        '{"socketId":2,"reason":"closed"}'
    )


def test_to_json_lists_become_arrays() -> None:
    text = to_json([CreateInfo(socket_id=1), CreateInfo(socket_id=2)])
    assert text == '[{"socketId":1},{"socketId":2}]'
    assert to_json([]) == "[]"
    infos = [
        SocketInfo(socket_id=1, persistent=False, paused=False, connected=False),
        SocketInfo(socket_id=2, persistent=True, paused=True, connected=False, name="é"),
    ]
    text = to_json(infos)
    compact(text)
    assert [i["socketId"] for i in json.loads(text)] == [1, 2]
    assert json.loads(text)[1]["name"] == "é"


@pytest.mark.parametrize(
    "name",
    [".example.test", "example..test", "a" * 300, "x" * 64 + ".test", " ", "", ".", "a. b"],
)
def test_malformed_server_names_are_refused_up_front(name: str) -> None:
    # Before, these reached the handshake and tore the connection down with -107.
    with pytest.raises(ValueError, match="server_name"):
        SecureOptions(server_name=name)


@pytest.mark.parametrize(
    "name", ["example.test", "example.test.", "localhost", "127.0.0.1", "::1", "x" * 63 + ".t"]
)
def test_well_formed_server_names_are_taken(name: str) -> None:
    assert SecureOptions(server_name=name).server_name == name


def test_a_minimum_version_above_the_maximum_is_refused_up_front() -> None:
    # Before, secure() answered -113 and dropped the connection; an unreadable ca_file
    # answers -4 and keeps it. Impossible options now fail alike: at once, nothing sent.
    with pytest.raises(ValueError, match=r"min tls1\.3 is above max tls1\.2"):
        TLSVersionConstraints(min="tls1.3", max="tls1.2")
    assert TLSVersionConstraints(min="tls1.2", max="tls1.3").min == "tls1.2"
    assert TLSVersionConstraints(min="tls1.3", max="tls9").max == "tls9"  # ignored (T3)


# -- tls-inspection-contract.md: the new fields ---------------------------------------------------


def test_tls_inspection_fields_default_and_stay_out_of_json_until_used() -> None:
    info = TlsInfo(version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256")
    assert (info.alpn_offered, info.alpn, info.sni, info.group) == ((), None, None, None)
    assert (info.session_reused, info.ticket_lifetime, info.handshake) == (False, None, ())
    assert (info.chain_sent, info.chain_verified) == ((), ())
    assert json.loads(to_json(info)) == {
        "version": "TLSv1.3",
        "cipher": "TLS_AES_128_GCM_SHA256",
        "verified": True,
    }
    assert json.loads(to_json(SecureOptions())) == {"verify": True}


def test_tls_inspection_fields_in_json() -> None:
    cert = CertificateInfo(der=b"\x30\x00", subject="CN=a", issuer="CN=b", san=("DNS:a",))
    info = TlsInfo(
        version="TLSv1.3",
        cipher="TLS_AES_128_GCM_SHA256",
        alpn_offered=("h2", "http/1.1"),
        alpn="h2",
        sni="a",
        group="x25519",
        session_reused=True,
        ticket_lifetime=7200,
        handshake=(HandshakeMessage(direction="sent", type="client_hello", length=508),),
        chain_sent=(cert,),
    )
    data = json.loads(to_json(info))
    assert data["alpnOffered"] == ["h2", "http/1.1"]
    assert (data["alpn"], data["sni"], data["group"]) == ("h2", "a", "x25519")
    assert (data["sessionReused"], data["ticketLifetime"]) == (True, 7200)
    assert data["handshake"] == [{"direction": "sent", "type": "client_hello", "length": 508}]
    assert data["chainSent"][0]["der"] == "<2 bytes>"
    assert data["chainSent"][0]["san"] == ["DNS:a"]
    assert "chainVerified" not in data
    options = SecureOptions(alpn=("h2",), resume=True)
    assert json.loads(to_json(options)) == {"verify": True, "alpn": ["h2"], "resume": True}


def test_handshake_message_and_certificate_info_are_frozen_keyword_types() -> None:
    with pytest.raises(TypeError):
        HandshakeMessage("sent", "finished", 32)  # type: ignore[misc]
    message = HandshakeMessage(direction="sent", type="finished", length=32)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.length = 1  # type: ignore[misc]
    cert = CertificateInfo(der=b"", subject="", issuer="")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.subject = "x"  # type: ignore[misc]
