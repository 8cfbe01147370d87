"""Throw-away TLS material for the fake API server: a fresh CA and a server certificate.

Contract: everything is generated in memory at call time (EC P-256, a few milliseconds) and
never reused across servers; the server certificate names 127.0.0.1 (IP SAN) and localhost,
which is where the fake server listens. Nothing here is fit for anything but tests and demos.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = timedelta(days=2)
# Clocks of a test machine and its clients may differ a little: start validity earlier.
_BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class TlsMaterial:
    """PEM-encoded CA certificate, server certificate and server private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the certificate (the ssl module loads keys only
        from files, so they pass through a private temporary directory that is removed)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory(prefix="fake-apiserver-tls-") as tmp:
            cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
            with open(cert, "wb") as fh:
                fh.write(self.cert_pem + self.ca_pem)
            with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
                fh.write(self.key_pem)
            context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts only this CA (hostname checking on)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


_CA_NAME = _name("sweeper fake API server CA")


def generate_tls(*, now: datetime | None = None) -> TlsMaterial:
    """A self-signed CA and a server certificate it signed, for 127.0.0.1 and localhost."""
    start = (now or datetime.now(UTC)) - _BACKDATE
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, start=start)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server_certificate(key.public_key(), ca_key=ca_key, start=start)
    return TlsMaterial(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _ca_certificate(ca_key: ec.EllipticCurvePrivateKey, *, start: datetime) -> x509.Certificate:
    """The self-signed CA: may sign certificates (path length 0), nothing else."""
    return (
        x509.CertificateBuilder()
        .subject_name(_CA_NAME)
        .issuer_name(_CA_NAME)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _server_certificate(
    public_key: ec.EllipticCurvePublicKey,
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    start: datetime,
) -> x509.Certificate:
    """The server certificate the CA signs: TLS server auth for 127.0.0.1 and localhost."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name("fake-apiserver"))
        .issuer_name(_CA_NAME)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
