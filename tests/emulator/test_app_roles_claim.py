"""The ``roles`` claim: only the app roles the plan assigns to the caller on that API, as Entra issues it."""

from __future__ import annotations

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
