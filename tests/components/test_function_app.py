"""FunctionAppBinding: identity-based host storage, Flex deployment storage, roles, and refused input."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from main_runner import run_main, shipped

from components.access import assignment_name

WEB_APP = "azure-native:web:WebApp"
ROLE = "azure-native:authorization:RoleAssignment"


def prod_with(**function_app: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-jobs"]["functionApp"].update(function_app)
    return cfg


def _settings(app: Any) -> dict[str, str]:
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def test_flex_function_app_uses_the_identity_for_host_and_deployment_storage() -> None:
    rec, out = run_main("prod", shipped("prod"))
    app = next(a for a in rec.of_type(WEB_APP) if a.inputs["kind"] == "functionapp,linux")
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity")
    settings = _settings(app)
    account = rec.one("azure-native:storage:StorageAccount")
    name = account.inputs["accountName"]
    assert account.inputs["allowSharedKeyAccess"] is False
    assert settings["AzureWebJobsStorage__blobServiceUri"] == f"https://{name}.blob.core.windows.net"
    assert settings["AzureWebJobsStorage__queueServiceUri"] == f"https://{name}.queue.core.windows.net"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == identity.outputs["clientId"]
    assert "AzureWebJobsStorage" not in settings
    assert not any("connectionstring" in k.lower() or "AccountKey=" in v for k, v in settings.items())
    cfg = app.inputs["functionAppConfig"]
    auth = cfg["deployment"]["storage"]["authentication"]
    assert auth["type"] == "UserAssignedIdentity"
    assert auth["userAssignedIdentityResourceId"].endswith("/userAssignedIdentities/id-certless-shared-prod")
    assert app.inputs["identity"]["userAssignedIdentities"] == [auth["userAssignedIdentityResourceId"]]
    assert cfg["deployment"]["storage"]["value"] == f"https://{name}.blob.core.windows.net/app-package"
    assert cfg["runtime"] == {"name": "python", "version": "3.11"}
    assert app.inputs["httpsOnly"] is True
    assert app.inputs["siteConfig"]["minTlsVersion"] == "1.2"
    plan = next(
        p for p in rec.of_type("azure-native:web:AppServicePlan") if p.inputs["kind"] == "functionapp"
    )
    assert plan.inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    # The host's own storage roles (prod's workload grants live in AccessGrant, on the app).
    grants = [g for g in rec.of_type(ROLE) if "-host-" in g.name]
    assert {g.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for g in grants} == {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    }
    assert {g.inputs["principalId"] for g in grants} == {identity.outputs["principalId"]}
    assert len({g.inputs["scope"] for g in grants}) == 1
    assert grants[0].inputs["scope"].endswith(f"/storageAccounts/{name}")
    assert (
        out["workloads"]["orders-jobs"]["hostStorageEnv"]["AzureWebJobsStorage__credential"]
        == "managedidentity"
    )


def test_host_roles_are_the_identity_s_access_grant_and_keep_their_earlier_assignments() -> None:
    rec, _ = run_main("prod", shipped("prod"))
    binding = rec.one("certless:compute:FunctionAppBinding")
    grant = rec.one("certless:access:AccessGrant", f"{binding.name}-host")
    assert grant.parent == binding.urn
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity")
    host = [g for g in rec.of_type(ROLE) if g.parent == grant.urn]
    assert len(host) == 3
    for g in host:
        role_id = g.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert g.inputs["principalId"] == identity.outputs["principalId"]
        assert g.inputs["principalType"] == "ServicePrincipal"
        # Deterministic, so a re-run or a second stack never duplicates; differs per principal (colours).
        assert g.inputs["roleAssignmentName"] == assignment_name(
            g.inputs["scope"], role_id, identity.outputs["principalId"]
        )
        # Declared before directly under the binding: same URN through the alias, and the generated
        # name of an existing assignment stays (a new name would replace it and hit RoleAssignmentExists).
        assert (f"{binding.name}-host-{role_id[:8]}", binding.urn) in g.aliases
        assert "roleAssignmentName" in g.ignore_changes


def test_premium_plan_sets_the_worker_runtime_and_an_existing_account_is_not_created() -> None:
    existing = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers"
        "/Microsoft.Storage/storageAccounts/stjobsdata"
    )
    rec, _ = run_main("prod", prod_with(sku="EP1", storageAccountId=existing))
    app = next(a for a in rec.of_type(WEB_APP) if a.inputs["kind"] == "functionapp,linux")
    settings = _settings(app)
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert settings["FUNCTIONS_EXTENSION_VERSION"] == "~4"
    assert settings["AzureWebJobsStorage__blobServiceUri"] == "https://stjobsdata.blob.core.windows.net"
    assert "functionAppConfig" not in app.inputs
    assert rec.of_type("azure-native:storage:StorageAccount") == []
    assert {g.inputs["scope"] for g in rec.of_type(ROLE) if "-host-" in g.name} == {existing}


@pytest.mark.parametrize(
    ("change", "key", "shown", "expected"),
    [
        ({"sku": "Y2"}, "functionApp.sku", "'Y2'", "one of FC1, EP1, EP2, EP3"),
        (
            {
                "appSettings": {
                    "AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc="
                }
            },
            "functionApp.appSettings.AzureWebJobsStorage",
            "",
            "",
        ),
        (
            {"appSettings": {"AzureWebJobsStorage__accountName": "stother"}},
            "functionApp.appSettings.AzureWebJobsStorage__accountName",
            "'AzureWebJobsStorage__accountName'",
            "no host storage setting",
        ),
        (
            {"storageAccountName": "Bad_Name"},
            "functionApp.storageAccountName",
            "'Bad_Name'",
            "3-24 lowercase",
        ),
        ({"instanceMemoryMB": 1000}, "functionApp.instanceMemoryMB", "1000", "one of 512, 2048, 4096"),
        ({"runtimeVersion": "2.7"}, "functionApp.runtimeVersion", "'2.7'", "one of 3.10, 3.11, 3.12"),
    ],
)
def test_bad_function_app_input_is_refused_before_any_resource(
    change: dict[str, Any], key: str, shown: str, expected: str
) -> None:
    with pytest.raises(Exception) as caught:
        run_main("prod", prod_with(**change))
    text = str(caught.value)
    assert f"certless:workloads.orders-jobs.{key}" in text
    assert shown in text and expected in text
    assert "AccountKey=abc" not in text  # the secret is never echoed


def test_a_system_assigned_function_app_is_refused() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    w = cfg["certless:workloads"]["orders-jobs"]
    w["identityType"] = "SystemAssigned"
    del w["identity"]
    with pytest.raises(Exception, match="identityType: got 'SystemAssigned', expected UserAssigned"):
        run_main("prod", cfg)
