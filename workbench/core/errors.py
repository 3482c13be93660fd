"""Chromium's net error numbers and the mapping of OS and OpenSSL failures onto them.

No asyncio and no Qt here: this is the table that every other ring consults when it has to
turn an exception into the result code a Chrome developer expects.
"""

from __future__ import annotations

import enum
import errno
import ssl

__all__ = [
    "NetError",
    "SocketNotFoundError",
    "WriteQuotaExceededError",
    "map_os_error",
    "map_ssl_error",
    "net_error_description",
    "net_error_text",
]


class NetError(enum.IntEnum):
    """Chromium's net error numbers (net/base/net_error_list.h) that the core can return."""

    OK = 0
    FAILED = -2
    ABORTED = -3
    INVALID_ARGUMENT = -4
    TIMED_OUT = -7
    INSUFFICIENT_RESOURCES = -12
    OUT_OF_MEMORY = -13
    SOCKET_NOT_CONNECTED = -15
    SOCKET_IS_CONNECTED = -23
    CONNECTION_CLOSED = -100
    CONNECTION_RESET = -101
    CONNECTION_REFUSED = -102
    CONNECTION_ABORTED = -103
    CONNECTION_FAILED = -104
    NAME_NOT_RESOLVED = -105
    INTERNET_DISCONNECTED = -106
    SSL_PROTOCOL_ERROR = -107
    ADDRESS_INVALID = -108
    ADDRESS_UNREACHABLE = -109
    SSL_CLIENT_AUTH_CERT_NEEDED = -110
    SSL_VERSION_OR_CIPHER_MISMATCH = -113
    BAD_SSL_CLIENT_AUTH_CERT = -117
    CONNECTION_TIMED_OUT = -118
    NETWORK_ACCESS_DENIED = -138
    MSG_TOO_BIG = -142
    ADDRESS_IN_USE = -147
    NO_BUFFER_SPACE = -176
    CERT_COMMON_NAME_INVALID = -200
    CERT_DATE_INVALID = -201
    CERT_AUTHORITY_INVALID = -202
    CERT_REVOKED = -206
    CERT_INVALID = -207
    CERT_WEAK_SIGNATURE_ALGORITHM = -208
    CERT_WEAK_KEY = -211
    INVALID_RESPONSE = -320


_DESCRIPTIONS: dict[NetError, str] = {
    NetError.OK: "success",
    NetError.FAILED: "the operation failed",
    NetError.ABORTED: "the operation was cancelled (disconnect or close while it ran)",
    NetError.INVALID_ARGUMENT: "not possible in the socket's current state",
    NetError.TIMED_OUT: "the operation timed out",
    # Chromium's own words (net_error_list.h) for the three ways to run out of something.
    NetError.INSUFFICIENT_RESOURCES: "there were not enough resources to complete the operation",
    NetError.OUT_OF_MEMORY: "memory allocation failed",
    NetError.SOCKET_NOT_CONNECTED: "the socket is not connected",
    NetError.SOCKET_IS_CONNECTED: "the socket is already connected",
    NetError.CONNECTION_CLOSED: "the peer closed the connection",
    NetError.CONNECTION_RESET: "the peer reset the connection",
    NetError.CONNECTION_REFUSED: "nothing is listening on that port",
    NetError.CONNECTION_ABORTED: "the connection was aborted by this machine",
    NetError.CONNECTION_FAILED: "the connection attempt failed",
    NetError.NAME_NOT_RESOLVED: "the host name could not be resolved (for that address family)",
    NetError.INTERNET_DISCONNECTED: "there is no network connection",
    NetError.SSL_PROTOCOL_ERROR: "the peer did not speak TLS as expected",
    NetError.ADDRESS_INVALID: "the address is not valid here",
    NetError.ADDRESS_UNREACHABLE: "no route to that address",
    NetError.SSL_CLIENT_AUTH_CERT_NEEDED: "the server asks for a client certificate",
    NetError.SSL_VERSION_OR_CIPHER_MISMATCH: "no TLS version or cipher in common with the peer",
    NetError.BAD_SSL_CLIENT_AUTH_CERT: "the server rejected the client certificate",
    NetError.CONNECTION_TIMED_OUT: "the peer did not answer the connection attempt",
    NetError.NETWORK_ACCESS_DENIED: "the operating system denied access to the network",
    NetError.MSG_TOO_BIG: "the datagram is too large for the protocol",
    NetError.ADDRESS_IN_USE: "the address is already in use",
    NetError.NO_BUFFER_SPACE: "no socket buffer space is available",
    NetError.CERT_COMMON_NAME_INVALID: "the certificate is not valid for this host name",
    NetError.CERT_DATE_INVALID: "the certificate has expired or is not valid yet",
    NetError.CERT_AUTHORITY_INVALID: "the certificate is not signed by a trusted authority",
    NetError.CERT_REVOKED: "the certificate has been revoked",
    NetError.CERT_INVALID: "the certificate is invalid",
    NetError.CERT_WEAK_SIGNATURE_ALGORITHM: "the certificate uses a weak signature algorithm",
    NetError.CERT_WEAK_KEY: "the certificate has a weak key",
    NetError.INVALID_RESPONSE: "the server's answer was not the one expected",
}


def net_error_text(code: int) -> str:
    """``-102`` → ``"net::ERR_CONNECTION_REFUSED"``, as Chromium's ``ErrorToString`` writes it."""
    if code == 0:
        return "net::OK"
    try:
        return f"net::ERR_{NetError(code).name}"
    except ValueError:
        return f"net::ERR_UNKNOWN({code})"


def net_error_description(code: int) -> str:
    """Plain words for a result code, for people rather than programs."""
    try:
        return _DESCRIPTIONS[NetError(code)]
    except ValueError:
        return "an unknown network error"


class SocketNotFoundError(LookupError):
    """Raised for any call with an id that was never created or is already closed (contract C3)."""

    def __init__(self, message: str = "Socket not found") -> None:
        super().__init__(message)


class WriteQuotaExceededError(Exception):
    """Raised by ``send()`` when the bytes still queued plus the new ones exceed the quota (S4)."""

    def __init__(self, message: str = "Exceeded write quota.") -> None:
        super().__init__(message)


# Chromium's MapSystemError (net/base/net_errors_posix.cc), the part a TCP client can meet.
_OS_ERRORS: dict[int, NetError] = {
    errno.ECONNREFUSED: NetError.CONNECTION_REFUSED,
    errno.ECONNRESET: NetError.CONNECTION_RESET,
    errno.EPIPE: NetError.CONNECTION_RESET,
    errno.ECONNABORTED: NetError.CONNECTION_ABORTED,
    errno.EHOSTUNREACH: NetError.ADDRESS_UNREACHABLE,
    errno.ENETUNREACH: NetError.ADDRESS_UNREACHABLE,
    errno.EADDRNOTAVAIL: NetError.ADDRESS_INVALID,
    errno.EADDRINUSE: NetError.ADDRESS_IN_USE,
    errno.ENETDOWN: NetError.INTERNET_DISCONNECTED,
    # A datagram larger than the protocol (or the path) allows.
    errno.EMSGSIZE: NetError.MSG_TOO_BIG,
    # Running out of descriptors, buffers or memory is an outcome like any other.
    errno.EMFILE: NetError.INSUFFICIENT_RESOURCES,
    errno.ENFILE: NetError.INSUFFICIENT_RESOURCES,
    errno.ENOBUFS: NetError.NO_BUFFER_SPACE,
    errno.ENOMEM: NetError.OUT_OF_MEMORY,
}


def map_os_error(error: BaseException | int, during: str = "io") -> NetError:
    """Map an ``OSError`` (or a bare errno) to a net error.

    ``during`` is ``"connect"`` or ``"io"``: Chromium maps the same errno differently for a
    connect (ETIMEDOUT → CONNECTION_TIMED_OUT, unknown → CONNECTION_FAILED) than for reads and
    writes (ETIMEDOUT → TIMED_OUT, unknown → FAILED).
    """
    if during not in ("connect", "io"):
        raise ValueError(f"during must be 'connect' or 'io', not {during!r}")
    connecting = during == "connect"
    if isinstance(error, int):
        code: int | None = error
    elif isinstance(error, TimeoutError) and getattr(error, "errno", None) is None:
        code = errno.ETIMEDOUT
    elif isinstance(error, OSError):
        code = error.errno
    else:
        code = None
    if code == errno.ETIMEDOUT:
        return NetError.CONNECTION_TIMED_OUT if connecting else NetError.TIMED_OUT
    if code == errno.EACCES and connecting:
        return NetError.NETWORK_ACCESS_DENIED
    if code is not None and code in _OS_ERRORS:
        return _OS_ERRORS[code]
    return NetError.CONNECTION_FAILED if connecting else NetError.FAILED


# OpenSSL's X509_V_ERR_* numbers, as ssl.SSLCertVerificationError.verify_code reports them.
_VERIFY_CODES: dict[int, NetError] = {
    62: NetError.CERT_COMMON_NAME_INVALID,  # X509_V_ERR_HOSTNAME_MISMATCH
    64: NetError.CERT_COMMON_NAME_INVALID,  # X509_V_ERR_IP_ADDRESS_MISMATCH
    9: NetError.CERT_DATE_INVALID,  # X509_V_ERR_CERT_NOT_YET_VALID
    10: NetError.CERT_DATE_INVALID,  # X509_V_ERR_CERT_HAS_EXPIRED
    18: NetError.CERT_AUTHORITY_INVALID,  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: NetError.CERT_AUTHORITY_INVALID,  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: NetError.CERT_AUTHORITY_INVALID,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: NetError.CERT_AUTHORITY_INVALID,  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    23: NetError.CERT_REVOKED,  # X509_V_ERR_CERT_REVOKED
}

# OpenSSL reason names (the text asyncio puts in SSLError.reason).
_VERSION_OR_CIPHER = frozenset(
    {
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSUPPORTED_PROTOCOL",
        "NO_SHARED_CIPHER",
        "NO_CIPHERS_AVAILABLE",
        "NO_PROTOCOLS_AVAILABLE",
        "NO_SUITABLE_SIGNATURE_ALGORITHM",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        "VERSION_TOO_LOW",
        "VERSION_TOO_HIGH",
    }
)
# Alerts with which a server rejects the certificate *we* presented (or the lack of one).
_CLIENT_CERT_ALERTS = frozenset(
    {
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_ACCESS_DENIED",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    }
)


def map_ssl_error(
    error: BaseException, *, sent_client_cert: bool = False, cert_requested: bool = False
) -> NetError:
    """Map a failed TLS handshake (or a failure while it ran) to a net error.

    TLS alerts about our own client certificate become BAD_SSL_CLIENT_AUTH_CERT (-117), except
    when we presented none, which says exactly what is missing (SSL_CLIENT_AUTH_CERT_NEEDED,
    -110). A ``handshake_failure`` alert is ambiguous: before the server asked for a client
    certificate it means "no version or cipher in common" (-113); after it asked
    (``cert_requested``: a CertificateRequest arrived), it is how TLS 1.2 servers reject the
    client's certificate or its absence.
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return _VERIFY_CODES.get(error.verify_code, NetError.CERT_INVALID)
    if isinstance(error, ssl.SSLEOFError):
        return NetError.CONNECTION_CLOSED
    if isinstance(error, ssl.SSLError):
        reason = error.reason or ""
        if reason in _VERSION_OR_CIPHER:
            return NetError.SSL_VERSION_OR_CIPHER_MISMATCH
        if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE":
            if not cert_requested:
                return NetError.SSL_VERSION_OR_CIPHER_MISMATCH
            reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"  # the same complaint, TLS 1.2 style
        if reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED" and not sent_client_cert:
            return NetError.SSL_CLIENT_AUTH_CERT_NEEDED
        if reason in _CLIENT_CERT_ALERTS:
            return NetError.BAD_SSL_CLIENT_AUTH_CERT
        if reason == "UNEXPECTED_EOF_WHILE_READING":
            return NetError.CONNECTION_CLOSED
        return NetError.SSL_PROTOCOL_ERROR
    if isinstance(error, ConnectionResetError):
        # asyncio reports "the peer closed during the handshake" as a ConnectionResetError with
        # no errno; a real RST arrives with errno set.
        if error.errno is None:
            return NetError.CONNECTION_CLOSED
        return NetError.CONNECTION_RESET
    if isinstance(error, TimeoutError):
        return NetError.TIMED_OUT
    if isinstance(error, OSError):
        return map_os_error(error, "io")
    return NetError.SSL_PROTOCOL_ERROR
