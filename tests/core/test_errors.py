"""Error codes and the mapping of OS and OpenSSL failures onto them (contract: "Error codes to
cover" and "OS errors map as Chromium maps them").

Some rows cannot be produced live on loopback — an ETIMEDOUT on connect takes the kernel about
127 s (contract U3: -118) — so they are checked against the pure mapping functions of
``workbench.core.errors``: ``map_os_error(error_or_errno, during)`` with ``during`` ``"connect"``
or ``"io"``, and ``map_ssl_error(error)``.
"""

from __future__ import annotations

import errno
import ssl

import pytest

from workbench.core.errors import map_os_error, map_ssl_error
from workbench.sockets import (
    NetError,
    SocketNotFoundError,
    WriteQuotaExceededError,
    net_error_description,
    net_error_text,
)

# The contract's list, number by number, and the three codes for running out of something.
CODES = {
    "OK": 0,
    "FAILED": -2,
    "ABORTED": -3,
    "INVALID_ARGUMENT": -4,
    "TIMED_OUT": -7,
    "INSUFFICIENT_RESOURCES": -12,
    "OUT_OF_MEMORY": -13,
    "SOCKET_NOT_CONNECTED": -15,
    "SOCKET_IS_CONNECTED": -23,
    "CONNECTION_CLOSED": -100,
    "CONNECTION_RESET": -101,
    "CONNECTION_REFUSED": -102,
    "CONNECTION_ABORTED": -103,
    "CONNECTION_FAILED": -104,
    "NAME_NOT_RESOLVED": -105,
    "INTERNET_DISCONNECTED": -106,
    "SSL_PROTOCOL_ERROR": -107,
    "ADDRESS_INVALID": -108,
    "ADDRESS_UNREACHABLE": -109,
    "SSL_CLIENT_AUTH_CERT_NEEDED": -110,
    "SSL_VERSION_OR_CIPHER_MISMATCH": -113,
    "BAD_SSL_CLIENT_AUTH_CERT": -117,
    "CONNECTION_TIMED_OUT": -118,
    "NETWORK_ACCESS_DENIED": -138,
    "ADDRESS_IN_USE": -147,
    "NO_BUFFER_SPACE": -176,
    "CERT_COMMON_NAME_INVALID": -200,
    "CERT_DATE_INVALID": -201,
    "CERT_AUTHORITY_INVALID": -202,
    "CERT_REVOKED": -206,
    "CERT_INVALID": -207,
    "CERT_WEAK_SIGNATURE_ALGORITHM": -208,
    "CERT_WEAK_KEY": -211,
}


@pytest.mark.parametrize(("name", "number"), sorted(CODES.items(), key=lambda kv: -kv[1]))
def test_net_error_numbers_are_chromiums(name: str, number: int) -> None:
    assert NetError[name] == number
    assert NetError(number).name == name
    assert isinstance(NetError[name], int)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (-102, "net::ERR_CONNECTION_REFUSED"),
        (NetError.CONNECTION_REFUSED, "net::ERR_CONNECTION_REFUSED"),
        (-100, "net::ERR_CONNECTION_CLOSED"),
        (-118, "net::ERR_CONNECTION_TIMED_OUT"),
        (-202, "net::ERR_CERT_AUTHORITY_INVALID"),
        (-15, "net::ERR_SOCKET_NOT_CONNECTED"),
    ],
)
def test_net_error_text(code: int, text: str) -> None:
    assert net_error_text(code) == text


@pytest.mark.parametrize("name", sorted(n for n in CODES if n != "OK"))
def test_net_error_text_for_every_code(name: str) -> None:
    assert net_error_text(CODES[name]) == f"net::ERR_{name}"


def test_running_out_has_chromiums_descriptions() -> None:
    # net_error_list.h: 'There were not enough resources to complete the operation.'
    assert net_error_description(-12) == (
        "there were not enough resources to complete the operation"
    )
    assert net_error_description(-13) == "memory allocation failed"
    assert net_error_description(-176) == "no socket buffer space is available"


def test_socket_not_found_error() -> None:
    exc = SocketNotFoundError()
    assert isinstance(exc, LookupError)
    assert str(exc) == "Socket not found"


def test_write_quota_exceeded_error() -> None:
    exc = WriteQuotaExceededError()
    assert isinstance(exc, Exception)
    assert str(exc) == "Exceeded write quota."


# -- OS errors ----------------------------------------------------------------------------------

BOTH = [
    (errno.ECONNREFUSED, -102),
    (errno.ECONNRESET, -101),
    (errno.EPIPE, -101),
    (errno.ECONNABORTED, -103),
    (errno.EHOSTUNREACH, -109),
    (errno.ENETUNREACH, -109),
    (errno.EADDRNOTAVAIL, -108),
    # Running out of something (Chromium's MapSystemError): an outcome, not a failure.
    (errno.EMFILE, -12),
    (errno.ENFILE, -12),
    (errno.ENOMEM, -13),
    (errno.ENOBUFS, -176),
]


@pytest.mark.parametrize("during", ["connect", "io"])
@pytest.mark.parametrize(("number", "code"), BOTH, ids=[errno.errorcode[n] for n, _ in BOTH])
def test_os_errors_map_as_chromium(number: int, code: int, during: str) -> None:
    assert map_os_error(number, during) == code
    assert map_os_error(OSError(number, "x"), during) == code


def test_os_error_subclasses_map_by_errno() -> None:
    assert map_os_error(ConnectionRefusedError(errno.ECONNREFUSED, "x"), "connect") == -102
    assert map_os_error(ConnectionResetError(errno.ECONNRESET, "x"), "io") == -101
    assert map_os_error(BrokenPipeError(errno.EPIPE, "x"), "io") == -101
    assert map_os_error(ConnectionAbortedError(errno.ECONNABORTED, "x"), "io") == -103


def test_U3_timed_out_connect_is_minus_118() -> None:
    """U3's fourth case: ETIMEDOUT on connect is -118; elsewhere it is -7."""
    assert map_os_error(errno.ETIMEDOUT, "connect") == NetError.CONNECTION_TIMED_OUT == -118
    assert map_os_error(TimeoutError(errno.ETIMEDOUT, "timed out"), "connect") == -118
    assert map_os_error(OSError(errno.ETIMEDOUT, "timed out"), "connect") == -118
    assert map_os_error(errno.ETIMEDOUT, "io") == NetError.TIMED_OUT == -7
    assert map_os_error(OSError(errno.ETIMEDOUT, "timed out"), "io") == -7


def test_eacces_on_connect_is_minus_138() -> None:
    assert map_os_error(errno.EACCES, "connect") == NetError.NETWORK_ACCESS_DENIED == -138
    assert map_os_error(PermissionError(errno.EACCES, "x"), "connect") == -138


# ENOBUFS was one of these until it got Chromium's own code (-176, in BOTH above).
@pytest.mark.parametrize("number", [errno.EPROTO, errno.EIO, errno.ENOTSOCK, errno.EBADMSG])
def test_unknown_os_errors_are_minus_104_on_connect_and_minus_2_elsewhere(number: int) -> None:
    assert map_os_error(number, "connect") == NetError.CONNECTION_FAILED == -104
    assert map_os_error(number, "io") == NetError.FAILED == -2
    assert map_os_error(OSError(number, "x"), "connect") == -104
    assert map_os_error(OSError(number, "x"), "io") == -2


def test_os_error_without_errno_is_unknown() -> None:
    assert map_os_error(OSError("no errno"), "connect") == -104
    assert map_os_error(OSError("no errno"), "io") == -2


# -- OpenSSL ------------------------------------------------------------------------------------


def cert_error(verify_code: int) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify")
    exc.verify_code = verify_code
    exc.verify_message = "test"
    exc.reason = "CERTIFICATE_VERIFY_FAILED"
    exc.library = "SSL"
    return exc


def ssl_error(reason: str) -> ssl.SSLError:
    exc = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    exc.reason = reason
    exc.library = "SSL"
    return exc


@pytest.mark.parametrize(
    ("verify_code", "code"),
    [
        (62, -200),  # X509_V_ERR_HOSTNAME_MISMATCH
        (9, -201),  # CERT_NOT_YET_VALID
        (10, -201),  # CERT_HAS_EXPIRED
        (18, -202),  # DEPTH_ZERO_SELF_SIGNED_CERT
        (19, -202),  # SELF_SIGNED_CERT_IN_CHAIN
        (20, -202),  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        (21, -202),  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
        (7, -207),  # CERT_SIGNATURE_FAILURE: "others → -207"
        (24, -207),  # INVALID_CA
        (26, -207),  # INVALID_PURPOSE
    ],
)
def test_verify_codes_map_as_the_contract_says(verify_code: int, code: int) -> None:
    assert map_ssl_error(cert_error(verify_code)) == code


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("TLSV1_ALERT_PROTOCOL_VERSION", -113),
        ("NO_SHARED_CIPHER", -113),
        ("UNSUPPORTED_PROTOCOL", -113),
        ("WRONG_VERSION_NUMBER", -107),
        ("PACKET_LENGTH_TOO_LONG", -107),
        ("RECORD_LAYER_FAILURE", -107),
        ("SSLV3_ALERT_BAD_CERTIFICATE", -117),
    ],
)
def test_ssl_reasons_map_as_the_contract_says(reason: str, code: int) -> None:
    assert map_ssl_error(ssl_error(reason)) == code


def test_handshake_closed_by_peer_is_minus_100_and_reset_is_minus_101() -> None:
    # 'asyncio reports "peer closed during the handshake" as a ConnectionResetError with no
    # errno (→ -100); a real reset has errno set (→ -101).'
    assert map_ssl_error(ConnectionResetError("Connection lost")) == -100
    assert map_ssl_error(ConnectionResetError(errno.ECONNRESET, "reset")) == -101
