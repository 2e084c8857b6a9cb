"""The simulator's answers, checked against what Azure returns for the same requests."""

from __future__ import annotations

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from certless_ops.plan.simulator import Environment, Simulator

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
    assert cluster("aks-nowi")["securityProfile"]["workloadIdentity"]["enabled"] is False


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
