"""Downstream access: role assignments go to the app's service principal, and grant no more than needed.

The app authenticates as its registration's service principal; a managed identity that only serves as
the app's FIC subject never calls a data plane itself, so a data role granted to it authorizes nothing
(the classic mistake). The identity does act for the platform in a few places, which stay allowed:
image pull (AcrPull), a Function App host's own storage, App Service Key Vault references.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack, roles
from ._props import WEB_TYPES, dig
from .federation import _entra_app_fics

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
FUNCTION_BINDING = "certless:compute:FunctionAppBinding"
ACCESS_GRANT = "certless:access:AccessGrant"

GRANT_ON_FIC_IDENTITY = "certless-grant-on-app-not-fic-identity"
LEAST_PRIVILEGE = "certless-grant-least-privilege"
DUPLICATE_GRANT = "certless-grant-unique"

_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/[^/]+/?$", re.IGNORECASE)
_KEY_VAULT_READ = frozenset(
    roles.ROLES[n].guid for n in ("Key Vault Secrets User", "Key Vault Certificate User", "Key Vault Reader")
)


def _role_guid(node: _stack.Node) -> str | None:
    value = dig(node.props, "roleDefinitionId")
    return roles.definition_guid(value) if isinstance(value, str) else None


def _role_label(guid: str | None) -> str:
    known = roles.BY_GUID.get(guid or "")
    return f"'{known.name}'" if known else f"role {guid or '(unknown)'}"


def _platform_uses(view: _stack.StackView) -> dict[str, set[str]]:
    """principal ID -> what the platform does with that identity: 'functions-host', 'keyvault-references'."""
    by_resource_id = {
        str(i.resource_id).lower(): i.principal_id
        for i in view.identities
        if isinstance(i.resource_id, str) and isinstance(i.principal_id, str)
    }
    uses: dict[str, set[str]] = defaultdict(set)
    for node in view.nodes:
        if node.type not in WEB_TYPES:
            continue
        attached = _stack.attached_identity_ids(node)
        attached = attached if isinstance(attached, set) else set()
        kind = dig(node.props, "kind")
        if isinstance(kind, str) and "functionapp" in kind.lower():
            for rid in attached:
                if rid in by_resource_id:
                    uses[by_resource_id[rid]].add("functions-host")
        kv = dig(node.props, "keyVaultReferenceIdentity")
        if isinstance(kv, str) and kv.lower() in by_resource_id:
            uses[by_resource_id[kv.lower()]].add("keyvault-references")
    return uses


def _platform_grant(node: _stack.Node, guid: str | None, uses: set[str], view: _stack.StackView) -> bool:
    role = roles.BY_GUID.get(guid or "")
    if role is not None and role.identity_side:
        return True  # image pull: done by the platform with the identity
    if guid in _KEY_VAULT_READ and "keyvault-references" in uses:
        return True
    return (
        "functions-host" in uses
        and role is not None
        and role.name.startswith("Storage ")
        and _host_grant(node, view)
    )


def _host_grant(node: _stack.Node, view: _stack.StackView) -> bool:
    """Declared by a Function App binding for its host: directly under it (earlier versions), or by the
    binding's own AccessGrant."""
    parent = view.by_urn.get(node.resource.parent.urn) if node.resource.parent else None
    if parent is not None and parent.type == ACCESS_GRANT and parent.resource.parent is not None:
        parent = view.by_urn.get(parent.resource.parent.urn)
    return parent is not None and parent.type == FUNCTION_BINDING


def _grant_on_fic_identity(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    identities = {i.principal_id: i for i in view.identities if isinstance(i.principal_id, str)}
    subjects = {f.subject: f for f in _entra_app_fics(view) if isinstance(f.subject, str)}
    uses = _platform_uses(view)
    app_principals = {
        str(dig(n.props, "clientId")): dig(n.props, "objectId")
        for n in view.nodes
        if n.type == SERVICE_PRINCIPAL
    }
    clients_by_app = {
        dig(n.props, "id"): dig(n.props, "clientId")
        for n in view.nodes
        if n.type == "azuread:index/application:Application"
    }
    for node in view.nodes:
        if node.type != ROLE_ASSIGNMENT:
            continue
        principal = dig(node.props, "principalId")
        if not isinstance(principal, str) or principal not in subjects:
            continue
        guid = _role_guid(node)
        if _platform_grant(node, guid, uses.get(principal, set()), view):
            continue
        fic = subjects[principal]
        identity = identities.get(principal)
        who = f"identity '{identity.node.name}'" if identity else "the system-assigned identity"
        sp = app_principals.get(str(clients_by_app.get(fic.parent_key)))
        instead = f" ({sp})" if isinstance(sp, str) else ""
        report(
            f"role assignment '{node.name}' grants {_role_label(guid)} to {who} (principal {principal}), "
            f"which only serves as the subject of FIC '{fic.name}': the app authenticates as its "
            f"registration's service principal{instead}, so this grant authorizes nothing and Azure answers "
            "403 AuthorizationPermissionMismatch. Grant the role to the app's service principal.",
            node.urn,
        )


def _least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    for node in view.nodes:
        if node.type != ROLE_ASSIGNMENT:
            continue
        guid = _role_guid(node)
        role = roles.BY_GUID.get(guid or "")
        scope = dig(node.props, "scope")
        reasons: list[str] = []
        if role is not None and role.name in roles.BROAD_ROLES:
            reasons.append(f"'{role.name}' manages resources, and reads no data")
        if isinstance(scope, str) and _SUBSCRIPTION_SCOPE.match(scope):
            reasons.append(f"scope {scope} is a whole subscription")
        # The Functions host's own storage needs Blob Data Owner (Microsoft's documented minimum).
        if (
            role is not None
            and any(a.endswith("*") for a in role.data_actions)
            and not _host_grant(node, view)
        ):
            wild = next(a for a in role.data_actions if a.endswith("*"))
            reasons.append(f"'{role.name}' allows every data action under {wild}")
        if reasons:
            report(
                f"role assignment '{node.name}' is broader than a workload needs: {'; '.join(reasons)}. "
                "Prefer the narrowest data role (e.g. Storage Blob Data Reader/Contributor) on the one "
                "resource it uses.",
                node.urn,
            )


def _key(values: tuple[Any, ...]) -> tuple[str, ...] | None:
    if not all(isinstance(v, str) for v in values):
        return None
    return tuple(str(v).lower() for v in values)


def _unique(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    seen: dict[tuple[str, ...], _stack.Node] = {}
    for node in view.nodes:
        if node.type == ROLE_ASSIGNMENT:
            key = _key((dig(node.props, "principalId"), _role_guid(node), dig(node.props, "scope")))
            what = "role, principal and scope"
            answer = "409 RoleAssignmentExists"
        elif node.type == APP_ROLE_ASSIGNMENT:
            key = _key(
                tuple(dig(node.props, k) for k in ("principalObjectId", "resourceObjectId", "appRoleId"))
            )
            what = "app role, principal and API"
            answer = "400 'Permission being assigned already exists on the object'"
        else:
            continue
        if key is None:
            continue
        key = (node.type, *key)
        if key in seen:
            report(
                f"'{node.name}' repeats the {what} of '{seen[key].name}'; the second write fails "
                f"({answer}). Declare each grant once.",
                node.urn,
            )
        else:
            seen[key] = node


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name=GRANT_ON_FIC_IDENTITY,
        description=(
            "A role assignment does not go to a managed identity that only serves as an app's FIC subject: "
            "the app authenticates as its service principal (image pull, Functions host storage and Key "
            "Vault references are the identity's own and stay allowed)."
        ),
        validate=_grant_on_fic_identity,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name=LEAST_PRIVILEGE,
        description=(
            "Role assignments grant no more than needed: no Owner or Contributor, no subscription scope, "
            "no role with a '*' data action."
        ),
        validate=_least_privilege,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    StackValidationPolicy(
        name=DUPLICATE_GRANT,
        description=(
            "Each role assignment (principal, role, scope) and app role assignment (principal, API, role) "
            "is declared once; Azure and Graph reject the second."
        ),
        validate=_unique,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
