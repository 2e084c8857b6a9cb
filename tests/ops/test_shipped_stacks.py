"""The real program (`__main__.py`) planned for the shipped stacks: the trust wiring is complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan
from certless_ops.plan.writer import dumps

from .support import REPO, plan_of

UAMI = "azure-native:managedidentity:UserAssignedIdentity"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
MI_CLIENT_ID = "AzureAd__ClientCredentials__0__ManagedIdentityClientId"


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return {stack: plan_of(REPO, stack) for stack in ("dev", "prod")}


def _of_type(plan: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == typ]


def _settings(res: dict[str, Any]) -> dict[str, str]:
    """Name -> value of the app settings (App Service) or container env vars (Container Apps, AKS)."""
    inputs = res["inputs"]
    if res["type"] == "azure-native:web:WebApp":
        pairs = inputs["siteConfig"]["appSettings"]
    elif res["type"] == "azure-native:app:ContainerApp":
        pairs = [e for c in inputs["template"]["containers"] for e in c.get("env", [])]
    else:
        pairs = [e for c in inputs["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]
    return {p["name"]: p["value"] for p in pairs}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_app_fic_subject_is_a_user_assigned_principal_id(plans: dict[str, Any], stack: str) -> None:
    plan = plans[stack]
    principals = {r["outputs"]["principalId"] for r in _of_type(plan, UAMI)}
    fics = _of_type(plan, APP_FIC)
    assert fics, "the plan has no federated credential on an app"
    tenant = plan["outputs"]["tenantId"]
    for fic in fics:
        assert fic["inputs"]["subject"] in principals, fic["urn"]
        assert fic["inputs"]["issuer"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
        assert fic["inputs"]["audiences"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_compute_carries_its_identity_client_id(plans: dict[str, Any], stack: str) -> None:
    plan = plans[stack]
    by_id = {r["id"]: r["outputs"] for r in _of_type(plan, UAMI)}
    computes = [
        r
        for r in plan["resources"]
        if r["type"]
        in ("azure-native:web:WebApp", "azure-native:app:ContainerApp", "kubernetes:apps/v1:Deployment")
    ]
    assert computes
    client_ids = {o["clientId"] for o in by_id.values()}
    for compute in computes:
        assert _settings(compute)[MI_CLIENT_ID] in client_ids, compute["urn"]
        if compute["type"] != "kubernetes:apps/v1:Deployment":
            # The setting names the identity actually attached to this compute.
            attached = compute["outputs"]["identity"]["userAssignedIdentities"]
            assert {v["clientId"] for v in attached.values()} == {_settings(compute)[MI_CLIENT_ID]}


def test_prod_aks_pod_template_and_cluster_trust(plans: dict[str, Any]) -> None:
    plan = plans["prod"]
    (deployment,) = _of_type(plan, "kubernetes:apps/v1:Deployment")
    template = deployment["inputs"]["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    sa_name = template["spec"]["serviceAccountName"]
    (sa,) = _of_type(plan, "kubernetes:core/v1:ServiceAccount")
    assert sa["inputs"]["metadata"]["name"] == sa_name
    namespace = sa["inputs"]["metadata"]["namespace"]
    identity = _of_type(plan, UAMI)[0]["outputs"]
    assert (
        sa["inputs"]["metadata"]["annotations"]["azure.workload.identity/client-id"] == identity["clientId"]
    )
    # via-identity: the identity trusts the cluster's issuer for exactly this service account.
    (cluster_fic,) = _of_type(plan, MI_FIC)
    cluster = next(i for i in plan["invokes"] if i["token"].endswith(":getManagedCluster"))
    assert cluster_fic["inputs"]["issuer"] == cluster["result"]["oidcIssuerProfile"]["issuerURL"]
    assert cluster_fic["inputs"]["subject"] == f"system:serviceaccount:{namespace}:{sa_name}"
    assert cluster_fic["inputs"]["resourceName"] == identity["name"]


def test_prod_stack_outputs_match_the_resources(plans: dict[str, Any]) -> None:
    plan = plans["prod"]
    identity = _of_type(plan, UAMI)[0]
    for name, workload in plan["outputs"]["workloads"].items():
        assert workload["identityClientId"] == identity["outputs"]["clientId"], name
        assert workload["identityPrincipalId"] == identity["outputs"]["principalId"], name
        assert workload["identityResourceId"] == identity["id"], name
        assert workload["azureAdEnv"][MI_CLIENT_ID] == identity["outputs"]["clientId"], name


def test_prod_shared_identity_layer_is_protected(plans: dict[str, Any]) -> None:
    plan = plans["prod"]
    for typ in (UAMI, "azuread:index/application:Application", APP_FIC):
        assert all(r["protect"] for r in _of_type(plan, typ)), typ


def test_shipped_stack_plans_are_deterministic(plans: dict[str, Any]) -> None:
    assert dumps(plan_of(REPO, "prod")) == dumps(plans["prod"])


STACKS = Path(__file__).parent / "fixtures" / "stacks"


def _variant(stack: str) -> dict[str, Any]:
    return run_plan(load_stack_config(REPO, None, STACKS / f"Pulumi.{stack}.yaml"))


def test_system_assigned_and_direct_mode_wiring_and_warning() -> None:
    plan = _variant("sysassigned")
    (web,) = _of_type(plan, "azure-native:web:WebApp")
    principal = web["outputs"]["identity"]["principalId"]
    assert web["outputs"]["identity"]["tenantId"] == plan["outputs"]["tenantId"]
    fic_by_subject = {f["inputs"]["subject"]: f for f in _of_type(plan, APP_FIC)}
    assert principal in fic_by_subject  # the app trusts the web app's system-assigned principal
    # direct mode: the app itself trusts the cluster issuer for the service account
    cluster = next(i for i in plan["invokes"] if i["token"].endswith(":getManagedCluster"))
    direct = fic_by_subject["system:serviceaccount:orders:orders-worker"]
    assert direct["inputs"]["issuer"] == cluster["result"]["oidcIssuerProfile"]["issuerURL"]
    assert not _of_type(plan, MI_FIC)
    assert any("system-assigned" in w and "orders-web" in w for w in plan["warnings"])


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("nooidc", "AKS cluster 'aks-nooidc-sys' in resource group 'rg-certless-sys' has no OIDC issuer"),
        (
            "nowi",
            "AKS cluster 'aks-certless-nowi' in resource group 'rg-certless-sys' does not have workload",
        ),
    ],
)
def test_cluster_settings_reach_the_program_checks(stack: str, expected: str) -> None:
    with pytest.raises(UserError) as err:
        _variant(stack)
    assert str(err.value).startswith("the program failed: ")
    assert expected in str(err.value)
