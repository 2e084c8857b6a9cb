"""Which tenant a token request goes to: the configured one, or another only when the settings allow it.

Follows azure-identity's ``resolve_tenant``: ``get_token(tenant_id=...)`` (which Azure SDK clients pass
from a service's challenge) is honoured for the configured tenant, for the tenants listed in
``AzureAd:AdditionallyAllowedTenants`` (``*`` for any), and otherwise refused, so that a challenge
cannot move the app's tokens to a tenant nobody chose.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from certless.errors import TenantNotAllowedError

log = logging.getLogger("certless")

# azure-identity's switch: any non-empty value keeps every request on the configured tenant.
DISABLE_MULTITENANT_VAR = "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"


def resolve_tenant(
    configured: str,
    requested: str | None,
    allowed: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
    *,
    organizations: bool = False,
) -> str:
    """The tenant to ask, or TenantNotAllowedError. Tenant IDs and domains compare case-insensitively."""
    if requested is None or requested.lower() == configured.lower():
        return configured
    env = os.environ if environ is None else environ
    if env.get(DISABLE_MULTITENANT_VAR):
        log.info(
            "A token was requested for tenant %s; %s is set, so the configured tenant %s is used",
            requested,
            DISABLE_MULTITENANT_VAR,
            configured,
        )
        return configured
    if "*" in allowed or requested.lower() in (t.lower() for t in allowed):
        log.info("A token was requested for tenant %s (allowed besides %s)", requested, configured)
        return requested
    if organizations and not allowed:
        # As azure-identity: a credential configured for "organizations" with no list may ask any tenant.
        return requested
    raise TenantNotAllowedError(requested, configured)
