"""IdentityLayer: a stack's own identities and app registrations, and the apps' FICs trusting the identities.

Its children were declared at the stack's root before this component existed. A URN carries the whole
chain of parent types, so each direct child carries ``Alias(parent=ROOT_STACK_RESOURCE)``: the engine
matches it to its old URN and, having matched, carries that old URN down to the child's own children
(pulumi/pulumi pkg/resource/deploy/step_generator.go, ``generateAliases``). This component's own URN
is new and matches nothing, so it cannot alias its children for them. Child names must never change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.app_registration import AppRegistration, AppRegistrationArgs
from components.clouds import Cloud
from components.federated_credential import FederatedCredential, FederatedCredentialArgs
from components.handles import AppOutputs, IdentityOutputs
from components.identity import ManagedIdentity, ManagedIdentityArgs

Trusts = dict[tuple[str, str], pulumi.Resource]
"""(app key, identity key) -> the app's FIC trusting that identity, declared once by the identity layer."""

WAS_AT_THE_ROOT = pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)


@dataclass(frozen=True)
class LayerIdentity:
    identity: ManagedIdentityArgs
    protect: bool = False


@dataclass(frozen=True)
class PreAuthorizedClient:
    """A client app of the layer that gets these delegated scopes of the API without a consent prompt."""

    app: str
    scope_ids: Sequence[str]


@dataclass(frozen=True)
class LayerApp:
    registration: AppRegistrationArgs
    """Its ``api.known_client_ids`` are filled in from ``known_clients``."""
    known_clients: Sequence[str] = ()
    """Keys of apps in the layer whose consent also covers this app's API (created before it)."""
    pre_authorized: Sequence[PreAuthorizedClient] = ()
    protect: bool = False
    callback_path: str | None = None
    """The web app's ``CallbackPath`` (a web platform's), exported for the stacks referencing the app."""


@dataclass(frozen=True)
class IdentityTrust:
    """The app's FIC trusting the identity: issuer = the tenant's, subject = the identity's principal ID."""

    app: str
    identity: str
    credential_name: str


@dataclass(frozen=True)
class IdentityLayerArgs:
    tenant_id: str
    cloud: Cloud
    identities: Mapping[str, LayerIdentity] = field(default_factory=dict)
    apps: Mapping[str, LayerApp] = field(default_factory=dict)
    trusts: Sequence[IdentityTrust] = ()


class IdentityLayer(pulumi.ComponentResource):
    """Outputs ``shared_identity``: what the other colour of a blue-green pair reads (the ``sharedIdentity``
    stack output, docs/plan-schema.md); ``identities``, ``apps`` and ``trusts`` for the workloads."""

    def __init__(self, name: str, args: IdentityLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("certless:identity:IdentityLayer", name, None, opts)
        self.identities: dict[str, IdentityOutputs] = {
            key: ManagedIdentity(key, spec.identity, opts=self._child_options(spec.protect)).outputs
            for key, spec in args.identities.items()
        }
        registrations: dict[str, AppRegistration] = {}
        for key in _creation_order(args.apps):  # an API names its known clients' client IDs
            app = args.apps[key]
            registration = app.registration
            if registration.api is not None:
                known = [registrations[k].client_id for k in app.known_clients]
                registration = dataclasses.replace(
                    registration, api=dataclasses.replace(registration.api, known_client_ids=known)
                )
            registrations[key] = AppRegistration(key, registration, opts=self._child_options(app.protect))
        registrations = {key: registrations[key] for key in args.apps}  # the given order
        for key, app in args.apps.items():
            for client in app.pre_authorized:
                registrations[key].pre_authorize(
                    client.app, registrations[client.app].client_id, client.scope_ids
                )
        self.trusts: Trusts = {}
        for trust in args.trusts:
            self.trusts[trust.app, trust.identity] = FederatedCredential(
                f"{trust.app}-trusts-{trust.identity}",
                FederatedCredentialArgs(
                    credential_name=trust.credential_name,
                    issuer=args.cloud.issuer(args.tenant_id),
                    # the principal (object) ID, never the client ID
                    subject=self.identities[trust.identity].principal_id,
                    audience=args.cloud.token_exchange_audience,
                    app=registrations[trust.app].outputs,
                ),
                opts=pulumi.ResourceOptions(parent=registrations[trust.app]),  # protected with its app
            ).resource
        self.apps: dict[str, AppOutputs] = {key: reg.outputs for key, reg in registrations.items()}
        self.shared_identity: dict[str, Any] = _shared_export(args, self.identities, self.apps)
        self.register_outputs({"sharedIdentity": self.shared_identity})

    def _child_options(self, protect: bool) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=protect, aliases=[WAS_AT_THE_ROOT])


def sign_in_record(registration: AppRegistrationArgs, callback_path: str | None) -> dict[str, Any]:
    """What a referencing stack's workloads of the app are told (CallbackPath, Audience, Scopes) and the
    redirect URIs the app holds (a colour's hosts must be among them). Every field is always present, so
    a stack whose owner predates this record can tell "none" from "not exported"."""
    web, api = registration.web, registration.api
    return {
        "web": web is not None,
        "callbackPath": callback_path if web is not None and callback_path else "",
        "redirectUris": list(web.redirect_uris) if web is not None else [],
        "idTokens": web.id_tokens if web is not None else False,
        "api": api is not None,
        "requestedAccessTokenVersion": api.requested_access_token_version if api is not None else 0,
        "scopes": [s.value for s in api.scopes] if api is not None else [],
    }


def _creation_order(apps: Mapping[str, LayerApp]) -> list[str]:
    """App keys with every known client before the API naming it (the config refused cycles)."""
    order: list[str] = []

    def place(key: str) -> None:
        if key in order:
            return
        for client in apps[key].known_clients:
            place(client)
        order.append(key)

    for key in apps:
        place(key)
    return order


def _shared_export(
    args: IdentityLayerArgs, identities: Mapping[str, IdentityOutputs], apps: Mapping[str, AppOutputs]
) -> dict[str, Any]:
    def app_record(key: str, app: AppOutputs) -> dict[str, Any]:
        registration = args.apps[key].registration
        record: dict[str, Any] = {
            "clientId": app.client_id,
            "objectId": app.object_id,
            "servicePrincipalObjectId": app.service_principal_id,
            "appRoleIds": {r.value: r.id for r in registration.app_roles},
        }
        if registration.api is not None:  # a web API's delegated permissions, for stacks granting them by ID
            record["scopeIds"] = {s.value: s.id for s in registration.api.scopes}
        record["signIn"] = sign_in_record(registration, args.apps[key].callback_path)
        return record

    return {
        "tenantId": args.tenant_id,
        "identities": {
            key: {
                "resourceId": i.resource_id,
                "clientId": i.client_id,
                "principalId": i.principal_id,
                "name": i.name,
                "resourceGroupName": i.resource_group_name,
            }
            for key, i in identities.items()
        },
        "apps": {key: app_record(key, app) for key, app in apps.items()},
    }
