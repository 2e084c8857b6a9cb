"""The workloads' grants: role and app role assignments for their app, AcrPull for their identity.

A stack that references its identity layer records the grants to the shared principals without
declaring them: the owner stack declares them once (docs/access.md, docs/blue-green.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azuread as azuread

from components import (
    AccessGrant,
    AccessGrantArgs,
    AppOutputs,
    AppRoleGrant,
    CertificatelessWorkload,
    IdentityOutputs,
    RoleGrant,
)
from components.access import describe_grants
from components.registry import RegistryPull, acr_pull_grant
from stackconfig import ConfigError, StackConfig, WorkloadSpec
from stackconfig.access import app_role_id
from stackconfig.rules import shown

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph, in every tenant


@dataclass(frozen=True)
class ResolvedApi:
    """An API outside this stack's apps, as Entra knows it: its service principal and app role IDs."""

    object_id: str
    app_role_ids: dict[str, str]


def resolved_apis(config: StackConfig) -> dict[str, ResolvedApi]:
    """Graph and appId APIs, read from Entra before any resource so a role the API lacks stops the run."""
    found: dict[str, ResolvedApi] = {}
    for name, w in config.workloads.items():
        for index, permission in enumerate(w.api_permissions):
            if permission.kind == "app":
                continue
            client_id = GRAPH_APP_ID if permission.kind == "graph" else permission.api.lower()
            if permission.api not in found:
                sp = azuread.get_service_principal(client_id=client_id)
                found[permission.api] = ResolvedApi(sp.object_id, dict(sp.app_role_ids or {}))
            exposed = found[permission.api].app_role_ids
            for i, value in enumerate(permission.app_roles):
                if value not in exposed:
                    raise ConfigError(
                        f"config certless:workloads.{name}.apiPermissions[{index}].appRoles[{i}]: "
                        f"{shown(value)}; expected an application permission that {permission.api} exposes"
                        f" ({', '.join(sorted(exposed)[:8]) or 'it exposes none'}"
                        f"{', ...' if len(exposed) > 8 else ''})"
                    )
    return found


def _referenced_sp(client_id: pulumi.Output[str]) -> pulumi.Output[azuread.GetServicePrincipalResult]:
    return azuread.get_service_principal_output(client_id=client_id)


def declare_access(
    config: StackConfig,
    name: str,
    w: WorkloadSpec,
    *,
    apps: dict[str, AppOutputs],
    apis: dict[str, ResolvedApi],
    workload: CertificatelessWorkload,
) -> pulumi.Output[list[Any]]:
    """The workload's grants: to its app's service principal, and (platform use only) to its identity.

    A stack that references its identity layer shares the app (and a user-assigned identity) with the
    owner stack, which declares their grants: declaring the same assignment twice would fail in Azure,
    and destroying one colour would remove the other's access. It records them without declaring them.
    """
    app = apps[w.app]
    app_principal = app.service_principal_id or _referenced_sp(app.client_id).object_id
    app_roles: list[AppRoleGrant] = []
    for permission in w.api_permissions:
        for value in permission.app_roles:
            if permission.kind != "app":
                api = apis[permission.api]
                role_id: pulumi.Input[str] = api.app_role_ids[value]
                resource: pulumi.Input[str] = api.object_id
            elif (owned := apps[permission.api].service_principal_id) is not None:
                role_id, resource = app_role_id(value), owned
            else:
                sp = _referenced_sp(apps[permission.api].client_id)
                role_id = sp.app_role_ids.apply(functools.partial(_exposed, value=value, api=permission.api))
                resource = sp.object_id
            app_roles.append(AppRoleGrant(permission.api, value, role_id, resource))
    shared_identity = w.identity_type == "UserAssigned"
    groups = [
        ("app", app_principal, [g for g in w.access if g.principal == "app"], app_roles, True),
        (
            "identity",
            workload.identity_principal_id.apply(lambda p: p or ""),
            [g for g in w.access if g.principal == "identity"],
            [],
            shared_identity,
        ),
    ]
    grants: list[pulumi.Output[list[Any]]] = []
    for grantee, principal, roles, approles, shared in groups:
        if not roles and not approles:
            continue
        args = AccessGrantArgs(
            principal_object_id=principal,
            principal=grantee,  # type: ignore[arg-type]
            roles=[RoleGrant(g.role_guid, g.scope, g.role_name) for g in roles],
            app_roles=approles,
            description=f"certless: workload {name} ({'its app' if grantee == 'app' else 'its identity'})",
        )
        if shared and not config.owns_identity_layer:
            pulumi.log.warn(
                f"workload {name}: {len(roles) + len(approles)} grant(s) to the shared {grantee} are declared"
                " by the stack that owns the identity layer, not here; keep its access config the same"
            )
            grants.append(describe_grants(args, declared_by="identity owner"))
        else:
            grants.append(
                AccessGrant(
                    f"{name}-{'access' if grantee == 'app' else 'identity-access'}",
                    args,
                    # Protected like the principal it serves: losing a grant cuts the app off its data.
                    opts=pulumi.ResourceOptions(protect=_protected_principal(config, w, grantee)),
                ).grants
            )
    return pulumi.Output.all(*grants).apply(lambda lists: [g for part in lists for g in part])


def _protected_principal(config: StackConfig, w: WorkloadSpec, grantee: str) -> bool:
    if grantee == "app":
        return w.app in config.apps and config.apps[w.app].protect
    return (
        w.identity is not None and w.identity in config.identities and config.identities[w.identity].protect
    )


def _exposed(ids: Any, *, value: str, api: str) -> str:
    if not isinstance(ids, dict) or value not in ids:
        raise pulumi.RunError(
            f"app {api!r} does not expose app role {value!r}; expected one of its appRoles"
            f" ({', '.join(sorted(ids or {})) or 'none'})"
        )
    return str(ids[value])


def registry_pull(
    config: StackConfig,
    grants: dict[tuple[str, str], pulumi.Resource | None],
    identity_key: str,
    identity: IdentityOutputs,
    registry: RegistryPull,
) -> pulumi.Resource | None:
    """One AcrPull per identity and registry, shared by every workload pulling from it with that identity
    (a second assignment of the same role, principal and scope is refused by Azure).

    A stack referencing its identity layer shares the identity with the owner and the other colour: the
    owner declares the grant (as an ``access`` entry with ``role: AcrPull``), or destroying one colour
    would cut the other off its registry. None: nothing declared here.
    """
    key = (identity_key, registry.resource_id.lower())
    if key in grants:
        return grants[key]
    if not config.owns_identity_layer:
        pulumi.log.warn(
            f"identity {identity_key!r} pulls from {registry.server}: its AcrPull on {registry.resource_id}"
            " is declared by the stack that owns the identity layer, not here (an access entry"
            " {role: AcrPull, scope: <registry id>} on a workload of that stack using the identity)"
        )
        grants[key] = None
    else:
        grants[key] = acr_pull_grant(
            f"{identity_key}-acrpull-{registry.server.split('.')[0]}", identity.principal_id, registry
        )
    return grants[key]
