# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""What Entra checks on a federated assertion before it looks at the FICs: the signing key the header
names, the algorithm, and the time window (5 minutes of skew either side), with the refusal a user sees.

Each assertion here is a genuine managed-identity token of the emulator, changed and signed again with
the emulator's own issuer key, so only the changed part can be the reason for a refusal."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest
from emu_helpers import aadsts, claims, exchange, post_token

from emulator.keys import entra_signing_key

STORAGE_SCOPE = "https://storage.azure.com/.default"
SKEW = 300


def _genuine(emu, records) -> dict:
    return claims(emu.issue_identity_token(records.workload("orders").identity_client_id, lifetime=3600))


def _resign(
    payload: dict, *, alg: str = "RS256", kid: str | None = "same", drop: tuple[str, ...] = ()
) -> str:
    key = entra_signing_key(0)
    headers = {"typ": "JWT", **key.headers}
    if kid is not None:
        headers["kid"] = key.kid if kid == "same" else kid
    body = {k: v for k, v in payload.items() if k not in drop}
    token = jwt.encode(body, key.private_key, algorithm=alg, headers=headers)
    if kid is None:
        assert "kid" not in jwt.get_unverified_header(token)
    return token


def _send(emu, records, assertion: str):
    w = records.workload("orders")
    return exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)


def test_the_resigned_genuine_token_is_accepted(emu, records):
    # The control for every refusal below: re-signing alone changes nothing.
    resp = _send(emu, records, _resign(_genuine(emu, records)))
    assert resp.status_code == 200, resp.text


def test_a_token_without_kid_is_checked_against_the_issuer_key(emu, records):
    assert _send(emu, records, _resign(_genuine(emu, records), kid=None)).status_code == 200


def test_a_valid_signature_under_another_kid_is_refused_naming_the_kid(emu, records):
    resp = _send(emu, records, _resign(_genuine(emu, records), kid="some-other-key"))
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (401, "invalid_client", 700027)
    text = resp.json()["error_description"]
    assert "Key ID of key used by client: 'some-other-key'" in text and "algorithm 'RS256'" in text


@pytest.mark.parametrize("alg", ["PS256", "RS384", "RS512"])
def test_an_issuer_token_signed_with_another_algorithm_is_refused(emu, records, alg):
    # Entra verifies federated tokens as RS256, whatever else the key could verify.
    resp = _send(emu, records, _resign(_genuine(emu, records), alg=alg))
    assert (resp.status_code, aadsts(resp)) == (401, 700027)
    assert f"algorithm '{alg}'" in resp.json()["error_description"]


def test_a_signature_that_does_not_verify_is_refused(emu, records):
    token = _resign(_genuine(emu, records))
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    resp = _send(emu, records, tampered)
    assert (resp.status_code, aadsts(resp)) == (401, 700027)
    assert resp.json()["error_description"].startswith("AADSTS700027: Client assertion failed signature")


def _window(emu, records, **times: int):
    now = int(time.time())
    payload = {**_genuine(emu, records), **{k: now + v for k, v in times.items()}}
    return _send(emu, records, _resign(payload)), payload


@pytest.mark.parametrize(
    ("times", "accepted"),
    [
        ({"exp": -(SKEW - 20)}, True),  # expired, but within the skew allowance
        ({"exp": -(SKEW + 20)}, False),
        ({"nbf": SKEW - 20}, True),  # not yet valid, but within the skew allowance
        ({"nbf": SKEW + 20}, False),
        ({"nbf": -60, "exp": 60}, True),
    ],
)
def test_the_time_window_allows_five_minutes_of_skew_either_side(emu, records, times, accepted):
    resp, _ = _window(emu, records, **times)
    if accepted:
        assert resp.status_code == 200, resp.text
    else:
        assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (401, "invalid_client", 700024)


def test_a_time_refusal_shows_the_current_time_and_the_assertions_window(emu, records):
    resp, payload = _window(emu, records, nbf=-7200, exp=-3600)
    text = resp.json()["error_description"]

    def iso(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

    assert aadsts(resp) == 700024
    assert (
        f"assertion valid from {iso(payload['nbf'])}, expiry time of assertion {iso(payload['exp'])}" in text
    )
    now = time.time()
    assert f"Current time: {iso(now)[:16]}" in text or f"Current time: {iso(now - 60)[:16]}" in text


def test_an_assertion_without_nbf_is_valid_from_any_time(emu, records):
    resp = _send(emu, records, _resign(_genuine(emu, records), drop=("nbf",)))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("change", "drop"),
    [({"exp": "soon"}, ()), ({"nbf": "now"}, ()), ({}, ("exp",)), ({"exp": None}, ())],
)
def test_exp_and_nbf_must_be_numbers(emu, records, change, drop):
    payload = {**_genuine(emu, records), **change}
    resp = _send(emu, records, _resign(payload, drop=drop))
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (400, "invalid_request", 50027)
    assert "'exp' and 'nbf' must be numbers" in resp.json()["error_description"]


@pytest.mark.parametrize("drop", ["iss", "sub"])
def test_iss_and_sub_are_required(emu, records, drop):
    resp = _send(emu, records, _resign(_genuine(emu, records), drop=(drop,)))
    assert (resp.status_code, aadsts(resp)) == (400, 50027)
    assert "the 'iss' and 'sub' claims are required" in resp.json()["error_description"]


def test_an_assertion_needs_the_jwt_bearer_assertion_type(emu, records):
    w = records.workload("orders")
    form = {
        "grant_type": "client_credentials",
        "client_id": w.app_client_id,
        "client_assertion": _resign(_genuine(emu, records)),
        "scope": STORAGE_SCOPE,
    }
    for kind in ({}, {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}):
        resp = post_token(emu, w.tenant_id, **form, **kind)
        assert (resp.status_code, aadsts(resp)) == (400, 900144)
        assert "client_assertion_type" in resp.json()["error_description"]
    resp = post_token(
        emu, w.tenant_id, grant_type="client_credentials", client_id=w.app_client_id, scope=STORAGE_SCOPE
    )
    assert (resp.status_code, aadsts(resp)) == (401, 7000218)
    assert "'client_assertion' or 'client_secret'" in resp.json()["error_description"]


def test_an_app_token_says_how_long_it_lives_and_is_a_bearer_token(emu, records):
    body = _send(emu, records, _resign(_genuine(emu, records))).json()
    token = claims(body["access_token"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == token["exp"] - token["iat"] == 3599
    emu.faults.token_lifetime("entra-token", 120)
    body = _send(emu, records, _resign(_genuine(emu, records))).json()
    assert (
        body["expires_in"] == 120 == claims(body["access_token"])["exp"] - claims(body["access_token"])["iat"]
    )


def test_a_managed_identity_cannot_authenticate_with_a_secret(emu, records):
    w = records.workload("orders")
    resp = post_token(
        emu,
        w.tenant_id,
        grant_type="client_credentials",
        client_id=w.identity_client_id,
        client_secret="anything",
        scope=STORAGE_SCOPE,
    )
    assert (resp.status_code, aadsts(resp)) == (401, 7000215)
    assert f"app '{w.identity_client_id}'" in resp.json()["error_description"]
