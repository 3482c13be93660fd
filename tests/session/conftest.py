"""The session tests' peers are the net tests' own (certificates, threaded servers)."""

from tests.net.conftest import pki, s_server, serve, tls_server

__all__ = ["pki", "s_server", "serve", "tls_server"]
