"""PKI and credentials for a throw-away real control plane (see ``controlplane``).

Contract: ``write_pki(folder)`` generates, with the ``cryptography`` package only (no openssl),
a serving CA and the kube-apiserver's serving certificate (127.0.0.1, 10.0.0.1, localhost and
the ``kubernetes.default.svc`` names), a front-proxy CA, and the RSA key pair that signs
ServiceAccount tokens, and writes them as PEM files into ``folder`` (keys mode 0600). Nothing
is reused across control planes; nothing here is fit for anything but tests.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = timedelta(days=7)
# Clocks of the processes and the test machine may differ a little: start validity earlier.
_BACKDATE = timedelta(hours=1)
_SERVER_IPS = ("127.0.0.1", "10.0.0.1")  # loopback and the first service IP (kubernetes svc)
_SERVER_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class PkiFiles:
    """Where ``write_pki`` put each file."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    front_proxy_ca_cert: Path
    sa_key: Path
    sa_pub: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ca(common_name: str, start: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, start: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in _SERVER_IPS),
        *(x509.DNSName(dns) for dns in _SERVER_DNS),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def write_pki(folder: Path, *, now: datetime | None = None) -> PkiFiles:
    """Generate the control plane's PKI into ``folder`` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = (now or datetime.now(UTC)) - _BACKDATE
    ca_key, ca_cert = _ca("envtest-ca", start)
    server_key, server_cert = _server_cert(ca_key, ca_cert, start)
    _, front_proxy_cert = _ca("envtest-front-proxy-ca", start)
    # RSA, as every consumer of ServiceAccount tokens supports RS256.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = PkiFiles(
        ca_cert=folder / "ca.crt",
        server_cert=folder / "apiserver.crt",
        server_key=folder / "apiserver.key",
        front_proxy_ca_cert=folder / "front-proxy-ca.crt",
        sa_key=folder / "sa.key",
        sa_pub=folder / "sa.pub",
    )
    files.ca_cert.write_bytes(_cert_pem(ca_cert))
    files.server_cert.write_bytes(_cert_pem(server_cert))
    write_private(files.server_key, _key_pem(server_key))
    files.front_proxy_ca_cert.write_bytes(_cert_pem(front_proxy_cert))
    write_private(files.sa_key, _key_pem(sa_key))
    files.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return files
