"""The identity layer: owned here (IdentityLayer), or referenced from its owner (ReferencedIdentityLayer).

Also the providers that write FICs on an identity in another subscription than the stack's. They stay
at the stack's root, where every existing stack holds them: a provider's URN is part of each
resource's provider reference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components import (
    AppOutputs,
    AppRegistrationArgs,
    AppRole,
    IdentityOutputs,
    ManagedIdentityArgs,
    PermissionScope,
    WebApi,
    WebPlatform,
)
from components.identity_layer import (
    IdentityLayer,
    IdentityLayerArgs,
    IdentityTrust,
    LayerApp,
    LayerIdentity,
    PreAuthorizedClient,
    Trusts,
)
from components.referenced_identity_layer import (
    SHARED_OUTPUT,
    AppRef,
    IdentityRef,
    ReferencedIdentityLayer,
    ReferencedIdentityLayerArgs,
)
from stackconfig import StackConfig, read_pulumi_config
from stackconfig.model import ApiSpec, WebSpec
from stackconfig.provider_config import provider_arguments, subscription_of

LAYER_NAME = "identity-layer"

__all__ = ["SHARED_OUTPUT", "Layer", "declare_layer"]


@dataclass
class Layer:
    identities: dict[str, IdentityOutputs]
    apps: dict[str, AppOutputs]
    trusts: Trusts
    """Empty for a referenced layer: its FICs were created with the owning stack."""
    shared_export: dict[str, Any] | None
    """The ``sharedIdentity`` output; None when another stack owns the layer."""
    sign_in_records: dict[str, pulumi.Output[Any]] = dataclasses.field(default_factory=dict)
    """A referenced layer's ``signIn`` record of each app, as its owner exports it."""


def declare_layer(config: StackConfig) -> Layer:
    if config.owns_identity_layer:
        owned = IdentityLayer(LAYER_NAME, owned_layer_args(config))
        layer = Layer(owned.identities, owned.apps, owned.trusts, owned.shared_identity)
    else:
        referenced = ReferencedIdentityLayer(LAYER_NAME, referenced_layer_args(config))
        layer = Layer(referenced.identities, referenced.apps, {}, None, referenced.sign_in_records)
    layer.identities = target_own_subscriptions(config, layer.identities)
    return layer


def owned_layer_args(config: StackConfig) -> IdentityLayerArgs:
    identities = {
        key: LayerIdentity(
            ManagedIdentityArgs(
                resource_group_name=spec.resource_group_name,
                identity_name=spec.name,
                location=config.location,
                existing_resource_id=spec.resource_id,
            ),
            protect=spec.protect,
        )
        for key, spec in config.identities.items()
    }
    apps = {
        key: LayerApp(
            AppRegistrationArgs(
                app.display_name,
                app.owners,
                app.sign_in_audience,
                [AppRole(r.value, r.display_name, r.description, r.id) for r in app.app_roles],
                web=web_platform(app.web),
                api=web_api(app.api),
            ),
            known_clients=app.api.known_clients if app.api is not None else (),
            pre_authorized=[
                PreAuthorizedClient(client.app, [scope_ids(app.api)[v] for v in client.scopes])
                for client in (app.api.pre_authorized if app.api is not None else ())
            ],
            protect=app.protect,
            callback_path=app.web.callback_path if app.web is not None else None,
        )
        for key, app in config.apps.items()
    }
    trusts = [IdentityTrust(app, identity, name) for app, identity, name in config.identity_trusts]
    return IdentityLayerArgs(config.tenant_id, config.cloud, identities, apps, trusts)


def referenced_layer_args(config: StackConfig) -> ReferencedIdentityLayerArgs:
    owner = config.owner
    assert owner is not None
    return ReferencedIdentityLayerArgs(
        tenant_id=config.tenant_id,
        owner_stack=owner.stack,
        identity_keys=sorted({w.identity for w in config.workloads.values() if w.identity is not None}),
        app_keys=sorted(
            {w.app for w in config.workloads.values()}
            | {p.api for w in config.workloads.values() for p in w.api_permissions if p.kind == "app"}
            | {p.api for w in config.workloads.values() for p in w.delegated_permissions if p.kind == "app"}
        ),
        identities={
            key: IdentityRef(ref.resource_id, ref.client_id, ref.principal_id)
            for key, ref in owner.identities.items()
        },
        apps={key: AppRef(a.client_id, a.object_id, a.sign_in) for key, a in owner.apps.items()},
    )


def scope_ids(api: ApiSpec | None) -> dict[str, str]:
    return {s.value: s.id for s in api.scopes} if api is not None else {}


def web_platform(spec: WebSpec | None) -> WebPlatform | None:
    if spec is None:
        return None
    return WebPlatform(spec.redirect_uris, spec.logout_url, spec.homepage_url, spec.id_tokens)


def web_api(spec: ApiSpec | None) -> WebApi | None:
    """The API's known clients' client IDs are filled in by the IdentityLayer, which creates them first."""
    if spec is None:
        return None
    return WebApi(
        scopes=[
            PermissionScope(s.value, s.admin_consent_display_name, s.description, s.id) for s in spec.scopes
        ],
        requested_access_token_version=spec.requested_access_token_version,
    )


def target_own_subscriptions(
    config: StackConfig, identities: dict[str, IdentityOutputs]
) -> dict[str, IdentityOutputs]:
    """Adopted identities with FICs written here, in another subscription than the stack's, get an explicit
    provider for their own subscription (one per subscription): the FIC's address names no subscription,
    so the default provider would write it in its own (stackconfig/provider_config.py)."""
    adopted = {k: i.resource_id for k, i in config.identities.items() if i.resource_id is not None}
    if config.owner is not None and config.owner.stack is None:
        adopted.update({k: i.resource_id for k, i in config.owner.identities.items()})
    with_fics = {
        w.identity for w in config.workloads.values() if w.aks is not None and w.aks.mode == "via-identity"
    }
    raw, secret_keys = read_pulumi_config()
    stack_subscription = str(raw.get("azure-native:subscriptionId") or "").lower()
    providers: dict[str, azure_native.Provider] = {}
    out = dict(identities)
    if config.owner is not None and config.owner.stack is not None:
        # Referenced through the owner's outputs: the subscription is known only as an Output, so each such
        # identity gets a provider of its own whose subscription comes from that Output (one provider per
        # identity, declared unconditionally: no resource may depend on a branch taken inside an apply).
        for key in sorted(k for k in with_fics if k is not None and k in identities):
            out[key] = dataclasses.replace(
                identities[key],
                provider=azure_native.Provider(
                    f"subscription-of-{key}",
                    subscription_id=identities[key].resource_id.apply(subscription_of),
                    **provider_arguments(raw, secret_keys),
                ),
            )
        return out
    for key in sorted(k for k in with_fics if k is not None and k in adopted and k in identities):
        subscription = subscription_of(adopted[key])
        if subscription == stack_subscription:
            continue  # the default provider writes there already
        if subscription not in providers:
            providers[subscription] = azure_native.Provider(
                f"subscription-{subscription}",
                subscription_id=subscription,
                **provider_arguments(raw, secret_keys),
            )
        out[key] = dataclasses.replace(identities[key], provider=providers[subscription])
    return out
