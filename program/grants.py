"""The workloads' grants from their config: role and app role assignments for the app, roles for the
identity, and the APIs outside the stack read from Entra first (components/grants.py declares them)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azuread as azuread

from components import AppOutputs, AppRoleGrant, CertificatelessWorkload, RoleGrant
from components.grants import (
    PrincipalGrants,
    declare_workload_grants,
    exposed_app_role,
    referenced_service_principal,
)
from stackconfig import ConfigError, StackConfig, WorkloadSpec
from stackconfig.access import app_role_id
from stackconfig.rules import shown

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph, in every tenant


@dataclass(frozen=True)
class ResolvedApi:
    """An API outside this stack's apps, as Entra knows it: its service principal and app role IDs."""

    object_id: str
    app_role_ids: dict[str, str]
    scope_ids: dict[str, str] = field(default_factory=dict)


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
        for index, delegated in enumerate(w.delegated_permissions):
            if delegated.kind == "app":
                continue
            if delegated.api not in found:
                sp = azuread.get_service_principal(
                    client_id=GRAPH_APP_ID if delegated.kind == "graph" else delegated.api
                )
                found[delegated.api] = ResolvedApi(
                    sp.object_id, dict(sp.app_role_ids or {}), dict(sp.oauth2_permission_scope_ids or {})
                )
            scopes = found[delegated.api].scope_ids
            for i, value in enumerate(delegated.scopes):
                if value not in scopes:
                    raise ConfigError(
                        f"config certless:workloads.{name}.delegatedPermissions[{index}].scopes[{i}]: got"
                        f" {shown(value)}, expected a delegated permission that {delegated.api} exposes"
                        f" ({', '.join(sorted(scopes)[:8]) or 'it exposes none'}"
                        f"{', ...' if len(scopes) > 8 else ''})"
                    )
    return found


def declare_access(
    config: StackConfig,
    name: str,
    w: WorkloadSpec,
    *,
    apps: dict[str, AppOutputs],
    apis: dict[str, ResolvedApi],
    workload: CertificatelessWorkload,
) -> pulumi.Output[list[Any]]:
    """The workload's grants: to its app's service principal, and (platform use only) to its identity."""
    app = apps[w.app]
    app_principal = app.service_principal_id or referenced_service_principal(app.client_id).object_id
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
                sp = referenced_service_principal(apps[permission.api].client_id)
                role_id = sp.app_role_ids.apply(
                    functools.partial(exposed_app_role, value=value, api=permission.api)
                )
                resource = sp.object_id
            app_roles.append(AppRoleGrant(permission.api, value, role_id, resource))
    identity = w.identity
    groups = [
        PrincipalGrants(
            "app",
            app_principal,
            roles=[RoleGrant(g.role_guid, g.scope, g.role_name) for g in w.access if g.principal == "app"],
            app_roles=app_roles,
            protect=w.app in config.apps and config.apps[w.app].protect,
        ),
        PrincipalGrants(
            "identity",
            workload.identity_principal_id.apply(lambda p: p or ""),
            roles=[
                RoleGrant(g.role_guid, g.scope, g.role_name) for g in w.access if g.principal == "identity"
            ],
            shared=w.identity_type == "UserAssigned",  # a system-assigned one is the workload's own
            protect=identity is not None
            and identity in config.identities
            and config.identities[identity].protect,
        ),
    ]
    return declare_workload_grants(name, groups, owns_identity_layer=config.owns_identity_layer)
