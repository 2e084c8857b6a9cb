"""Admin consent to delegated permissions: the app may call an API as any signed-in user."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_azuread as azuread


def consent_for_all_users(
    name: str,
    *,
    client_principal_id: pulumi.Input[str],
    resource_principal_id: pulumi.Input[str],
    scopes: Sequence[str],
    opts: pulumi.ResourceOptions | None = None,
) -> azuread.ServicePrincipalDelegatedPermissionGrant:
    """One grant per client and API (Entra keeps one for all principals): no user is asked to consent.

    Without a user object ID the grant covers every user of the tenant (consent type AllPrincipals).
    """
    return azuread.ServicePrincipalDelegatedPermissionGrant(
        name,
        service_principal_object_id=client_principal_id,
        resource_service_principal_object_id=resource_principal_id,
        claim_values=list(scopes),
        opts=opts,
    )
