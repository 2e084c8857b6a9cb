# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""The refusals of a client assertion's shape, key and signature, word for word (the app-flow refusals
of `test_emu_error_texts.py` continued): what a user reads in the exception and searches for."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from emu_helpers import aadsts, claims, exchange

from emulator import CertificateCredential
from emulator.entra.certificates import self_signed_certificate
from emulator.keys import entra_signing_key

STORAGE_SCOPE = "https://storage.azure.com/.default"


def message(resp) -> str:
    """The AADSTS sentence(s) alone, without the code prefix and the trace/correlation/timestamp lines."""
    aadsts(resp)
    first = resp.json()["error_description"].split("\r\n")[0]
    return first.split(": ", 1)[1]


def genuine(emu, records) -> dict:
    return claims(emu.issue_identity_token(records.workload("orders").identity_client_id, lifetime=3600))


def resigned(payload: dict, **header: str) -> str:
    key = entra_signing_key(0)
    return jwt.encode(
        payload, key.private_key, algorithm="RS256", headers={"typ": "JWT", **key.headers, **header}
    )


def send(emu, records, assertion: str):
    w = records.workload("orders")
    return exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)


@pytest.mark.parametrize("assertion", ["not-a-jwt", "a.b.c", "e30.e30"])
def test_an_assertion_that_is_no_jwt_is_refused_in_entras_words(emu, records, assertion):
    resp = send(emu, records, assertion)
    assert (resp.status_code, resp.json()["error"]) == (400, "invalid_request")
    assert message(resp) == "JWT token is invalid or malformed."


@pytest.mark.parametrize("drop", ["iss", "sub"])
def test_an_assertion_without_iss_or_sub_is_refused_in_entras_words(emu, records, drop):
    payload = {k: v for k, v in genuine(emu, records).items() if k != drop}
    resp = send(emu, records, resigned(payload))
    assert message(resp) == "JWT token is invalid or malformed: the 'iss' and 'sub' claims are required."


def test_an_assertion_with_a_non_numeric_expiry_is_refused_in_entras_words(emu, records):
    resp = send(emu, records, resigned({**genuine(emu, records), "exp": "tomorrow"}))
    assert message(resp) == "JWT token is invalid or malformed: 'exp' and 'nbf' must be numbers."


def test_an_assertion_under_an_unknown_kid_is_refused_naming_the_kid_and_algorithm(emu, records):
    resp = send(emu, records, resigned(genuine(emu, records), kid="retired-key"))
    assert (resp.status_code, resp.json()["error"]) == (401, "invalid_client")
    assert message(resp) == (
        "Client assertion failed signature validation. [Reason - The key was not found., "
        "Key ID of key used by client: 'retired-key', algorithm 'RS256'.]"
    )


def test_an_assertion_whose_signature_does_not_verify_is_refused_in_entras_words(emu, records):
    head, body, sig = resigned(genuine(emu, records)).split(".")
    tampered = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    resp = send(emu, records, tampered)
    assert (resp.status_code, resp.json()["error"]) == (401, "invalid_client")
    assert message(resp) == "Client assertion failed signature validation."


def test_an_issuer_whose_keys_cannot_be_fetched_is_named_in_entras_words(emu, records):
    w = records.workload("orders")
    issuer = "https://issuer.example/unreachable"
    fic = records.app(w.app_client_id).federated_credentials[0]
    emu.add_federated_credential(
        w.app_client_id, name=fic.name, issuer=issuer, subject=fic.subject, audience=fic.audiences[0]
    )
    payload = {**genuine(emu, records), "iss": issuer}
    token = jwt.encode(payload, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    resp = send(emu, records, token)
    assert message(resp) == (
        f"Request to External OIDC endpoint failed. The issuer '{issuer}' could not be reached to fetch "
        "its signing keys."
    )


@pytest.fixture(scope="module")
def certificate() -> tuple[rsa.RSAPrivateKey, bytes, str]:
    key, cert = self_signed_certificate("fallback")
    der = cert.public_bytes(serialization.Encoding.DER)
    thumb = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    return key, cert.public_bytes(serialization.Encoding.PEM), thumb


def certificate_assertion(key, client_id: str, aud: str | list[str], headers: dict[str, str]) -> str:
    now = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": aud, "jti": str(uuid.uuid4()), "nbf": now}
    return jwt.encode({**payload, "exp": now + 600}, key, algorithm="RS256", headers=headers)


def test_a_certificate_the_app_does_not_hold_is_refused_with_its_thumbprint(emu, records, certificate):
    key, _pem, thumb = certificate
    w = records.workload("orders")  # no certificate registered on the app
    aud = f"{emu.entra_url}/{w.tenant_id}/oauth2/v2.0/token"
    resp = send(emu, records, certificate_assertion(key, w.app_client_id, aud, {"x5t": thumb}))
    assert (resp.status_code, resp.json()["error"]) == (401, "invalid_client")
    assert message(resp) == (
        "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of "
        f"key used by client: '{thumb}'. Please visit the Azure Portal, Graph Explorer or directly use MS "
        f"Graph to see configured keys for app Id '{w.app_client_id}'.]"
    )


def test_a_certificate_assertion_for_another_audience_is_refused_in_entras_words(emu, records, certificate):
    key, pem, thumb = certificate
    w = records.workload("orders")
    records.app(w.app_client_id).certificates.append(CertificateCredential.from_pem(pem))
    audiences = ["https://example.org/token", "https://example.org/other"]
    resp = send(emu, records, certificate_assertion(key, w.app_client_id, audiences, {"x5t": thumb}))
    assert (resp.status_code, resp.json()["error"]) == (401, "invalid_client")
    assert message(resp) == (
        "Client assertion audience claim does not match Realm issuer. Review the documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials . "
        "Assertion audience: 'https://example.org/token,https://example.org/other'."
    )


def test_a_managed_identity_without_federated_credentials_is_named_with_its_resource_name(emu, records):
    # The AKS via-identity exchange sent to an identity that trusts no issuer: the name shown is the
    # identity's (a managed identity has no display name of an app registration).
    w = records.workload("orders")
    identity = records.identity(w.identity_client_id)
    assert identity is not None and not identity.federated_credentials
    resp = exchange(emu, w.tenant_id, identity.client_id, resigned(genuine(emu, records)), STORAGE_SCOPE)
    assert (resp.status_code, resp.json()["error"]) == (401, "invalid_client")
    assert message(resp) == (
        f"The client '{identity.client_id}'({identity.name}) has no configured federated identity "
        "credentials."
    )
