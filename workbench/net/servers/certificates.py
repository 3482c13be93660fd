"""The private test CA of the built-in TLS echo server, and the localhost certificate it signs.

trustme makes both: ``trustme.CA()`` and ``CA.issue_cert("localhost", "127.0.0.1", "::1")``.
What trustme leaves to us, and so the only certificate code here:

- persisting: the files live in one directory (the window's config directory), so a client that
  trusts ``test-ca.pem`` keeps trusting it from one run to the next. Keys are written 0600, and
  every file is written whole or not at all (trustme's ``Blob.write_to_path`` does neither);
- re-loading: files from an earlier run are reused while they are readable, belong together and
  stay valid for at least another day (trustme checks nothing of a CA it re-loads with
  ``CA.from_pem``).

cryptography and trustme are imported by the functions that need them, on the first tls-echo
start or "Trust this test CA", never with this module: ``cryptography.x509`` alone costs tens of
milliseconds and about 10 MiB at start-up, for a feature most runs never use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import trustme
    from cryptography import x509

__all__ = ["CA_COMMON_NAME", "CertificateFiles", "ensure_certificates", "issue_certificate"]

_log = logging.getLogger("workbench.servers")

#: The CA's name, as clients show its certificate's issuer. trustme puts it in the subject's
#: organizational unit (its CAs have no common name); CAs made by earlier versions of this
#: program carry it as the common name, and are reused as well.
CA_COMMON_NAME = "Socket Workbench Test CA"
_ORGANIZATION = "Socket Workbench"
_LEAF_UNIT = "Built-in TLS echo server"
_LEAF_NAMES = ("localhost", "127.0.0.1", "::1")
#: The organizational unit of the leaves ``issue_certificate`` makes (listening sockets').
_NAMED_LEAF_UNIT = "Socket Workbench server"
_LEAF_LIFETIME = dt.timedelta(days=365)
#: Files that expire sooner than this are replaced rather than reused.
_RENEW_MARGIN = dt.timedelta(days=1)
#: Allowance for a clock that runs a little behind the one that made the certificate.
_BACKDATE = dt.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class CertificateFiles:
    """The PEM files of the test CA and of the localhost leaf it signed."""

    ca_file: Path  #: the CA certificate: what a client trusts
    ca_key_file: Path  #: kept so the leaf can be renewed under the same CA
    cert_file: Path  #: the leaf, for localhost, 127.0.0.1 and ::1
    key_file: Path

    @classmethod
    def in_directory(cls, directory: Path) -> CertificateFiles:
        """Where the files are (or will be) in ``directory``; nothing is read or written."""
        return cls(
            ca_file=directory / "test-ca.pem",
            ca_key_file=directory / "test-ca-key.pem",
            cert_file=directory / "localhost-cert.pem",
            key_file=directory / "localhost-key.pem",
        )


def ensure_certificates(directory: Path) -> CertificateFiles:
    """The test CA and the localhost leaf as PEM files in ``directory``.

    Existing files are reused while they are readable, belong together and stay valid for at
    least another day. An expiring leaf is renewed under the same CA (so a client that trusts
    the CA file keeps trusting it); a missing, broken or expiring CA replaces both. Raises
    ``OSError`` when the directory or a file cannot be written.
    """
    import trustme  # here, not at the top: see the module docstring
    from cryptography import x509

    directory.mkdir(parents=True, exist_ok=True)
    files = CertificateFiles.in_directory(directory)
    now = dt.datetime.now(dt.UTC)
    reused = _usable_ca(files, now)
    if reused is not None and _usable_leaf(files, reused[1], now):
        return files
    if reused is None:
        ca = trustme.CA(
            organization_name=_ORGANIZATION,
            organization_unit_name=CA_COMMON_NAME,
            path_length=0,  # it signs leaves only
        )
        _write_atomically(files.ca_key_file, ca.private_key_pem.bytes(), private=True)
        _write_atomically(files.ca_file, ca.cert_pem.bytes(), private=False)
        _log.info("created the test CA in %s", files.ca_file)
        ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    else:
        ca, ca_cert = reused
    _issue_leaf(ca, ca_cert, _LEAF_NAMES, files.cert_file, files.key_file, _LEAF_UNIT, now)
    _log.info("issued the localhost test certificate %s", files.cert_file)
    return files


def issue_certificate(directory: Path, names: Sequence[str]) -> tuple[Path, Path]:
    """A leaf for ``names`` (DNS names and IP addresses, the first one its common name),
    signed by the test CA of ``directory`` (made or renewed first, as by
    ``ensure_certificates``): its certificate and key files, ``(cert_file, key_file)``.

    The files are named after the names (``leaf-<hash>-cert.pem``: the same names, in any
    order and spelling of an address, are the same files) and reused while they are
    readable, fresh, for every name and signed by the CA in force. ``ValueError`` for no
    names or an empty one; ``OSError`` when a file cannot be written."""
    wanted = _normalized_names(names)
    files = ensure_certificates(directory)
    digest = hashlib.sha256("\n".join(sorted(wanted)).encode()).hexdigest()[:16]
    cert_file = directory / f"leaf-{digest}-cert.pem"
    key_file = directory / f"leaf-{digest}-key.pem"
    now = dt.datetime.now(dt.UTC)
    reused = _usable_ca(files, now)
    if reused is None:  # ensure_certificates just made it: cannot happen but by a race
        raise OSError(f"the test CA in {directory} cannot be read back")
    ca, ca_cert = reused
    leaf_files = dataclasses.replace(files, cert_file=cert_file, key_file=key_file)
    if _usable_leaf(leaf_files, ca_cert, now, wanted):
        return cert_file, key_file
    _issue_leaf(ca, ca_cert, wanted, cert_file, key_file, _NAMED_LEAF_UNIT, now)
    _log.info("issued a test certificate for %s: %s", ", ".join(wanted), cert_file)
    return cert_file, key_file


def _normalized_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names, stripped, addresses in their compressed form, duplicates dropped (order
    kept: the first is the common name)."""
    result: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"a certificate name must be a str, not {type(name).__name__}")
        text = name.strip()
        if not text:
            raise ValueError("a certificate name must not be empty")
        try:
            text = str(ipaddress.ip_address(text))
        except ValueError:
            text = text.lower()
        if text not in result:
            result.append(text)
    if not result:
        raise ValueError("a certificate needs at least one name")
    return tuple(result)


def _issue_leaf(
    ca: trustme.CA,
    ca_cert: x509.Certificate,
    names: Sequence[str],
    cert_file: Path,
    key_file: Path,
    unit: str,
    now: dt.datetime,
) -> None:
    leaf = ca.issue_cert(
        *names,
        common_name=names[0],
        organization_name=_ORGANIZATION,
        organization_unit_name=unit,
        not_before=now - _BACKDATE,
        not_after=min(now + _LEAF_LIFETIME, ca_cert.not_valid_after_utc),
    )
    _write_atomically(key_file, leaf.private_key_pem.bytes(), private=True)
    _write_atomically(cert_file, leaf.cert_chain_pems[0].bytes(), private=False)


def _write_atomically(path: Path, data: bytes, private: bool) -> None:
    """Write a whole file or nothing: a crash never leaves half a certificate behind."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _fresh(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and now + _RENEW_MARGIN < cert.not_valid_after_utc


def _load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, bytes, bytes] | None:
    """The certificate and both files' bytes, or None when they are missing, unreadable or do
    not belong together."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        # Before ssl sees the key: OpenSSL would prompt on the terminal for an encrypted one.
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if key.public_key() != cert.public_key():
        return None
    return cert, cert_pem, key_pem


def _usable_ca(
    files: CertificateFiles, now: dt.datetime
) -> tuple[trustme.CA, x509.Certificate] | None:
    """The CA of an earlier run, when it is ours, whole and fresh."""
    import trustme
    from cryptography import x509

    loaded = _load_pair(files.ca_file, files.ca_key_file)
    if loaded is None:
        return None
    cert, cert_pem, key_pem = loaded
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        # trustme names the issuer of a leaf by the CA's key identifier.
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        return None
    ours = cert.subject == cert.issuer and CA_COMMON_NAME in {a.value for a in cert.subject}
    if not (is_ca and ours and _fresh(cert, now)):
        return None
    return trustme.CA.from_pem(cert_pem, key_pem), cert


def _usable_leaf(
    files: CertificateFiles,
    ca_cert: x509.Certificate,
    now: dt.datetime,
    wanted: Sequence[str] = _LEAF_NAMES,
) -> bool:
    """Whether the leaf of an earlier run is whole, fresh, for every name of ``wanted``,
    signed by ``ca_cert``, and loads into ssl."""
    from cryptography import x509

    loaded = _load_pair(files.cert_file, files.key_file)
    if loaded is None:
        return False
    cert = loaded[0]
    try:
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # InvalidSignature, ValueError, TypeError, ExtensionNotFound
        return False
    names = {str(name) for name in san.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(wanted) <= names and _fresh(cert, now) and _loads_into_ssl(files)


def _loads_into_ssl(files: CertificateFiles) -> bool:
    try:
        ssl.create_default_context(cafile=str(files.ca_file)).load_cert_chain(
            str(files.cert_file), str(files.key_file)
        )
    except (OSError, ssl.SSLError):
        return False
    return True
