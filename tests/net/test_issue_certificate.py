"""``issue_certificate``: leaves for chosen names under the built-in test CA."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509

from workbench.net.servers.certificates import ensure_certificates, issue_certificate


def _san(cert_file: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(name) for name in san.get_values_for_type(x509.DNSName)}
    return names | {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def test_a_leaf_for_the_names_signed_by_the_test_ca(tmp_path: Path) -> None:
    cert_file, key_file = issue_certificate(tmp_path, ["example.test", "10.1.2.3", "::1"])
    ca = ensure_certificates(tmp_path)
    assert cert_file.parent == tmp_path and key_file.parent == tmp_path
    assert _san(cert_file) == {"example.test", "10.1.2.3", "::1"}
    leaf = x509.load_pem_x509_certificate(cert_file.read_bytes())
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.ca_file.read_bytes()))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_file.stat().st_mode) == 0o644
    # Not the localhost leaf of the tls-echo server: files of its own.
    assert cert_file not in (ca.cert_file, ca.key_file)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_client_trusting_the_test_ca_verifies_the_leaf_by_name(tmp_path: Path) -> None:
    cert_file, key_file = issue_certificate(tmp_path, ["workbench.test"])
    ca_file = ensure_certificates(tmp_path).ca_file
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    left, right = socket.socketpair()
    with left, right:
        done: list[BaseException | None] = []

        def serve() -> None:
            try:
                with server_ctx.wrap_socket(right, server_side=True):
                    done.append(None)
            except BaseException as exc:  # reported to the test below
                done.append(exc)

        thread = threading.Thread(target=serve)
        thread.start()
        with client_ctx.wrap_socket(left, server_hostname="workbench.test") as tls:
            assert tls.getpeercert() is not None
        thread.join()
    assert done == [None]


def test_the_same_names_reuse_the_files_other_names_get_others(tmp_path: Path) -> None:
    first = issue_certificate(tmp_path, ["localhost", "::1"])
    pem = first[0].read_bytes()
    # The same names, in another order and spelling, are the same files, unchanged.
    again = issue_certificate(tmp_path, [" 0:0:0:0:0:0:0:1 ", "LOCALHOST"])
    assert again == first
    assert first[0].read_bytes() == pem
    other = issue_certificate(tmp_path, ["localhost"])
    assert other[0] != first[0]
    assert _san(other[0]) == {"localhost"}


def test_a_broken_leaf_is_issued_again(tmp_path: Path) -> None:
    cert_file, key_file = issue_certificate(tmp_path, ["a.test"])
    cert_file.write_bytes(b"not a certificate")
    again = issue_certificate(tmp_path, ["a.test"])
    assert again == (cert_file, key_file)
    assert _san(cert_file) == {"a.test"}


@pytest.mark.parametrize("names", [[], [""], ["  "]])
def test_no_name_is_refused(tmp_path: Path, names: list[str]) -> None:
    with pytest.raises(ValueError):
        issue_certificate(tmp_path, names)
