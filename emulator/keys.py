"""Signing keys for the emulated Entra and AKS issuers, and the CA that makes the Entra endpoint HTTPS.

RSA key generation and the trustme CA are the slow part of start-up, so they are made once per process
and shared by every emulator the process starts; the private key objects are kept parsed for signing.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """A private key with the public JWK that verifiers fetch."""

    private_key: rsa.RSAPrivateKey
    kid: str
    jwk: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # JOSE header fields besides typ/alg/kid

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"typ": "JWT", **self.headers, "kid": self.kid}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)


_pool_lock = threading.Lock()
_pool: list[rsa.RSAPrivateKey] = []


def pooled_rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The process's index-th 2048-bit RSA key (generated on first use)."""
    with _pool_lock:
        while len(_pool) <= index:
            _pool.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _pool[index]


def entra_signing_key(index: int = 0) -> SigningKey:
    """An Entra-style key: kid = x5t = base64url SHA-1 of a self-signed certificate, x5c included."""
    key = pooled_rsa_key(index)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.emulator.certless.local")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1000 + index)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    x5t = b64url(hashlib.sha1(der).digest())  # noqa: S324 - x5t is defined as SHA-1
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "kid": x5t,
        "x5t": x5t,
        "n": _int_b64url(numbers.n),
        "e": _int_b64url(numbers.e),
        "x5c": [base64.b64encode(der).decode("ascii")],
    }
    return SigningKey(key, x5t, jwk, {"x5t": x5t})  # Entra's tokens carry both x5t and kid


def cluster_signing_key(index: int) -> SigningKey:
    """A Kubernetes service-account issuer key: kid = base64url SHA-256 of the public key DER."""
    key = pooled_rsa_key(index)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = b64url(hashlib.sha256(der).digest())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": _int_b64url(numbers.n),
        "e": _int_b64url(numbers.e),
    }
    return SigningKey(key, kid, jwk)


@dataclass(frozen=True)
class Tls:
    """The process's CA (its PEM written to a file clients trust) and a server cert for 127.0.0.1."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    ca_bundle_path: Path


_tls_lock = threading.Lock()
_tls: list[Tls] = []


def process_tls() -> Tls:
    with _tls_lock:
        if not _tls:
            ca = trustme.CA(organization_name="certless emulator")
            leaf = ca.issue_cert("127.0.0.1", "localhost")
            folder = Path(tempfile.mkdtemp(prefix="certless-emulator-"))
            atexit.register(shutil.rmtree, folder, True)
            bundle = folder / "ca.pem"
            ca.cert_pem.write_to_path(str(bundle))
            _tls.append(Tls(ca, leaf, bundle))
        return _tls[0]
