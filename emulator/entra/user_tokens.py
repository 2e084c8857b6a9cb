"""Delegated (user) tokens: the access token a signed-in user's client sends to a web API, and what the
on-behalf-of grant trades it for.

Shapes follow Entra's access-token claims reference: a v2 token for an app's exposed API (``aud`` the
API's client ID, ``scp`` the delegated scopes, ``azp`` the client app, ``idtyp`` absent for users), a v1
token for Microsoft first-party resources such as Storage (``iss`` sts.windows.net, ``appid``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from emulator import jws
from emulator.entra.clouds import EntraCloud
from emulator.entra.tokens import Resource, resolve_resource
from emulator.records import Records, User
from emulator.wire_errors import EntraError

__all__ = ["User", "delegated_scopes", "incoming_user", "user_token_claims"]


def delegated_scopes(scope: str, tenant_id: str, records: Records) -> tuple[Resource, list[str]]:
    """``<resource>/<name>`` scopes of one resource (OpenID scopes set aside), resolved to it."""
    wanted = [s for s in scope.split() if s not in ("openid", "profile", "offline_access", "email")]
    if not wanted:
        raise EntraError(70011, f"The provided value for the input parameter 'scope' is not valid: {scope}.")
    resources: list[Resource] = []
    names: list[str] = []
    for item in wanted:
        resource, _, name = item.rpartition("/")
        if not resource or not name:
            raise EntraError(
                70011, f"The provided value for the input parameter 'scope' is not valid: {item}."
            )
        resources.append(resolve_resource(resource, tenant_id, records))
        names.append(name)
    if len({r.aud for r in resources}) != 1:
        raise EntraError(70011, f"The provided value for the input parameter 'scope' is not valid: {scope}.")
    if ".default" in names:
        names = ["user_impersonation"] if resources[0].version == 1 else ["access_as_user"]
    return resources[0], names


def user_token_claims(
    *,
    user: User,
    resource: Resource,
    scopes: list[str],
    client_id: str,
    now: int,
    lifetime: int,
    cloud: EntraCloud,
    roles: Sequence[str] = (),
) -> dict[str, Any]:
    tid = user.tenant_id
    claims: dict[str, Any] = {
        "aud": resource.aud,
        "iss": cloud.v2_issuer(tid) if resource.version == 2 else cloud.v1_issuer(tid),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "name": user.display_name,
        "oid": user.object_id,
        "preferred_username": user.upn,
        "scp": " ".join(scopes),
        "sub": user.pairwise_sub(client_id),
        "tid": tid,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0" if resource.version == 2 else "1.0",
    }
    if resource.version == 2:
        claims.update(azp=client_id, azpacr="2")
    else:
        claims.update(appid=client_id, appidacr="2", upn=user.upn, idp=cloud.v1_issuer(tid))
    if roles:  # app roles assigned to the user on the resource; Entra omits the claim when none
        claims["roles"] = list(roles)
    return claims


def incoming_user(
    token: jws.CompactJws, *, api_client_id: str, api_uris: tuple[str, ...], tenant_id: str
) -> User:
    """The user an on-behalf-of assertion stands for, after Entra's checks on it (signature checked first)."""
    claims = token.claims
    aud = claims.get("aud")
    if aud not in (api_client_id, f"api://{api_client_id}", *api_uris):
        raise EntraError(
            500131,
            "Assertion audience does not match the Client app presenting the assertion. The audience in the "
            f"assertion was '{aud}' and the expected audience is '{api_client_id}' or one of the Application "
            "Id URIs of this application.",
        )
    if claims.get("idtyp") == "app" or not claims.get("scp"):
        # OBO is for user principals only; an app-only or managed-identity token is no user assertion.
        raise EntraError(
            50013,
            "Assertion failed signature validation or contains no user. The on-behalf-of flow needs a "
            "delegated token issued to a user; an application token cannot be exchanged for one.",
        )
    if claims.get("tid") != tenant_id:
        raise EntraError(50013, "Assertion is not valid: it was issued in another tenant.")
    name, oid, upn = claims.get("name"), claims.get("oid"), claims.get("preferred_username")
    return User(
        str(name) if isinstance(name, str) else str(oid),
        tenant_id,
        object_id=str(oid) if isinstance(oid, str) else "",
        upn=str(upn) if isinstance(upn, str) else "",
    )
