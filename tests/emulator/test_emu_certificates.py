# mypy: disable-error-code="no-untyped-def,union-attr"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Certificate-signed client assertions (the fallback source): thumbprint lookup, RS256/PS256, aud, time."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from emu_helpers import aadsts, claims, exchange

from emulator import CertificateCredential
from emulator.entra.certificates import self_signed_certificate

STORAGE_SCOPE = "https://storage.azure.com/.default"


@pytest.fixture(scope="module")
def cert_and_key() -> tuple[rsa.RSAPrivateKey, bytes, bytes]:
    key, cert = self_signed_certificate("fallback")
    der = cert.public_bytes(serialization.Encoding.DER)
    return key, cert.public_bytes(serialization.Encoding.PEM), der


def _thumb(der: bytes, algorithm: str) -> str:
    digest = hashlib.sha256(der).digest() if algorithm == "sha256" else hashlib.sha1(der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _assertion(
    key, client_id: str, aud: str, headers: dict[str, str], alg: str = "RS256", lifetime: int = 600
) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + lifetime,
    }
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


@pytest.fixture
def app_with_cert(emu, records, cert_and_key):
    w = records.workload("orders")
    _key, pem, _der = cert_and_key
    records.app(w.app_client_id).certificates.append(CertificateCredential.from_pem(pem))
    return w


def test_ps256_with_sha256_thumbprint(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    w = app_with_cert
    token_endpoint = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    assertion = _assertion(
        key, w.app_client_id, token_endpoint, {"x5t#S256": _thumb(der, "sha256")}, alg="PS256"
    )
    resp = exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)
    assert resp.status_code == 200, resp.text
    assert claims(resp.json()["access_token"])["appidacr"] == "2"


def test_public_cloud_token_endpoint_is_an_accepted_audience(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    w = app_with_cert
    aud = f"https://login.microsoftonline.com/{w.tenant_id}/oauth2/v2.0/token"
    resp = exchange(
        emu,
        w.tenant_id,
        w.app_client_id,
        _assertion(key, w.app_client_id, aud, {"x5t": _thumb(der, "sha1")}),
        STORAGE_SCOPE,
    )
    assert resp.status_code == 200, resp.text


def test_wrong_audience_gives_700023(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    w = app_with_cert
    assertion = _assertion(key, w.app_client_id, "https://example.org/token", {"x5t": _thumb(der, "sha1")})
    resp = exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (401, "invalid_client", 700023)


def test_unregistered_certificate_gives_700027(emu, records, cert_and_key):
    key, _pem, der = cert_and_key
    w = records.workload("orders")  # no certificate registered on the app
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    resp = exchange(
        emu,
        w.tenant_id,
        w.app_client_id,
        _assertion(key, w.app_client_id, aud, {"x5t": _thumb(der, "sha1")}),
        STORAGE_SCOPE,
    )
    assert (resp.status_code, aadsts(resp)) == (401, 700027)
    assert _thumb(der, "sha1") in resp.json()["error_description"]


def test_signed_by_another_key_with_the_right_thumbprint_gives_700027(emu, app_with_cert, cert_and_key):
    _key, _pem, der = cert_and_key
    w = app_with_cert
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    resp = exchange(
        emu,
        w.tenant_id,
        w.app_client_id,
        _assertion(other, w.app_client_id, aud, {"x5t": _thumb(der, "sha1")}),
        STORAGE_SCOPE,
    )
    assert (resp.status_code, aadsts(resp)) == (401, 700027)


def test_expired_certificate_assertion_gives_700024(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    w = app_with_cert
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    assertion = _assertion(key, w.app_client_id, aud, {"x5t": _thumb(der, "sha1")}, lifetime=60)
    emu.clock_skew(60 + 301)
    resp = exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)
    assert (resp.status_code, aadsts(resp)) == (401, 700024)


def _cert_exchange(emu, w, key, der, aud: str, headers: dict[str, str], segment: str | None = None):
    assertion = _assertion(key, w.app_client_id, aud, headers)
    return exchange(emu, segment or w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)


@pytest.mark.parametrize(
    "aud",
    [
        "{entra}/{segment}/oauth2/v2.0/token",  # the URL the client posted to, as it spelt the tenant
        "{entra}/{tid}/oauth2/v2.0/token",
        "https://login.microsoftonline.com/{tid}/oauth2/v2.0/token",
        "https://login.microsoftonline.com/{tid}/v2.0",  # the tenant's issuer
    ],
)
def test_each_audience_entra_accepts_for_a_certificate_assertion(emu, app_with_cert, cert_and_key, aud):
    key, _pem, der = cert_and_key
    w = app_with_cert
    segment = w.tenant_id.upper()  # a tenant GUID in another letter case is the same tenant
    value = aud.format(entra=emu.entra_url, segment=segment, tid=w.tenant_id)
    resp = _cert_exchange(emu, w, key, der, value, {"x5t": _thumb(der, "sha1")}, segment=segment)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("spelling", ["padded", "standard-alphabet"])
@pytest.mark.parametrize("header", ["x5t", "x5t#S256"])
def test_a_thumbprint_is_found_padded_or_in_the_standard_base64_alphabet(
    emu, app_with_cert, cert_and_key, spelling, header
):
    # azure-identity pads its x5t; other clients use the standard alphabet: Entra finds the key either way.
    key, _pem, der = cert_and_key
    w = app_with_cert
    digest = hashlib.sha256(der).digest() if header == "x5t#S256" else hashlib.sha1(der).digest()
    if spelling == "padded":
        thumb = base64.urlsafe_b64encode(digest).decode()
    else:
        thumb = base64.b64encode(digest).rstrip(b"=").decode()
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    resp = _cert_exchange(emu, w, key, der, aud, {header: thumb})
    assert resp.status_code == 200, resp.text


def test_a_wrong_audience_is_shown_in_the_refusal(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    resp = _cert_exchange(
        emu, app_with_cert, key, der, "https://example.org/token", {"x5t": _thumb(der, "sha1")}
    )
    assert aadsts(resp) == 700023
    assert "Assertion audience: 'https://example.org/token'." in resp.json()["error_description"]


def test_an_assertion_without_a_thumbprint_is_refused_as_no_key_found(emu, app_with_cert, cert_and_key):
    key, _pem, der = cert_and_key
    aud = f"{emu.entra_url}/{app_with_cert.tenant_id}/oauth2/v2.0/token"
    resp = _cert_exchange(emu, app_with_cert, key, der, aud, {})
    assert (resp.status_code, aadsts(resp)) == (401, 700027)
    assert "The key was not found." in resp.json()["error_description"]
    assert f"app Id '{app_with_cert.app_client_id}'" in resp.json()["error_description"]


def _certificate_with_both_symbols(key: rsa.RSAPrivateKey, header: str) -> tuple[bytes, str]:
    """A certificate for ``key`` whose thumbprint, in the standard base64 alphabet, holds '+' and '/'
    (a random thumbprint has both about one time in eight, so a few serial numbers are tried)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fallback")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    for serial in range(1, 500):
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        digest = hashlib.sha256(der).digest() if header == "x5t#S256" else hashlib.sha1(der).digest()
        thumb = base64.b64encode(digest).decode()
        if "+" in thumb and "/" in thumb:
            return cert.public_bytes(serialization.Encoding.PEM), thumb
    raise AssertionError("no serial number gave a thumbprint with both '+' and '/'")


@pytest.mark.parametrize("padded", [True, False])
@pytest.mark.parametrize("header", ["x5t", "x5t#S256"])
def test_a_standard_alphabet_thumbprint_with_plus_and_slash_finds_the_certificate(
    emu, records, cert_and_key, header, padded
):
    # '+' and '/' are the two characters where base64 and base64url differ: both must be translated.
    key = cert_and_key[0]
    pem, thumb = _certificate_with_both_symbols(key, header)
    w = records.workload("orders")
    records.app(w.app_client_id).certificates.append(CertificateCredential.from_pem(pem))
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    sent = thumb if padded else thumb.rstrip("=")
    resp = exchange(
        emu,
        w.tenant_id,
        w.app_client_id,
        _assertion(key, w.app_client_id, aud, {header: sent}),
        STORAGE_SCOPE,
    )
    assert resp.status_code == 200, resp.text
