"""The user flows of Entra's token endpoint: on-behalf-of (a web API trades its caller's token for one to
a downstream API, for the same user)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emulator import jws
from emulator.entra.app_flows import (
    ASSERTION_SKEW_SECONDS,
    ENTRA_TOKEN_LIFETIME,
    Authenticated,
    parse_assertion,
)
from emulator.entra.user_tokens import delegated_scopes, incoming_user, user_token_claims
from emulator.records import App
from emulator.wire_errors import EntraError

if TYPE_CHECKING:
    from emulator.entra.service import Entra

OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def on_behalf_of(
    entra: Entra, tenant: str, auth: Authenticated, form: Mapping[str, str], log: dict[str, Any]
) -> dict[str, Any]:
    """Trade a user's token to this API for one to a downstream API, for the same user."""
    api = auth.client
    if not isinstance(api, App):
        raise EntraError(50013, "Assertion is not valid: a managed identity cannot act on behalf of a user.")
    if not form.get("assertion"):
        raise EntraError(900144, "The request body must contain the following parameter: 'assertion'.")
    token = parse_assertion(form["assertion"])
    issuer = token.claims.get("iss")
    if entra.issuer_key(str(issuer)) is not entra.signing_key or not jws.verify(
        token, entra.signing_key.public_key, "RS256"
    ):
        raise EntraError(50013, "Assertion failed signature validation.")
    check_user_assertion_time(entra, token.claims)
    user = incoming_user(
        token, api_client_id=api.client_id, api_uris=tuple(api.identifier_uris), tenant_id=tenant
    )
    resource, scopes = delegated_scopes(form["scope"], tenant, entra.directory.records)
    log["user"] = user.name
    now = int(entra.clock.now())
    lifetime = entra.faults.lifetime_for("entra-token") or ENTRA_TOKEN_LIFETIME
    claims = user_token_claims(
        user=user,
        resource=resource,
        scopes=scopes,
        client_id=api.client_id,
        now=now,
        lifetime=lifetime,
        cloud=entra.cloud,
    )
    return {
        "token_type": "Bearer",
        "scope": " ".join(f"{resource.requested.rstrip('/')}/{s}" for s in scopes),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": entra.signing_key.sign(claims),
    }


def check_user_assertion_time(entra: Entra, claims: dict[str, Any]) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or entra.clock.now() > exp + ASSERTION_SKEW_SECONDS:
        raise EntraError(500133, "Assertion is not within its valid time range. The token has expired.")
