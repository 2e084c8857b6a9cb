"""The ``roles`` claim: only the app roles the plan assigns to the caller on that API, as Entra issues it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from emu_helpers import claims, exchange, imds

from emulator import Emulator
from emulator.plan_loader import APP_ROLE_ASSIGNMENT
from emulator.records import App, Records

TENANT = "3b7e2c4d-9a1f-4e6b-8c2d-5f0a1e9b7c33"
READ, WRITE = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"


def records(*assignments: tuple[str, str, str]) -> tuple[Records, App, App]:
    api = App(
        "aaaaaaaa-0000-4000-8000-000000000001", TENANT, app_roles={READ: "Ledger.Read", WRITE: "Ledger.Write"}
    )
    client = App("bbbbbbbb-0000-4000-8000-000000000001", TENANT)
    return Records(apps=[api, client], app_role_assignments=list(assignments)), api, client


def test_the_assigned_role_and_only_it_is_in_the_claim() -> None:
    recs, api, client = records()
    recs.app_role_assignments.append((client.service_principal_id, api.service_principal_id, READ))
    assert recs.roles_for(client.service_principal_id, api.client_id) == ["Ledger.Read"]
    assert recs.roles_for(client.service_principal_id.upper(), api.client_id.upper()) == ["Ledger.Read"]


def test_no_assignment_no_claim_and_other_resources_do_not_count() -> None:
    recs, api, client = records()
    assert recs.roles_for(client.service_principal_id, api.client_id) == []
    # An assignment on another resource, or of a role the API does not expose, gives nothing here.
    recs.app_role_assignments.append((client.service_principal_id, client.service_principal_id, READ))
    recs.app_role_assignments.append((client.service_principal_id, api.service_principal_id, "unknown-role"))
    assert recs.roles_for(client.service_principal_id, api.client_id) == []
    assert recs.roles_for(client.service_principal_id, "https://storage.azure.com") == []


GRAPH = "00000003-0000-0000-c000-000000000000"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
GRAPH_SP = "6d1f0c2e-5b3a-4f7e-9c1d-2a8b4e6f0d13"
VENDOR_API = "c0ffee00-1111-4222-8333-444455556666"
VENDOR_SP = "7e2a1b3c-4d5e-4f60-8172-93a4b5c6d7e8"
VENDOR_ROLE = "aaaa0000-1111-4222-8333-444455556666"


def _with_external_grants(plan: dict[str, Any], principal: str) -> dict[str, Any]:
    """The plan as the program writes it for `apiPermissions` on Graph and on an appId: the app role
    assignments among the resources, and the grant records (api, role value) in the workload's outputs."""
    doc = copy.deepcopy(plan)
    grants = [
        ("graph", "User.Read.All", USER_READ_ALL, GRAPH_SP),
        (VENDOR_API, "Invoices.Read", VENDOR_ROLE, VENDOR_SP),
    ]
    for _api, value, role_id, sp in grants:
        inputs = {"principalObjectId": principal, "resourceObjectId": sp, "appRoleId": role_id}
        doc["resources"].append(
            {
                "type": APP_ROLE_ASSIGNMENT,
                "name": f"orders-access-{value}",
                "inputs": inputs,
                "outputs": inputs,
            }
        )
    doc["outputs"]["workloads"]["orders"]["access"] = [
        {
            "type": "appRole",
            "api": api,
            "appRole": value,
            "appRoleId": role_id,
            "resourceObjectId": sp,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "grantee": "app",
            "declaredBy": "this stack",
        }
        for api, value, role_id, sp in grants
    ]
    return doc


def _app_token(emu: Emulator, records: Records, scope: str) -> dict[str, Any]:
    w = records.workload("orders")
    mi = imds(emu, client_id=w.identity_client_id, resource="api://AzureADTokenExchange")
    assert mi.status_code == 200, mi.text
    resp = exchange(emu, w.tenant_id, w.app_client_id, mi.json()["access_token"], scope)
    assert resp.status_code == 200, resp.text
    return claims(resp.json()["access_token"])


def test_graph_and_appid_app_roles_of_the_plan_reach_their_tokens(
    plan_doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Entra stamps the roles assigned on Graph's (or any API's) service principal into the app's token for
    # that API; before, only APIs declared as apps of the stack got the claim.
    base = Records.from_plan(plan_doc)
    principal = base.app(base.workload("orders").app_client_id).service_principal_id  # type: ignore[union-attr]
    records = Records.from_plan(_with_external_grants(plan_doc, principal))
    assert records.roles_for(principal, GRAPH) == ["User.Read.All"]
    assert records.roles_for(principal.upper(), VENDOR_API.upper()) == ["Invoices.Read"]
    # Nobody else holds them, and an API nobody assigned gives nothing.
    other = base.app(base.workload("reports").app_client_id).service_principal_id  # type: ignore[union-attr]
    assert records.roles_for(other, GRAPH) == []
    with Emulator(records) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
        assert _app_token(emu, records, "https://graph.microsoft.com/.default")["roles"] == ["User.Read.All"]
        assert "roles" not in _app_token(emu, records, "https://storage.azure.com/.default")


def test_a_grant_record_without_its_assignment_gives_no_role(plan_doc: dict[str, Any]) -> None:
    # The claim follows the assignments that would exist, not the outputs' description of them.
    base = Records.from_plan(plan_doc)
    principal = base.app(base.workload("orders").app_client_id).service_principal_id  # type: ignore[union-attr]
    doc = _with_external_grants(plan_doc, principal)
    doc["resources"] = [r for r in doc["resources"] if r["type"] != APP_ROLE_ASSIGNMENT]
    assert Records.from_plan(doc).roles_for(principal, GRAPH) == []
