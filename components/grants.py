"""A workload's grants, and who declares them: this stack, or the stack that owns the shared principal.

A stack that references its identity layer shares the app (and a user-assigned identity) with the
owner stack, which declares their grants: declaring the same assignment twice would fail in Azure, and
destroying one colour would remove the other's access. Such a stack records them without declaring them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azuread as azuread

from components.access import (
    AccessGrant,
    AccessGrantArgs,
    AppRoleGrant,
    Principal,
    RoleGrant,
    describe_grants,
)
from components.handles import IdentityOutputs
from components.registry import RegistryPull, acr_pull_grant


@dataclass(frozen=True)
class PrincipalGrants:
    """What one principal of a workload is granted."""

    grantee: Principal
    principal_object_id: pulumi.Input[str]
    roles: Sequence[RoleGrant] = ()
    app_roles: Sequence[AppRoleGrant] = ()
    shared: bool = True
    """The principal belongs to the identity layer (the app, a user-assigned identity), not the workload."""
    protect: bool = False
    """Protected like the principal it serves: losing a grant cuts the app off its data."""


def declare_workload_grants(
    workload: str, groups: Sequence[PrincipalGrants], *, owns_identity_layer: bool
) -> pulumi.Output[list[Any]]:
    """The grant records of the ``workloads.<name>.access`` output, declared as an AccessGrant each
    (``<workload>-access`` for the app, ``<workload>-identity-access`` for the identity) unless another
    stack owns the shared principal."""
    grants: list[pulumi.Output[list[Any]]] = []
    for group in groups:
        if not group.roles and not group.app_roles:
            continue
        args = AccessGrantArgs(
            principal_object_id=group.principal_object_id,
            principal=group.grantee,
            roles=group.roles,
            app_roles=group.app_roles,
            description=f"certless: workload {workload} "
            f"({'its app' if group.grantee == 'app' else 'its identity'})",
        )
        if group.shared and not owns_identity_layer:
            pulumi.log.warn(
                f"workload {workload}: {len(group.roles) + len(group.app_roles)} grant(s) to the shared"
                f" {group.grantee} are declared by the stack that owns the identity layer, not here; keep its"
                " access config the same"
            )
            grants.append(describe_grants(args, declared_by="identity owner"))
        else:
            name = f"{workload}-{'access' if group.grantee == 'app' else 'identity-access'}"
            grants.append(AccessGrant(name, args, opts=pulumi.ResourceOptions(protect=group.protect)).grants)
    return pulumi.Output.all(*grants).apply(lambda lists: [g for part in lists for g in part])


def referenced_service_principal(
    client_id: pulumi.Input[str],
) -> pulumi.Output[azuread.GetServicePrincipalResult]:
    """The service principal of an app this stack only references, read from Entra."""
    return azuread.get_service_principal_output(client_id=client_id)


def exposed_app_role(ids: Any, *, value: str, api: str) -> str:
    """The ID of app role ``value`` among an API's ``app_role_ids``; a RunError naming what it exposes."""
    if not isinstance(ids, dict) or value not in ids:
        raise pulumi.RunError(
            f"app {api!r} does not expose app role {value!r}; expected one of its appRoles"
            f" ({', '.join(sorted(ids or {})) or 'none'})"
        )
    return str(ids[value])


class RegistryPulls:
    """One AcrPull per identity and registry, shared by every workload pulling from it with that identity
    (a second assignment of the same role, principal and scope is refused by Azure).

    A stack referencing its identity layer shares the identity with the owner and the other colour: the
    owner declares the grant (as an ``access`` entry with ``role: AcrPull``), or destroying one colour
    would cut the other off its registry.
    """

    def __init__(self, *, owns_identity_layer: bool) -> None:
        self._owns = owns_identity_layer
        self._grants: dict[tuple[str, str], pulumi.Resource | None] = {}

    def grant(
        self, identity_key: str, identity: IdentityOutputs, registry: RegistryPull
    ) -> pulumi.Resource | None:
        """The AcrPull grant the container app waits for; None: another stack declares it."""
        key = (identity_key, registry.resource_id.lower())
        if key in self._grants:
            return self._grants[key]
        if not self._owns:
            pulumi.log.warn(
                f"identity {identity_key!r} pulls from {registry.server}: its AcrPull on"
                f" {registry.resource_id} is declared by the stack that owns the identity layer, not here"
                " (an access entry"
                " {role: AcrPull, scope: <registry id>} on a workload of that stack using the identity)"
            )
            self._grants[key] = None
        else:
            self._grants[key] = acr_pull_grant(
                f"{identity_key}-acrpull-{registry.server.split('.')[0]}", identity.principal_id, registry
            )
        return self._grants[key]
