"""Fixtures for the TLS, integrity and state-machine tests: certificates and real peers.

The peers themselves live in ``tests/net/tls_peers.py``; this module only starts them and
stops them after the test. Every fixture here is synchronous: the peers run in threads or
processes of their own, so they work the same under the asyncio and the qasync loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.net.tls_peers import (
    CertFiles,
    Handler,
    OpenSSLServer,
    Pki,
    ThreadedServer,
    make_pki,
    server_context,
    tls_echo_handler,
)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """All test certificates (trusted CA, valid/expired/not-yet-valid/wrong-host/unknown-CA/
    self-signed/wrong-purpose/IDN leaves, client CA and client certificates) as PEM files."""
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def serve() -> Iterator[Callable[..., ThreadedServer]]:
    """``serve(handler, host="127.0.0.1", name="peer")`` starts a threaded loopback server;
    all of them are stopped after the test."""
    servers: list[ThreadedServer] = []

    def start(handler: Handler, host: str = "127.0.0.1", name: str = "peer") -> ThreadedServer:
        server = ThreadedServer(handler, host=host, name=name).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def tls_server(serve: Callable[..., ThreadedServer], pki: Pki) -> Callable[..., ThreadedServer]:
    """``tls_server(cert=pki.valid, minimum=None, maximum=None, client_ca=None)``: a blocking
    ``ssl`` echo server in a thread. It records the SNI it was sent (``server_names``), the
    decrypted bytes (``received``) and reports ``handshake``/``handshake_failed`` events."""

    def start(cert: CertFiles | None = None, **context: object) -> ThreadedServer:
        ctx = server_context(cert or pki.valid, **context)  # type: ignore[arg-type]
        return serve(tls_echo_handler(ctx), name="tls-echo")

    return start


@pytest.fixture
def s_server(pki: Pki) -> Iterator[Callable[..., OpenSSLServer]]:
    """``s_server(*args, cert=pki.valid, mode="-rev")``: ``openssl s_server`` on 127.0.0.1
    (``-rev`` answers every line reversed); stopped after the test."""
    servers: list[OpenSSLServer] = []

    def start(*args: str, cert: CertFiles | None = None, mode: str = "-rev") -> OpenSSLServer:
        server = OpenSSLServer(cert or pki.valid, *args, mode=mode).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
