# mypy: disable-error-code="no-untyped-def,union-attr"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Seeding: records from a plan, from a records file and in code; clear errors for bad input."""

from __future__ import annotations

import copy
import json

import pytest
from emu_helpers import claims, post_token

from emulator import App, Emulator, FederatedCredential, Identity, Records, RecordsError

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"


def test_plan_seeds_apps_identities_fics_clusters_and_workloads(plan_doc):
    records = Records.from_plan(plan_doc)
    tenant = plan_doc["outputs"]["tenantId"]
    assert records.tenants == [tenant]
    assert {w.name for w in records.workloads} == {"orders", "billing", "reports", "ingest", "legacy"}
    orders = plan_doc["outputs"]["workloads"]["orders"]
    app = records.app(orders["appClientId"])
    assert app.object_id == orders["appObjectId"]
    sp = next(r for r in plan_doc["resources"] if r["name"] == "orders-api-sp")
    assert app.service_principal_id == sp["outputs"]["objectId"]
    assert app.federated_credentials == [
        FederatedCredential(
            "orders-api-fic",
            f"https://login.microsoftonline.com/{tenant}/v2.0",
            orders["identityPrincipalId"],
            ("api://AzureADTokenExchange",),
        )
    ]
    reports_identity = records.identity(plan_doc["outputs"]["workloads"]["reports"]["identityClientId"])
    assert [f.subject for f in reports_identity.federated_credentials] == [
        "system:serviceaccount:reports:reports-sa"
    ]
    legacy = records.identity(plan_doc["outputs"]["workloads"]["legacy"]["identityClientId"])
    assert legacy.system_assigned
    assert [c.name for c in records.clusters] == ["aks-prod"]
    ingest = records.workload("ingest")
    assert (ingest.cluster, ingest.namespace, ingest.service_account, ingest.aks_mode) == (
        "aks-prod",
        "ingest",
        "ingest-sa",
        "direct",
    )
    assert ingest.azure_ad_env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFilePath"


def test_plan_errors_name_the_field(plan_doc, tmp_path):
    bad = copy.deepcopy(plan_doc)
    bad["schema"] = "certless.plan/v2"
    with pytest.raises(
        RecordsError, match=r"plan schema: got 'certless.plan/v2', expected 'certless.plan/v1'"
    ):
        Records.from_plan(bad)

    bad = copy.deepcopy(plan_doc)
    fic = next(r for r in bad["resources"] if r["type"] == APP_FIC)
    fic["outputs"]["audiences"] = ["api://AzureADTokenExchange", "api://other"]
    with pytest.raises(RecordsError, match="exactly one audience"):
        Records.from_plan(bad)

    bad = copy.deepcopy(plan_doc)
    fic = next(r for r in bad["resources"] if r["type"] == APP_FIC)
    fic["outputs"]["applicationId"] = "/applications/00000000-0000-0000-0000-000000000000"
    with pytest.raises(RecordsError, match=r"applicationId: got /applications/0000"):
        Records.from_plan(bad)

    bad = copy.deepcopy(plan_doc)
    fic = next(r for r in bad["resources"] if r["type"] == UAMI_FIC)
    fic["inputs"]["resourceName"] = "id-gone"
    with pytest.raises(RecordsError, match="resourceName: got id-gone"):
        Records.from_plan(bad)

    with pytest.raises(RecordsError, match=r"plan: got .*missing\.json, expected a readable JSON file"):
        Records.from_plan(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(RecordsError, match="expected valid JSON"):
        Records.from_plan(broken)


RECORDS_DOC = {
    "schema": "certless.emulator-records/v1",
    "tenants": ["11111111-1111-1111-1111-111111111111"],
    "apps": [
        {
            "clientId": "22222222-2222-2222-2222-222222222222",
            "tenantId": "11111111-1111-1111-1111-111111111111",
            "displayName": "api",
            "accessTokenVersion": 2,
            "identifierUris": ["api://orders"],
            "clientSecrets": ["dev-only-secret"],
            "federatedCredentials": [
                {
                    "name": "from-mi",
                    "issuer": "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0",
                    "subject": "44444444-4444-4444-4444-444444444444",
                    "audiences": ["api://AzureADTokenExchange"],
                }
            ],
        }
    ],
    "identities": [
        {
            "name": "id-api",
            "clientId": "33333333-3333-3333-3333-333333333333",
            "principalId": "44444444-4444-4444-4444-444444444444",
            "tenantId": "11111111-1111-1111-1111-111111111111",
        }
    ],
    "workloads": [
        {
            "name": "api",
            "kind": "appservice",
            "tenantId": "11111111-1111-1111-1111-111111111111",
            "appClientId": "22222222-2222-2222-2222-222222222222",
            "identityClientId": "33333333-3333-3333-3333-333333333333",
        }
    ],
}


def test_records_file_round_trip_and_v2_resource(tmp_path, monkeypatch):
    path = tmp_path / "records.json"
    path.write_text(json.dumps(RECORDS_DOC))
    records = Records.from_file(path)
    app = records.app("22222222-2222-2222-2222-222222222222")
    assert app.secret_matches("dev-only-secret")
    assert "dev-only-secret" not in repr(records)
    with Emulator(records) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
        resp = post_token(
            emu,
            "11111111-1111-1111-1111-111111111111",
            grant_type="client_credentials",
            client_id="22222222-2222-2222-2222-222222222222",
            client_secret="dev-only-secret",
            scope="api://orders/.default",
        )
        assert resp.status_code == 200, resp.text
        c = claims(resp.json()["access_token"])
        # An app that asks for v2 tokens: v2 issuer, audience = its client ID.
        assert c["iss"] == "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0"
        assert c["aud"] == "22222222-2222-2222-2222-222222222222"
        assert c["azp"] == "22222222-2222-2222-2222-222222222222"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema="v0"), "records file schema: got 'v0'"),
        (
            lambda d: d["apps"][0].pop("clientId"),
            r"apps\[0\].clientId: got None, expected a non-empty string",
        ),
        (
            lambda d: d["apps"][0].update(accessTokenVersion=3),
            r"apps\[0\].accessTokenVersion: got 3, expected 1 or 2",
        ),
        (lambda d: d["identities"][0].update(systemAssigned="yes"), r"identities\[0\].systemAssigned"),
        (lambda d: d["apps"][0].update(certificates=["not a pem"]), "certificate: got <PEM>"),
        (
            lambda d: d["apps"][0]["federatedCredentials"][0].pop("issuer"),
            r"apps\[0\].federatedCredentials\[0\].issuer",
        ),
    ],
)
def test_records_file_errors(mutate, message):
    doc = copy.deepcopy(RECORDS_DOC)
    mutate(doc)
    with pytest.raises(RecordsError, match=message):
        Records.from_file(doc)


def test_records_in_code_and_lookup_errors():
    tid = "55555555-5555-5555-5555-555555555555"
    records = Records(
        apps=[App(client_id="66666666-6666-6666-6666-666666666666", tenant_id=tid)],
        identities=[
            Identity(
                name="mi", client_id="77777777-7777-7777-7777-777777777777", principal_id="p", tenant_id=tid
            )
        ],
    )
    assert records.tenants == [tid]
    assert records.identity("mi").client_id == "77777777-7777-7777-7777-777777777777"
    with pytest.raises(RecordsError, match="workload: got nope, expected one of the plan's workloads"):
        records.workload("nope")
    with Emulator(records) as emu:
        with pytest.raises(RecordsError, match="host: got 'iis'"):
            emu.host_env("iis", "nope")
        with pytest.raises(RecordsError, match="identity: got missing"):
            emu.attach_identity("default", "missing")


def test_adopted_identity_and_system_assigned_without_client_id(plan_doc):
    doc = copy.deepcopy(plan_doc)
    uami = next(r for r in doc["resources"] if r["name"] == "id-orders")
    uami.update(read=True, inputs={}, import_id=uami["id"])  # Resource.get: only outputs are known
    legacy = doc["outputs"]["workloads"]["legacy"]
    legacy["identityClientId"] = ""
    records = Records.from_plan(doc)
    orders = records.identity(doc["outputs"]["workloads"]["orders"]["identityClientId"])
    assert orders.name == "id-orders"
    assert [
        f.name
        for f in records.app(doc["outputs"]["workloads"]["orders"]["appClientId"]).federated_credentials
    ] == ["orders-api-fic"]
    system = records.identity(legacy["identityPrincipalId"])
    assert system.system_assigned
    assert system.client_id  # synthesised, stable
    assert Records.from_plan(doc).identity(legacy["identityPrincipalId"]).client_id == system.client_id


def test_records_workloads_without_azuread_settings_get_the_plans_defaults(tmp_path):
    records = Records.from_file(RECORDS_DOC)
    with Emulator(records) as emu:
        env = emu.host_env("appservice", "api")
    assert env["AzureAd__ClientId"] == "22222222-2222-2222-2222-222222222222"
    assert env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFromManagedIdentity"
    assert (
        env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"]
        == "33333333-3333-3333-3333-333333333333"
    )
