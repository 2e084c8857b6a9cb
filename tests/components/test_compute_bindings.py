"""Compute bindings: system-assigned order and warning, existing environments, AKS direct mode, checks."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from component_fakes import SUBSCRIPTION
from main_runner import run_main, shipped

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
CLUSTER = "rg-certless-aks-prod/aks-certless-prod"


def system_assigned(stack: str, workload: str) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped(stack))
    w = cfg["certless:workloads"][workload]
    w["identityType"] = "SystemAssigned"
    del w["identity"]
    return cfg


@pytest.mark.parametrize(
    ("stack", "workload", "compute_type", "kv_identity"),
    [
        ("dev", "orders-web", "azure-native:web:WebApp", "SystemAssigned"),
        ("prod", "orders-api", "azure-native:app:ContainerApp", None),
    ],
)
def test_system_assigned_compute_comes_first_then_the_app_trusts_it(
    stack: str, workload: str, compute_type: str, kv_identity: str | None
) -> None:
    rec, out = run_main(stack, system_assigned(stack, workload))
    compute = rec.one(compute_type)
    assert compute.inputs["identity"] == {"type": "SystemAssigned"}
    if kv_identity is not None:
        assert compute.inputs["keyVaultReferenceIdentity"] == kv_identity
    principal = compute.outputs["identity"]["principalId"]
    trust = next(r for r in rec.of_type(APP_FIC) if r.inputs["subject"] == principal)
    # The subject is the compute's own principal: the FIC waits for the compute resource.
    assert compute.urn in trust.property_dependencies["subject"]
    assert trust.inputs["displayName"].startswith("compute-")
    w = out["workloads"][workload]
    assert w["identityType"] == "SystemAssigned"
    assert w["identityPrincipalId"] == principal
    assert w["identityClientId"] is None
    assert w["identityResourceId"] == compute.outputs.get("id", w["identityResourceId"])
    assert w["identityResourceId"].startswith(f"/subscriptions/{SUBSCRIPTION}/")
    assert "AzureAd__ClientCredentials__0__ManagedIdentityClientId" not in w["azureAdEnv"]
    assert (
        w["azureAdEnv"]["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFromManagedIdentity"
    )
    assert [c["subject"] for c in w["federatedCredentials"]] == [principal]
    assert len(rec.warnings) == 1 and "system-assigned" in rec.warnings[0] and workload in rec.warnings[0]


def test_user_assigned_stacks_log_no_warning() -> None:
    rec, _ = run_main("dev", shipped("dev"))
    assert rec.warnings == []


def test_existing_container_apps_environment_is_used_not_created() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    env_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-platform/providers/"
        "Microsoft.App/managedEnvironments/cae-shared"
    )
    ca = cfg["certless:workloads"]["orders-api"]["containerApp"]
    del ca["environmentName"]
    ca["environmentId"] = env_id
    rec, _ = run_main("prod", cfg)
    assert rec.of_type("azure-native:app:ManagedEnvironment") == []
    assert rec.one("azure-native:app:ContainerApp").inputs["environmentId"] == env_id


def direct(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    w = cfg["certless:workloads"]["orders-worker"]
    w["aks"]["mode"] = "direct"
    del w["identity"]
    return cfg


def test_aks_direct_mode_trusts_the_cluster_on_the_app() -> None:
    rec, out = run_main("prod", direct(shipped("prod")))
    worker = out["workloads"]["orders-worker"]
    issuer = worker["aks"]["oidcIssuerUrl"]
    cluster_trust = next(r for r in rec.of_type(APP_FIC) if r.inputs["issuer"] == issuer)
    assert cluster_trust.inputs["subject"] == "system:serviceaccount:orders:orders-worker"
    assert cluster_trust.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert rec.of_type(MI_FIC) == []  # nothing on the identity in direct mode
    app_client = rec.one("azuread:index/application:Application").outputs["clientId"]
    sa = rec.one("kubernetes:core/v1:ServiceAccount").inputs
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == app_client
    pod = rec.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFilePath"
    assert "AzureAd__ClientCredentials__0__ManagedIdentityClientId" not in env
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert worker["aksMode"] == "direct" and worker["azureAdEnv"] == env
    assert worker["identityClientId"] is None and worker["identityType"] is None
    assert [(c["on"], c["issuer"]) for c in worker["federatedCredentials"]] == [("app", issuer)]
    for r in rec.registrations:
        if r.type.startswith("kubernetes:") and r.custom:
            kubernetes_validate.validate(dict(r.inputs), "1.33.0", strict=True)


def test_aks_namespace_can_be_left_to_the_cluster_admins() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-worker"]["aks"]["createNamespace"] = False
    rec, _ = run_main("prod", cfg)
    assert rec.of_type("kubernetes:core/v1:Namespace") == []
    assert rec.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]["namespace"] == "orders"


@pytest.mark.parametrize(
    ("cluster", "fragment"),
    [
        ({"oidc": False}, "has no OIDC issuer: expected oidcIssuerProfile.enabled=true"),
        ({"workloadIdentity": False}, "does not have workload identity enabled"),
    ],
)
def test_cluster_without_oidc_or_workload_identity_gives_a_clear_error(
    cluster: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(pulumi.RunError, match=fragment) as err:
        run_main("prod", shipped("prod"), clusters={CLUSTER: cluster})
    assert "aks-certless-prod" in str(err.value) and "rg-certless-aks-prod" in str(err.value)


def test_pinned_issuer_must_match_the_cluster() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-worker"]["aks"]["issuerUrl"] = "https://elsewhere.example/issuer/"
    with pytest.raises(
        pulumi.RunError, match=r"but the configuration pins 'https://elsewhere.example/issuer/'"
    ):
        run_main("prod", cfg)


def test_pinned_issuer_without_the_trailing_slash_matches_the_cluster() -> None:
    """AKS issuers end with '/', and a FIC's issuer must equal the token's `iss` exactly."""
    _, out = run_main("prod", shipped("prod"))
    issuer = out["workloads"]["orders-worker"]["aks"]["oidcIssuerUrl"]
    assert issuer.endswith("/")
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-worker"]["aks"]["issuerUrl"] = issuer.rstrip("/")
    rec, _ = run_main("prod", cfg)
    assert [r.inputs["issuer"] for r in rec.of_type(MI_FIC)] == [issuer]


def test_app_settings_and_env_extend_but_never_replace_azuread() -> None:
    cfg = copy.deepcopy(shipped("dev"))
    cfg["certless:workloads"]["orders-web"]["appService"]["appSettings"] = {"FEATURE_X": "on"}
    rec, out = run_main("dev", cfg)
    names = [s["name"] for s in rec.one("azure-native:web:WebApp").inputs["siteConfig"]["appSettings"]]
    assert names[-1] == "FEATURE_X" and names.count("AzureAd__ClientId") == 1
    assert "FEATURE_X" not in json.dumps(out["workloads"]["orders-web"]["azureAdEnv"])


def test_cluster_trusts_from_several_workloads_on_one_identity_are_chained() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    for i in (2, 3):
        clone = copy.deepcopy(cfg["certless:workloads"]["orders-worker"])
        clone["aks"]["namespace"] = f"orders{i}"
        cfg["certless:workloads"][f"worker-{i}"] = clone
    rec, _ = run_main("prod", cfg)
    fics = rec.of_type(MI_FIC)
    assert [f.inputs["subject"] for f in fics] == [
        f"system:serviceaccount:{ns}:orders-worker" for ns in ("orders", "orders2", "orders3")
    ]
    first, second, third = fics
    assert first.urn in second.dependencies and second.urn in third.dependencies
    assert not any(f.urn in first.dependencies for f in fics)
