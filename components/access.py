"""AccessGrant: what a principal may do downstream, as Azure role assignments and Entra app role assignments.

The app authenticates as its registration's *service principal*, so the workload's grants go to that
principal. Only what the hosting platform does with the managed identity itself (image pull, Key Vault
references on App Service) is granted to the identity; ``grant_to_identity`` declares one such grant.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization

from policy.rules import roles as role_table

# Fixed namespace: the assignment name is uuid5(scope, role, principal), so re-running the program (or a
# second stack granting the same thing) always lands on the same assignment instead of a duplicate.
_ASSIGNMENT_NAMESPACE = uuid.UUID("4b7d9f0c-8e2a-4c6b-a1d3-7f5e9b2c0a64")
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)

Principal = Literal["app", "identity"]


def assignment_name(scope: str, role_guid: str, principal_id: str) -> str:
    """The role assignment's GUID name; ARM IDs and GUIDs compare case-insensitively, so lower both."""
    return str(
        uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{scope.lower()}|{role_guid.lower()}|{principal_id.lower()}")
    )


def definition_id_for(scope: str, role_guid: str) -> str:
    """``/subscriptions/<sub of scope>/providers/Microsoft.Authorization/roleDefinitions/<guid>``."""
    found = _SUBSCRIPTION.match(scope)
    if found is None:
        raise ValueError(
            f"role assignment scope {scope[:80]!r}: expected an ARM ID under /subscriptions/<id>"
        )
    return role_table.definition_id(found.group(1), role_guid)


def _definition_of(role_guid: str, scope: str) -> str:
    return definition_id_for(scope, role_guid)


def _name_of(role_guid: str, scope_and_principal: list[Any]) -> str:
    return assignment_name(str(scope_and_principal[0]), role_guid, str(scope_and_principal[1]))


@dataclass(frozen=True)
class RoleGrant:
    role_guid: str
    scope: pulumi.Input[str]
    role_name: str | None = None
    """The built-in role's name, for outputs and descriptions; None for a custom role."""
    key: str | None = None
    """Stable part of the child's resource name; needed when ``scope`` is not known as text yet."""
    moved_from: pulumi.Alias | None = None
    """Where an earlier version declared this assignment (name, parent). The existing assignment is kept
    as it is: same URN through the alias, and its generated ``roleAssignmentName`` (create-only) is not
    replaced by the deterministic one, which would fail with 409 RoleAssignmentExists."""

    def child_key(self) -> str:
        if self.key is not None:
            return self.key
        if not isinstance(self.scope, str):
            raise ValueError("RoleGrant: a scope that is an Output needs a key for the child's name")
        digest = hashlib.sha256(f"{self.scope.lower()}|{self.role_guid}".encode()).hexdigest()[:10]
        return f"role-{digest}"


@dataclass(frozen=True)
class AppRoleGrant:
    api: str
    """What the config named: ``graph``, an app key of the stack, or an appId."""
    value: str
    """The app role's value (the ``roles`` claim), e.g. ``User.Read.All``."""
    app_role_id: pulumi.Input[str]
    resource_object_id: pulumi.Input[str]
    """Object ID of the API's service principal (the resource)."""


@dataclass(frozen=True)
class AccessGrantArgs:
    principal_object_id: pulumi.Input[str]
    """Service principal object ID of the grantee: the app's, or the managed identity's principal ID."""
    principal: Principal = "app"
    roles: Sequence[RoleGrant] = ()
    app_roles: Sequence[AppRoleGrant] = ()
    description: str = ""


class AccessGrant(pulumi.ComponentResource):
    """Role assignments (``principalType: ServicePrincipal``) and app role assignments for one principal.

    Output ``grants``: one record per grant (role, definition ID, scope, principal), nothing secret.
    """

    def __init__(self, name: str, args: AccessGrantArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("certless:access:AccessGrant", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        principal = pulumi.Output.from_input(args.principal_object_id)
        records: list[pulumi.Output[dict[str, Any]]] = []
        self.role_assignments: list[authorization.RoleAssignment] = []
        for grant in args.roles:
            scope = pulumi.Output.from_input(grant.scope)
            definition = scope.apply(functools.partial(_definition_of, grant.role_guid))
            assignment = authorization.RoleAssignment(
                f"{name}-{grant.child_key()}",
                principal_id=principal,
                # The SDK defaults to 'User'; a new service principal also needs this to avoid
                # replication-delay failures.
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=definition,
                scope=scope,
                role_assignment_name=pulumi.Output.all(scope, principal).apply(
                    functools.partial(_name_of, grant.role_guid)
                ),
                description=args.description or None,
                opts=child
                if grant.moved_from is None
                else pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(aliases=[grant.moved_from], ignore_changes=["roleAssignmentName"]),
                ),
            )
            self.role_assignments.append(assignment)
            records.append(_role_record(grant, principal, args.principal))
        self.app_role_assignments: list[azuread.AppRoleAssignment] = []
        for app_grant in args.app_roles:
            assigned = azuread.AppRoleAssignment(
                f"{name}-{slug(app_grant.api)}-{slug(app_grant.value)}",
                app_role_id=app_grant.app_role_id,
                principal_object_id=principal,
                resource_object_id=app_grant.resource_object_id,
                opts=child,
            )
            self.app_role_assignments.append(assigned)
            records.append(_app_role_record(app_grant, principal, args.principal))
        self.grants: pulumi.Output[list[dict[str, Any]]] = pulumi.Output.all(*records)
        self.register_outputs({"grants": self.grants})


def _role_record(
    grant: RoleGrant, principal: pulumi.Output[str], grantee: Principal, declared_by: str = "this stack"
) -> pulumi.Output[dict[str, Any]]:
    scope = pulumi.Output.from_input(grant.scope)
    return pulumi.Output.all(scope, principal).apply(
        lambda v: {
            "type": "role",
            "role": grant.role_name,
            "roleDefinitionId": definition_id_for(v[0], grant.role_guid),
            "scope": v[0],
            "principalId": v[1],
            "principalType": "ServicePrincipal",
            "grantee": grantee,
            "declaredBy": declared_by,
        }
    )


def _app_role_record(
    grant: AppRoleGrant, principal: pulumi.Output[str], grantee: Principal, declared_by: str = "this stack"
) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(grant.app_role_id, grant.resource_object_id, principal).apply(
        lambda v: {
            "type": "appRole",
            "api": grant.api,
            "appRole": grant.value,
            "appRoleId": v[0],
            "resourceObjectId": v[1],
            "principalId": v[2],
            "principalType": "ServicePrincipal",
            "grantee": grantee,
            "declaredBy": declared_by,
        }
    )


def describe_grants(args: AccessGrantArgs, declared_by: str) -> pulumi.Output[list[dict[str, Any]]]:
    """The records an AccessGrant would output, for grants another stack declares (nothing registered)."""
    principal = pulumi.Output.from_input(args.principal_object_id)
    records = [_role_record(g, principal, args.principal, declared_by) for g in args.roles]
    records += [_app_role_record(g, principal, args.principal, declared_by) for g in args.app_roles]
    return pulumi.Output.all(*records)


def grant_to_identity(
    name: str,
    identity_principal_id: pulumi.Input[str],
    role: str,
    scope: pulumi.Input[str],
    opts: pulumi.ResourceOptions | None = None,
) -> AccessGrant:
    """One built-in role for a managed identity, for what the platform does with it (AcrPull on a registry).

    ``role`` is a name from the role table; ``scope`` may be an Output (a registry's ID).
    """
    found = role_table.ROLES.get(role)
    if found is None:
        raise ValueError(f"grant_to_identity {name!r}: role {role[:80]!r} is not in the built-in role table")
    return AccessGrant(
        name,
        AccessGrantArgs(
            principal_object_id=identity_principal_id,
            principal="identity",
            roles=[RoleGrant(found.guid, scope, found.name, key=slug(found.name))],
            description=f"certless: {found.name} for the managed identity",
        ),
        opts,
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"
