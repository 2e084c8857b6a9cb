"""The plan of the small fixture program: realistic IDs, full registration data, outputs and warnings."""

from __future__ import annotations

import json
import re
from typing import Any

from certless_ops.plan.writer import dumps

from .support import MINI, by_name, plan_of

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TENANT = "0d2b6f3e-6a3c-4e1e-9d7b-1a2b3c4d5e6f"  # from Pulumi.test.yaml


def test_same_program_gives_byte_identical_plans(mini_plan: dict[str, Any]) -> None:
    again = plan_of(MINI, "test")
    assert dumps(again) == dumps(mini_plan)


def test_plan_has_the_documented_top_level_shape(mini_plan: dict[str, Any]) -> None:
    assert mini_plan["schema"] == "certless.plan/v1"
    assert (mini_plan["project"], mini_plan["stack"]) == ("mini", "test")
    assert set(mini_plan) >= {"config", "resources", "invokes", "outputs", "warnings"}
    assert mini_plan["config"]["mini:resourceGroup"] == "rg-mini"
    assert mini_plan["config"]["mini:greeting"] == "hello"  # default from Pulumi.yaml
    fields = {
        "urn",
        "type",
        "name",
        "custom",
        "parent",
        "provider",
        "id",
        "inputs",
        "outputs",
        "dependencies",
        "property_dependencies",
        "protect",
        "retain_on_delete",
        "deleted_with",
        "import_id",
        "read",
    }
    for res in mini_plan["resources"]:
        assert set(res) == fields


def test_every_resource_including_stack_and_components_is_listed_after_its_parent(
    mini_plan: dict[str, Any],
) -> None:
    types = [r["type"] for r in mini_plan["resources"]]
    assert types[0] == "pulumi:pulumi:Stack"
    assert types.count("certless:index:CertificatelessWorkload") == 2
    seen: set[str] = set()
    for res in mini_plan["resources"]:
        if res["parent"]:
            assert res["parent"] in seen, f"{res['urn']} listed before its parent"
        for dep in res["dependencies"]:
            assert dep in seen, f"{res['urn']} listed before its dependency {dep}"
        seen.add(res["urn"])
    component = by_name(mini_plan, "orders")
    assert component["custom"] is False
    assert by_name(mini_plan, "orders-id")["parent"] == component["urn"]
    assert by_name(mini_plan, "orders-id")["urn"] == (
        "urn:pulumi:test::mini::certless:index:CertificatelessWorkload$"
        "azure-native:managedidentity:UserAssignedIdentity::orders-id"
    )


def test_identity_ids_have_the_real_azure_and_entra_shapes(mini_plan: dict[str, Any]) -> None:
    sub = mini_plan["simulation"]["subscriptionId"]
    uami = by_name(mini_plan, "orders-id")
    assert uami["id"] == (
        f"/subscriptions/{sub}/resourceGroups/rg-mini/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/id-orders"
    )
    out = uami["outputs"]
    assert GUID.match(out["clientId"]) and GUID.match(out["principalId"])
    assert out["clientId"] != out["principalId"]
    assert out["tenantId"] == TENANT
    app = by_name(mini_plan, "orders-app")["outputs"]
    assert app["id"] == f"/applications/{app['objectId']}"
    assert GUID.match(app["clientId"]) and app["clientId"] != app["objectId"]
    fic = by_name(mini_plan, "billing-aks-fic")
    assert fic["id"].endswith("/userAssignedIdentities/id-billing/federatedIdentityCredentials/aks-billing")


def test_guids_differ_between_resources_and_stacks(mini_plan: dict[str, Any]) -> None:
    a = by_name(mini_plan, "orders-id")["outputs"]
    b = by_name(mini_plan, "billing-id")["outputs"]
    assert len({a["clientId"], a["principalId"], b["clientId"], b["principalId"]}) == 4


def test_aks_issuer_url_has_the_real_shape_and_feeds_the_identity_fic(mini_plan: dict[str, Any]) -> None:
    cluster = next(i for i in mini_plan["invokes"] if i["token"].endswith(":getManagedCluster"))
    issuer = cluster["result"]["oidcIssuerProfile"]["issuerURL"]
    assert re.fullmatch(rf"https://westeurope\.oic\.prod-aks\.azure\.com/{TENANT}/[0-9a-f-]{{36}}/", issuer)
    fic = by_name(mini_plan, "billing-aks-fic")["inputs"]
    assert fic["issuer"] == issuer
    assert fic["subject"] == "system:serviceaccount:billing:billing"


def test_app_fic_trusts_the_identity_principal_id(mini_plan: dict[str, Any]) -> None:
    fic = by_name(mini_plan, "orders-fic")["inputs"]
    uami = by_name(mini_plan, "orders-id")["outputs"]
    assert fic["subject"] == uami["principalId"]
    assert fic["issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert fic["applicationId"] == by_name(mini_plan, "orders-app")["outputs"]["id"]


def test_web_app_identity_output_is_a_map_keyed_by_identity_id(mini_plan: dict[str, Any]) -> None:
    web = by_name(mini_plan, "orders-web")
    uami = by_name(mini_plan, "orders-id")
    assert web["inputs"]["identity"]["userAssignedIdentities"] == [uami["id"]]
    assert web["outputs"]["identity"]["userAssignedIdentities"] == {
        uami["id"]: {"clientId": uami["outputs"]["clientId"], "principalId": uami["outputs"]["principalId"]}
    }
    # The program read the identity back through the SDK's typed output: same client ID.
    assert mini_plan["outputs"]["ordersWebIdentityClientId"] == uami["outputs"]["clientId"]


def test_protect_and_retain_on_delete_are_captured(mini_plan: dict[str, Any]) -> None:
    assert by_name(mini_plan, "orders-id")["protect"] is True
    assert by_name(mini_plan, "orders-id")["retain_on_delete"] is False
    assert by_name(mini_plan, "orders-app")["retain_on_delete"] is True
    assert by_name(mini_plan, "orders-app")["protect"] is False


def test_explicit_and_implicit_dependencies_are_captured(mini_plan: dict[str, Any]) -> None:
    web = by_name(mini_plan, "orders-web")
    fic_urn = by_name(mini_plan, "orders-fic")["urn"]
    uami_urn = by_name(mini_plan, "orders-id")["urn"]
    assert fic_urn in web["dependencies"]  # depends_on
    assert uami_urn in web["property_dependencies"]["identity"]  # output wiring
    fic = by_name(mini_plan, "orders-fic")
    assert fic["property_dependencies"]["subject"] == [uami_urn]
    assert by_name(mini_plan, "orders-app")["urn"] in fic["property_dependencies"]["applicationId"]


def test_explicit_provider_is_recorded(mini_plan: dict[str, Any]) -> None:
    provider = by_name(mini_plan, "billing-k8s")
    sa = by_name(mini_plan, "billing-sa")
    assert sa["provider"] == f"{provider['urn']}::{provider['id']}"
    assert by_name(mini_plan, "orders-id")["provider"] is None


def test_pod_template_and_service_account_inputs_are_kubernetes_manifests(mini_plan: dict[str, Any]) -> None:
    deploy = by_name(mini_plan, "billing-deploy")
    assert deploy["id"] == "billing/billing"
    labels = deploy["inputs"]["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    sa = by_name(mini_plan, "billing-sa")["inputs"]["metadata"]
    assert (
        sa["annotations"]["azure.workload.identity/client-id"]
        == by_name(mini_plan, "billing-id")["outputs"]["clientId"]
    )


def test_stack_and_component_outputs_are_captured(mini_plan: dict[str, Any]) -> None:
    outputs = mini_plan["outputs"]
    assert outputs["tenantId"] == TENANT
    orders = by_name(mini_plan, "orders-id")["outputs"]
    assert outputs["workloads"]["orders"]["identityPrincipalId"] == orders["principalId"]
    assert (
        outputs["workloads"]["orders"]["appObjectId"]
        == by_name(mini_plan, "orders-app")["outputs"]["objectId"]
    )
    component = by_name(mini_plan, "orders")
    assert component["outputs"] == {
        "identityClientId": orders["clientId"],
        "appClientId": by_name(mini_plan, "orders-app")["outputs"]["clientId"],
    }


def test_secret_values_never_reach_the_plan(mini_plan: dict[str, Any]) -> None:
    assert mini_plan["outputs"]["secretThing"] == "[secret]"
    assert "s3cr3t-value" not in json.dumps(mini_plan)


def test_program_warnings_are_captured(mini_plan: dict[str, Any]) -> None:
    assert mini_plan["warnings"] == [
        "workload 'orders': system-assigned identities cannot be FIC subjects (test warning)"
    ]


def test_invokes_are_recorded_with_arguments_and_results(mini_plan: dict[str, Any]) -> None:
    tokens = [i["token"] for i in mini_plan["invokes"]]
    assert "azure-native:authorization:getClientConfig" in tokens
    creds = next(i for i in mini_plan["invokes"] if i["token"].endswith(":listManagedClusterUserCredentials"))
    assert creds["args"] == {"resourceGroupName": "rg-mini", "resourceName": "aks-mini"}
    assert mini_plan["simulation"]["unmodelledTypes"] == []
    assert mini_plan["simulation"]["unmodelledInvokes"] == []


def test_stack_reference_and_adopted_identity(tmp_path: Any) -> None:
    shared = {"identityClientId": "11111111-2222-3333-4444-555555555555"}
    plan = plan_of(MINI, "consumer", stack_outputs={"org/mini/shared": shared})
    assert plan["outputs"]["sharedIdentityClientId"] == shared["identityClientId"]
    adopted = by_name(plan, "adopted-id")
    assert adopted["read"] is True
    assert adopted["import_id"] == adopted["id"]
    assert adopted["id"].endswith(
        "/resourceGroups/rg-shared/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-shared"
    )
    assert GUID.match(plan["outputs"]["adoptedPrincipalId"])


async def test_plan_can_be_made_from_async_code(mini_plan: dict[str, Any]) -> None:
    # Tools and async tests call run_plan with their own event loop running on this thread.
    assert dumps(plan_of(MINI, "test")) == dumps(mini_plan)
