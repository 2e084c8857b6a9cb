"""AccessGrant for the package: role assignments and app role assignments for one principal."""

from typing import Any, NotRequired, TypedDict

import pulumi

from certless_package.index_type import IndexTyped
from certless_package.types import AppRoleGrantArgs, Grantee, RoleGrantArgs
from components import access as base


class AccessGrantArgs(TypedDict):
    """What one principal may do downstream."""

    principal_object_id: pulumi.Input[str]
    """Object ID of the grantee: the app's service principal, or the managed identity's principal ID."""
    principal: NotRequired[Grantee]
    """Who the grantee is; default app."""
    roles: NotRequired[list[RoleGrantArgs]]
    app_roles: NotRequired[list[AppRoleGrantArgs]]
    description: NotRequired[str]


class AccessGrant(base.AccessGrant, IndexTyped):
    """Azure role assignments (principalType ServicePrincipal) and Entra app role assignments."""

    grants: pulumi.Output[list[dict[str, Any]]]
    """One record per grant (role, definition ID, scope, principal); nothing secret."""

    def __init__(self, name: str, args: AccessGrantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = base.AccessGrantArgs(
            principal_object_id=args["principal_object_id"],
            principal=args.get("principal", Grantee.APP).value,
            roles=[
                base.RoleGrant(r["role_guid"], r["scope"], r.get("role_name"), r.get("key"))
                for r in args.get("roles", ())
            ],
            app_roles=[
                base.AppRoleGrant(g["api"], g["value"], g["app_role_id"], g["resource_object_id"])
                for g in args.get("app_roles", ())
            ],
            description=args.get("description", ""),
        )
        super().__init__(name, spec, opts)
