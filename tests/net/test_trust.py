"""Where the trust anchors come from when no ca_file is given (a frozen program must still
verify, and must never skip verification silently)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from workbench.core.errors import NetError
from workbench.core.types import SecureOptions
from workbench.net.tls import (
    NO_TRUST_MESSAGE,
    SYSTEM_CA_FILES,
    TlsSetupError,
    build_context,
    load_default_trust,
)


def _ctx() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _ca_pem(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_ssl_cert_file_is_honoured(tmp_path: Path) -> None:
    bundle = _ca_pem(tmp_path)
    ctx = _ctx()
    assert load_default_trust(ctx, {"SSL_CERT_FILE": str(bundle)}, ca_files=(), ca_dirs=())
    assert ctx.cert_store_stats()["x509_ca"] >= 1


def test_distribution_bundle_paths_are_searched(tmp_path: Path) -> None:
    bundle = _ca_pem(tmp_path)
    missing = str(tmp_path / "nowhere.pem")
    ctx = _ctx()
    # Whatever OpenSSL's default path holds, a listed bundle path is loaded when it exists.
    assert load_default_trust(ctx, {}, ca_files=(missing, str(bundle)), ca_dirs=())
    assert ctx.cert_store_stats()["x509_ca"] >= 1


def test_debian_bundle_is_in_the_list() -> None:
    assert "/etc/ssl/certs/ca-certificates.crt" in SYSTEM_CA_FILES


def test_no_trust_anywhere_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Point OpenSSL's own variables at empty places so its defaults find nothing either.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing-dir"))
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_FILES", ())
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_DIRS", ())
    with pytest.raises(TlsSetupError) as caught:
        build_context(SecureOptions())
    assert caught.value.code == NetError.CERT_AUTHORITY_INVALID
    assert "SSL_CERT_FILE" in str(caught.value) and "ca-certificates" in str(caught.value)
    assert str(caught.value) == NO_TRUST_MESSAGE


def test_no_system_trust_but_a_ca_file_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing-dir"))
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_FILES", ())
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_DIRS", ())
    ctx = build_context(SecureOptions(ca_file=str(_ca_pem(tmp_path))))
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_verify_off_needs_no_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_FILES", ())
    ctx = build_context(SecureOptions(verify=False))
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
