"""An adopted identity in another subscription: its FICs are written through a provider for its own
subscription (the FIC's address names none), which carries the stack's other azure-native settings."""

from __future__ import annotations

import copy
from typing import Any

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
