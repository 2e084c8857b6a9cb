"""IdentityLayer and ReferencedIdentityLayer from typed Args: children, aliases, trusts, the shared export."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from component_fakes import SUBSCRIPTION, install, run

from components import (
    CLOUDS,
    AppRegistrationArgs,
    IdentityLayer,
    IdentityLayerArgs,
    ManagedIdentityArgs,
    PermissionScope,
    ReferencedIdentityLayer,
    ReferencedIdentityLayerArgs,
    WebApi,
)
from components.identity_layer import IdentityTrust, LayerApp, LayerIdentity, PreAuthorizedClient
from components.referenced_identity_layer import AppRef, IdentityRef

TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
LAYER = "certless:identity:IdentityLayer"
APP = "azuread:index/application:Application"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
AT_THE_ROOT = {"name": "", "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": True}
"""Alias(parent=ROOT_STACK_RESOURCE) as the SDK sends it; the engine fills in name, type, stack, project."""
SCOPE = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
)


def layer_args(protect: bool = False) -> IdentityLayerArgs:
    return IdentityLayerArgs(
        tenant_id=TENANT,
        cloud=CLOUDS["AzurePublic"],
        identities={
            "web": LayerIdentity(ManagedIdentityArgs("rg", "id-web", "westeurope"), protect=protect),
        },
        apps={
            # The API is listed first but names its known client: the client must be created first.
            "api": LayerApp(
                AppRegistrationArgs(
                    "certless-api",
                    api=WebApi(scopes=[PermissionScope("Orders.Read", "Read orders", "Read orders", SCOPE)]),
                ),
                known_clients=["spa"],
                pre_authorized=[PreAuthorizedClient("spa", [SCOPE])],
                protect=protect,
            ),
            "spa": LayerApp(AppRegistrationArgs("certless-spa"), protect=protect),
        },
        trusts=[IdentityTrust("api", "web", "uami-web")],
    )


def test_children_are_parented_aliased_to_the_root_and_protected_as_asked() -> None:
    rec, _ = install()

    def program() -> Any:
        layer = IdentityLayer("identity-layer", layer_args(protect=True))
        return {"shared": layer.shared_identity}

    out = run(program)
    layer = rec.one(LAYER)
    assert layer.alias_specs == [] and not layer.protect
    moved = [r for r in rec.registrations if r.parent == layer.urn]
    assert sorted((r.type, r.name) for r in moved) == [
        ("certless:entra:AppRegistration", "api"),
        ("certless:entra:AppRegistration", "spa"),
        ("certless:identity:ManagedIdentity", "web"),
    ]
    for r in moved:
        assert r.alias_specs == [AT_THE_ROOT], r.name  # where every existing stack holds it
        assert r.protect, r.name
    # The FIC stays under its app (protected with it), with no alias of its own: it inherits one.
    fic = rec.one("certless:entra:FederatedCredential")
    assert rec.by_urn(fic.parent).name == "api" and fic.alias_specs == [] and fic.protect
    uami = rec.one(UAMI).outputs
    assert rec.one(APP_FIC).inputs["subject"] == uami["principalId"] != uami["clientId"]
    assert out["shared"]["identities"]["web"]["principalId"] == uami["principalId"]
    assert out["shared"]["apps"]["api"]["scopeIds"] == {"Orders.Read": SCOPE}
    assert "scopeIds" not in out["shared"]["apps"]["spa"]
    assert list(out["shared"]["apps"]) == ["api", "spa"]  # the given order, not the creation order


def test_an_api_names_its_known_clients_client_id_and_pre_authorizes_it() -> None:
    rec, _ = install()
    run(lambda: {"apps": {k: a.client_id for k, a in IdentityLayer("l", layer_args()).apps.items()}})
    apps = {r.name: r for r in rec.of_type(APP)}
    assert apps["api"].inputs["api"]["knownClientApplications"] == [apps["spa"].outputs["clientId"]]
    pre = rec.one("azuread:index/applicationPreAuthorized:ApplicationPreAuthorized")
    assert pre.name == "api-preauthorizes-spa"
    assert pre.inputs["authorizedClientId"] == apps["spa"].outputs["clientId"]


def test_referenced_by_explicit_ids_declares_nothing_and_lowers_nothing_it_was_given() -> None:
    rec, _ = install()
    client, principal = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"

    def program() -> Any:
        layer = ReferencedIdentityLayer(
            "identity-layer",
            ReferencedIdentityLayerArgs(
                tenant_id=TENANT,
                identities={"x": IdentityRef(API_ID, client, principal)},
                apps={"a": AppRef(client, principal)},
            ),
        )
        i = layer.identities["x"]
        return {
            "i": pulumi.Output.all(i.client_id, i.name, i.resource_group_name),
            "a": layer.apps["a"].client_id,
        }

    out = run(program)
    assert [r.type for r in rec.registrations] == ["certless:identity:ReferencedIdentityLayer"]
    assert out == {"i": [client, "id-x", "rg"], "a": client}


@pytest.mark.parametrize("case", ["upper", "lower"])
def test_referenced_through_the_owner_stack_reads_its_shared_identity_at_the_root(case: str) -> None:
    client = "AAAAAAAA-0000-4000-8000-000000000001"
    client = client if case == "upper" else client.lower()
    shared = {
        "tenantId": TENANT,
        "identities": {"x": {"resourceId": API_ID, "clientId": client, "principalId": client}},
        "apps": {"a": {"clientId": client, "objectId": client}},
    }
    rec, _ = install(stack_outputs={"sharedIdentity": shared})

    def program() -> Any:
        layer = ReferencedIdentityLayer(
            "identity-layer",
            ReferencedIdentityLayerArgs(
                tenant_id=TENANT, owner_stack="org/certless/prod", identity_keys=["x"], app_keys=["a"]
            ),
        )
        return {"subject": layer.identities["x"].principal_id, "app": layer.apps["a"].client_id}

    out = run(program)
    ref = rec.one("pulumi:pulumi:StackReference")
    # A read takes no alias: parented anywhere else it would get a new URN in stacks that hold it.
    assert ref.parent.split("::")[2] == "pulumi:pulumi:Stack" and ref.name == "org/certless/prod"
    assert out == {"subject": client.lower(), "app": client.lower()}  # Entra's form, as FIC subjects compare
