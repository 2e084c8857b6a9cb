"""The real __main__.py under the fake engine, for both shipped stacks: wiring, protection, outputs."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
from component_fakes import SUBSCRIPTION, Recorder, Registration
from main_runner import run_main, shipped

TENANT = "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://AzureADTokenExchange"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
APP = "azuread:index/application:Application"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
Run = tuple[Recorder, dict[str, Any]]
SECRET_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
WORKLOAD_KEYS = {
    "kind", "aksMode", "identityType", "tenantId", "appClientId", "appObjectId", "identityClientId",
    "identityPrincipalId", "identityResourceId", "federatedCredentials", "azureAdEnv", "appsettingsJson",
}  # fmt: skip


@pytest.fixture(scope="module")
def dev() -> tuple[Recorder, dict]:
    return run_main("dev", shipped("dev"))


@pytest.fixture(scope="module")
def prod() -> tuple[Recorder, dict]:
    return run_main("prod", shipped("prod"))


def settings(webapp: Registration) -> dict[str, str]:
    return {s["name"]: s["value"] for s in webapp.inputs["siteConfig"]["appSettings"]}


def test_dev_app_trusts_the_identity_principal_not_its_client_id(dev: Run) -> None:
    rec, _ = dev
    uami = rec.one(UAMI).outputs
    fic = rec.one(APP_FIC).inputs
    assert fic["subject"] == uami["principalId"] != uami["clientId"]
    assert fic["issuer"] == ISSUER
    assert fic["audiences"] == [AUDIENCE]
    assert fic["applicationId"] == f"/applications/{rec.one(APP).outputs['objectId']}"


def test_dev_web_app_runs_as_the_identity_with_azuread_settings(dev: Run) -> None:
    rec, _ = dev
    uami = rec.one(UAMI)
    identity_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-certless-dev/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{uami.inputs['resourceName']}"
    )
    web = rec.one("azure-native:web:WebApp")
    assert web.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert web.inputs["keyVaultReferenceIdentity"] == identity_id
    assert web.inputs["httpsOnly"] is True
    assert web.inputs["siteConfig"]["minTlsVersion"] == "1.2"
    assert web.inputs["siteConfig"]["ftpsState"] == "Disabled"
    assert web.inputs["name"] == "certless-orders-web-dev"
    plan = rec.one("azure-native:web:AppServicePlan")
    assert plan.inputs["kind"] == "linux" and plan.inputs["reserved"] is True
    assert settings(web) == {
        "AzureAd__Instance": "https://login.microsoftonline.com/",
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": rec.one(APP).outputs["clientId"],
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        "AzureAd__ClientCredentials__0__ManagedIdentityClientId": uami.outputs["clientId"],
    }


def test_dev_outputs_follow_the_plan_schema_contract(dev: Run) -> None:
    rec, out = dev
    assert out["tenantId"] == TENANT
    assert out["cloud"] == "AzurePublic"
    assert out["instance"] == "https://login.microsoftonline.com/"
    assert out["tokenExchangeAudience"] == AUDIENCE
    (name, w), *rest = out["workloads"].items()
    assert (name, rest) == ("orders-web", [])
    assert set(w) == WORKLOAD_KEYS | {"access"}  # dev grants its app blob access
    assert [g["role"] for g in w["access"]] == ["Storage Blob Data Contributor"]
    assert w["kind"] == "appservice" and w["aksMode"] is None and w["identityType"] == "UserAssigned"
    uami = rec.one(UAMI).outputs
    assert w["federatedCredentials"] == [
        {
            "name": "uami-web",
            "on": "app",
            "issuer": ISSUER,
            "subject": uami["principalId"],
            "audience": AUDIENCE,
        }
    ]
    assert w["azureAdEnv"] == settings(rec.one("azure-native:web:WebApp"))
    doc = json.loads(w["appsettingsJson"])["AzureAd"]
    assert doc["ClientId"] == w["appClientId"]
    assert doc["ClientCredentials"] == [
        {"SourceType": "SignedAssertionFromManagedIdentity", "ManagedIdentityClientId": uami["clientId"]}
    ]
    assert out["sharedIdentity"]["identities"]["web"]["principalId"] == uami["principalId"]
    assert rec.warnings == []


def test_prod_shares_one_identity_and_protects_the_identity_layer(prod: Run) -> None:
    rec, _ = prod
    assert len(rec.of_type(UAMI)) == 1
    assert len(rec.of_type("certless:identity:ManagedIdentity")) == 1
    protected = {r.type for r in rec.registrations if r.protect}
    assert {UAMI, APP, SP, APP_FIC, "certless:entra:AppRegistration"} <= protected
    assert "azure-native:app:ContainerApp" not in protected
    # One app FIC for the identity, though two workloads use it.
    assert len(rec.of_type(APP_FIC)) == 1


def test_prod_container_app_and_aks_use_the_shared_identity(prod: Run) -> None:
    rec, out = prod
    uami = rec.one(UAMI)
    ca = rec.one("azure-native:app:ContainerApp")
    (identity_id,) = ca.inputs["identity"]["userAssignedIdentities"]
    assert identity_id.endswith("/userAssignedIdentities/id-certless-shared-prod")
    env = {e["name"]: e["value"] for e in ca.inputs["template"]["containers"][0]["env"]}
    assert env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"] == uami.outputs["clientId"]
    assert ca.inputs["configuration"]["ingress"]["targetPort"] == 80
    assert ca.inputs["environmentId"].endswith("/managedEnvironments/cae-certless-prod")

    fic = rec.one(MI_FIC).inputs
    cluster_issuer = out["workloads"]["orders-worker"]["aks"]["oidcIssuerUrl"]
    assert cluster_issuer.startswith("https://westeurope.oic.prod-aks.azure.com/")
    assert fic["issuer"] == cluster_issuer
    assert fic["subject"] == "system:serviceaccount:orders:orders-worker"
    assert fic["resourceName"] == "id-certless-shared-prod"
    assert fic["resourceGroupName"] == "rg-certless-prod"
    assert fic["audiences"] == [AUDIENCE]
    invoked = {token for token, _ in rec.invokes}
    assert "azure-native:containerservice:getManagedCluster" in invoked


def test_prod_kubernetes_objects_are_valid_and_carry_workload_identity(prod: Run) -> None:
    rec, _ = prod
    uami = rec.one(UAMI).outputs
    kinds = {}
    for r in rec.registrations:
        if r.type.startswith("kubernetes:") and r.custom:
            obj = dict(r.inputs)
            kubernetes_validate.validate(obj, "1.33.0", strict=True)
            kinds[obj["kind"]] = obj
            assert r.provider.startswith("urn:pulumi:prod::certless::")  # the cluster's own provider
    assert set(kinds) == {"Namespace", "ServiceAccount", "Deployment"}
    sa = kinds["ServiceAccount"]["metadata"]
    assert sa["annotations"] == {
        "azure.workload.identity/client-id": uami["clientId"],
        "azure.workload.identity/tenant-id": TENANT,
    }
    pod = kinds["Deployment"]["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == sa["name"] == "orders-worker"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFromManagedIdentity"
    assert env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"] == uami["clientId"]


def test_prod_deployment_waits_for_the_cluster_trust(prod: Run) -> None:
    rec, _ = prod
    deployment = rec.one("kubernetes:apps/v1:Deployment")
    assert rec.one(MI_FIC).urn in deployment.dependencies


def test_prod_outputs_hold_both_trust_hops_and_no_secret(prod: Run) -> None:
    rec, out = prod
    worker = out["workloads"]["orders-worker"]
    assert worker["aksMode"] == "via-identity"
    assert [(c["on"], c["subject"]) for c in worker["federatedCredentials"]] == [
        ("app", rec.one(UAMI).outputs["principalId"]),
        ("identity", "system:serviceaccount:orders:orders-worker"),
    ]
    assert worker["aks"]["namespace"] == "orders" and worker["aks"]["serviceAccount"] == "orders-worker"
    text = json.dumps(out)
    assert "fake-user-token" not in text and "kubeconfig" not in text.lower()
    # The cluster credential reaches the kubernetes provider only as a secret.
    kubeconfig = rec.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    assert kubeconfig[SECRET_KEY] == SECRET_SIG
    assert "clusterUser" in kubeconfig["value"]  # decoded from the base64 the AKS API returns
