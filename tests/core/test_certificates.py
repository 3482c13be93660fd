"""``certificate_info`` (tls-inspection-contract.md TI4): every field states what
``openssl x509 -noout -text -fingerprint -sha256`` (and ``-sha1``) prints for the same
certificate. Certificates of each key type are made here; openssl reads each one."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from workbench.core.certificates import certificate_info, certificate_infos
from workbench.core.types import CertificateInfo

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

UTC = dt.UTC


def _openssl_text(der: bytes, tmp: Path, *options: str) -> str:
    path = tmp / "cert.der"
    path.write_bytes(der)
    return subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(path), "-noout", *options],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _build(key: object, *, rich: bool) -> bytes:
    """A self-signed certificate with ``key``; ``rich`` adds every extension TI4 names."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workbench, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "inspect.test"),
        ]
    )
    public = key.public_key()  # type: ignore[attr-defined]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC))
        .not_valid_after(dt.datetime(2031, 7, 8, 9, 10, 11, tzinfo=UTC))
    )
    if rich:
        builder = (
            builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("inspect.test"),
                        x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
                        x509.IPAddress(ipaddress.ip_address("2001:db8::7")),
                        x509.RFC822Name("ops@inspect.test"),
                        x509.UniformResourceIdentifier("https://inspect.test/id"),
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier("http://ocsp.inspect.test"),
                        ),
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier("http://ca.inspect.test/ca.der"),
                        ),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        )
    algorithm = (
        None
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA384()
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else hashes.SHA256()
    )
    cert = builder.sign(key, algorithm)  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.DER)


KEYS = {
    "rsa3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
    "ec384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ec256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ed448": ed448.Ed448PrivateKey.generate,
}

#: OpenSSL's curve names in ``ASN1 OID:`` and the contract's (SEC 2) names.
CURVE_ALIASES = {"prime256v1": "secp256r1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}


def _openssl_san(text: str) -> list[str]:
    match = re.search(r"X509v3 Subject Alternative Name:.*?\n\s+(.+)\n", text)
    if not match:
        return []
    out = []
    for item in match.group(1).split(", "):
        kind, _, value = item.partition(":")
        if kind == "IP Address":
            out.append(f"IP:{ipaddress.ip_address(value)}")
        else:
            out.append(f"{kind}:{value}")
    return out


def _iso(openssl_time: str) -> str:
    moment = dt.datetime.strptime(openssl_time.strip(), "%b %d %H:%M:%S %Y GMT")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_matches_openssl(info: CertificateInfo, tmp: Path) -> None:
    text = _openssl_text(info.der, tmp, "-text", "-fingerprint", "-sha256")
    sha1 = _openssl_text(info.der, tmp, "-fingerprint", "-sha1")
    # RFC 2253 is the form RFC 4514 revised; openssl prints it on request.
    names = _openssl_text(info.der, tmp, "-subject", "-issuer", "-nameopt", "RFC2253")
    assert info.subject == re.search(r"subject=(.*)", names).group(1)  # type: ignore[union-attr]
    assert info.issuer == re.search(r"issuer=(.*)", names).group(1)  # type: ignore[union-attr]
    assert info.not_before == _iso(re.search(r"Not Before: (.*)", text).group(1))  # type: ignore[union-attr]
    assert info.not_after == _iso(re.search(r"Not After : (.*)", text).group(1))  # type: ignore[union-attr]
    assert info.signature_algorithm == re.search(r"Signature Algorithm: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert info.sha256 == re.search(r"(?i)sha256 Fingerprint=(\S+)", text).group(1)  # type: ignore[union-attr]
    assert info.sha1 == re.search(r"(?i)sha1 Fingerprint=(\S+)", sha1).group(1)  # type: ignore[union-attr]
    assert list(info.san) == _openssl_san(text)
    bits = re.search(r"Public-Key: \((\d+) bit\)", text)
    algorithm = re.search(r"Public Key Algorithm: (\S+)", text).group(1)  # type: ignore[union-attr]
    expected_type = {
        "rsaEncryption": "RSA",
        "id-ecPublicKey": "EC",
        "ED25519": "Ed25519",
        "ED448": "Ed448",
        "dsaEncryption": "DSA",
    }[algorithm]
    assert info.key_type == expected_type
    if bits is not None:  # openssl prints no size for Ed25519/Ed448 keys
        assert info.key_bits == int(bits.group(1))
    curve = re.search(r"ASN1 OID: (\S+)", text)
    assert info.curve == (CURVE_ALIASES[curve.group(1)] if curve else None)
    ocsp = re.findall(r"OCSP - URI:(\S+)", text)
    issuers = re.findall(r"CA Issuers - URI:(\S+)", text)
    assert (list(info.ocsp_uris), list(info.ca_issuers_uris)) == (ocsp, issuers)
    feature = re.search(r"TLS Feature:.*?\n\s+(.+)\n", text)
    assert info.must_staple == bool(feature and "status_request" in feature.group(1))
    assert info.is_ca == ("CA:TRUE" in text)


@pytest.mark.parametrize("rich", [True, False], ids=["extensions", "bare"])
@pytest.mark.parametrize("kind", sorted(KEYS))
def test_TI4_each_field_states_what_openssl_prints(kind: str, rich: bool, tmp_path: Path) -> None:
    der = _build(KEYS[kind](), rich=rich)
    info = certificate_info(der)
    assert info.der == der
    assert_matches_openssl(info, tmp_path)


def test_TI4_fixed_sizes_and_formats(tmp_path: Path) -> None:
    rich = certificate_info(_build(ed25519.Ed25519PrivateKey.generate(), rich=True))
    assert (rich.key_type, rich.key_bits, rich.curve) == ("Ed25519", 253, None)
    assert rich.signature_algorithm == "ED25519"
    assert rich.san == (
        "DNS:inspect.test",
        "IP:192.0.2.7",
        "IP:2001:db8::7",
        "email:ops@inspect.test",
        "URI:https://inspect.test/id",
    )
    assert (rich.not_before, rich.not_after) == ("2024-02-03T04:05:06Z", "2031-07-08T09:10:11Z")
    assert rich.subject == "CN=inspect.test,O=Workbench\\, Inc.,C=DE"
    assert (rich.ocsp_uris, rich.ca_issuers_uris) == (
        ("http://ocsp.inspect.test",),
        ("http://ca.inspect.test/ca.der",),
    )
    assert rich.must_staple is True and rich.is_ca is True
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", rich.sha256)
    assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", rich.sha1)
    ed448_info = certificate_info(_build(ed448.Ed448PrivateKey.generate(), rich=False))
    assert (ed448_info.key_type, ed448_info.key_bits) == ("Ed448", 456)
    bare = certificate_info(_build(KEYS["ec256"](), rich=False))
    assert (bare.key_type, bare.key_bits, bare.curve) == ("EC", 256, "secp256r1")
    assert bare.signature_algorithm == "ecdsa-with-SHA384"
    assert (bare.san, bare.ocsp_uris, bare.must_staple, bare.is_ca) == ((), (), False, False)


def test_TI4_trustme_chain_matches_openssl(tmp_path: Path) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("localhost", "127.0.0.1", "::1")
    pems = [blob.bytes() for blob in leaf.cert_chain_pems] + [root.cert_pem.bytes()]
    ders = tuple(
        x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER) for pem in pems
    )
    infos = certificate_infos(ders)
    assert [info.der for info in infos] == list(ders)
    for info in infos:
        assert_matches_openssl(info, tmp_path)
    assert [info.is_ca for info in infos] == [False, True, True]
    assert infos[0].issuer == infos[1].subject and infos[1].issuer == infos[2].subject
    assert infos[0].san == ("DNS:localhost", "IP:127.0.0.1", "IP:::1")


def test_certificate_infos_leaves_out_what_is_not_a_certificate() -> None:
    der = _build(KEYS["ec256"](), rich=False)
    assert [info.der for info in certificate_infos((b"not a certificate", der))] == [der]
    with pytest.raises(ValueError):
        certificate_info(b"\x30\x03\x02\x01\x00")
