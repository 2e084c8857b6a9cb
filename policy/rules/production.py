"""Production stacks keep their identity chain: deleting it breaks every running app at once."""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import APP, APP_FIC, APP_FLEX_FIC, APP_IDENTIFIER_URI, IDENTITY, current_stack, short_type

PROTECTED = "certless-production-protected"

DEFAULT_PRODUCTION_STACKS: Final = ["prod", "production"]
GUARDED_TYPES: Final = (IDENTITY, APP, APP_FIC, APP_FLEX_FIC, APP_IDENTIFIER_URI)
# A workload's grants: removing one cuts the app off from its data just as surely.
ACCESS_GRANT: Final = "certless:access:AccessGrant"
GRANT_TYPES: Final = (
    "azure-native:authorization:RoleAssignment",
    "azuread:index/appRoleAssignment:AppRoleAssignment",
)


def _is_production(config: dict[str, object]) -> bool:
    explicit = config.get("production")
    if isinstance(explicit, bool):
        return explicit
    stacks = config.get("productionStacks") or DEFAULT_PRODUCTION_STACKS
    stack = current_stack()
    return stack is not None and isinstance(stacks, list) and stack in stacks


def _guarded(args: ResourceValidationArgs) -> bool:
    if args.resource_type in GUARDED_TYPES:
        return True
    # Only the grants an AccessGrant declares (its type is in the URN's parent chain).
    return args.resource_type in GRANT_TYPES and f"{ACCESS_GRANT}$" in args.urn


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _guarded(args) or args.opts.protect:
        return
    if _is_production(dict(args.get_config())):
        report(
            f"{short_type(args.resource_type)} '{args.name}' is not protected in a production "
            "stack: a replace or accidental destroy would cut every app using it off from Entra. Set "
            "protect=True (policy packs cannot see retain_on_delete: the analyzer protocol omits it).",
            None,
        )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=PROTECTED,
        description=(
            "In production stacks the user-assigned identities, app registrations, their identifier URIs, "
            "app FICs and the workloads' grants (AccessGrant) are protected (protect=True)."
        ),
        validate=_protected,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "production": {
                    "type": "boolean",
                    "description": "Mark this stack as production (overrides productionStacks).",
                },
                "productionStacks": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Stack names treated as production when 'production' is not set; "
                    "default ['prod', 'production'].",
                },
            }
        ),
    ),
]
