"""The emulated Entra: discovery documents, JWKS and the client-credentials token endpoint.

Client assertions are checked in Entra's order: a well-formed JWT, its signature against the issuer's
keys, `exp`/`nbf` (with a small skew allowance), the client found by `client_id`, then (iss, sub, aud)
matched exactly and case-sensitively against that client's federated identity credentials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import jws
from emulator.clouds import PUBLIC, EntraCloud, cloud_named
from emulator.directory import Clock, Directory
from emulator.faults import FaultPlan
from emulator.keys import SigningKey
from emulator.records import (
    App,
    FederatedCredential,
    Identity,
)
from emulator.tokens import (
    app_token_claims,
    resolve_resource,
    resource_for_scope,
)
from emulator.user_tokens import User, delegated_scopes, incoming_user, user_token_claims
from emulator.wire_errors import EntraError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
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


class Entra:
    def __init__(
        self,
        directory: Directory,
        clock: Clock,
        faults: FaultPlan,
        signing_key: SigningKey,
        cluster_keys: Mapping[str, SigningKey],
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.faults = faults
        self.signing_key = signing_key
        self.cluster_keys = dict(cluster_keys)  # issuer URL -> key
        self.base_url = ""  # set once the HTTPS listener is bound

    @property
    def cloud(self) -> EntraCloud:
        return cloud_named(self.directory.records.cloud)

    # ---- tenants and discovery ----------------------------------------------------------------------

    def tenant(self, segment: str, *, allow_common: bool = False) -> str:
        for tid in self.directory.records.tenants:
            if segment.lower() == tid.lower():  # a tenant GUID in any letter case
                return tid
        if allow_common and segment in ("common", "organizations"):
            return "{tenantid}"
        raise EntraError(
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud. Check with your subscription administrator, this may happen "
            "if there are no active subscriptions for the tenant.",
        )

    def discovery_v2(self, segment: str) -> dict[str, Any]:
        tid = self.tenant(segment, allow_common=True)
        base = f"{self.base_url}/{segment}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.cloud.v2_issuer(tid),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"https://{self.cloud.graph_host}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "tid",
                "ver",
            ],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": self.cloud.cloud_instance_name,
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": self.cloud.graph_host,
            "rbac_url": "https://pas.windows.net",
        }

    def discovery_v1(self, segment: str) -> dict[str, Any]:
        tid = self.tenant(segment, allow_common=True)
        base = f"{self.base_url}/{segment}"
        return {
            "token_endpoint": f"{base}/oauth2/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid"],
            "issuer": self.cloud.v1_issuer(tid),
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/devicecode",
            "end_session_endpoint": f"{base}/oauth2/logout",
            "tenant_region_scope": "NA",
            "cloud_instance_name": self.cloud.cloud_instance_name,
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": self.cloud.graph_host,
        }

    def instance_discovery(self, authorization_endpoint: str) -> dict[str, Any]:
        host = self.base_url.removeprefix("https://")
        tenant = "common"
        parts = authorization_endpoint.split("/")
        if len(parts) > 3 and parts[3]:
            tenant = parts[3]
        return {
            "tenant_discovery_endpoint": f"{self.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    def jwks(self, segment: str) -> dict[str, Any]:
        tid = self.tenant(segment, allow_common=True)
        key = dict(self.signing_key.jwk)
        key["issuer"] = self.cloud.v2_issuer(tid)
        return {"keys": [key]}

    # ---- the token endpoint -------------------------------------------------------------------------

    def token(self, segment: str, form: Mapping[str, str], log: dict[str, Any]) -> dict[str, Any]:
        tenant = self.tenant(segment)
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                raise EntraError(900144, f"The request body must contain the following parameter: '{name}'.")
        log["client_id"] = form["client_id"]
        log["scope"] = form["scope"]
        grant = form["grant_type"]
        on_behalf_of = grant == OBO_GRANT and form.get("requested_token_use") == "on_behalf_of"
        if grant != "client_credentials" and not on_behalf_of:
            raise EntraError(70003, f"The app requested an unsupported grant type '{form['grant_type']}'.")
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != JWT_BEARER:
                raise EntraError(
                    900144,
                    "The request body must contain the following parameter: 'client_assertion_type' "
                    f"with the value '{JWT_BEARER}'.",
                )
            auth = self._authenticate_assertion(tenant, segment, form["client_id"], form["client_assertion"])
        elif form.get("client_secret"):
            auth = self._authenticate_secret(tenant, form["client_id"], form["client_secret"])
        else:
            raise EntraError(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        log["credential"] = auth.via
        if on_behalf_of:
            log["grant"] = "on_behalf_of"
            return self._on_behalf_of(tenant, auth, form, log)
        resource = resource_for_scope(form["scope"], tenant, self.directory.records)
        now = int(self.clock.now())
        lifetime = self.faults.lifetime_for("entra-token") or ENTRA_TOKEN_LIFETIME
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
            cloud=self.cloud,
            roles=self.directory.records.roles_for(object_id, resource.app_id),
        )
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.signing_key.sign(claims),
        }

    def _on_behalf_of(
        self, tenant: str, auth: Authenticated, form: Mapping[str, str], log: dict[str, Any]
    ) -> dict[str, Any]:
        """Trade a user's token to this API for one to a downstream API, for the same user."""
        api = auth.client
        if not isinstance(api, App):
            raise EntraError(
                50013, "Assertion is not valid: a managed identity cannot act on behalf of a user."
            )
        if not form.get("assertion"):
            raise EntraError(900144, "The request body must contain the following parameter: 'assertion'.")
        token = _parse_assertion(form["assertion"])
        issuer = token.claims.get("iss")
        if self._issuer_key(str(issuer)) is not self.signing_key or not jws.verify(
            token, self.signing_key.public_key, "RS256"
        ):
            raise EntraError(50013, "Assertion failed signature validation.")
        self._check_user_assertion_time(token.claims)
        user = incoming_user(
            token, api_client_id=api.client_id, api_uris=tuple(api.identifier_uris), tenant_id=tenant
        )
        resource, scopes = delegated_scopes(form["scope"], tenant, self.directory.records)
        log["user"] = user.name
        now = int(self.clock.now())
        lifetime = self.faults.lifetime_for("entra-token") or ENTRA_TOKEN_LIFETIME
        claims = user_token_claims(
            user=user,
            resource=resource,
            scopes=scopes,
            client_id=api.client_id,
            now=now,
            lifetime=lifetime,
            cloud=self.cloud,
        )
        return {
            "token_type": "Bearer",
            "scope": " ".join(f"{resource.requested.rstrip('/')}/{s}" for s in scopes),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.signing_key.sign(claims),
        }

    def _check_user_assertion_time(self, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or self.clock.now() > exp + ASSERTION_SKEW_SECONDS:
            raise EntraError(500133, "Assertion is not within its valid time range. The token has expired.")

    def user_token(self, user_name: str, client_id: str, scope: str) -> str:
        """A signed-in user's access token as ``client_id`` would receive it for ``scope`` (tests, CLI)."""
        client = self.directory.client(client_id)
        if not isinstance(client, App):
            raise EntraError(
                700016, f"Application with identifier '{client_id}' was not found in the directory."
            )
        tenant = client.tenant_id
        resource, scopes = delegated_scopes(scope, tenant, self.directory.records)
        now = int(self.clock.now())
        claims = user_token_claims(
            user=User(user_name, tenant),
            resource=resource,
            scopes=scopes,
            client_id=client_id,
            now=now,
            lifetime=ENTRA_TOKEN_LIFETIME,
            cloud=self.cloud,
        )
        return self.signing_key.sign(claims)

    def _client(self, tenant: str, client_id: str) -> App | Identity:
        client = self.directory.client(client_id)
        if client is None or client.tenant_id != tenant:
            raise EntraError(
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This "
                "can happen if the application has not been installed by the administrator of the tenant or "
                "consented to by any user in the tenant. You may have sent your authentication request to "
                "the wrong tenant.",
            )
        return client

    def _authenticate_secret(self, tenant: str, client_id: str, secret: str) -> Authenticated:
        client = self._client(tenant, client_id)
        if not isinstance(client, App) or not client.secret_matches(secret):
            raise EntraError(
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        return Authenticated(client, "1", "secret")

    def _authenticate_assertion(
        self, tenant: str, segment: str, client_id: str, assertion: str
    ) -> Authenticated:
        token = _parse_assertion(assertion)
        claims = token.claims
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(iss, str) or not isinstance(sub, str):
            raise EntraError(
                50027, "JWT token is invalid or malformed: the 'iss' and 'sub' claims are required."
            )
        if iss == sub == client_id:
            return self._certificate_assertion(
                tenant=tenant,
                segment=segment,
                client_id=client_id,
                token=token,
            )

        key = self._issuer_key(iss)
        if key is not None:
            _verify_signature(token, key.public_key, ("RS256",), key.kid)
            self._check_time(claims)
        client = self._client(tenant, client_id)
        if not client.federated_credentials:
            raise EntraError(
                70025,
                f"The client '{client_id}'({_display(client)}) has no configured federated identity "
                "credentials.",
            )
        token_aud = _audiences(claims)
        visible = self.directory.visible_fics(client, self.faults.fic_propagation_seconds)
        match = next((f for f in visible if _fic_matches(f, iss, sub, token_aud, self.cloud)), None)
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

    def _issuer_key(self, iss: str) -> SigningKey | None:
        for tid in self.directory.records.tenants:
            if iss in (self.cloud.v2_issuer(tid), self.cloud.v1_issuer(tid)):
                return self.signing_key
        return self.cluster_keys.get(iss)

    def _certificate_assertion(
        self,
        *,
        tenant: str,
        segment: str,
        client_id: str,
        token: jws.CompactJws,
    ) -> Authenticated:
        header, claims = token.header, token.claims
        client = self._client(tenant, client_id)
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
        self._check_time(claims)
        accepted = {
            f"{self.base_url}/{segment}/oauth2/v2.0/token",
            f"{self.base_url}/{tenant}/oauth2/v2.0/token",
            f"https://{self.cloud.login_host}/{tenant}/oauth2/v2.0/token",
            self.cloud.v2_issuer(tenant),
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

    def _check_time(self, claims: dict[str, Any]) -> None:
        now = self.clock.now()
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

    # ---- helpers for tests and the managed-identity endpoints ---------------------------------------

    def identity_token(self, ident: Identity, resource_name: str, lifetime: int) -> tuple[str, int, int]:
        """A token as the managed-identity backend issues it; returns (token, iat, exp)."""
        resource = resolve_resource(resource_name, ident.tenant_id, self.directory.records)
        now = int(self.clock.now())
        claims = app_token_claims(
            tenant_id=ident.tenant_id,
            resource=resource,
            client_id=ident.client_id,
            object_id=ident.principal_id,
            now=now,
            lifetime=lifetime,
            client_auth="2",
            mi_resource_id=ident.resource_id,
            cloud=self.cloud,
            roles=self.directory.records.roles_for(ident.principal_id, resource.app_id),
        )
        return self.signing_key.sign(claims), now, now + lifetime


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


def _parse_assertion(assertion: str) -> jws.CompactJws:
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
