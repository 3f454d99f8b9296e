"""Certificates with ``cryptography``: a CA, node (server) and controller (client) certificates.

Keys are ECDSA P-256 (small, fast handshakes, accepted by every TLS stack steth meets).
A node certificate names the node (DNS SAN) and its management addresses (IP SANs), so the
controller can check both that it reached the right node and that the node is who it says.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest leaf validity browsers and most audits accept
CLIENT_NAME = "steth-controller"
# a DNS name: labels of letters, digits and hyphens (underscore tolerated, as in some inventories)
_DNS_RE = re.compile(
    r"(?=.{1,253}\Z)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*"
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Identity:
    """Who a certificate is for: a name (its CN and first DNS SAN), more DNS names, addresses."""

    name: str
    dns_names: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()

    def all_dns(self) -> list[str]:
        return list(dict.fromkeys([self.name, *self.dns_names]))


@dataclass
class CertInfo:
    """What a certificate says, for `steth pki list` and the tests."""

    subject: str
    issuer: str
    dns_names: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    usages: list[str] = field(default_factory=list)  # serverAuth, clientAuth
    is_ca: bool = False
    not_after: datetime.datetime | None = None


def is_dns_name(text: str) -> bool:
    return bool(_DNS_RE.fullmatch(text)) and not text.replace(".", "").isdigit()


def parse_address_or_name(text: str) -> Address | str:
    """An IP address, or a DNS name; ValueError naming the text otherwise."""
    text = text.strip()
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    if is_dns_name(text):
        return text
    raise ValueError(f"{text!r} is neither an IP address nor a DNS name")


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, org: str = "steth") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _now() -> datetime.datetime:
    # a minute back: a node whose clock is slightly behind still accepts a certificate made just now
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)


def make_ca(common_name: str = "steth CA", days: int = CA_DAYS) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_key()
    name = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    who: Identity,
    *,
    server: bool,
    client: bool,
    days: int = LEAF_DAYS,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate for ``who`` signed by the CA: serverAuth for a node, clientAuth for the controller."""
    if not (server or client):
        raise ValueError("a certificate must be for a server, a client or both")
    key = new_key()
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in who.all_dns()]
    sans += [x509.IPAddress(a) for a in who.addresses]
    not_after = min(_now() + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(who.name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(data: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(data)


def load_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key made by steth pki")
    return key


def signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Whether ``ca_cert``'s key signed ``cert`` (signature and issuer name)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def info(cert: x509.Certificate) -> CertInfo:
    out = CertInfo(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string())
    out.not_after = cert.not_valid_after_utc
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.SubjectAlternativeName):
            out.dns_names = value.get_values_for_type(x509.DNSName)
            out.addresses = [str(a) for a in value.get_values_for_type(x509.IPAddress)]
        elif isinstance(value, x509.ExtendedKeyUsage):
            names = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
            out.usages = [names.get(u, u.dotted_string) for u in value]
        elif isinstance(value, x509.BasicConstraints):
            out.is_ca = value.ca
    return out
