"""The workloads' delegated permissions: admin consent, for every user, to the scopes their app calls.

Graph's and an appId's scopes were read from Entra before any resource (``grants.resolved_apis``); an
app of this stack exposes its own; a referenced app's scopes are checked when Entra answers for it.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi

from components import AppOutputs
from components.delegated_grant import consent_for_all_users
from components.grants import referenced_service_principal
from program.grants import ResolvedApi
from stackconfig import StackConfig, WorkloadSpec


def declare_delegations(
    config: StackConfig,
    name: str,
    w: WorkloadSpec,
    *,
    apps: dict[str, AppOutputs],
    apis: dict[str, ResolvedApi],
) -> pulumi.Output[list[Any]]:
    """One grant per API. As with app role grants, a stack that references its identity layer records the
    grants its shared app holds without declaring them: the owner stack declares them once."""
    app = apps[w.app]
    client = app.service_principal_id or referenced_service_principal(app.client_id).object_id
    declared_by = "this stack" if config.owns_identity_layer else "identity owner"
    records: list[pulumi.Output[Any]] = []
    for permission in w.delegated_permissions:
        resource: pulumi.Input[str]
        if permission.kind != "app":
            resource = apis[permission.api].object_id
        elif (owned := apps[permission.api].service_principal_id) is not None:
            resource = owned
        else:
            sp = referenced_service_principal(apps[permission.api].client_id)
            resource = pulumi.Output.all(sp.object_id, sp.oauth2_permission_scope_ids).apply(
                functools.partial(_exposes_scopes, scopes=permission.scopes, api=permission.api)
            )
        if config.owns_identity_layer:
            consent_for_all_users(
                f"{name}-consent-{permission.api}",
                client_principal_id=client,
                resource_principal_id=resource,
                scopes=permission.scopes,
                opts=pulumi.ResourceOptions(protect=w.app in config.apps and config.apps[w.app].protect),
            )
        else:
            pulumi.log.warn(
                f"workload {name}: the consent to {permission.api} ({' '.join(permission.scopes)}) for the"
                " shared app is declared by the stack that owns the identity layer, not here; keep its"
                " delegatedPermissions the same"
            )
        record = {"api": permission.api, "scopes": list(permission.scopes), "declaredBy": declared_by}
        records.append(
            pulumi.Output.from_input(resource).apply(functools.partial(_with_resource, record=record))
        )
    return pulumi.Output.all(*records).apply(list)


def _with_resource(resource_id: str, *, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "resourceServicePrincipalId": resource_id}


def _exposes_scopes(values: list[Any], *, scopes: tuple[str, ...], api: str) -> str:
    object_id, ids = values
    missing = [s for s in scopes if not isinstance(ids, dict) or s not in ids]
    if missing:
        raise pulumi.RunError(
            f"app {api!r} does not expose scope {missing[0]!r}; expected one of its api.scopes"
            f" ({', '.join(sorted(ids or {})) or 'none'})"
        )
    return str(object_id)
