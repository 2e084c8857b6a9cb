"""How every output of certless-ops names a federated identity credential.

By the name Entra (app registrations) or Azure (user-assigned identities) stores, which is the
``credential_name`` the program gives ``FederatedCredential``: what the portal, ``az`` and Graph show,
and what ``workloads.<name>.federatedCredentials[].name`` exports. Never the Pulumi resource name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
IDENTITY_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
FIC_TYPES = frozenset({APP_FIC, IDENTITY_FIC})

# Where each type keeps the stored name: azuread's displayName; azure-native's resource name input
# (its `name` output is the same string).
_NAME_PROPERTY = {APP_FIC: "displayName", IDENTITY_FIC: "federatedIdentityCredentialResourceName"}


def fic_name(
    resource_type: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any], logical_name: str
) -> str:
    """The stored name of a planned FIC resource; its Pulumi name only when the plan lacks one."""
    prop = _NAME_PROPERTY.get(resource_type)
    if prop is None:
        raise ValueError(f"{resource_type!r} is not a federated identity credential type")
    for source in (outputs, inputs):
        value = source.get(prop) or (source.get("name") if resource_type == IDENTITY_FIC else None)
        if isinstance(value, str) and value:
            return value
    return logical_name


def fic_name_of(resource: Mapping[str, Any]) -> str:
    """`fic_name` of a resource of the plan file (certless.plan/v1)."""
    return fic_name(
        str(resource["type"]),
        resource.get("inputs") or {},
        resource.get("outputs") or {},
        str(resource.get("name", "")),
    )


def fic_phrase(name: str) -> str:
    """How a sentence names the FIC: ``FIC 'uami-shared'``."""
    return f"FIC {name!r}"
