"""GUIDs as users paste them (upper case) and as an owner stack may export them (numbers, upper case).

Entra compares FIC subjects and issuers case-sensitively and emits IDs in lower case, so every ID that
reaches a FIC or a role assignment must be lower case, and a number must never become "12345.0".
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from main_runner import run_main, shipped

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
TENANT = "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11"
PRINCIPAL = "aaaaaaaa-0000-4000-8000-0000000000b2"
IDENTITY_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-certless-prod/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-certless-shared-prod"
)


def green(owner: dict[str, Any], tenant: str = TENANT) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:identities"], cfg["certless:apps"]
    cfg["certless:identityOwner"] = owner
    cfg["certless:color"] = "green"
    cfg["certless:tenantId"] = tenant
    cfg["certless:workloads"]["orders-worker"]["aks"]["clusterName"] = "aks-certless-prod-green"
    return cfg


def shared_outputs(principal: Any, tenant: str = TENANT) -> dict[str, Any]:
    return {
        "sharedIdentity": {
            "tenantId": tenant,
            "identities": {
                "shared": {
                    "resourceId": IDENTITY_ID,
                    "clientId": PRINCIPAL.replace("b2", "b1"),
                    "principalId": principal,
                }
            },
            "apps": {
                "orders": {
                    "clientId": PRINCIPAL.replace("b2", "c1"),
                    "objectId": PRINCIPAL.replace("b2", "c2"),
                }
            },
        }
    }


def fics(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for w in outputs["workloads"].values() for f in w["federatedCredentials"]]


def test_upper_case_explicit_ids_give_lower_case_fic_subjects_and_issuers() -> None:
    owner = {
        "identities": {
            "shared": {
                "resourceId": IDENTITY_ID,
                "clientId": PRINCIPAL.replace("b2", "b1").upper(),
                "principalId": PRINCIPAL.upper(),
            }
        },
        "apps": {
            "orders": {
                "clientId": PRINCIPAL.replace("b2", "c1").upper(),
                "objectId": PRINCIPAL.replace("b2", "c2").upper(),
            }
        },
    }
    _, out = run_main("prod-green", green(owner, TENANT.upper()))
    app_fics = [f for f in fics(out) if f["subject"] == PRINCIPAL]
    assert app_fics, fics(out)
    for fic in fics(out):
        assert fic["subject"] == fic["subject"].lower(), fic
        assert fic["issuer"] == fic["issuer"].lower() or TENANT in fic["issuer"], fic
        assert TENANT.upper() not in fic["issuer"], fic
    assert any(TENANT in f["issuer"] for f in app_fics)


def test_upper_case_owner_tenant_and_principal_pass_and_come_out_lower_case() -> None:
    _, out = run_main(
        "prod-green",
        green({"stack": "org/certless/prod"}, TENANT.upper()),
        stack_outputs=shared_outputs(PRINCIPAL.upper(), TENANT.upper()),
    )
    subjects = {f["subject"] for f in fics(out)}
    assert PRINCIPAL in subjects and PRINCIPAL.upper() not in subjects


@pytest.mark.parametrize("principal", [12345, 12345.0, True, "12345", ["x"]])
def test_a_non_guid_principal_from_the_owner_stack_is_refused_by_name(principal: Any) -> None:
    with pytest.raises(
        pulumi.RunError, match=r"sharedIdentity\.identities\.shared\.principalId = .*expected a GUID"
    ):
        run_main("prod-green", green({"stack": "org/certless/prod"}), stack_outputs=shared_outputs(principal))
