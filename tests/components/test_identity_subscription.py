"""An adopted identity in another subscription: its FICs are written through a provider for its own
subscription (the FIC's address names none), which carries the stack's other azure-native settings."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped

from stackconfig.provider_config import provider_arguments

STACK_SUB = "aaaaaaaa-1111-4222-8333-444444444444"
OTHER_SUB = "bbbbbbbb-5555-4666-8777-888888888888"
MI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
PROVIDER = "pulumi:providers:azure-native"


def adopted(subscription: str, **native: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:identities"]["shared"] = {
        "resourceId": f"/subscriptions/{subscription}/resourceGroups/rg-identities/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/id-shared",
        "protect": True,
    }
    cfg["azure-native:subscriptionId"] = STACK_SUB
    cfg.update({f"azure-native:{k}": v for k, v in native.items()})
    return cfg


def _explicit(rec: Recorder) -> list[Any]:
    return rec.of_type(PROVIDER)


def test_the_fic_on_an_identity_in_another_subscription_goes_through_its_subscription() -> None:
    rec, _ = run_main(
        "prod", adopted(OTHER_SUB, useOidc="true", clientId="0e9c3d2a-1b4f-4c5d-8e6f-7a8b9c0d1e2f")
    )
    (provider,) = _explicit(rec)
    assert provider.inputs["subscriptionId"] == OTHER_SUB
    # What the stack gives the default provider (here: OIDC login as a client) comes along.
    assert provider.inputs["useOidc"] in (True, "true")
    client_id = provider.inputs["clientId"]  # the SDK sends it as a secret
    assert (client_id.get("value") if isinstance(client_id, dict) else client_id) == (
        "0e9c3d2a-1b4f-4c5d-8e6f-7a8b9c0d1e2f"
    )
    (fic,) = rec.of_type(MI_FIC)  # the identity trusting the AKS cluster (via-identity)
    assert fic.provider.startswith(provider.urn), fic.provider
    # Everything else stays on the default provider (the stack's subscription).
    others = [r for r in rec.registrations if r.custom and r.type != PROVIDER and r is not fic]
    assert others and all(provider.urn not in r.provider for r in others)


def test_an_identity_in_the_stacks_subscription_uses_the_default_provider() -> None:
    rec, _ = run_main("prod", adopted(STACK_SUB))
    assert _explicit(rec) == []
    (fic,) = rec.of_type(MI_FIC)
    assert "subscription-" not in fic.provider


def test_created_identities_need_no_provider_of_their_own() -> None:
    rec, _ = run_main("prod", shipped("prod"))
    assert _explicit(rec) == []


def test_provider_arguments_copy_the_stacks_settings_and_keep_secrets_secret() -> None:
    raw = {
        "azure-native:subscriptionId": STACK_SUB,
        "azure-native:useMsi": "true",
        "azure-native:environment": "usgovernment",
        "azure-native:auxiliaryTenantIds": '["t1","t2"]',
        "azure-native:clientSecret": "not-shown",
        "azure-native:unknownThing": "x",
        "certless:tenantId": "x",
    }
    args = provider_arguments(raw, {"azure-native:clientSecret"})
    assert set(args) == {"use_msi", "environment", "auxiliary_tenant_ids", "client_secret"}
    assert args["use_msi"] is True and args["environment"] == "usgovernment"
    assert args["auxiliary_tenant_ids"] == ["t1", "t2"]
    assert not isinstance(args["client_secret"], str)  # an Output marked secret


def _owner_export(subscription: str) -> dict[str, Any]:
    """The owner's sharedIdentity, its identity living in ``subscription``."""
    _, out = run_main("prod", shipped("prod"))
    export = copy.deepcopy(out["sharedIdentity"])
    identity = export["identities"]["shared"]
    identity["resourceId"] = identity["resourceId"].replace(
        identity["resourceId"].split("/")[2], subscription
    )
    return export


def _referencing(**native: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:identities"], cfg["certless:apps"]
    cfg["certless:identityOwner"] = {"stack": "org/certless/prod"}
    cfg["certless:color"] = "green"
    cfg["azure-native:subscriptionId"] = STACK_SUB
    cfg.update({f"azure-native:{k}": v for k, v in native.items()})
    return cfg


def test_a_referenced_identity_gets_its_fics_through_the_subscription_its_owner_exports() -> None:
    rec, _ = run_main(
        "prod-green",
        _referencing(useOidc="true"),
        stack_outputs={"sharedIdentity": _owner_export(OTHER_SUB)},
    )
    (provider,) = _explicit(rec)
    assert provider.inputs["subscriptionId"] == OTHER_SUB  # read from the owner's resourceId Output
    assert provider.inputs["useOidc"] in (True, "true")
    (fic,) = rec.of_type(MI_FIC)  # the shared identity trusting the green cluster (via-identity)
    assert fic.provider.startswith(provider.urn), fic.provider
    others = [r for r in rec.registrations if r.custom and r.type != PROVIDER and r is not fic]
    assert others and all(provider.urn not in r.provider for r in others)


def test_a_referenced_identity_in_the_stacks_subscription_is_written_there_too() -> None:
    # The subscription is only known as an Output, so the provider is declared either way (no branch on
    # an Output); it then simply names the stack's own subscription.
    rec, _ = run_main(
        "prod-green", _referencing(), stack_outputs={"sharedIdentity": _owner_export(STACK_SUB)}
    )
    (provider,) = _explicit(rec)
    assert provider.inputs["subscriptionId"] == STACK_SUB
    (fic,) = rec.of_type(MI_FIC)
    assert fic.provider.startswith(provider.urn)


def test_an_owner_exporting_a_malformed_identity_id_is_named() -> None:
    export = _owner_export(OTHER_SUB)
    export["identities"]["shared"]["resourceId"] = "id-certless-shared-prod"
    with pytest.raises(Exception) as err:
        run_main("prod-green", _referencing(), stack_outputs={"sharedIdentity": export})
    message = str(err.value)
    assert "sharedIdentity.identities.shared.resourceId = 'id-certless-shared-prod'" in message
    assert "expected /subscriptions/<guid>/resourceGroups/<rg>/providers/" in message
