"""The app flows of Entra's token endpoint: client authentication (secret, certificate, federated
assertion) and the client-credentials grant.

Client assertions are checked in Entra's order: a well-formed JWT, its signature against the issuer's
keys, `exp`/`nbf` (with a small skew allowance), the client found by `client_id`, then (iss, sub, aud)
matched exactly and case-sensitively against that client's federated identity credentials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import jws
from emulator.entra.clouds import PUBLIC, EntraCloud
from emulator.entra.tokens import app_token_claims, resource_for_scope
from emulator.records import App, FederatedCredential, Identity
from emulator.wire_errors import EntraError

if TYPE_CHECKING:
    from emulator.entra.service import Entra

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ENTRA_TOKEN_LIFETIME = 3599
ASSERTION_SKEW_SECONDS = 300
_CERT_ALGORITHMS = ("RS256", "PS256")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def audience_matches(
    fic_audiences: tuple[str, ...], token_aud: list[str], cloud: EntraCloud = PUBLIC
) -> bool:
    """Entra treats api://AzureADTokenExchange and the token-exchange app's GUID as one audience."""
    exchange = cloud.exchange_audiences
    for expected in fic_audiences:
        if expected in token_aud:
            return True
        if expected in exchange and exchange & set(token_aud):
            return True
    return False


@dataclass
class Authenticated:
    client: App | Identity
    client_auth: str  # appidacr / azpacr: "1" secret, "2" certificate or assertion
    via: str  # "federated" | "certificate" | "secret"


def authenticate(entra: Entra, tenant: str, segment: str, form: Mapping[str, str]) -> Authenticated:
    """The calling client, from its assertion or secret, as the token endpoint checks it for every grant."""
    if form.get("client_assertion"):
        if form.get("client_assertion_type") != JWT_BEARER:
            raise EntraError(
                900144,
                "The request body must contain the following parameter: 'client_assertion_type' "
                f"with the value '{JWT_BEARER}'.",
            )
        return authenticate_assertion(entra, tenant, segment, form["client_id"], form["client_assertion"])
    if form.get("client_secret"):
        return authenticate_secret(entra, tenant, form["client_id"], form["client_secret"])
    raise EntraError(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )


def client_credentials(
    entra: Entra, tenant: str, auth: Authenticated, form: Mapping[str, str]
) -> dict[str, Any]:
    """An app-only token for the scope's resource, with the app roles assigned to the client on it."""
    resource = resource_for_scope(form["scope"], tenant, entra.directory.records)
    now = int(entra.clock.now())
    lifetime = entra.faults.lifetime_for("entra-token") or ENTRA_TOKEN_LIFETIME
    client = auth.client
    if isinstance(client, App):
        client_id, object_id, mirid = client.client_id, client.service_principal_id, ""
    else:
        client_id, object_id, mirid = client.client_id, client.principal_id, client.resource_id
    claims = app_token_claims(
        tenant_id=tenant,
        resource=resource,
        client_id=client_id,
        object_id=object_id,
        now=now,
        lifetime=lifetime,
        client_auth=auth.client_auth,
        mi_resource_id=mirid,
        cloud=entra.cloud,
        roles=entra.directory.records.roles_for(object_id, resource.app_id),
    )
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": entra.signing_key.sign(claims),
    }


def find_client(entra: Entra, tenant: str, client_id: str) -> App | Identity:
    client = entra.directory.client(client_id)
    if client is None or client.tenant_id != tenant:
        raise EntraError(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This "
            "can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to "
            "the wrong tenant.",
        )
    return client


def authenticate_secret(entra: Entra, tenant: str, client_id: str, secret: str) -> Authenticated:
    client = find_client(entra, tenant, client_id)
    if not isinstance(client, App) or not client.secret_matches(secret):
        raise EntraError(
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    return Authenticated(client, "1", "secret")


def authenticate_assertion(
    entra: Entra, tenant: str, segment: str, client_id: str, assertion: str
) -> Authenticated:
    token = parse_assertion(assertion)
    claims = token.claims
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str):
        raise EntraError(50027, "JWT token is invalid or malformed: the 'iss' and 'sub' claims are required.")
    if iss == sub == client_id:
        return _certificate_assertion(
            entra,
            tenant=tenant,
            segment=segment,
            client_id=client_id,
            token=token,
        )

    key = entra.issuer_key(iss)
    if key is not None:
        _verify_signature(token, key.public_key, ("RS256",), key.kid)
        check_time(entra, claims)
    client = find_client(entra, tenant, client_id)
    if not client.federated_credentials:
        raise EntraError(
            70025,
            f"The client '{client_id}'({_display(client)}) has no configured federated identity credentials.",
        )
    token_aud = _audiences(claims)
    visible = entra.directory.visible_fics(client, entra.faults.fic_propagation_seconds)
    match = next((f for f in visible if _fic_matches(f, iss, sub, token_aud, entra.cloud)), None)
    if match is None:
        raise EntraError(
            70021,
            "No matching federated identity record found for presented assertion. "
            f"Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. "
            f"Assertion Audience: '{','.join(token_aud)}'. "
            "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        )
    if key is None:
        raise EntraError(
            90061,
            f"Request to External OIDC endpoint failed. The issuer '{iss}' could not be reached to fetch "
            "its signing keys.",
        )
    return Authenticated(client, "2", "federated")


def _certificate_assertion(
    entra: Entra,
    *,
    tenant: str,
    segment: str,
    client_id: str,
    token: jws.CompactJws,
) -> Authenticated:
    header, claims = token.header, token.claims
    client = find_client(entra, tenant, client_id)
    thumb = str(header.get("x5t#S256") or header.get("x5t") or "")
    # Clients differ in padding and alphabet (azure-identity pads); compare the bare base64url value.
    wanted = thumb.rstrip("=").replace("+", "-").replace("/", "_")
    cert = None
    if isinstance(client, App) and wanted:
        cert = next((c for c in client.certificates if wanted in (c.x5t, c.x5t_s256)), None)
    if cert is None:
        raise EntraError(
            700027,
            "Client assertion failed signature validation. [Reason - The key was not found., "
            f"Thumbprint of key used by client: '{thumb}'. Please visit the Azure Portal, Graph Explorer "
            "or directly use MS Graph to see configured keys for app Id "
            f"'{client_id}'.]",
        )
    _verify_signature(token, cert.public_key, _CERT_ALGORITHMS, None)
    check_time(entra, claims)
    accepted = {
        f"{entra.base_url}/{segment}/oauth2/v2.0/token",
        f"{entra.base_url}/{tenant}/oauth2/v2.0/token",
        f"https://{entra.cloud.login_host}/{tenant}/oauth2/v2.0/token",
        entra.cloud.v2_issuer(tenant),
    }
    token_aud = _audiences(claims)
    if not accepted & set(token_aud):
        raise EntraError(
            700023,
            f"Client assertion audience claim does not match Realm issuer. Review the documentation at "
            f"https://learn.microsoft.com/entra/identity-platform/certificate-credentials . "
            f"Assertion audience: '{','.join(token_aud)}'.",
        )
    return Authenticated(client, "2", "certificate")


def check_time(entra: Entra, claims: dict[str, Any]) -> None:
    now = entra.clock.now()
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
        raise EntraError(50027, "JWT token is invalid or malformed: 'exp' and 'nbf' must be numbers.")
    if now > exp + ASSERTION_SKEW_SECONDS or now + ASSERTION_SKEW_SECONDS < nbf:
        raise EntraError(
            700024,
            f"Client assertion is not within its valid time range. Current time: {_iso(now)}, assertion "
            f"valid from {_iso(nbf)}, expiry time of assertion {_iso(exp)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        )


def _display(client: App | Identity) -> str:
    return client.display_name if isinstance(client, App) else client.name


def _fic_matches(
    fic: FederatedCredential, iss: str, sub: str, token_aud: list[str], cloud: EntraCloud
) -> bool:
    return fic.issuer == iss and fic.subject == sub and audience_matches(fic.audiences, token_aud, cloud)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def parse_assertion(assertion: str) -> jws.CompactJws:
    try:
        return jws.parse(assertion)
    except ValueError:
        raise EntraError(50027, "JWT token is invalid or malformed.") from None


def _verify_signature(
    token: jws.CompactJws, key: rsa.RSAPublicKey, algorithms: tuple[str, ...], kid: str | None
) -> None:
    # Issuer keys are chosen by `kid`; certificate keys were already chosen by thumbprint (kid=None).
    header = token.header
    if header.get("alg") not in algorithms or (kid is not None and header.get("kid", kid) != kid):
        raise EntraError(
            700027,
            f"Client assertion failed signature validation. [Reason - The key was not found., "
            f"Key ID of key used by client: '{header.get('kid')}', algorithm '{header.get('alg')}'.]",
        )
    if not jws.verify(token, key, str(header["alg"])):
        raise EntraError(700027, "Client assertion failed signature validation.")
