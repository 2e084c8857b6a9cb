# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""The refusals of the token endpoint's app flows, word for word: the AADSTS text is what a user reads
in an exception, pastes into a search engine and matches in a runbook, so each sentence of it (and the
documentation link Entra adds) is part of the behaviour. Also what the token says about how the client
authenticated (`azpacr`/`appidacr`), and the times of a time refusal in UTC whatever the host's zone."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator

import jwt
import pytest
from emu_helpers import JWT_BEARER, aadsts, claims, exchange, post_token

from emulator import App
from emulator.keys import entra_signing_key

STORAGE_SCOPE = "https://storage.azure.com/.default"
UNKNOWN_CLIENT = "00000000-1111-2222-3333-444444444444"


def message(resp) -> str:
    """The AADSTS sentence(s) alone, without the code prefix and the trace/correlation/timestamp lines."""
    aadsts(resp)
    first = resp.json()["error_description"].split("\r\n")[0]
    return first.split(": ", 1)[1]


def mi_token(emu, records, workload: str = "orders") -> str:
    return emu.issue_identity_token(records.workload(workload).identity_client_id, lifetime=3600)


def resigned(payload: dict) -> str:
    key = entra_signing_key(0)
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"typ": "JWT", **key.headers})


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def test_an_assertion_without_the_jwt_bearer_type_is_refused_in_entras_words(emu, records):
    w = records.workload("orders")
    resp = post_token(
        emu,
        w.tenant_id,
        grant_type="client_credentials",
        client_id=w.app_client_id,
        client_assertion=mi_token(emu, records),
        scope=STORAGE_SCOPE,
    )
    assert message(resp) == (
        "The request body must contain the following parameter: 'client_assertion_type' with the value "
        f"'{JWT_BEARER}'."
    )


def test_a_request_without_any_client_credential_is_refused_in_entras_words(emu, records):
    w = records.workload("orders")
    resp = post_token(
        emu, w.tenant_id, grant_type="client_credentials", client_id=w.app_client_id, scope=STORAGE_SCOPE
    )
    assert message(resp) == (
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
    )


def test_a_wrong_secret_is_refused_in_entras_words(emu, records):
    w = records.workload("orders")
    records.app(w.app_client_id).add_secret("the-right-one")
    resp = post_token(
        emu,
        w.tenant_id,
        grant_type="client_credentials",
        client_id=w.app_client_id,
        client_secret="a-rotated-one",
        scope=STORAGE_SCOPE,
    )
    assert message(resp) == (
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
        f"value, not the client secret ID, for a secret added to app '{w.app_client_id}'."
    )
    assert "a-rotated-one" not in resp.text


def test_an_unknown_client_is_refused_in_entras_words(emu, records, tenant):
    resp = exchange(emu, tenant, UNKNOWN_CLIENT, mi_token(emu, records), STORAGE_SCOPE)
    assert message(resp) == (
        f"Application with identifier '{UNKNOWN_CLIENT}' was not found in the directory '{tenant}'. This "
        "can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the "
        "wrong tenant."
    )


def test_an_app_without_federated_credentials_is_refused_naming_it(emu, records, tenant):
    client = "9a1c51f0-9a2d-4c53-8d1a-6a1f4a0e0b77"
    records.apps.append(App(client_id=client, tenant_id=tenant, display_name="orders-next"))
    resp = exchange(emu, tenant, client, mi_token(emu, records), STORAGE_SCOPE)
    assert message(resp) == (
        f"The client '{client}'(orders-next) has no configured federated identity credentials."
    )


def test_no_matching_fic_is_refused_with_the_assertion_and_the_documentation_link(emu, records, tenant):
    w = records.workload("orders")
    payload = {**claims(mi_token(emu, records)), "sub": "someone-else"}
    resp = exchange(emu, w.tenant_id, w.app_client_id, resigned(payload), STORAGE_SCOPE)
    assert message(resp) == (
        "No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{payload['iss']}'. Assertion Subject: 'someone-else'. "
        f"Assertion Audience: '{payload['aud']}'. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
    )


def test_an_expired_assertion_is_refused_with_its_window_and_the_documentation_link(emu, records):
    w = records.workload("orders")
    now = int(time.time())
    payload = {**claims(mi_token(emu, records)), "nbf": now - 7200, "exp": now - 3600}
    resp = exchange(emu, w.tenant_id, w.app_client_id, resigned(payload), STORAGE_SCOPE)
    text = message(resp)
    shown = re.fullmatch(
        r"Client assertion is not within its valid time range\. Current time: (\S+), assertion valid from "
        r"(\S+), expiry time of assertion (\S+)\. Review the documentation at "
        r"https://learn\.microsoft\.com/entra/identity-platform/certificate-credentials \.",
        text,
    )
    assert shown is not None, text
    assert shown.group(2, 3) == (iso(payload["nbf"]), iso(payload["exp"]))
    assert shown.group(1)[:15] in (iso(now)[:15], iso(now + 60)[:15])


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The host's local time zone set 5.5 hours away from UTC (for this process, as a laptop may be)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_the_times_of_a_time_refusal_are_utc_whatever_the_hosts_zone(emu, records, far_from_utc):
    w = records.workload("orders")
    now = int(time.time())
    payload = {**claims(mi_token(emu, records)), "nbf": now - 7200, "exp": now - 3600}
    assert time.localtime(now).tm_gmtoff == 5 * 3600 + 1800  # the zone did change
    resp = exchange(emu, w.tenant_id, w.app_client_id, resigned(payload), STORAGE_SCOPE)
    text = message(resp)
    window = f"assertion valid from {iso(payload['nbf'])}, expiry time of assertion {iso(payload['exp'])}"
    assert window in text
    assert f"Current time: {iso(now)[:13]}" in text or f"Current time: {iso(now + 60)[:13]}" in text


def test_a_token_got_with_a_federated_assertion_says_the_client_used_a_credential(emu, records):
    # azpacr (v2) / appidacr (v1) "2": a certificate or assertion, not a secret ("1") nor public ("0").
    w = records.workload("orders")
    resp = exchange(emu, w.tenant_id, w.app_client_id, mi_token(emu, records), STORAGE_SCOPE)
    assert resp.status_code == 200, resp.text
    token = claims(resp.json()["access_token"])
    assert token.get("azpacr", token.get("appidacr")) == "2"
