"""Pulling a container image from a private Azure Container Registry as a user-assigned identity.

The compute names the registry and the identity (``configuration.registries`` for Container Apps), and the
identity holds ``AcrPull`` on the registry. The role is assigned before the compute exists: the first
revision pulls at creation, and a user-assigned identity's role can exist before the app does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.access import grant_to_identity


@dataclass(frozen=True)
class RegistryPull:
    """A private registry: its login server (``myregistry.azurecr.io``) and its ARM resource ID."""

    server: str
    resource_id: str


def acr_pull_grant(
    name: str,
    principal_id: pulumi.Input[str],
    registry: RegistryPull,
    opts: pulumi.ResourceOptions | None = None,
) -> pulumi.Resource:
    """``AcrPull`` for a managed identity (its principal ID) on the registry, as an AccessGrant: the role
    table, the role definition ID, ``principalType`` and the assignment name (derived from scope, role and
    principal, so a re-run never makes a second assignment Azure would refuse) are decided there."""
    return grant_to_identity(name, principal_id, "AcrPull", registry.resource_id, opts)
