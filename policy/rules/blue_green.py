"""Blue-green mistakes: a colour stack that owns the shared identity layer, a shared layer left unprotected.

In a blue-green release the identity layer (user-assigned identity, app registration with its service
principal, the app's FIC trusting the identity) is created once by its owner stack and referenced by
every colour stack (``certless:identityOwner``). A colour stack that owns a copy takes it down when the
colour is destroyed; an owner that does not protect the layer loses it to one ``pulumi destroy``.
Policy packs do not see ``retain_on_delete`` (the analyzer protocol does not carry it), so the layer
must be protected with ``protect``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack
from ._props import APP, APP_FIC, IDENTITY, dig, is_entra_issuer, plain, short_type, stack_config

COLOUR_OWNS_LAYER = "certless-bluegreen-colour-owns-identity-layer"
SHARED_LAYER_PROTECTED = "certless-bluegreen-shared-layer-protected"

SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
# Policy config property (both rules) marking the stack that owns the shared layer, in
# policy/config/<owner stack>.json: exempt from the colour rule, bound by the protection rule.
OWNER_PROPERTY = "sharedLayerOwner"
OWNER_SCHEMA = PolicyConfigSchema(
    {
        OWNER_PROPERTY: {
            "type": "boolean",
            "description": "This stack owns the identity layer that colour stacks reference "
            "(set it in policy/config/<owner stack>.json).",
        }
    }
)


def _shared_layer(resources: list[PolicyResource]) -> Iterator[PolicyResource]:
    """The identity layer's resources: identities, apps, their service principals, the apps' FICs
    trusting a user-assigned identity (issuer: Entra itself). FICs trusting a cluster, or the
    system-assigned identity of this stack's own compute, belong to the colour."""
    own_compute = _stack.build(resources).system_principals
    for resource in resources:
        if resource.resource_type in (IDENTITY, APP, SERVICE_PRINCIPAL):
            yield resource
        elif resource.resource_type == APP_FIC:
            props = plain(resource.props)
            issuer, subject = dig(props, "issuer"), dig(props, "subject")
            if isinstance(issuer, str) and is_entra_issuer(issuer) and subject not in own_compute:
                yield resource


def _colour() -> str | None:
    colour: Any = stack_config("color")
    return colour if isinstance(colour, str) and colour.strip() else None


def _label(resource: PolicyResource) -> str:
    return f"{short_type(resource.resource_type)} '{resource.name}'"


# --- certless-bluegreen-colour-owns-identity-layer ----------------------------------------------


def _colour_owns_layer(args: StackValidationArgs, report: ReportViolation) -> None:
    colour = _colour()
    if colour is None or args.get_config().get(OWNER_PROPERTY) is True:
        return
    for resource in _shared_layer(list(args.resources)):
        report(
            f"colour stack (certless:color {colour!r}) owns {_label(resource)} of the shared identity "
            "layer: destroying this colour would delete what the other colour signs in with, and a second "
            "copy of the app's FIC is rejected by Entra. Reference the owner's layer instead "
            "(certless:identityOwner: {stack: org/project/<owner stack>}); "
            f"`./dev duplicate --from <owner stack> --color {colour}` writes it. If this "
            f"stack is the layer's one owner, mark it with {OWNER_PROPERTY}: true in its policy config.",
            resource.urn,
        )


# --- certless-bluegreen-shared-layer-protected --------------------------------------------------


def _layer_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    if args.get_config().get(OWNER_PROPERTY) is not True:
        return
    for resource in _shared_layer(list(args.resources)):
        if resource.opts.protect:
            continue
        report(
            f"{_label(resource)} belongs to the identity layer that colour stacks reference, but it is not "
            "protected: `pulumi destroy` of this stack would delete it and cut every colour off from "
            "Entra. Set protect: true on its entry in certless:identities or certless:apps (the app's "
            "service principal and FICs inherit it).",
            resource.urn,
        )


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name=COLOUR_OWNS_LAYER,
        description=(
            "A colour stack (certless:color set) references the shared identity layer "
            "(certless:identityOwner) instead of owning identities, app registrations or their FICs."
        ),
        validate=_colour_owns_layer,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=OWNER_SCHEMA,
    ),
    StackValidationPolicy(
        name=SHARED_LAYER_PROTECTED,
        description=(
            "The owner of a blue-green shared identity layer protects its identities, app registrations, "
            "service principals and the apps' FICs trusting the identities."
        ),
        validate=_layer_protected,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=OWNER_SCHEMA,
    ),
]
