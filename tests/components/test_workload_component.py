"""CertificatelessWorkload used directly: one description builds identity, app, trust and compute."""

from __future__ import annotations

from typing import Any

import pytest
from component_fakes import install, run

from components import (
    CLOUDS,
    AksOptions,
    AppRegistrationArgs,
    AppServiceOptions,
    CertificatelessWorkload,
    CertificatelessWorkloadArgs,
    ContainerAppOptions,
    ManagedIdentity,
    ManagedIdentityArgs,
)

TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def test_one_description_builds_the_whole_chain_as_children() -> None:
    rec, _ = install()

    def program() -> dict[str, Any]:
        w = CertificatelessWorkload(
            "shop",
            CertificatelessWorkloadArgs(
                kind="appservice",
                cloud=CLOUDS["AzureUSGovernment"],
                tenant_id=TENANT,
                app=AppRegistrationArgs("shop-app"),
                identity=ManagedIdentityArgs(resource_group_name="rg", identity_name="id-shop"),
                app_service=AppServiceOptions(
                    resource_group_name="rg", plan_name="plan-shop", app_name="shop-web"
                ),
                identity_trust_name="uami-shop",
            ),
        )
        return {"env": w.azure_ad_env, "settings": w.appsettings_json}

    out = run(program)
    workload_urn = rec.one("certless:index:CertificatelessWorkload").urn
    for t in (
        "certless:identity:ManagedIdentity",
        "certless:entra:AppRegistration",
        "certless:compute:AppServiceBinding",
    ):
        assert rec.one(t).parent == workload_urn, t
    uami = rec.one(UAMI).outputs
    fic = rec.one(APP_FIC).inputs
    assert fic["subject"] == uami["principalId"]
    assert fic["issuer"] == f"https://login.microsoftonline.us/{TENANT}/v2.0"
    assert fic["audiences"] == ["api://AzureADTokenExchangeUSGov"]
    assert out["env"]["AzureAd__Instance"] == "https://login.microsoftonline.us/"
    assert out["env"]["AzureAd__ClientCredentials__0__ManagedIdentityClientId"] == uami["clientId"]
    assert '"ManagedIdentityClientId": "' + uami["clientId"] in out["settings"]


def test_workloads_share_one_identity_component() -> None:
    rec, _ = install()

    def program() -> None:
        shared = ManagedIdentity(
            "shared", ManagedIdentityArgs(resource_group_name="rg", identity_name="id-shared")
        )
        common: dict[str, Any] = {
            "cloud": CLOUDS["AzurePublic"],
            "tenant_id": TENANT,
            "app": AppRegistrationArgs("api-app"),
            "identity": shared.outputs,
        }
        CertificatelessWorkload(
            "api",
            CertificatelessWorkloadArgs(
                kind="containerapp",
                container_app=ContainerAppOptions(
                    resource_group_name="rg",
                    app_name="api",
                    image="mcr.microsoft.com/app:1",
                    environment_name="cae",
                ),
                identity_trust_name="uami-shared",
                **common,
            ),
        )
        CertificatelessWorkload(
            "worker",
            CertificatelessWorkloadArgs(
                kind="aks",
                aks=AksOptions(
                    cluster_resource_group="rg",
                    cluster_name="aks1",
                    namespace="jobs",
                    service_account="worker",
                    deployment_name="worker",
                    image="mcr.microsoft.com/app:1",
                    mode="via-identity",
                    credential_name="aks-aks1-jobs-worker",
                    credentials="azurecli",  # the fake cluster uses Entra ID, as AKS clusters usually do
                ),
                **{**common, "app": AppRegistrationArgs("worker-app")},
                identity_trust_name="uami-shared",
            ),
        )

    run(program)
    assert len(rec.of_type(UAMI)) == 1
    uami = rec.one(UAMI)
    ca = rec.one("azure-native:app:ContainerApp").inputs
    assert ca["identity"]["userAssignedIdentities"] == [
        uami.outputs and ca["identity"]["userAssignedIdentities"][0]
    ]
    (attached,) = ca["identity"]["userAssignedIdentities"]
    assert attached.endswith(
        "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-shared"
    )
    # Each app trusts the shared identity once; the cluster trust sits on the identity.
    assert sorted(r.inputs["subject"] for r in rec.of_type(APP_FIC)) == [uami.outputs["principalId"]] * 2
    mi_fic = rec.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert mi_fic["resourceName"] == "id-shared"


def test_inconsistent_descriptions_are_refused_before_registering() -> None:
    rec, _ = install()
    with pytest.raises(ValueError, match=r"kind 'aks' needs exactly its own options"):
        CertificatelessWorkload(
            "bad",
            CertificatelessWorkloadArgs(
                kind="aks",
                cloud=CLOUDS["AzurePublic"],
                tenant_id=TENANT,
                app=AppRegistrationArgs("x"),
                identity=None,
                app_service=AppServiceOptions(resource_group_name="rg", plan_name="p", app_name="a"),
            ),
        )
    with pytest.raises(ValueError, match=r"system-assigned identity needs system_trust_name"):
        CertificatelessWorkload(
            "bad2",
            CertificatelessWorkloadArgs(
                kind="appservice",
                cloud=CLOUDS["AzurePublic"],
                tenant_id=TENANT,
                app=AppRegistrationArgs("x"),
                identity=None,
                app_service=AppServiceOptions(resource_group_name="rg", plan_name="p", app_name="a"),
            ),
        )
    run(lambda: None)
    assert rec.registrations == []
