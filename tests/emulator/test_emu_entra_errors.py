# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Each Entra error the emulator produces comes from a realistic misconfiguration, in Entra's JSON shape."""

from __future__ import annotations

from pathlib import Path

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential
from cryptography.hazmat.primitives.asymmetric import rsa
from emu_helpers import aadsts, claims, exchange, post_token

from emulator import App

STORAGE_SCOPE = "https://storage.azure.com/.default"
EXCHANGE = "api://AzureADTokenExchange"


def mi_token(emu, records, workload: str, lifetime: int = 86399) -> str:
    return emu.issue_identity_token(records.workload(workload).identity_client_id, lifetime=lifetime)


def app_exchange(emu, records, workload: str, assertion: str) -> requests.Response:
    w = records.workload(workload)
    return exchange(emu, w.tenant_id, w.app_client_id, assertion, STORAGE_SCOPE)


def replace_app_fic(emu, records, workload: str, **changes: str) -> None:
    w = records.workload(workload)
    app = records.app(w.app_client_id)
    fic = app.federated_credentials[0]
    emu.add_federated_credential(
        w.app_client_id,
        name=fic.name,
        issuer=changes.get("issuer", fic.issuer),
        subject=changes.get("subject", fic.subject),
        audience=changes.get("audience", fic.audiences[0]),
    )


def test_fic_subject_set_to_the_identity_client_id_gives_70021(emu, records, tenant):
    w = records.workload("orders")
    replace_app_fic(emu, records, "orders", subject=w.identity_client_id)
    assertion = mi_token(emu, records, "orders")
    resp = app_exchange(emu, records, "orders", assertion)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"
    assert aadsts(resp) == 70021
    description = resp.json()["error_description"]
    ident = records.identity(w.identity_client_id)
    assert f"Assertion Issuer: 'https://login.microsoftonline.com/{tenant}/v2.0'" in description
    assert f"Assertion Subject: '{ident.principal_id}'" in description
    assert "Assertion Audience: 'fb60f99c-7a34-4190-8149-302f77469936'" in description


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"issuer": "https://login.microsoftonline.com/{tid}/v2.0/"}, id="issuer-trailing-slash"),
        pytest.param({"issuer": "https://sts.windows.net/{tid}/"}, id="v1-issuer"),
        pytest.param({"audience": "api://AzureADTokenExchangeUSGov"}, id="wrong-cloud-audience"),
        pytest.param({"subject": "{principal_upper}"}, id="subject-case"),
    ],
)
def test_fic_mismatches_give_70021(emu, records, tenant, change):
    ident = records.identity(records.workload("orders").identity_client_id)
    values = {k: v.format(tid=tenant, principal_upper=ident.principal_id.upper()) for k, v in change.items()}
    replace_app_fic(emu, records, "orders", **values)
    resp = app_exchange(emu, records, "orders", mi_token(emu, records, "orders"))
    assert (resp.status_code, aadsts(resp)) == (400, 70021)


def test_aks_fic_issuer_without_trailing_slash_gives_70021(emu, records):
    w = records.workload("ingest")
    cluster = records.cluster(w.cluster)
    replace_app_fic(emu, records, "ingest", issuer=cluster.issuer_url.rstrip("/"))
    env = emu.host_env("aks-direct", "ingest")
    sa_token = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    resp = exchange(emu, w.tenant_id, w.app_client_id, sa_token, STORAGE_SCOPE)
    assert (resp.status_code, aadsts(resp)) == (400, 70021)
    assert f"Assertion Issuer: '{cluster.issuer_url}'" in resp.json()["error_description"]


def test_service_account_token_of_another_namespace_gives_70021(emu, records, tmp_path):
    w = records.workload("reports")
    path = tmp_path / "token"
    emu.project_service_account_token(w.cluster, "default", w.service_account, path)
    resp = exchange(emu, w.tenant_id, w.identity_client_id, path.read_text(), f"{EXCHANGE}/.default")
    assert (resp.status_code, aadsts(resp)) == (400, 70021)


def test_expired_managed_identity_token_gives_700024(emu, records):
    assertion = mi_token(emu, records, "orders", lifetime=600)
    emu.clock_skew(600 + 301)
    resp = app_exchange(emu, records, "orders", assertion)
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert aadsts(resp) == 700024
    assert "Client assertion is not within its valid time range" in resp.json()["error_description"]


def test_projected_token_read_once_expires_with_700024(emu, records):
    # The classic AKS bug: the file is read once and the same token is sent after it expired.
    w = records.workload("ingest")
    env = emu.host_env("aks-direct", "ingest")
    stale = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    assert exchange(emu, w.tenant_id, w.app_client_id, stale, STORAGE_SCOPE).status_code == 200
    emu.clock_skew(3600 + 301)
    resp = exchange(emu, w.tenant_id, w.app_client_id, stale, STORAGE_SCOPE)
    assert (resp.status_code, aadsts(resp)) == (401, 700024)


def test_within_the_skew_allowance_is_accepted(emu, records):
    assertion = mi_token(emu, records, "orders", lifetime=600)
    emu.clock_skew(600 + 200)
    assert app_exchange(emu, records, "orders", assertion).status_code == 200


def test_unknown_client_id_gives_700016(emu, records, tenant):
    resp = exchange(
        emu, tenant, "00000000-1111-2222-3333-444444444444", mi_token(emu, records, "orders"), STORAGE_SCOPE
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "unauthorized_client"
    assert aadsts(resp) == 700016


def test_system_assigned_identity_is_not_a_token_exchange_client(emu, records):
    # A system-assigned identity is never a token-exchange client: Entra does not know it as an app.
    w = records.workload("legacy")
    resp = exchange(emu, w.tenant_id, w.identity_client_id, mi_token(emu, records, "orders"), STORAGE_SCOPE)
    assert (resp.status_code, aadsts(resp)) == (400, 700016)


def test_wrong_client_secret_gives_7000215(emu, records):
    w = records.workload("orders")
    records.app(w.app_client_id).add_secret("the-right-one")
    app = msal.ConfidentialClientApplication(
        w.app_client_id,
        authority=emu.authority(w.tenant_id),
        client_credential="a-rotated-one",
        instance_discovery=False,
    )
    result = app.acquire_token_for_client([STORAGE_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert "a-rotated-one" not in str(result)
    assert [e["status"] for e in emu.requests if e["endpoint"] == "entra-token"] == [401]


def test_app_without_federated_credentials_gives_70025(emu, records, tenant):
    records.apps.append(
        App(client_id="9a1c51f0-9a2d-4c53-8d1a-6a1f4a0e0b77", tenant_id=tenant, display_name="new")
    )
    resp = exchange(
        emu, tenant, "9a1c51f0-9a2d-4c53-8d1a-6a1f4a0e0b77", mi_token(emu, records, "orders"), STORAGE_SCOPE
    )
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (401, "invalid_client", 70025)


@pytest.mark.parametrize("assertion", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_assertion_gives_50027(emu, records, assertion):
    resp = app_exchange(emu, records, "orders", assertion)
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (400, "invalid_request", 50027)


def test_assertion_signed_with_a_foreign_key_is_rejected(emu, records, tenant):
    ident = records.identity(records.workload("orders").identity_client_id)
    genuine = claims(mi_token(emu, records, "orders"))
    forged = jwt.encode(
        genuine,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(mi_token(emu, records, "orders"))["kid"]},
    )
    resp = app_exchange(emu, records, "orders", forged)
    assert (resp.status_code, aadsts(resp)) == (401, 700027)
    assert ident.principal_id == genuine["sub"]


def test_fic_propagation_delay_gives_70021_until_it_has_propagated(emu, records):
    assertion = mi_token(emu, records, "orders")
    emu.faults.fic_propagation(3600)
    replace_app_fic(emu, records, "orders")  # re-created just now
    assert aadsts(app_exchange(emu, records, "orders", assertion)) == 70021
    emu.faults.fic_propagation(0)
    assert app_exchange(emu, records, "orders", assertion).status_code == 200


def test_unknown_tenant_and_bad_scope_and_grant(emu, records, tenant):
    assertion = mi_token(emu, records, "orders")
    w = records.workload("orders")
    resp = exchange(emu, "contoso.example", w.app_client_id, assertion, STORAGE_SCOPE)
    assert aadsts(resp) == 90002
    # IdWeb's regression: 'api://AzureADTokenExchange./default' is not a resource.
    resp = exchange(emu, tenant, w.app_client_id, assertion, "api://AzureADTokenExchange./default")
    assert (resp.json()["error"], aadsts(resp)) == ("invalid_resource", 500011)
    assert "api://AzureADTokenExchange." in resp.json()["error_description"]
    resp = exchange(emu, tenant, w.app_client_id, assertion, "https://storage.azure.com/user_impersonation")
    assert (resp.json()["error"], aadsts(resp)) == ("invalid_scope", 1002012)
    resp = exchange(emu, tenant, w.app_client_id, assertion, "https://storage.azure.com")
    assert aadsts(resp) == 1002012
    resp = exchange(
        emu, tenant, w.app_client_id, assertion, f"{STORAGE_SCOPE} https://vault.azure.net/.default"
    )
    assert aadsts(resp) == 70011
    resp = exchange(emu, tenant, w.app_client_id, assertion, "https://notaresource.example/.default")
    assert (resp.json()["error"], aadsts(resp)) == ("invalid_resource", 500011)
    resp = post_token(emu, tenant, grant_type="password", client_id=w.app_client_id, scope=STORAGE_SCOPE)
    assert aadsts(resp) == 70003
    resp = post_token(emu, tenant, grant_type="client_credentials", scope=STORAGE_SCOPE)
    assert aadsts(resp) == 900144
    resp = post_token(
        emu, tenant, grant_type="client_credentials", client_id=w.app_client_id, scope=STORAGE_SCOPE
    )
    assert aadsts(resp) == 7000218


def test_azure_identity_surfaces_the_aadsts_text(emu, records):
    w = records.workload("orders")
    replace_app_fic(emu, records, "orders", subject=w.identity_client_id)
    assertion = mi_token(emu, records, "orders")
    cred = ClientAssertionCredential(w.tenant_id, w.app_client_id, lambda: assertion, authority=emu.entra_url)
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021: No matching federated identity record"):
        cred.get_token(STORAGE_SCOPE)


def test_error_responses_never_echo_the_assertion(emu, records):
    assertion = mi_token(emu, records, "orders", lifetime=60)
    emu.clock_skew(4000)
    resp = app_exchange(emu, records, "orders", assertion)
    assert assertion not in resp.text
    assert assertion.split(".")[2] not in str(emu.requests)


def test_guids_in_the_request_are_case_insensitive_but_fic_subjects_are_not(emu, records, tenant):
    w = records.workload("orders")
    assertion = mi_token(emu, records, "orders")
    resp = exchange(emu, tenant.upper(), w.app_client_id.upper(), assertion, STORAGE_SCOPE)
    assert resp.status_code == 200, resp.text
    assert claims(resp.json()["access_token"])["appid"] == w.app_client_id


def test_a_fic_mismatch_shows_the_assertions_issuer_subject_and_audience(emu, records, tenant):
    # What a user compares with the app's FICs to find the wrong field.
    ident = records.identity(records.workload("orders").identity_client_id)
    replace_app_fic(emu, records, "orders", subject="00000000-0000-0000-0000-000000000000")
    assertion = mi_token(emu, records, "orders")
    sent = claims(assertion)
    assert sent["sub"] == ident.principal_id
    resp = app_exchange(emu, records, "orders", assertion)
    text = resp.json()["error_description"]
    assert (resp.status_code, resp.json()["error"], aadsts(resp)) == (400, "invalid_request", 70021)
    assert (
        f"Assertion Issuer: '{sent['iss']}'. Assertion Subject: '{ident.principal_id}'. "
        f"Assertion Audience: '{sent['aud']}'." in text
    )


def test_an_app_without_fics_is_named_with_its_display_name(emu, records, tenant):
    client = "9a1c51f0-9a2d-4c53-8d1a-6a1f4a0e0b77"
    records.apps.append(App(client_id=client, tenant_id=tenant, display_name="new-app"))
    resp = exchange(emu, tenant, client, mi_token(emu, records, "orders"), STORAGE_SCOPE)
    assert aadsts(resp) == 70025
    assert (
        f"The client '{client}'(new-app) has no configured federated identity credentials."
        in (resp.json()["error_description"])
    )


def test_a_matching_fic_for_an_issuer_whose_keys_cannot_be_fetched_gives_90061(emu, records):
    # The FIC matches, but Entra cannot reach the issuer's keys: it says so rather than 70021.
    w = records.workload("orders")
    payload = {**claims(mi_token(emu, records, "orders")), "iss": "https://issuer.example/unreachable"}
    token = jwt.encode(
        payload, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256"
    )
    replace_app_fic(emu, records, "orders", issuer="https://issuer.example/unreachable")
    resp = exchange(emu, w.tenant_id, w.app_client_id, token, STORAGE_SCOPE)
    assert aadsts(resp) == 90061
    assert "'https://issuer.example/unreachable' could not be reached" in resp.json()["error_description"]
