"""AppServiceBinding: a Linux App Service plan and web app running as the workload's managed identity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import web

from components.azure_ad import (
    FROM_MANAGED_IDENTITY,
    AzureAdTarget,
    azure_ad_env,
    env_output,
    mapped,
    with_owner_settings,
)
from components.easy_auth import EasyAuth, declare_auth_settings, easy_auth_settings
from components.errors import system_principal
from components.handles import IdentityOutputs


@dataclass(frozen=True)
class AppServiceBindingArgs:
    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    azure_ad: AzureAdTarget
    identity: IdentityOutputs | None
    """The user-assigned identity to attach; None attaches a system-assigned identity instead."""
    location: pulumi.Input[str] | None = None
    sku: str = "B1"
    linux_fx_version: str = "PYTHON|3.12"
    app_settings: Mapping[str, str] = field(default_factory=dict)
    chain_credentials: Sequence[pulumi.Resource] = ()
    """The FICs the app's token exchanges need: the web app is created only once they exist."""
    authentication: EasyAuth | None = None
    """App Service Authentication signing users in as the app, with the identity's token as assertion."""
    issuer: str | None = None
    """The tenant's v2.0 authority in the stack's cloud (needed with ``authentication``)."""


class AppServiceBinding(pulumi.ComponentResource):
    """Outputs ``app_id``, ``default_host_name``, ``principal_id`` (the identity the app runs as)."""

    def __init__(self, name: str, args: AppServiceBindingArgs, opts: pulumi.ResourceOptions | None = None):
        if args.authentication is not None and (args.identity is None or args.issuer is None):
            raise ValueError(
                f"AppServiceBinding {name!r}: authentication needs a user-assigned identity and the issuer"
                f" (the platform's FIC override names a user-assigned identity's client ID)"
            )
        super().__init__("certless:compute:AppServiceBinding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan = web.AppServicePlan(
            name,
            name=args.plan_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="linux",
            reserved=True,  # Linux plan
            sku=web.SkuDescriptionArgs(name=args.sku),
            opts=child,
        )
        if args.identity is not None:
            identity = web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.identity.resource_id],
            )
            # Key Vault references resolve with the same identity as the app's tokens.
            key_vault_identity: pulumi.Input[str] = args.identity.resource_id
            mi_client_id: pulumi.Input[str] | None = args.identity.client_id
        else:
            identity = web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED)
            key_vault_identity = "SystemAssigned"
            mi_client_id = None
        self.env = azure_ad_env(args.azure_ad, FROM_MANAGED_IDENTITY, mi_client_id)
        settings = with_owner_settings(
            self.env,
            args.azure_ad,
            [*easy_auth_settings(args.authentication, mi_client_id), *sorted(args.app_settings.items())],
        )
        app = web.WebApp(
            name,
            name=args.app_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="app,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity=identity,
            key_vault_reference_identity=key_vault_identity,
            site_config=web.SiteConfigArgs(
                linux_fx_version=args.linux_fx_version,
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
                app_settings=mapped(settings, lambda k, v: web.NameValuePairArgs(name=k, value=v)),
            ),
            # Its first token exchange would race the FICs' creation otherwise (AADSTS70021).
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.chain_credentials)),
        )
        self.plan = plan
        self.web_app = app
        self.auth_settings: pulumi.CustomResource | None = None
        if args.authentication is not None:
            assert args.issuer is not None
            self.auth_settings, _ = declare_auth_settings(
                name,
                site_name=app.name,
                resource_group_name=args.resource_group_name,
                client_id=args.azure_ad.client_id,
                issuer=args.issuer,
                auth=args.authentication,
                opts=child,
            )
        self.app_id = app.id
        self.default_host_name = app.default_host_name
        # Principal of the identity the app runs as: the compute's own identity when system-assigned.
        self.principal_id: pulumi.Output[str] = (
            args.identity.principal_id
            if args.identity is not None
            else app.identity.apply(lambda i: system_principal(i, f"web app {args.app_name!r}"))
        )
        self.azure_ad_env = env_output(self.env, args.azure_ad)
        self.register_outputs(
            {
                "app_id": self.app_id,
                "default_host_name": self.default_host_name,
                "principal_id": self.principal_id,
            }
        )
