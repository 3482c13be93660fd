"""The one module that uses private interfaces of ``ssl`` and ``asyncio`` (contract TI8).

Python 3.11 has no public API for three things the TLS inspection needs; each use below
carries a ``# WORKAROUND:`` with the reason and a link, and tests/net/test_tls_inspection.py
has a guard test (``test_TI8_...``) that fails loudly when one of them disappears:

- the handshake's messages: ``SSLContext._msg_callback``;
- the chain as sent and as verified: ``SSLObject._sslobj.get_unverified_chain()`` and
  ``get_verified_chain()`` (public from Python 3.13, and used there);
- offering a session under asyncio, which has no ``session=`` parameter: asyncio's SSL protocol
  makes its ``SSLObject`` with ``SSLContext.wrap_bio()``, so a context that overrides
  ``wrap_bio`` passes the session on.
"""

from __future__ import annotations

import collections
import contextlib
import ssl
import sys
import weakref
from collections.abc import Callable

__all__ = [
    "CONTENT_ALERT",
    "CONTENT_APPLICATION_DATA",
    "CONTENT_HANDSHAKE",
    "CONTENT_INNER",
    "InspectingContext",
    "MessageListener",
    "Offer",
    "msg_callback_available",
    "peer_chains",
    "private_chain_available",
    "set_msg_callback",
    "wrap_bio_is_used_by_asyncio",
]

#: The content types OpenSSL's message callback reports (ssl.py's private _TLSContentType,
#: an IntEnum, compares equal to these): RFC 8446 5.1 ContentType, and OpenSSL's
#: SSL3_RT_INNER_CONTENT_TYPE pseudo type for a TLS 1.3 record's real type.
CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
CONTENT_APPLICATION_DATA = 23
CONTENT_INNER = 0x101

#: ``(conn, direction, version, content_type, msg_type, data)``, as ssl calls the hook.
MessageListener = Callable[[object, str, object, object, object, bytes], None]


def msg_callback_available() -> bool:
    return isinstance(getattr(ssl.SSLContext, "_msg_callback", None), property)


def set_msg_callback(ctx: ssl.SSLContext, listener: MessageListener | None) -> bool:
    """Let ``listener`` see every TLS message of connections of ``ctx`` (None: stop).
    False when the hook is gone: the trace then stays empty."""
    # WORKAROUND: the ssl module has no public way to see the handshake's messages, and
    # asyncio's start_tls gives no hook either. SSLContext._msg_callback is the stdlib's own
    # (private, undocumented) wrapper of OpenSSL's SSL_CTX_set_msg_callback, present since
    # Python 3.8 (https://github.com/python/cpython/blob/v3.11.7/Lib/ssl.py#L643-L718) and used
    # by CPython's own tests. Without it the trace, the group, the ticket lifetime and the
    # mapping of a TLS 1.2 handshake_failure alert after a CertificateRequest are less
    # precise, nothing more.
    try:
        ctx._msg_callback = listener  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return False
    return True


def private_chain_available() -> bool:
    """Whether Python < 3.13's private chain methods exist (True on 3.13+, where the public
    ones are used)."""
    if sys.version_info >= (3, 13):
        return True
    sslobj = getattr(ssl, "_ssl", None)
    kind = getattr(sslobj, "_SSLSocket", None)
    return all(
        hasattr(kind, name) for name in ("get_unverified_chain", "get_verified_chain")
    ) and hasattr(sslobj, "ENCODING_DER")


def _ders(chain: object) -> tuple[bytes, ...]:
    if not chain:
        return ()
    out: list[bytes] = []
    for cert in chain:  # type: ignore[attr-defined]
        if isinstance(cert, bytes):
            out.append(cert)
        else:
            # WORKAROUND: on 3.11/3.12 the chain holds private _ssl.Certificate objects; their
            # public_bytes(_ssl.ENCODING_DER) is how ssl.py itself turns them into DER on 3.13
            # (https://github.com/python/cpython/blob/v3.13.0/Lib/ssl.py#L1164-L1175).
            out.append(bytes(cert.public_bytes(ssl._ssl.ENCODING_DER)))  # type: ignore[attr-defined]
    return tuple(out)


def peer_chains(ssl_object: ssl.SSLObject) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(the chain the server sent, in its order; the path verification built, leaf to trust
    anchor), as DER. Both empty on a resumed session (the server sent no certificate); the
    second empty when nothing was verified."""
    if sys.version_info >= (3, 13):
        return (
            _ders(ssl_object.get_unverified_chain()),  # type: ignore[attr-defined,unused-ignore]
            _ders(ssl_object.get_verified_chain()),  # type: ignore[attr-defined,unused-ignore]
        )
    # WORKAROUND: Python 3.11 has no public way to read the peer's chain: getpeercert() gives
    # the leaf only. _SSLSocket.get_unverified_chain()/get_verified_chain() (OpenSSL's
    # SSL_get_peer_cert_chain and SSL_get0_verified_chain) exist since 3.10 and became public
    # on SSLSocket/SSLObject in 3.13 (https://docs.python.org/3.13/library/ssl.html#ssl.SSLSocket.get_verified_chain).
    inner = getattr(ssl_object, "_sslobj", None)
    try:
        sent = _ders(inner.get_unverified_chain())  # type: ignore[union-attr]
        verified = _ders(inner.get_verified_chain())  # type: ignore[union-attr]
    except (AttributeError, ValueError, ssl.SSLError):
        return (), ()
    return sent, verified


def wrap_bio_is_used_by_asyncio() -> bool:
    """Whether asyncio's SSL protocol still makes its SSLObject through the context's
    ``wrap_bio`` (what ``InspectingContext`` relies on to offer a session)."""
    import asyncio.sslproto
    import inspect

    try:
        source = inspect.getsource(asyncio.sslproto.SSLProtocol)
    except (OSError, TypeError):
        return False
    return "_sslcontext.wrap_bio(" in source


class Offer:
    """What the next handshake on an ``InspectingContext`` is given: its listener and the
    session to offer. ``ssl_object`` is set once asyncio made the connection's SSLObject."""

    def __init__(self, listener: MessageListener | None, session: ssl.SSLSession | None) -> None:
        self.listener = listener
        self.session = session
        self.ssl_object: ssl.SSLObject | None = None


class InspectingContext(ssl.SSLContext):
    """A client context that offers a kept session and tells each connection's messages to
    that connection's listener, for the connections asyncio makes with it.

    ``offer()`` right before ``loop.start_tls()`` queues what the next ``wrap_bio`` gets:
    asyncio calls ``wrap_bio`` once per ``start_tls``, synchronously, when it makes the SSL
    protocol (before its first await), so the queue pairs them up even when two handshakes
    share the context (as resumed ones do). ``withdraw()`` after the handshake removes an offer
    no ``wrap_bio`` took (start_tls failed before making one).
    """

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:
        super().__init__()
        self._pending: collections.deque[Offer] = collections.deque()
        self._listeners: weakref.WeakKeyDictionary[ssl.SSLObject, MessageListener] = (
            weakref.WeakKeyDictionary()
        )
        self._hooked = False

    def __new__(cls, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> InspectingContext:
        return super().__new__(cls, protocol)

    def offer(self, listener: MessageListener | None, session: ssl.SSLSession | None) -> Offer:
        offer = Offer(listener, session)
        self._pending.append(offer)
        if listener is not None and not self._hooked:
            self._hooked = set_msg_callback(self, self._dispatch)
        return offer

    def withdraw(self, offer: Offer) -> None:
        with contextlib.suppress(ValueError):
            self._pending.remove(offer)
        self._maybe_unhook()

    def release(self, ssl_object: ssl.SSLObject | None) -> None:
        """The connection's listener has heard all it wanted: OpenSSL calls the hook for every
        record while it is set, so it is removed once nobody listens."""
        if ssl_object is not None:
            self._listeners.pop(ssl_object, None)
        self._maybe_unhook()

    def _maybe_unhook(self) -> None:
        if self._hooked and not self._pending and not self._listeners:
            set_msg_callback(self, None)
            self._hooked = False

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        offer = self._pending.popleft() if self._pending else None
        if session is None and offer is not None and not server_side:
            session = offer.session
        # WORKAROUND: asyncio's start_tls has no session parameter
        # (https://github.com/python/cpython/issues/79152), but its SSL protocol makes the
        # connection's SSLObject with self._sslcontext.wrap_bio(...)
        # (https://github.com/python/cpython/blob/v3.11.7/Lib/asyncio/sslproto.py#L327-L330),
        # an implementation detail: overriding it is how a session reaches the handshake.
        ssl_object = super().wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )
        if offer is not None:
            offer.ssl_object = ssl_object
            if offer.listener is not None:
                self._listeners[ssl_object] = offer.listener
        return ssl_object

    def _dispatch(
        self,
        conn: object,
        direction: str,
        version: object,
        content_type: object,
        msg_type: object,
        data: bytes,
    ) -> None:
        # ssl passes the SSLObject that owns the connection as ``conn``.
        listener = self._listeners.get(conn) if isinstance(conn, ssl.SSLObject) else None
        if listener is not None:
            listener(conn, direction, version, content_type, msg_type, data)
