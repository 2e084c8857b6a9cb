"""Deterministic stand-ins for the identifiers Azure, Entra and Kubernetes would assign."""

from __future__ import annotations

import uuid

# A fixed namespace so every run (and every machine) derives the same GUIDs from the same URN.
_NAMESPACE = uuid.UUID("5b0b8a3e-3c7e-4f5d-9a53-6d1f3c0e2a71")


def guid(*parts: str) -> str:
    """UUIDv5 of the parts, e.g. ``guid(urn, "principalId")``."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def suffix(*parts: str) -> str:
    """Eight hex characters, like the random suffix Pulumi appends when it auto-names a resource."""
    return guid(*parts).replace("-", "")[:8]


def arm_id(subscription: str, resource_group: str, provider_type: str, *names: str) -> str:
    """An Azure Resource Manager ID; `provider_type` is e.g. ``Microsoft.Web/sites``.

    Child resources take one extra type segment per name after the first, already included in
    `provider_type` as ``Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials``.
    """
    namespace, *types = provider_type.split("/")
    if len(types) != len(names):
        raise ValueError(f"{provider_type!r} needs {len(types)} names, got {len(names)}")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}/{path}"
