"""Per-workload downstream access: ``access`` (Azure role assignments) and ``apiPermissions`` (app roles)."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Literal

from policy.rules import roles as role_table

from . import rules as r
from .errors import ConfigError
from .model import ApiPermissionSpec, GrantSpec

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


def grants(key: str, value: Any) -> tuple[GrantSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(key, value, "a list of {role | roleDefinitionId, scope}")
    found: list[GrantSpec] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        obj = r.fields(item_key, item, ("role", "roleDefinitionId", "scope"), ("scope",))
        grant = _grant(item_key, obj)
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
    return GrantSpec(
        role_name=role_name,
        role_guid=guid,
        scope=scope,
        role_definition_id=role_table.definition_id(match.group("sub"), guid),
    )


def api_permissions(key: str, value: Any, app_keys: Collection[str]) -> tuple[ApiPermissionSpec, ...]:
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
