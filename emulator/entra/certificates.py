"""Self-signed client certificates for an app registration's certificate credential (tests, demos).

Real apps upload a certificate's public part to the app registration and sign their assertions with its
key; here the same pair is made on the spot and the public part goes into the emulator's app record
(``CertificateCredential.from_pem``).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def self_signed_certificate(
    common_name: str, *, days: int = 30, not_before: dt.datetime | None = None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA-2048 key and a self-signed SHA-256 certificate valid from a day ago for ``days`` days."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def pem_pair(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> tuple[bytes, bytes]:
    """(PKCS#8 private key PEM, certificate PEM)."""
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
