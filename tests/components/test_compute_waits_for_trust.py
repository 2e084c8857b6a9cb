"""The compute that carries the AzureAd settings starts only once every FIC of its chain exists.

Without an explicit dependency the engine creates the compute and the FICs in parallel, and the app's
first token exchanges fail (AADSTS70021, no matching federated identity credential) until Entra has the
FIC. Each assertion below reads the `dependencies` of the compute's RegisterResource request, which is
what the engine orders creation by.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from component_fakes import Recorder, Registration, install, run
from main_runner import run_main, shipped

from components import (
    CLOUDS,
    AppRegistrationArgs,
    AppServiceOptions,
    CertificatelessWorkload,
    CertificatelessWorkloadArgs,
    ContainerAppOptions,
    ManagedIdentityArgs,
)
from components.workload import Kind

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
COMPUTE_TYPES = {
    "appservice": "azure-native:web:WebApp",
    "functionapp": "azure-native:web:WebApp",
    "containerapp": "azure-native:app:ContainerApp",
    "aks": "kubernetes:apps/v1:Deployment",
    "vm": "azure-native:compute:VirtualMachineScaleSet",
}
TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"


def _fic_name(reg: Registration) -> str:
    if reg.type == APP_FIC:
        return str(reg.inputs["displayName"])
    return str(reg.inputs["federatedIdentityCredentialResourceName"])


def chain_fics(rec: Recorder, workload: dict[str, Any]) -> list[Registration]:
    """The FIC resources behind a workload's exported federatedCredentials (the chain it needs)."""
    found = []
    for credential in workload["federatedCredentials"]:
        fic_type = APP_FIC if credential["on"] == "app" else MI_FIC
        matches = [
            r
            for r in rec.of_type(fic_type)
            if _fic_name(r) == credential["name"] and r.inputs["subject"] == credential["subject"]
        ]
        assert len(matches) == 1, credential
        found.append(matches[0])
    return found


def compute_of(rec: Recorder, name: str, kind: str) -> Registration:
    return rec.one(COMPUTE_TYPES[kind], name)


def direct(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    w = cfg["certless:workloads"]["orders-worker"]
    w["aks"]["mode"] = "direct"
    del w["identity"]
    return cfg


@pytest.mark.parametrize(
    ("stack", "config"),
    [("dev", shipped("dev")), ("prod", shipped("prod")), ("prod-direct", direct(shipped("prod")))],
)
def test_every_compute_depends_on_each_fic_of_its_chain(stack: str, config: dict[str, Any]) -> None:
    rec, out = run_main(stack.split("-", maxsplit=1)[0], config)
    workloads = out["workloads"]
    assert workloads
    for name, w in workloads.items():
        fics = chain_fics(rec, w)
        assert fics, name
        compute = compute_of(rec, name, w["kind"])
        missing = [f.urn for f in fics if f.urn not in compute.dependencies]
        assert not missing, f"{name}: {compute.type} does not wait for {missing}"


def test_aks_via_identity_waits_for_both_links() -> None:
    rec, out = run_main("prod", shipped("prod"))
    fics = chain_fics(rec, out["workloads"]["orders-worker"])
    # app trusts identity, identity trusts cluster: both are needed for the pod's first exchange.
    assert sorted(f.type for f in fics) == sorted([APP_FIC, MI_FIC])
    deployment = compute_of(rec, "orders-worker", "aks")
    assert {f.urn for f in fics} <= set(deployment.dependencies)


@pytest.mark.parametrize("kind", ["appservice", "containerapp"])
def test_a_workload_that_declares_its_own_trust_waits_for_it(kind: Kind) -> None:
    rec, _ = install()

    def program() -> None:
        common: dict[str, Any] = {
            "cloud": CLOUDS["AzurePublic"],
            "tenant_id": TENANT,
            "app": AppRegistrationArgs("shop-app"),
            "identity": ManagedIdentityArgs(resource_group_name="rg", identity_name="id-shop"),
            "identity_trust_name": "uami-shop",
        }
        if kind == "appservice":
            options: dict[str, Any] = {
                "app_service": AppServiceOptions(
                    resource_group_name="rg", plan_name="plan-shop", app_name="shop-web"
                )
            }
        else:
            options = {
                "container_app": ContainerAppOptions(
                    resource_group_name="rg", app_name="shop-api", image="nginx:1", environment_name="cae"
                )
            }
        CertificatelessWorkload("shop", CertificatelessWorkloadArgs(kind=kind, **common, **options))

    run(program)
    fic = rec.one(APP_FIC)
    compute = compute_of(rec, "shop", kind)
    assert fic.urn in compute.dependencies


def test_system_assigned_trust_follows_the_compute_instead() -> None:
    # Its subject is the compute's own principal: the FIC can only come after the compute (no cycle).
    cfg = copy.deepcopy(shipped("dev"))
    w = cfg["certless:workloads"]["orders-web"]
    w["identityType"] = "SystemAssigned"
    del w["identity"]
    rec, _ = run_main("dev", cfg)
    compute = compute_of(rec, "orders-web", "appservice")
    fic = rec.one(APP_FIC)
    assert fic.urn not in compute.dependencies
    assert compute.urn in fic.dependencies
