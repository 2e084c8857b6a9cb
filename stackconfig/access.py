"""Per-workload downstream access: ``access`` (Azure role assignments) and ``apiPermissions`` (app roles)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from typing import Any, Literal

from policy.rules import roles as role_table

from . import rules as r
from .errors import ConfigError
from .model import ApiPermissionSpec, AppRoleSpec, AppSpec, GrantSpec, WorkloadSpec

# An ARM resource ID: a subscription, optionally a resource group, optionally a (nested) resource in it.
_SCOPE = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"(/resourceGroups/[-\w.()]{1,90}"
    r"(/providers/[A-Za-z][\w.]*(/[A-Za-z][\w.]*/[^/\s]+)+)?)?$",
    re.IGNORECASE,  # ARM IDs are case-insensitive
)
_SCOPE_EXPECTED = (
    "an ARM resource ID: /subscriptions/<guid>[/resourceGroups/<rg>[/providers/<namespace>/<type>/<name>]]"
)
GRAPH = "graph"
# Entra app role values: no spaces, not starting with '.', at most 249 characters.
_APP_ROLE_VALUE = re.compile(r"^[^\s.][^\s]{0,248}$")
_APP_ROLE_NAMESPACE = uuid.UUID("0d6b3f9e-2f7a-4c1e-9b0a-5e8c4d2a7f31")
_PRINCIPALS = ("app", "identity")


def app_role_id(value: str) -> str:
    """A fixed ID per role value: Entra needs a GUID per app role, and the same one on every run."""
    return str(uuid.uuid5(_APP_ROLE_NAMESPACE, value))


def app_roles(key: str, value: Any) -> tuple[AppRoleSpec, ...]:
    """``certless:apps.<key>.appRoles``: a list of role values, or of {value, displayName, description}."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(key, value, "a list of app role values, or of {value, displayName, description}")
    found: list[AppRoleSpec] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        obj = (
            {"value": item}
            if isinstance(item, str)
            else r.fields(item_key, item, ("value", "displayName", "description"), ("value",))
        )
        role_value = r.match(
            r.where(item_key, "value") if not isinstance(item, str) else item_key,
            obj["value"],
            _APP_ROLE_VALUE,
            "an app role value without spaces, not starting with '.', like Orders.Read.All",
        )
        if any(f.value == role_value for f in found):
            raise r.fail(item_key, role_value, "each app role value once")
        display = r.string(r.where(item_key, "displayName"), obj.get("displayName", role_value))
        description = r.string(
            r.where(item_key, "description"), obj.get("description", f"Applications granted {role_value}")
        )
        found.append(AppRoleSpec(role_value, display, description, app_role_id(role_value)))
    return tuple(found)


def grants(key: str, value: Any, kind: str | None = None) -> tuple[GrantSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(key, value, "a list of {role | roleDefinitionId, scope}")
    found: list[GrantSpec] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        obj = r.fields(item_key, item, ("role", "roleDefinitionId", "scope", "principal"), ("scope",))
        grant = _grant(item_key, obj)
        if grant.principal == "identity" and kind == "aks":
            raise r.fail(
                r.where(item_key, "principal"),
                "identity",
                "app on an aks workload (AKS pulls images with the cluster's kubelet identity, which"
                " this program does not manage; grant AcrPull there)",
            )
        for earlier in found:
            if (earlier.role_guid, earlier.scope.lower()) == (grant.role_guid, grant.scope.lower()):
                raise r.fail(
                    item_key,
                    f"{grant.role_name or grant.role_guid} on {grant.scope}"[:80],
                    "each role and scope once per workload (a duplicate grant)",
                )
        found.append(grant)
    return tuple(found)


def _grant(key: str, obj: dict[str, Any]) -> GrantSpec:
    scope = obj["scope"]
    if not isinstance(scope, str) or not (match := _SCOPE.match(scope)):
        raise r.fail(r.where(key, "scope"), str(scope)[:80], _SCOPE_EXPECTED)
    if (obj.get("role") is None) == (obj.get("roleDefinitionId") is None):
        raise ConfigError(f"config {key}: set exactly one of role and roleDefinitionId")
    if obj.get("role") is not None:
        name = r.string(r.where(key, "role"), obj["role"])
        role = role_table.ROLES.get(name)
        if role is None:
            near = role_table.close_matches(name)
            hint = (
                f"a built-in role name (did you mean {', '.join(near)}?)"
                if near
                else ("a built-in role name, or roleDefinitionId: <GUID>")
            )
            raise r.fail(r.where(key, "role"), name[:80], hint)
        guid: str = role.guid
        role_name: str | None = role.name
    else:
        raw = r.string(r.where(key, "roleDefinitionId"), obj["roleDefinitionId"])
        parsed = role_table.definition_guid(raw)
        if parsed is None:
            raise r.fail(
                r.where(key, "roleDefinitionId"),
                raw[:80],
                "a role definition GUID or /subscriptions/<sub>/providers/Microsoft.Authorization/"
                "roleDefinitions/<GUID>",
            )
        known = role_table.BY_GUID.get(parsed)
        guid, role_name = parsed, known.name if known else None
    table_role = role_table.BY_GUID.get(guid)
    # Image pull is done by the platform with the workload's identity, so AcrPull goes there by default.
    default_principal = "identity" if table_role is not None and table_role.identity_side else "app"
    principal: Literal["app", "identity"] = (
        "app"
        if r.one_of(r.where(key, "principal"), obj.get("principal", default_principal), _PRINCIPALS) == "app"
        else "identity"
    )
    return GrantSpec(
        role_name=role_name,
        role_guid=guid,
        scope=scope,
        role_definition_id=role_table.definition_id(match.group("sub"), guid),
        principal=principal,
    )


def api_permissions(
    key: str, value: Any, app_keys: Collection[str] | Mapping[str, object]
) -> tuple[ApiPermissionSpec, ...]:
    """``apps`` maps app keys to their AppSpec when this stack owns them, so their appRoles are checked
    here; roles of a referenced app, Graph or an appId are checked against Entra before any resource."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(key, value, "a list of {api, appRoles}")
    found: list[ApiPermissionSpec] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        obj = r.fields(item_key, item, ("api", "appRoles"), ("api", "appRoles"))
        api = r.string(r.where(item_key, "api"), obj["api"])
        if api != GRAPH and api not in app_keys and not role_table.definition_guid(api) == api.lower():
            raise r.fail(
                r.where(item_key, "api"),
                api[:80],
                "graph, the key of an app in certless:apps ("
                + (", ".join(sorted(app_keys)) or "none configured")
                + "), or an appId GUID",
            )
        app_roles = obj["appRoles"]
        if not isinstance(app_roles, list) or not app_roles:
            raise r.fail(r.where(item_key, "appRoles"), app_roles, "a non-empty list of app role values")
        values = tuple(r.string(f"{item_key}.appRoles[{i}]", v) for i, v in enumerate(app_roles))
        spec = app_keys.get(api) if isinstance(app_keys, Mapping) else None
        if isinstance(spec, AppSpec):
            exposed = [role.value for role in spec.app_roles]
            for i, v in enumerate(values):
                if v not in exposed:
                    raise r.fail(
                        f"{item_key}.appRoles[{i}]",
                        v[:80],
                        f"an app role that app {api} exposes in certless:apps.{api}.appRoles ("
                        + (", ".join(exposed) or "it exposes none")
                        + ")",
                    )
        for v in values:
            if (api, v) in seen:
                raise r.fail(
                    r.where(item_key, "appRoles"), v, f"each app role of {api} once (a duplicate grant)"
                )
            seen.add((api, v))
        kind: Literal["graph", "app", "appId"] = (
            "graph" if api == GRAPH else ("app" if api in app_keys else "appId")
        )
        found.append(ApiPermissionSpec(api=api, kind=kind, app_roles=values))
    return tuple(found)


def check_unique_grants(workloads: Mapping[str, WorkloadSpec]) -> None:
    """Grants go to the app's service principal, which workloads of one app share: each grant once per app.

    Two workloads asking for the same role on the same scope would declare one assignment twice (Azure
    answers 409 RoleAssignmentExists; Graph refuses a second identical app role assignment).
    """
    owner: dict[tuple[str, ...], str] = {}
    for name, w in workloads.items():
        for index, grant in enumerate(w.access):
            grantee = (
                ("app", w.app)
                if grant.principal == "app"
                else ("identity", w.identity or "")
                if w.identity_type == "UserAssigned" and w.identity
                else ("system", name)
            )
            ident = (*grantee, grant.role_guid, grant.scope.lower())
            if ident in owner and owner[ident] != name:
                raise r.fail(
                    f"certless:workloads.{name}.access[{index}]",
                    f"{grant.role_name or grant.role_guid} on {grant.scope}"[:120],
                    f"a grant not already declared by workload {owner[ident]}, which shares its"
                    f" {grantee[0]} {grantee[1]} (the grant goes to that principal; declare it once)",
                )
            owner.setdefault(ident, name)
        for index, permission in enumerate(w.api_permissions):
            for value in permission.app_roles:
                ident = ("approle", w.app, permission.api, value)
                if ident in owner and owner[ident] != name:
                    raise r.fail(
                        f"certless:workloads.{name}.apiPermissions[{index}]",
                        f"{permission.api} {value}"[:120],
                        f"an app role not already granted by workload {owner[ident]}, which shares app"
                        f" {w.app} (the app's service principal holds it; declare it once)",
                    )
                owner.setdefault(ident, name)
