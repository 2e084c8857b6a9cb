# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""The real MSAL and azure-identity clients obtain tokens from the emulator in every host mode."""

from __future__ import annotations

from pathlib import Path

import msal
import pytest
import requests
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from emu_helpers import claims

from emulator import TOKEN_EXCHANGE_APP_ID, Emulator, Records
from emulator import CertificateCredential as CertRecord
from emulator.entra.certificates import pem_pair, self_signed_certificate

EXCHANGE = "api://AzureADTokenExchange"
STORAGE = "https://storage.azure.com"


def use_host(monkeypatch: pytest.MonkeyPatch, emu: Emulator, host: str, workload: str) -> dict[str, str]:
    env = emu.host_env(host, workload)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def msal_app(
    emu: Emulator, tenant: str, client_id: str, credential: object
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        authority=emu.authority(tenant),
        client_credential=credential,
        instance_discovery=False,
        http_client=requests.Session(),
    )


def assert_app_storage_token(token: str, app_client_id: str, tenant: str, records: Records) -> None:
    c = claims(token)
    app = records.app(app_client_id)
    assert app is not None
    assert c["aud"] == STORAGE
    assert c["iss"] == f"https://sts.windows.net/{tenant}/"
    assert c["ver"] == "1.0"
    assert c["appid"] == app_client_id
    assert c["oid"] == c["sub"] == app.service_principal_id
    assert c["idtyp"] == "app"
    assert c["tid"] == tenant


def assert_identity_exchange_token(
    token: str, records: Records, identity_client_id: str, tenant: str
) -> None:
    ident = records.identity(identity_client_id)
    assert ident is not None
    c = claims(token)
    assert c["iss"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert c["aud"] == TOKEN_EXCHANGE_APP_ID
    assert c["sub"] == c["oid"] == ident.principal_id
    assert c["azp"] == ident.client_id
    assert c["xms_mirid"] == ident.resource_id
    assert c["ver"] == "2.0"


@pytest.mark.parametrize("host", ["appservice", "containerapp", "vm"])
@pytest.mark.parametrize("workload", ["orders", "billing"])
def test_msal_managed_identity_then_app_token(monkeypatch, emu, records, host, workload):
    w = records.workload(workload)
    use_host(monkeypatch, emu, host, workload)
    mi = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=w.identity_client_id), http_client=requests.Session()
    )
    mi_result = mi.acquire_token_for_client(resource=EXCHANGE)
    assert "access_token" in mi_result, mi_result
    assert_identity_exchange_token(mi_result["access_token"], records, w.identity_client_id, w.tenant_id)

    app = msal_app(
        emu,
        w.tenant_id,
        w.app_client_id,
        {"client_assertion": lambda: mi.acquire_token_for_client(resource=EXCHANGE)["access_token"]},
    )
    result = app.acquire_token_for_client([f"{STORAGE}/.default"])
    assert "access_token" in result, result
    assert result["expires_in"] == 3599
    assert_app_storage_token(result["access_token"], w.app_client_id, w.tenant_id, records)
    expected = "imds" if host == "vm" else "appservice"
    assert emu.counters[expected] >= 1
    assert emu.counters["entra-token"] == 1


def test_msal_system_assigned_on_app_service(monkeypatch, emu, records):
    w = records.workload("legacy")
    use_host(monkeypatch, emu, "appservice", "legacy")
    mi = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=requests.Session())
    app = msal_app(
        emu,
        w.tenant_id,
        w.app_client_id,
        {"client_assertion": lambda: mi.acquire_token_for_client(resource=EXCHANGE)["access_token"]},
    )
    result = app.acquire_token_for_client([f"{STORAGE}/.default"])
    assert "access_token" in result, result
    assert_app_storage_token(result["access_token"], w.app_client_id, w.tenant_id, records)


@pytest.mark.parametrize("host", ["appservice", "containerapp", "vm"])
def test_azure_identity_managed_identity_and_client_assertion(monkeypatch, emu, records, host):
    w = records.workload("orders")
    use_host(monkeypatch, emu, host, "orders")
    mi = ManagedIdentityCredential(client_id=w.identity_client_id)
    token = mi.get_token(f"{EXCHANGE}/.default")
    assert_identity_exchange_token(token.token, records, w.identity_client_id, w.tenant_id)

    cred = ClientAssertionCredential(
        w.tenant_id,
        w.app_client_id,
        lambda: mi.get_token(f"{EXCHANGE}/.default").token,
        authority=emu.entra_url,
    )
    app_token = cred.get_token(f"{STORAGE}/.default")
    assert_app_storage_token(app_token.token, w.app_client_id, w.tenant_id, records)
    # MSAL dates expires_on from its clock before the request, the emulator its exp from its clock on
    # receipt: the same second, or one earlier when a second boundary falls in between.
    exp = claims(app_token.token)["exp"]
    assert exp - 1 <= app_token.expires_on <= exp


def test_aks_via_identity_with_azure_identity(monkeypatch, emu, records):
    w = records.workload("reports")
    env = use_host(monkeypatch, emu, "aks-via-identity", "reports")
    assert env["AZURE_CLIENT_ID"] == w.identity_client_id
    # Step 1: the pod's service-account token buys the identity's token (FIC on the identity).
    workload_identity = WorkloadIdentityCredential()
    identity_token = workload_identity.get_token(f"{EXCHANGE}/.default").token
    assert_identity_exchange_token(identity_token, records, w.identity_client_id, w.tenant_id)
    # Step 2: that token is the app's assertion (FIC on the app trusting the identity).
    app_cred = ClientAssertionCredential(
        w.tenant_id, w.app_client_id, lambda: identity_token, authority=emu.entra_url
    )
    assert_app_storage_token(
        app_cred.get_token(f"{STORAGE}/.default").token, w.app_client_id, w.tenant_id, records
    )


def test_aks_via_identity_with_msal(monkeypatch, emu, records):
    w = records.workload("reports")
    env = use_host(monkeypatch, emu, "aks-via-identity", "reports")
    sa_token = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    identity = msal_app(emu, w.tenant_id, w.identity_client_id, {"client_assertion": lambda: sa_token})
    mi_result = identity.acquire_token_for_client([f"{EXCHANGE}/.default"])
    assert "access_token" in mi_result, mi_result
    app = msal_app(emu, w.tenant_id, w.app_client_id, {"client_assertion": lambda: mi_result["access_token"]})
    result = app.acquire_token_for_client([f"{STORAGE}/.default"])
    assert_app_storage_token(result["access_token"], w.app_client_id, w.tenant_id, records)


def test_aks_direct_with_workload_identity_credential(monkeypatch, emu, records):
    w = records.workload("ingest")
    env = use_host(monkeypatch, emu, "aks-direct", "ingest")
    assert env["AZURE_CLIENT_ID"] == w.app_client_id
    sa = claims(Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text())
    assert sa["sub"] == "system:serviceaccount:ingest:ingest-sa"
    token = WorkloadIdentityCredential().get_token(f"{STORAGE}/.default")
    assert_app_storage_token(token.token, w.app_client_id, w.tenant_id, records)


def test_managed_identity_credential_turns_into_workload_identity_on_aks(monkeypatch, emu, records):
    # azure-identity's documented switch: with the webhook's variables set, ManagedIdentityCredential
    # exchanges the projected token instead of calling IMDS.
    w = records.workload("reports")
    use_host(monkeypatch, emu, "aks-via-identity", "reports")
    token = ManagedIdentityCredential(client_id=w.identity_client_id).get_token(f"{EXCHANGE}/.default")
    assert_identity_exchange_token(token.token, records, w.identity_client_id, w.tenant_id)
    assert emu.counters["imds"] == 0


def test_client_secret_credential_and_msal_secret(emu, records):
    w = records.workload("orders")
    app = records.app(w.app_client_id)
    assert app is not None
    app.add_secret("fallback-secret-value")
    cred = ClientSecretCredential(
        w.tenant_id,
        w.app_client_id,
        "fallback-secret-value",
        authority=emu.entra_url,
        disable_instance_discovery=True,
    )
    token = cred.get_token(f"{STORAGE}/.default").token
    assert claims(token)["appidacr"] == "1"
    result = msal_app(emu, w.tenant_id, w.app_client_id, "fallback-secret-value").acquire_token_for_client(
        [f"{STORAGE}/.default"]
    )
    assert_app_storage_token(result["access_token"], w.app_client_id, w.tenant_id, records)
    assert [e["credential"] for e in emu.requests if e["endpoint"] == "entra-token"] == ["secret", "secret"]


def _self_signed() -> tuple[bytes, bytes]:
    return pem_pair(*self_signed_certificate("orders-api fallback"))


def test_certificate_credential_and_msal_certificate(emu, records):
    w = records.workload("orders")
    app = records.app(w.app_client_id)
    assert app is not None
    key_pem, cert_pem = _self_signed()
    app.certificates.append(CertRecord.from_pem(cert_pem))
    cred = CertificateCredential(
        w.tenant_id,
        w.app_client_id,
        certificate_data=key_pem + cert_pem,
        authority=emu.entra_url,
        disable_instance_discovery=True,
    )
    assert_app_storage_token(
        cred.get_token(f"{STORAGE}/.default").token, w.app_client_id, w.tenant_id, records
    )
    msal_cred = {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}
    result = msal_app(emu, w.tenant_id, w.app_client_id, msal_cred).acquire_token_for_client(
        [f"{STORAGE}/.default"]
    )
    assert "access_token" in result, result
    assert [e["credential"] for e in emu.requests if e["endpoint"] == "entra-token"] == ["certificate"] * 2
