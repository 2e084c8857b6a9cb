"""The user flows of Entra's token endpoint: the authorization code grant (redeeming the sign-in page's
code), the refresh token grant, and on-behalf-of (a web API trades its caller's token for one to a
downstream API, for the same user)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emulator import jws
from emulator.entra import sign_in
from emulator.entra.app_flows import (
    ASSERTION_SKEW_SECONDS,
    ENTRA_TOKEN_LIFETIME,
    Authenticated,
    parse_assertion,
)
from emulator.entra.tokens import resolve_resource
from emulator.entra.user_scopes import granted_scopes, split_scopes
from emulator.entra.user_tokens import delegated_scopes, incoming_user, user_token_claims
from emulator.records import App, User
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
    records = entra.directory.records
    resource, scopes = delegated_scopes(form["scope"], tenant, records)
    if records.app(resource.app_id) is not None:
        # An API of the stack downstream: the calling API needs consent for it, for this user
        # (AADSTS65001 consent_required otherwise, the error OBO callers relay to their clients).
        (grant,) = granted_scopes(form["scope"], tenant=tenant, client=api, user=user, records=records)
        scopes = list(grant.names)
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


# ---- the authorization code flow's token leg and refresh tokens -----------------------------------

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
REFRESH_INACTIVITY = 90 * 24 * 3600  # Entra's refresh tokens end after 90 days without use


def _user_app(auth: Authenticated) -> App:
    if not isinstance(auth.client, App):
        raise EntraError(
            700016,
            f"Application with identifier '{auth.client.client_id}' was not found in the directory: a "
            "managed identity cannot sign users in.",
        )
    return auth.client


def authorization_code(
    entra: Entra, tenant: str, auth: Authenticated, form: Mapping[str, str], log: dict[str, Any]
) -> dict[str, Any]:
    """Redeem a one-time code from the sign-in page for the user's tokens."""
    client = _user_app(auth)
    grant = sign_in.redeem_code(entra, tenant, client, form)
    log["user"] = grant.user.name
    return issue_user_tokens(
        entra,
        tenant=tenant,
        client=client,
        user=grant.user,
        signed_in_scope=grant.request.scope,
        scope=form["scope"],
        session_id=grant.session_id,
        nonce=grant.request.nonce,
        client_info=form.get("client_info") == "1",
    )


def refresh_token(
    entra: Entra, tenant: str, auth: Authenticated, form: Mapping[str, str], log: dict[str, Any]
) -> dict[str, Any]:
    """Trade a refresh token for new tokens (a new refresh token included; the old one stays valid)."""
    client = _user_app(auth)
    value = form.get("refresh_token", "")
    if not value:
        raise EntraError(900144, "The request body must contain the following parameter: 'refresh_token'.")
    state = entra.sign_in
    now = entra.clock.now()
    with state.lock:
        grant = state.refresh.get(_digest(value))
        revoked = state.revoked_before.get(grant.user.object_id, 0.0) if grant else 0.0
    if grant is None:
        raise EntraError(9002313, "Invalid request. Request is malformed or invalid.")
    if grant.tenant != tenant or grant.client_id.lower() != client.client_id.lower():
        raise EntraError(70000, "The refresh token was issued to another client application or tenant.")
    if grant.issued <= revoked:
        raise EntraError(
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
            "might have changed or reset their password, or an administrator revoked their sessions.",
        )
    if now - grant.last_used > REFRESH_INACTIVITY:
        raise EntraError(
            700082,
            f"The refresh token has expired due to inactivity. The token was issued on {_iso(grant.issued)} "
            f"and was inactive for {REFRESH_INACTIVITY // 86400}.00:00:00.",
        )
    with state.lock:
        grant.last_used = now
    log["user"] = grant.user.name
    return issue_user_tokens(
        entra,
        tenant=tenant,
        client=client,
        user=grant.user,
        signed_in_scope=grant.scope,
        scope=form["scope"],
        session_id=grant.session_id,
        nonce=None,
        client_info=form.get("client_info") == "1",
    )


def issue_user_tokens(
    entra: Entra,
    *,
    tenant: str,
    client: App,
    user: User,
    signed_in_scope: str,
    scope: str,
    session_id: str,
    nonce: str | None,
    client_info: bool,
) -> dict[str, Any]:
    """The token response of the user flows: an access token for the one resource of ``scope``, an ID
    token with ``openid``, a refresh token with ``offline_access`` (of this request or the sign-in)."""
    records = entra.directory.records
    oidc, wanted = split_scopes(scope)
    oidc_signed_in, _ = split_scopes(signed_in_scope)
    oidc_all = {s.lower() for s in (*oidc, *oidc_signed_in)}
    now = int(entra.clock.now())
    lifetime = entra.faults.lifetime_for("entra-token") or ENTRA_TOKEN_LIFETIME
    if wanted:
        grants = granted_scopes(scope, tenant=tenant, client=client, user=user, records=records)
        if len(grants) != 1:
            raise EntraError(
                700022,
                "The provided value for the input parameter scope is not valid because it contains more than "
                f"one resource. Scope {scope} is not valid.",
            )
        resource, names, requested = grants[0].resource, list(grants[0].names), list(grants[0].requested)
        if ".default" in (r.rpartition("/")[2] for r in requested):
            prefix = requested[0].rpartition("/")[0]
            requested = [f"{prefix}/{n}" for n in names]
    else:
        # Only OpenID Connect scopes: Entra hands out a Microsoft Graph token for them.
        resource = resolve_resource(f"https://{entra.cloud.graph_host}", tenant, records)
        names = [s for s in ("openid", "profile", "email") if s in oidc_all]
        requested = list(names)
    claims = user_token_claims(
        user=user,
        resource=resource,
        scopes=names,
        client_id=client.client_id,
        now=now,
        lifetime=lifetime,
        cloud=entra.cloud,
        roles=records.roles_for(user.object_id, resource.app_id),
    )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(requested),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": entra.signing_key.sign(claims),
    }
    if "openid" in oidc_all:
        body["id_token"] = entra.signing_key.sign(
            id_token_claims(
                entra,
                tenant,
                client,
                user,
                now=now,
                session_id=session_id,
                nonce=nonce,
                email="email" in oidc_all,
            )
        )
    if "offline_access" in oidc_all:
        token = "1.A" + secrets.token_urlsafe(160)
        entra.sign_in.remember(
            entra.sign_in.refresh,  # type: ignore[arg-type]
            _digest(token),
            sign_in.RefreshGrant(
                tenant, client.client_id, user, session_id, signed_in_scope, entra.clock.now(), now
            ),
        )
        body["refresh_token"] = token
    if client_info:
        info = json.dumps({"uid": user.object_id, "utid": tenant}, separators=(",", ":")).encode("utf-8")
        body["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode("ascii")
    return body


def id_token_claims(
    entra: Entra,
    tenant: str,
    client: App,
    user: User,
    *,
    now: int,
    session_id: str,
    nonce: str | None,
    email: bool,
) -> dict[str, Any]:
    """A v2 ID token for the client app (``aud`` its client ID), as Entra's ID token reference lists."""
    claims: dict[str, Any] = {
        "aud": client.client_id,
        "iss": entra.cloud.v2_issuer(tenant),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.display_name,
        "oid": user.object_id,
        "preferred_username": user.upn,
        "sid": session_id,
        "sub": user.pairwise_sub(client.client_id),
        "tid": tenant,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce  # MSAL compares it with the nonce it sent, exactly
    if email:
        claims["email"] = user.upn
    roles = entra.directory.records.roles_for(user.object_id, client.client_id)
    if roles:
        claims["roles"] = roles
    return claims


def _digest(token: str) -> str:
    # Refresh tokens are kept only as digests, as client secrets are.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
