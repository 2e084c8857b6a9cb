"""Claims of the tokens the emulated Entra issues, shaped as real Entra shapes them.

Microsoft first-party resources (Storage, ARM, Key Vault, Graph, ...) get v1 tokens:
`iss` https://sts.windows.net/{tid}/ and `aud` the resource exactly as requested (Azurite and other
validators check exactly this). The token-exchange audience and apps that ask for v2 get v2 tokens:
`iss` https://login.microsoftonline.com/{tid}/v2.0 and `aud` the resource app's ID (a GUID).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emulator.entra.clouds import PUBLIC, EntraCloud, cloud_named
from emulator.records import App, Records
from emulator.wire_errors import EntraError

# The public cloud's issuers (templates); other clouds: EntraCloud.v1_issuer / v2_issuer.
ENTRA_V2_ISSUER = "https://login.microsoftonline.com/{tid}/v2.0"
ENTRA_V1_ISSUER = "https://sts.windows.net/{tid}/"


@dataclass(frozen=True)
class Resource:
    """What a requested resource resolves to: the audience to stamp and the token version."""

    requested: str
    aud: str
    version: int
    app_id: str


def resolve_resource(resource: str, tenant_id: str, records: Records) -> Resource:
    cloud = cloud_named(records.cloud)
    key = resource.rstrip("/")
    if key in cloud.exchange_audiences:
        # Only this cloud's exchange audience exists here: the public one asked in a sovereign cloud
        # (an app missing TokenExchangeUrl) finds no resource principal, as in that cloud's Entra.
        aud = cloud.token_exchange_app_id or cloud.token_exchange_audience
        return Resource(resource, aud, 2, aud)
    lowered = key.lower()
    if lowered in cloud.first_party:
        return Resource(resource, resource, 1, cloud.first_party[lowered])
    host = lowered.removeprefix("https://")
    # Per-account storage audiences (https://<account>.blob.<suffix>) are Storage too.
    if lowered.startswith("https://") and host.endswith(cloud.storage_hosts()) and "/" not in host:
        return Resource(resource, resource, 1, cloud.first_party["https://storage.azure.com"])
    app = _resource_app(key, records)
    if app is not None and app.tenant_id == tenant_id:
        aud = app.client_id if app.access_token_version == 2 else resource
        return Resource(resource, aud, app.access_token_version, app.client_id)
    raise EntraError(
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant_id}. "
        "This can happen if the application has not been installed by the administrator of the tenant "
        "or consented to by any user in the tenant. You might have sent your authentication request to "
        "the wrong tenant.",
    )


def _resource_app(key: str, records: Records) -> App | None:
    for app in records.apps:
        names = {app.client_id, f"api://{app.client_id}", *(u.rstrip("/") for u in app.identifier_uris)}
        if key in names:
            return app
    return None


def resource_for_scope(scope: str, tenant_id: str, records: Records) -> Resource:
    """Client credentials take one `<resource>/.default` scope. Entra looks the resource up first, so
    IdWeb's old `api://AzureADTokenExchange./default` fails with AADSTS500011, as it did in Azure."""
    scopes = scope.split()
    if len(scopes) != 1:
        raise EntraError(70011, f"The provided value for the input parameter 'scope' is not valid: {scope}.")
    resource, _, name = scopes[0].rpartition("/")
    if not resource or resource.endswith(":/"):  # 'api://x' without a scope part
        resource, name = scopes[0], ""
    found = resolve_resource(resource, tenant_id, records)
    if name != ".default":
        raise EntraError(
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a "
            "scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    return found


def _opaque(n: int) -> str:
    return base64.urlsafe_b64encode(os.urandom(n)).rstrip(b"=").decode("ascii")


def app_token_claims(
    *,
    tenant_id: str,
    resource: Resource,
    client_id: str,
    object_id: str,
    now: int,
    lifetime: int,
    client_auth: str,
    mi_resource_id: str = "",
    roles: Sequence[str] = (),
    cloud: EntraCloud = PUBLIC,
) -> dict[str, Any]:
    """An app-only access token (`idtyp: app`); client_auth is appidacr: 1 secret, 2 cert/assertion."""
    claims: dict[str, Any] = {
        "aud": resource.aud,
        "iss": cloud.v2_issuer(tenant_id) if resource.version == 2 else cloud.v1_issuer(tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "aio": _opaque(48),
        "idtyp": "app",
        "oid": object_id,
        "rh": "0." + _opaque(40) + ".",
        "sub": object_id,
        "tid": tenant_id,
        "uti": _opaque(16),
        "ver": "2.0" if resource.version == 2 else "1.0",
    }
    if resource.version == 2:
        claims["azp"] = client_id
        claims["azpacr"] = client_auth
    else:
        claims["appid"] = client_id
        claims["appidacr"] = client_auth
        claims["idp"] = cloud.v1_issuer(tenant_id)
    if mi_resource_id:
        claims["xms_mirid"] = mi_resource_id
    if roles:  # Entra omits the claim when nothing is assigned
        claims["roles"] = list(roles)
    return claims
