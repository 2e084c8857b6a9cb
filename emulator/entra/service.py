"""The emulated Entra: one object holding the directory, the clock, the faults and the signing keys,
resolving tenants and dispatching the token endpoint to the app flows and the user flows.

Client assertions are checked in Entra's order (see app_flows.py): a well-formed JWT, its signature
against the issuer's keys, `exp`/`nbf` (with a small skew allowance), the client found by `client_id`,
then (iss, sub, aud) matched exactly and case-sensitively against that client's federated credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.directory import Clock, Directory
from emulator.entra import app_flows, user_flows
from emulator.entra.app_flows import ENTRA_TOKEN_LIFETIME
from emulator.entra.clouds import EntraCloud, cloud_named
from emulator.entra.sign_in import SignInState
from emulator.entra.tokens import app_token_claims, resolve_resource
from emulator.entra.user_tokens import User, delegated_scopes, user_token_claims
from emulator.faults import FaultPlan
from emulator.keys import SigningKey
from emulator.records import App, Identity
from emulator.wire_errors import EntraError


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
        self.sign_in = SignInState()  # sign-in pages shown, codes and refresh tokens issued

    @property
    def cloud(self) -> EntraCloud:
        return cloud_named(self.directory.records.cloud)

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

    def issuer_key(self, iss: str) -> SigningKey | None:
        """The key that signs tokens of issuer ``iss``: this Entra's for its tenants, else a cluster's."""
        for tid in self.directory.records.tenants:
            if iss in (self.cloud.v2_issuer(tid), self.cloud.v1_issuer(tid)):
                return self.signing_key
        return self.cluster_keys.get(iss)

    # ---- the token endpoint -------------------------------------------------------------------------

    def token(self, segment: str, form: Mapping[str, str], log: dict[str, Any]) -> dict[str, Any]:
        tenant = self.tenant(segment)
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                raise EntraError(900144, f"The request body must contain the following parameter: '{name}'.")
        log["client_id"] = form["client_id"]
        log["scope"] = form["scope"]
        grant = form["grant_type"]
        on_behalf_of = grant == user_flows.OBO_GRANT and form.get("requested_token_use") == "on_behalf_of"
        user_grants = {
            user_flows.AUTHORIZATION_CODE: user_flows.authorization_code,
            user_flows.REFRESH_TOKEN: user_flows.refresh_token,
        }
        if grant != "client_credentials" and not on_behalf_of and grant not in user_grants:
            raise EntraError(70003, f"The app requested an unsupported grant type '{form['grant_type']}'.")
        auth = app_flows.authenticate(self, tenant, segment, form)
        log["credential"] = auth.via
        if on_behalf_of:
            log["grant"] = "on_behalf_of"
            return user_flows.on_behalf_of(self, tenant, auth, form, log)
        if grant in user_grants:
            log["grant"] = grant
            return user_grants[grant](self, tenant, auth, form, log)
        return app_flows.client_credentials(self, tenant, auth, form)

    # ---- helpers for tests, the CLI and the managed-identity endpoints ------------------------------

    def user_token(self, user_name: str, client_id: str, scope: str) -> str:
        """A signed-in user's access token as ``client_id`` would receive it for ``scope`` (tests, CLI)."""
        client = self.directory.client(client_id)
        if not isinstance(client, App):
            raise EntraError(
                700016, f"Application with identifier '{client_id}' was not found in the directory."
            )
        tenant = client.tenant_id
        records = self.directory.records
        resource, scopes = delegated_scopes(scope, tenant, records)
        user = records.user(user_name, tenant) or User(user_name, tenant)
        now = int(self.clock.now())
        claims = user_token_claims(
            user=user,
            resource=resource,
            scopes=scopes,
            client_id=client_id,
            now=now,
            lifetime=ENTRA_TOKEN_LIFETIME,
            cloud=self.cloud,
            roles=records.roles_for(user.object_id, resource.app_id),
        )
        return self.signing_key.sign(claims)

    def revoke_sign_in_sessions(self, user_name: str, tenant: str) -> None:
        """What Graph's revokeSignInSessions does: the user's refresh tokens issued so far stop working."""
        user = self.directory.records.user(user_name, tenant) or User(user_name, tenant)
        with self.sign_in.lock:
            self.sign_in.revoked_before[user.object_id] = self.clock.now()

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
