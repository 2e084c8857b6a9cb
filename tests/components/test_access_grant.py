"""AccessGrant under the real program: who gets each grant, deterministic names, app roles, outputs."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pulumi
import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped

from certless_ops.plan.graph import GRAPH_APP_ID, GRAPH_APP_ROLES
from components.access import assignment_name
from stackconfig import ConfigError

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
APP = "azuread:index/application:Application"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
SUB = "419df9c8-ff27-5745-89e3-6e4306ca62c9"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-certless-prod"
ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/stcertlessordersprod"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/crcertless"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
DEFINITION = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR}"


def granted(rec: Recorder) -> list[Any]:
    return [r for r in rec.of_type(ROLE_ASSIGNMENT) if r.name.startswith(("orders-", "payments-"))]


def user_grants(rec: Recorder) -> list[Any]:
    return [r for r in rec.of_type(ROLE_ASSIGNMENT) if "-host-" not in r.name]


@pytest.fixture(scope="module")
def prod() -> tuple[Recorder, dict[str, Any]]:
    return run_main("prod", shipped("prod"))


def test_prod_grants_blob_access_to_the_apps_service_principal_not_the_identity(
    prod: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, _ = prod
    (grant,) = user_grants(rec)
    sp = rec.one(SP).outputs["objectId"]
    identity = rec.one(UAMI).outputs["principalId"]
    assert grant.inputs["principalId"] == sp != identity
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["scope"] == ACCOUNT
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    )
    parent = rec.by_urn(grant.parent)
    assert parent.type == "certless:access:AccessGrant"


def test_the_assignment_name_is_a_guid_of_scope_role_and_principal(
    prod: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, _ = prod
    (grant,) = user_grants(rec)
    name = grant.inputs["roleAssignmentName"]
    assert uuid.UUID(name)
    assert name == assignment_name(
        ACCOUNT, "ba92f5b4-2d11-453d-a403-e96b0029c9fe", grant.inputs["principalId"]
    )
    # ARM IDs are case-insensitive: the same grant typed in another case is the same assignment.
    assert name == assignment_name(
        ACCOUNT.upper(), "BA92F5B4-2D11-453D-A403-E96B0029C9FE", grant.inputs["principalId"].upper()
    )
    rerun, _ = run_main("prod", shipped("prod"))
    assert [g.inputs["roleAssignmentName"] for g in user_grants(rerun)] == [name]
    other_scope = assignment_name(
        ACCOUNT + "x", "ba92f5b4-2d11-453d-a403-e96b0029c9fe", grant.inputs["principalId"]
    )
    assert other_scope != name


def test_the_workload_output_lists_its_grants(prod: tuple[Recorder, dict[str, Any]]) -> None:
    rec, out = prod
    (record,) = out["workloads"]["orders-api"]["access"]
    assert record == {
        "type": "role",
        "role": "Storage Blob Data Contributor",
        "roleDefinitionId": DEFINITION,
        "scope": ACCOUNT,
        "principalId": rec.one(SP).outputs["objectId"],
        "principalType": "ServicePrincipal",
        "grantee": "app",
        "declaredBy": "this stack",
    }
    assert "access" not in out["workloads"]["orders-worker"]


def with_workload(**changes: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-api"].update(changes)
    return cfg


def test_acr_pull_goes_to_the_identity_the_platform_pulls_with() -> None:
    rec, out = run_main("prod", with_workload(access=[{"role": "AcrPull", "scope": REGISTRY}]))
    (grant,) = user_grants(rec)
    assert grant.inputs["principalId"] == rec.one(UAMI).outputs["principalId"]
    assert out["workloads"]["orders-api"]["access"][0]["grantee"] == "identity"


def test_a_system_assigned_workloads_data_grant_still_goes_to_the_app() -> None:
    cfg = copy.deepcopy(shipped("dev"))
    name, workload = next(iter(cfg["certless:workloads"].items()))
    workload["identity"] = None
    workload.pop("identity")
    workload["identityType"] = "SystemAssigned"
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdev"
    workload["access"] = [{"role": "Storage Blob Data Reader", "scope": scope}]
    rec, out = run_main("dev", cfg)
    (grant,) = user_grants(rec)
    assert grant.inputs["principalId"] == rec.one(SP).outputs["objectId"]
    assert out["workloads"][name]["identityType"] == "SystemAssigned"
    assert out["workloads"][name]["access"][0]["principalId"] != out["workloads"][name]["identityPrincipalId"]


def test_graph_application_permissions_become_app_role_assignments_with_graphs_ids() -> None:
    rec, out = run_main(
        "prod",
        with_workload(apiPermissions=[{"api": "graph", "appRoles": ["User.Read.All", "Group.Read.All"]}]),
    )
    assignments = rec.of_type(APP_ROLE_ASSIGNMENT)
    assert sorted(a.inputs["appRoleId"] for a in assignments) == sorted(
        [GRAPH_APP_ROLES["User.Read.All"], GRAPH_APP_ROLES["Group.Read.All"]]
    )
    sp = rec.one(SP).outputs["objectId"]
    assert {a.inputs["principalObjectId"] for a in assignments} == {sp}
    graph_lookups = [args for token, args in rec.invokes if token.endswith("getServicePrincipal")]
    assert graph_lookups == [{"clientId": GRAPH_APP_ID}]
    records = out["workloads"]["orders-api"]["access"]
    assert {r["appRole"] for r in records if r["type"] == "appRole"} == {"User.Read.All", "Group.Read.All"}


def test_a_graph_permission_graph_does_not_expose_stops_before_any_resource() -> None:
    with pytest.raises(
        pulumi.RunError,
        match=r"apiPermissions\[0\]\.appRoles\[0\]: 'User.Read.Everything'; expected an application"
        r" permission that graph exposes",
    ):
        run_main(
            "prod", with_workload(apiPermissions=[{"api": "graph", "appRoles": ["User.Read.Everything"]}])
        )


def two_apps(roles: Any = ("Orders.Read",)) -> dict[str, Any]:
    cfg = with_workload(apiPermissions=[{"api": "payments", "appRoles": list(roles)}])
    cfg["certless:apps"]["payments"] = {
        "displayName": "certless-payments-prod",
        "appRoles": ["Orders.Read", {"value": "Orders.Write", "displayName": "Write orders"}],
    }
    return cfg


def test_an_app_of_the_stack_exposes_app_roles_under_api_client_id_and_is_granted_them() -> None:
    rec, _ = run_main("prod", two_apps())
    payments = rec.one(APP, "payments")
    roles = {r["value"]: r for r in payments.inputs["appRoles"]}
    assert set(roles) == {"Orders.Read", "Orders.Write"}
    assert roles["Orders.Read"]["allowedMemberTypes"] == ["Application"]
    uri = rec.one("azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "payments")
    assert uri.inputs["identifierUri"] == f"api://{payments.outputs['clientId']}"
    (assigned,) = rec.of_type(APP_ROLE_ASSIGNMENT)
    assert assigned.inputs["appRoleId"] == roles["Orders.Read"]["id"]
    assert assigned.inputs["resourceObjectId"] == rec.one(SP, "payments").outputs["objectId"]
    assert assigned.inputs["principalObjectId"] == rec.one(SP, "orders").outputs["objectId"]
    # An app without app roles keeps no identifier URI of its own.
    assert "identifierUris" not in rec.one(APP, "orders").inputs


def test_app_role_ids_are_stable_across_runs() -> None:
    first, _ = run_main("prod", two_apps())
    second, _ = run_main("prod", two_apps())
    assert first.one(APP, "payments").inputs["appRoles"] == second.one(APP, "payments").inputs["appRoles"]


def test_an_app_role_the_app_does_not_expose_is_a_config_error() -> None:
    with pytest.raises(
        pulumi.RunError,
        match=r"apiPermissions\[0\]\.appRoles\[0\]: got 'Orders.Delete', expected an app role that app"
        r" payments exposes .*\(Orders.Read, Orders.Write\)",
    ):
        run_main("prod", two_apps(["Orders.Delete"]))


def test_two_workloads_of_one_app_cannot_both_declare_the_same_grant() -> None:
    cfg = with_workload()
    grant = cfg["certless:workloads"]["orders-api"]["access"]
    cfg["certless:workloads"]["orders-jobs"]["access"] = copy.deepcopy(grant)
    with pytest.raises(
        pulumi.RunError,
        match=r"orders-jobs\.access\[0\].*already declared by workload orders-api, which shares its app"
        r" orders",
    ):
        run_main("prod", cfg)


def test_principal_identity_is_refused_on_aks() -> None:
    cfg = with_workload()
    cfg["certless:workloads"]["orders-worker"]["access"] = [{"role": "AcrPull", "scope": REGISTRY}]
    from stackconfig import load

    with pytest.raises(
        ConfigError,
        match=r"orders-worker\.access\[0\]\.principal: got 'identity', expected app on an aks workload",
    ):
        load(cfg, (), "prod")


def test_a_referencing_stack_records_the_owners_grants_without_declaring_them(
    prod: tuple[Recorder, dict[str, Any]],
) -> None:
    _, out = prod
    green = copy.deepcopy(shipped("prod"))
    del green["certless:identities"], green["certless:apps"]
    green["certless:identityOwner"] = {"stack": "org/certless/prod"}
    green["certless:color"] = "green"
    green["certless:workloads"]["orders-worker"]["aks"]["clusterName"] = "aks-certless-prod-green"
    rec, green_out = run_main("prod-green", green, stack_outputs={"sharedIdentity": out["sharedIdentity"]})
    assert user_grants(rec) == []
    (record,) = green_out["workloads"]["orders-api"]["access"]
    assert record["declaredBy"] == "identity owner"
    assert record["scope"] == ACCOUNT
    assert any("declared by the stack that owns the identity layer" in w for w in rec.warnings)
