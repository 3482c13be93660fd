"""``CertificateInfo`` from a certificate's DER bytes, read with ``cryptography.x509``.

Every field states what ``openssl x509 -noout -text -fingerprint`` prints for the same
certificate, in the formats tls-inspection-contract.md fixes (TI4).
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import AuthorityInformationAccessOID

from workbench.core.types import CertificateInfo

__all__ = ["SIGNATURE_ALGORITHMS", "certificate_info", "certificate_infos", "fingerprint"]

#: OpenSSL's long names (``OBJ_nid2ln``) of the signature algorithms certificates use;
#: an OID not listed is shown dotted, as OpenSSL shows an OID it has no name for.
SIGNATURE_ALGORITHMS = {
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsaWithSHA1",
    "2.16.840.1.101.3.4.3.1": "dsa_with_SHA224",
    "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
    "1.3.101.112": "ED25519",
    "1.3.101.113": "ED448",
}

#: EVP_PKEY_get_bits for the keys whose size is not their curve's or modulus's.
_FIXED_BITS = {"Ed25519": 253, "Ed448": 456, "X25519": 253, "X448": 448}


def fingerprint(der: bytes, algorithm: hashes.HashAlgorithm) -> str:
    """``AB:CD:…``: upper-case hex pairs joined by ``:``, as ``openssl x509 -fingerprint``."""
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return ":".join(f"{byte:02X}" for byte in digest.finalize())


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _san(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out: list[str] = []
    for name in names:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        elif isinstance(name, x509.DirectoryName):
            out.append(f"DirName:{name.value.rfc4514_string()}")
        elif isinstance(name, x509.RegisteredID):
            out.append(f"Registered ID:{name.value.dotted_string}")
        elif isinstance(name, x509.OtherName):
            out.append(f"othername:{name.type_id.dotted_string}")
    return tuple(out)


def _access(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(OCSP URIs, CA Issuers URIs) from Authority Information Access."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return (), ()
    ocsp: list[str] = []
    issuers: list[str] = []
    for desc in aia:
        if not isinstance(desc.access_location, x509.UniformResourceIdentifier):
            continue
        if desc.access_method == AuthorityInformationAccessOID.OCSP:
            ocsp.append(desc.access_location.value)
        elif desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            issuers.append(desc.access_location.value)
    return tuple(ocsp), tuple(issuers)


def _must_staple(cert: x509.Certificate) -> bool:
    try:
        features = cert.extensions.get_extension_for_class(x509.TLSFeature).value
    except x509.ExtensionNotFound:
        return False
    return x509.TLSFeatureType.status_request in features


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _key(cert: x509.Certificate) -> tuple[str, int, str | None]:
    """(key type, bits as OpenSSL reports them, curve)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    for kind, name in (
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ed448.Ed448PublicKey, "Ed448"),
        (x25519.X25519PublicKey, "X25519"),
        (x448.X448PublicKey, "X448"),
    ):
        if isinstance(key, kind):
            return name, _FIXED_BITS[name], None
    return type(key).__name__, 0, None


def certificate_info(der: bytes) -> CertificateInfo:
    """Every fact of the contract's ``CertificateInfo`` about the certificate ``der``.
    ``ValueError`` when ``der`` is not a certificate."""
    cert = x509.load_der_x509_certificate(der)
    key_type, key_bits, curve = _key(cert)
    ocsp, issuers = _access(cert)
    oid = cert.signature_algorithm_oid.dotted_string
    return CertificateInfo(
        der=bytes(der),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        san=_san(cert),
        not_before=_iso(cert.not_valid_before_utc),
        not_after=_iso(cert.not_valid_after_utc),
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        signature_algorithm=SIGNATURE_ALGORITHMS.get(oid, oid),
        sha256=fingerprint(der, hashes.SHA256()),
        sha1=fingerprint(der, hashes.SHA1()),
        ocsp_uris=ocsp,
        ca_issuers_uris=issuers,
        must_staple=_must_staple(cert),
        is_ca=_is_ca(cert),
    )


def certificate_infos(chain: tuple[bytes, ...]) -> tuple[CertificateInfo, ...]:
    """``certificate_info`` of each, in order; a certificate that cannot be read is left out
    (the chain is shown for what it is, and a handshake never fails for want of a view)."""
    out: list[CertificateInfo] = []
    for der in chain:
        try:
            out.append(certificate_info(der))
        except ValueError:
            continue
    return tuple(out)
