"""The simulator's answers, checked against what Azure returns for the same requests."""

from __future__ import annotations

import base64
import re

import pytest
import yaml
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from certless_ops.plan.simulator import Environment, SimulationError, Simulator

ENV = Environment(
    tenant_id="0d2b6f3e-6a3c-4e1e-9d7b-1a2b3c4d5e6f",
    subscription_id="1a2b3c4d-0000-4000-8000-000000000001",
    location="westeurope",
    deployer_client_id="d1",
    deployer_object_id="d2",
)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
URN = "urn:pulumi:dev::certless::certless:index:CertificatelessWorkload$azure-native:web:WebApp::orders-web"


def test_system_and_user_assigned_identity_shapes() -> None:
    sim = Simulator(ENV)
    uami_id = (
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a"
    )
    inputs = {
        "resourceGroupName": "rg",
        "name": "orders",
        "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": [uami_id]},
    }
    rid, out = sim.new_resource(
        MockResourceArgs("azure-native:web:WebApp", "orders-web", inputs, custom=True), urn=URN
    )
    assert (
        rid == f"/subscriptions/{ENV.subscription_id}/resourceGroups/rg/providers/Microsoft.Web/sites/orders"
    )
    identity = out["identity"]
    assert identity["tenantId"] == ENV.tenant_id
    assert identity["principalId"] not in {
        v["principalId"] for v in identity["userAssignedIdentities"].values()
    }
    assert list(identity["userAssignedIdentities"]) == [uami_id]
    assert out["defaultHostName"] == "orders.azurewebsites.net"


def test_existing_identity_answers_match_between_invoke_and_compute() -> None:
    sim = Simulator(ENV)
    found = sim.call(
        MockCallArgs(
            "azure-native:managedidentity:getUserAssignedIdentity",
            {"resourceGroupName": "rg", "resourceName": "a"},
            "",
        )
    )[0]
    inputs = {
        "resourceGroupName": "rg",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": [found["id"]]},
    }
    _, out = sim.new_resource(
        MockResourceArgs("azure-native:app:ContainerApp", "ca", inputs, custom=True), urn=URN
    )
    assert out["identity"]["userAssignedIdentities"][found["id"]] == {
        "clientId": found["clientId"],
        "principalId": found["principalId"],
    }


def test_cluster_settings_follow_the_cluster_name() -> None:
    sim = Simulator(ENV)

    def cluster(name: str) -> dict:
        args = {"resourceGroupName": "rg", "resourceName": name}
        return sim.call(MockCallArgs("azure-native:containerservice:getManagedCluster", args, ""))[0]

    ok = cluster("aks-prod")
    assert ok["oidcIssuerProfile"]["enabled"] is True
    assert ok["oidcIssuerProfile"]["issuerURL"].startswith(
        f"https://westeurope.oic.prod-aks.azure.com/{ENV.tenant_id}/"
    )
    assert ok["oidcIssuerProfile"]["issuerURL"] != cluster("aks-other")["oidcIssuerProfile"]["issuerURL"]
    assert ok["securityProfile"]["workloadIdentity"]["enabled"] is True
    assert cluster("aks-nooidc")["oidcIssuerProfile"] == {"enabled": False}
    # Disabled features are left out, as Azure leaves them out (no issuerURL, no workloadIdentity block).
    assert "workloadIdentity" not in cluster("aks-nowi")["securityProfile"]
    assert ok["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "tenantID": ENV.tenant_id}
    assert "aadProfile" not in cluster("aks-noaad")
    assert cluster("aks-nolocal")["disableLocalAccounts"] is True and ok["disableLocalAccounts"] is False


def _kubeconfig(sim: Simulator, token: str, name: str, **extra: str) -> dict:
    args = {"resourceGroupName": "rg", "resourceName": name, **extra}
    result = sim.call(MockCallArgs(f"azure-native:containerservice:{token}", args, ""))[0]
    (entry,) = result["kubeconfigs"]
    return {"name": entry["name"], **yaml.safe_load(base64.b64decode(entry["value"]))}


def test_an_entra_cluster_user_kubeconfig_execs_kubelogin_devicecode_as_aks_returns_it() -> None:
    config = _kubeconfig(Simulator(ENV), "listManagedClusterUserCredentials", "aks-prod", format="exec")
    assert config["name"] == "clusterUser"
    (user,) = config["users"]
    assert user["name"] == "clusterUser_rg_aks-prod"
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    args = exec_["args"]
    assert args[0] == "get-token"
    flags = dict(zip(args[1::2], args[2::2], strict=True))
    assert flags == {
        "--environment": "AzurePublicCloud",
        "--server-id": "6dae42f8-4368-4678-94ff-3960e28e3630",
        "--client-id": "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
        "--tenant-id": ENV.tenant_id,
        "--login": "devicecode",
    }
    assert config["clusters"][0]["cluster"]["server"].startswith("https://aks-prod-")
    legacy = _kubeconfig(Simulator(ENV), "listManagedClusterUserCredentials", "aks-prod", format="azure")
    assert legacy["users"][0]["user"]["auth-provider"]["name"] == "azure"


def test_local_account_kubeconfigs_carry_a_client_certificate() -> None:
    sim = Simulator(ENV)
    user = _kubeconfig(sim, "listManagedClusterUserCredentials", "aks-noaad")["users"][0]
    admin = _kubeconfig(sim, "listManagedClusterAdminCredentials", "aks-prod")
    assert admin["name"] == "clusterAdmin"
    assert admin["users"][0]["name"] == "clusterAdmin_rg_aks-prod"
    for entry in (user, admin["users"][0]):
        assert "exec" not in entry["user"]
        assert {"client-certificate-data", "client-key-data"} <= set(entry["user"])


def test_admin_credentials_fail_where_local_accounts_are_disabled() -> None:
    with pytest.raises(SimulationError, match="disable local accounts"):
        _kubeconfig(Simulator(ENV), "listManagedClusterAdminCredentials", "aks-nolocal")


def test_unknown_types_and_invokes_are_echoed_and_reported() -> None:
    sim = Simulator(ENV)
    rid, out = sim.new_resource(
        MockResourceArgs("random:index:RandomPet", "pet", {"length": 2}, custom=True), urn=URN
    )
    assert out == {"length": 2, "id": rid}
    result, _ = sim.call(MockCallArgs("azure-native:web:listWebAppSiteContainers", {"name": "x"}, ""))
    assert result == {"name": "x"}
    assert sim.unmodelled_types == {"random:index:RandomPet"}
    assert sim.unmodelled_invokes == {"azure-native:web:listWebAppSiteContainers"}


def test_a_web_app_read_back_carries_no_app_settings_or_connection_strings() -> None:
    # azure-native reads siteConfig back from GET .../config/web, where both are null.
    site_config = {
        "linuxFxVersion": "PYTHON|3.12",
        "minTlsVersion": "1.2",
        "appSettings": [{"name": "AzureAd__ClientId", "value": "x"}],
        "connectionStrings": [{"name": "db", "connectionString": "Server=x", "type": "SQLAzure"}],
    }
    inputs = {"resourceGroupName": "rg", "name": "orders", "siteConfig": site_config}
    _, out = Simulator(ENV).new_resource(
        MockResourceArgs("azure-native:web:WebApp", "orders-web", inputs, custom=True), urn=URN
    )
    assert out["siteConfig"] == {"linuxFxVersion": "PYTHON|3.12", "minTlsVersion": "1.2"}
    assert "appSettings" in inputs["siteConfig"]  # the request itself is left as it was


def test_entra_ids_take_the_azuread_provider_formats() -> None:
    sim = Simulator(ENV)
    app_urn = URN.replace("azure-native:web:WebApp::orders-web", "azuread:index/application:Application::app")
    app_id, app = sim.new_resource(
        MockResourceArgs("azuread:index/application:Application", "app", {"displayName": "a"}, custom=True),
        urn=app_urn,
    )
    assert app_id == f"/applications/{app['objectId']}"
    sp_id, sp = sim.new_resource(
        MockResourceArgs(
            "azuread:index/servicePrincipal:ServicePrincipal",
            "sp",
            {"clientId": app["clientId"]},
            custom=True,
        ),
        urn=app_urn + "-sp",
    )
    # A service principal's ID is its bare object ID.
    assert sp_id == sp["objectId"] and GUID.match(str(sp_id))
    fic_type = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
    fic_id, fic = sim.new_resource(
        MockResourceArgs(fic_type, "fic", {"applicationId": app_id, "displayName": "f"}, custom=True),
        urn=app_urn + "-fic",
    )
    # terraform-provider-azuread's CredentialId: {objectId}/federatedIdentityCredential/{credentialId}.
    assert fic_id == f"{app['objectId']}/federatedIdentityCredential/{fic['credentialId']}"
    assert GUID.match(fic["credentialId"])


def test_the_entra_user_kubeconfig_carries_the_install_hint_aks_writes() -> None:
    # AKS's hint opens with an empty line (a converted kubeconfig keeps it, so kubectl prints it as is).
    config = _kubeconfig(Simulator(ENV), "listManagedClusterUserCredentials", "aks-prod", format="exec")
    assert config["users"][0]["user"]["exec"]["installHint"] == (
        "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
        "To learn more, please go to https://aka.ms/aks/kubelogin\n"
    )


@pytest.mark.parametrize("name", ["aks-noaad-nolocal", "aks-nolocal-noaad"])
def test_a_cluster_without_entra_cannot_have_local_accounts_disabled(name: str) -> None:
    # The API allows disableLocalAccounts only on Entra-integrated (AAD) clusters; no such cluster exists.
    args = {"resourceGroupName": "rg", "resourceName": name}
    with pytest.raises(SimulationError, match=r"disableLocalAccounts.*Entra"):
        Simulator(ENV).call(MockCallArgs("azure-native:containerservice:getManagedCluster", args, ""))
