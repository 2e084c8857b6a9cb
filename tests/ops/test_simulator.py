"""The simulator's answers, checked against what Azure returns for the same requests."""

from __future__ import annotations

import base64

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
