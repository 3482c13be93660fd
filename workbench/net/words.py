"""Why a call failed, in a user's words: the OS's, or OpenSSL's own description of a TLS
failure. ``error_detail`` shows these beside the result code."""

from __future__ import annotations

import os
import re
import ssl

__all__ = ["reason"]


def reason(exc: BaseException) -> str:
    """An exception in a user's words: OSError's strerror, OpenSSL's verify message or its
    own description of a TLS failure."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        # An SSLError's errno is OpenSSL's error kind (1 = SSL_ERROR_SSL), not a system
        # errno: os.strerror(1) would say "Operation not permitted".
        return _tls_words(exc)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)) and exc.errno is None:
        return "the peer closed the connection during the TLS handshake"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)  # asyncio's own text is "Connect call failed (...)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _tls_words(exc: ssl.SSLError) -> str:
    """``[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)`` →
    ``"TLS: tlsv1 alert protocol version"``."""
    if isinstance(exc, ssl.SSLEOFError):
        return "the peer closed the connection during the TLS handshake"
    text = exc.strerror or (str(exc.args[1]) if len(exc.args) > 1 else str(exc))
    text = re.sub(r"^\[SSL: [A-Z0-9_]+\] ", "", text)
    text = re.sub(r" \(_ssl\.c:\d+\)$", "", text)
    return f"TLS: {text or exc.reason or type(exc).__name__}"
