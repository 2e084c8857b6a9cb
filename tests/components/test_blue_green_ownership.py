"""Blue-green: one stack owns the identity layer, the other colour references it and adds only its compute."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from component_fakes import SUBSCRIPTION, Recorder
from main_runner import run_main, shipped

from stackconfig import ConfigError, load

UAMI = "azure-native:managedidentity:UserAssignedIdentity"
APP = "azuread:index/application:Application"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
IDENTITY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-certless-prod/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-certless-shared-prod"
)


def green(owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `certless_ops duplicate` writes: drop the layer, reference the owner, set the colour."""
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:identities"], cfg["certless:apps"]
    cfg["certless:identityOwner"] = owner or {"stack": "org/certless/prod"}
    cfg["certless:color"] = "green"
    cfg["certless:workloads"]["orders-worker"]["aks"]["clusterName"] = "aks-certless-prod-green"
    return cfg


@pytest.fixture(scope="module")
def blue() -> tuple[Recorder, dict[str, Any]]:
    return run_main("prod", shipped("prod"))


@pytest.fixture(scope="module")
def green_run(blue: tuple[Recorder, dict[str, Any]]) -> tuple[Recorder, dict[str, Any]]:
    _, out = blue
    return run_main("prod-green", green(), stack_outputs={"sharedIdentity": out["sharedIdentity"]})


def physical_names(rec: Recorder) -> set[tuple[str, str]]:
    keys = {
        "azure-native:app:ContainerApp": "containerAppName",
        "azure-native:app:ManagedEnvironment": "environmentName",
        MI_FIC: "federatedIdentityCredentialResourceName",
        APP_FIC: "displayName",
    }
    names = {(r.type, r.inputs[keys[r.type]]) for r in rec.registrations if r.type in keys}
    for r in rec.registrations:
        if r.type.startswith("kubernetes:") and r.custom and r.type != "kubernetes:core/v1:Namespace":
            names.add((r.type, r.inputs["metadata"]["name"]))
    return names


def test_owner_exports_what_a_referencing_stack_needs(blue: tuple[Recorder, dict[str, Any]]) -> None:
    rec, out = blue
    uami = rec.one(UAMI).outputs
    app = rec.one(APP).outputs
    assert out["sharedIdentity"] == {
        "tenantId": "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11",
        "identities": {
            "shared": {
                "resourceId": IDENTITY_ID,
                "clientId": uami["clientId"],
                "principalId": uami["principalId"],
                "name": "id-certless-shared-prod",
                "resourceGroupName": "rg-certless-prod",
            }
        },
        "apps": {
            "orders": {
                "clientId": app["clientId"],
                "objectId": app["objectId"],
                # the principal the app runs as, for grants and the emulator of a referencing stack
                "servicePrincipalObjectId": rec.one(SP).outputs["objectId"],
                "appRoleIds": {},
                # what a referencing stack's web apps and APIs are told, and the URIs the app holds
                "signIn": {
                    "web": False,
                    "callbackPath": "",
                    "redirectUris": [],
                    "idTokens": False,
                    "api": False,
                    "requestedAccessTokenVersion": 0,
                    "scopes": [],
                },
            }
        },
    }


def test_green_declares_only_its_compute_and_its_cluster_trust(
    green_run: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, _ = green_run
    ref = rec.one("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == "org/certless/prod"
    for owned in (
        UAMI,
        APP,
        SP,
        APP_FIC,
        "certless:identity:ManagedIdentity",
        "certless:entra:AppRegistration",
    ):
        assert rec.of_type(owned) == [], owned
    fic = rec.one(MI_FIC).inputs
    assert (fic["resourceName"], fic["resourceGroupName"]) == ("id-certless-shared-prod", "rg-certless-prod")
    assert fic["subject"] == "system:serviceaccount:orders:orders-worker-green"
    assert "green" in fic["federatedIdentityCredentialResourceName"]
    # The namespace may be shared with the other colour: a coloured stack does not create it by default.
    assert rec.of_type("kubernetes:core/v1:Namespace") == []


def test_colours_never_share_a_physical_name(
    blue: tuple[Recorder, dict[str, Any]], green_run: tuple[Recorder, dict[str, Any]]
) -> None:
    blue_names, green_names = physical_names(blue[0]), physical_names(green_run[0])
    assert ("azure-native:app:ContainerApp", "orders-api-green") in green_names
    assert ("kubernetes:apps/v1:Deployment", "orders-worker-green") in green_names
    assert ("azure-native:app:ManagedEnvironment", "cae-certless-prod-green") in green_names
    assert blue_names.isdisjoint(green_names)


def test_green_runs_as_the_owners_identity_and_app(
    blue: tuple[Recorder, dict[str, Any]], green_run: tuple[Recorder, dict[str, Any]]
) -> None:
    blue_out, green_out = blue[1]["workloads"], green_run[1]["workloads"]
    for name in ("orders-api", "orders-worker"):
        b, g = blue_out[name], green_out[name]
        for key in (
            "appClientId",
            "appObjectId",
            "identityClientId",
            "identityPrincipalId",
            "identityResourceId",
        ):
            assert g[key] == b[key], (name, key)
        assert g["federatedCredentials"][0] == b["federatedCredentials"][0]  # the owner's app FIC
    ca = green_run[0].one("azure-native:app:ContainerApp")
    assert ca.inputs["identity"]["userAssignedIdentities"] == [IDENTITY_ID]


def test_green_can_reference_by_explicit_ids() -> None:
    owner = {
        "identities": {
            "shared": {
                "resourceId": IDENTITY_ID,
                "clientId": "aaaaaaaa-0000-4000-8000-000000000001",
                "principalId": "aaaaaaaa-0000-4000-8000-000000000002",
            }
        },
        "apps": {
            "orders": {
                "clientId": "aaaaaaaa-0000-4000-8000-000000000003",
                "objectId": "aaaaaaaa-0000-4000-8000-000000000004",
            }
        },
    }
    rec, out = run_main("prod-green", green(owner))
    assert rec.of_type("pulumi:pulumi:StackReference") == []
    assert rec.of_type(UAMI) == [] and rec.of_type(APP) == []
    w = out["workloads"]["orders-api"]
    assert w["identityClientId"] == "aaaaaaaa-0000-4000-8000-000000000001"
    assert w["azureAdEnv"]["AzureAd__ClientId"] == "aaaaaaaa-0000-4000-8000-000000000003"
    assert w["federatedCredentials"][0]["subject"] == "aaaaaaaa-0000-4000-8000-000000000002"
    assert rec.one(MI_FIC).inputs["resourceName"] == "id-certless-shared-prod"


@pytest.mark.parametrize(
    ("outputs", "fragment"),
    [
        ({}, r"stack 'org/certless/prod' has no output 'sharedIdentity'"),
        (
            {
                "sharedIdentity": {
                    "tenantId": "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11",
                    "identities": {},
                    "apps": {},
                }
            },
            r"does not export sharedIdentity\.identities\.shared\.resourceId, .*"
            r"sharedIdentity\.apps\.orders\.objectId;",
        ),
        (
            {"sharedIdentity": {"tenantId": "00000000-0000-4000-8000-000000000000"}},
            r"exports tenant '00000000-0000-4000-8000-000000000000', but certless:tenantId is",
        ),
    ],
)
def test_a_reference_missing_what_is_needed_names_it(outputs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(pulumi.RunError, match=fragment):
        run_main("prod-green", green(), stack_outputs=outputs)


@pytest.mark.parametrize(
    ("owner", "fragment"),
    [
        ({"stack": "not a stack!"}, r"identityOwner\.stack: got 'not a stack!', expected a stack name"),
        ({"stack": "o/p/s", "apps": {}}, r"has stack and explicit IDs"),
        ({"identities": {}}, r"missing stack or apps"),
        ({"apps": {"orders": {"clientId": "x", "objectId": "y"}}}, r"apps\.orders\.clientId: got 'x'"),
        ({"stak": "o/p/s"}, r"identityOwner\.stak: unknown field"),
    ],
)
def test_identity_owner_is_validated(owner: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load(green(owner), set(), "prod-green")


def test_explicit_ids_must_cover_the_workloads() -> None:
    owner = {
        "apps": {
            "orders": {
                "clientId": "aaaaaaaa-0000-4000-8000-000000000003",
                "objectId": "aaaaaaaa-0000-4000-8000-000000000004",
            }
        }
    }
    with pytest.raises(
        ConfigError, match=r"orders-api\.identity: got 'shared', expected one of the configured identities"
    ):
        load(green(owner), set(), "prod-green")


# --- an owner stack that holds only the identity layer ----------------------------------------------


def identity_only_owner() -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:workloads"]
    cfg["certless:apps"]["orders"]["trustIdentities"] = ["shared"]
    return cfg


COMPUTE_TYPES = {"azure-native:web:WebApp", "azure-native:app:ContainerApp", "kubernetes:apps/v1:Deployment"}


def test_an_identity_only_owner_declares_the_layer_and_no_compute() -> None:
    rec, out = run_main("prod-identity", identity_only_owner())
    registered = {r.type for r in rec.registrations}
    assert {UAMI, APP, SP, APP_FIC} <= registered
    assert not registered & (COMPUTE_TYPES | {MI_FIC})
    uami = rec.one(UAMI)
    fic = rec.one(APP_FIC).inputs
    assert fic["subject"] == uami.outputs["principalId"]  # the principal ID, never the client ID
    assert fic["displayName"] == "uami-shared"
    assert out["workloads"] == {}
    assert set(out["sharedIdentity"]["identities"]) == {"shared"}


def test_both_colours_reference_an_identity_only_owner() -> None:
    _, owner = run_main("prod-identity", identity_only_owner())
    for colour in ("blue", "green"):
        cfg = green({"stack": "org/certless/prod-identity"})
        cfg["certless:color"] = colour
        rec, out = run_main(f"prod-{colour}", cfg, stack_outputs={"sharedIdentity": owner["sharedIdentity"]})
        registered = {r.type for r in rec.registrations}
        assert not registered & {UAMI, APP, SP, APP_FIC}  # the layer stays with its owner
        assert {"azure-native:app:ContainerApp", "kubernetes:apps/v1:Deployment"} <= registered
        shared = owner["sharedIdentity"]["identities"]["shared"]
        assert out["workloads"]["orders-api"]["identityClientId"] == shared["clientId"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            lambda cfg: cfg["certless:apps"]["orders"].update(trustIdentities=["nope"]),
            "certless:apps.orders.trustIdentities[0]: got 'nope', expected a key of certless:identities",
        ),
        (
            lambda cfg: cfg["certless:apps"]["orders"].pop("trustIdentities"),
            "certless:workloads: missing required key",
        ),
    ],
)
def test_identity_only_owner_mistakes_are_named(change: Any, fragment: str) -> None:
    cfg = identity_only_owner()
    change(cfg)
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "prod-identity")
    assert fragment in str(err.value)
