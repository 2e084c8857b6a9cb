"""FunctionAppBinding: a Linux Function App whose host storage and deployment storage use the identity.

No connection string or account key exists: the Functions host reads ``AzureWebJobsStorage__*`` in its
identity-based form (service URIs, ``__credential=managedidentity``, ``__clientId``), the Flex deployment
container authenticates with the user-assigned identity, and a new storage account has shared-key access
turned off. The identity gets the host's data roles on the account (azure-docs
``functions-azurewebjobsstorage-permissions``: Blob Data Owner, plus Queue and Table Data Contributor for
blob triggers and diagnostic events).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import storage, web

from components.access import AccessGrant, AccessGrantArgs, RoleGrant, slug
from components.azure_ad import (
    FROM_MANAGED_IDENTITY,
    AzureAdTarget,
    azure_ad_env,
    env_output,
    mapped,
    with_owner_settings,
)
from components.clouds import Cloud
from components.easy_auth import EasyAuth, declare_auth_settings, easy_auth_settings
from components.handles import IdentityOutputs

FLEX_SKU = "FC1"
PREMIUM_SKUS = ("EP1", "EP2", "EP3")
PLAN_TIERS = {FLEX_SKU: "FlexConsumption", **{s: "ElasticPremium" for s in PREMIUM_SKUS}}

# Built-in role definition IDs (same in every subscription and cloud).
HOST_STORAGE_ROLES: dict[str, str] = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
}
HOST_STORAGE = "AzureWebJobsStorage"


def host_storage_settings(cloud: Cloud, account: str, client_id: str) -> dict[str, str]:
    """The identity-based ``AzureWebJobsStorage`` connection, with explicit URIs (right in every cloud)."""
    return {
        f"{HOST_STORAGE}__blobServiceUri": cloud.storage_uri(account, "blob"),
        f"{HOST_STORAGE}__queueServiceUri": cloud.storage_uri(account, "queue"),
        f"{HOST_STORAGE}__tableServiceUri": cloud.storage_uri(account, "table"),
        f"{HOST_STORAGE}__credential": "managedidentity",
        f"{HOST_STORAGE}__clientId": client_id,
    }


def _pick(name: str) -> Callable[[dict[str, str]], str]:
    return lambda settings: settings[name]


@dataclass(frozen=True)
class FunctionAppBindingArgs:
    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    azure_ad: AzureAdTarget
    identity: IdentityOutputs
    cloud: Cloud
    storage_account_name: str
    """The host storage account: created here unless ``storage_account_id`` names an existing one."""
    storage_account_id: str | None = None
    deployment_container: str = "app-package"
    location: pulumi.Input[str] | None = None
    sku: str = FLEX_SKU
    runtime_version: str = "3.11"
    instance_memory_mb: int = 2048
    maximum_instance_count: int = 100
    app_settings: Mapping[str, str] = field(default_factory=dict)
    chain_credentials: Sequence[pulumi.Resource] = ()
    """The FICs the app's token exchanges need: the function app is created only once they exist."""
    authentication: EasyAuth | None = None
    """App Service Authentication in front of the functions, with the identity's token as assertion."""


class FunctionAppBinding(pulumi.ComponentResource):
    """Outputs ``app_id``, ``default_host_name``, ``principal_id`` (the identity the app runs as)."""

    def __init__(self, name: str, args: FunctionAppBindingArgs, opts: pulumi.ResourceOptions | None = None):
        if args.sku not in PLAN_TIERS:
            raise ValueError(
                f"FunctionAppBinding {name!r}: sku {args.sku!r}; expected one of {list(PLAN_TIERS)}"
            )
        super().__init__("certless:compute:FunctionAppBinding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        flex = args.sku == FLEX_SKU
        identity = args.identity

        account_id: pulumi.Input[str]
        created: list[pulumi.Resource] = []
        if args.storage_account_id is None:
            account = storage.StorageAccount(
                name,
                account_name=args.storage_account_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind=storage.Kind.STORAGE_V2,
                sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
                allow_shared_key_access=False,  # no key can be used, so none can leak
                default_to_o_auth_authentication=True,
                allow_blob_public_access=False,
                enable_https_traffic_only=True,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                opts=child,
            )
            account_id = account.id
            created.append(account)
            account_rg: pulumi.Input[str] = args.resource_group_name
        else:
            account_id = args.storage_account_id
            account_rg = args.storage_account_id.split("/")[4]
        self.storage_account_id = pulumi.Output.from_input(account_id)

        # The host's own data roles, for the identity it runs as (not the app's: the host never uses the
        # app registration). Earlier versions declared them directly under the binding: kept as they are.
        self.host_grant = AccessGrant(
            f"{name}-host",
            AccessGrantArgs(
                principal_object_id=identity.principal_id,
                principal="identity",
                roles=[
                    RoleGrant(
                        role_id,
                        account_id,
                        role,
                        key=slug(role),
                        moved_from=pulumi.Alias(name=f"{name}-host-{role_id[:8]}", parent=self),
                    )
                    for role, role_id in HOST_STORAGE_ROLES.items()
                ],
                description=f"certless: Functions host storage of {args.app_name}",
            ),
            # Protected with the identity: losing them stops the host as surely as losing the identity.
            opts=pulumi.ResourceOptions(parent=self, protect=identity.protected),
        )
        grants = self.host_grant.role_assignments

        container = storage.BlobContainer(
            f"{name}-deployment",
            container_name=args.deployment_container,
            account_name=args.storage_account_name,
            resource_group_name=account_rg,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(parent=self, depends_on=created),
        )
        package_url = (
            f"{args.cloud.storage_uri(args.storage_account_name, 'blob')}/{args.deployment_container}"
        )

        plan = web.AppServicePlan(
            name,
            name=args.plan_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp",
            reserved=True,  # Linux
            sku=web.SkuDescriptionArgs(name=args.sku, tier=PLAN_TIERS[args.sku]),
            opts=child,
        )

        self.env = azure_ad_env(args.azure_ad, FROM_MANAGED_IDENTITY, identity.client_id)
        host = identity.client_id.apply(
            lambda cid: host_storage_settings(args.cloud, args.storage_account_name, cid)
        )
        runtime_settings: list[tuple[str, pulumi.Input[str]]] = []
        if not flex:
            # Flex takes the runtime from functionAppConfig.runtime and lists these two as deprecated.
            runtime_settings = [("FUNCTIONS_EXTENSION_VERSION", "~4"), ("FUNCTIONS_WORKER_RUNTIME", "python")]
        host_names = list(host_storage_settings(args.cloud, args.storage_account_name, "").keys())
        settings = with_owner_settings(
            self.env,
            args.azure_ad,
            [
                *[(n, host.apply(_pick(n))) for n in host_names],
                *runtime_settings,
                *easy_auth_settings(args.authentication, identity.client_id),
                *sorted(args.app_settings.items()),
            ],
        )
        function_app_config = None
        linux_fx_version = None
        if flex:
            function_app_config = web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                        value=package_url,
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type=web.AuthenticationType.USER_ASSIGNED_IDENTITY,
                            user_assigned_identity_resource_id=identity.resource_id,
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version=args.runtime_version),
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    instance_memory_mb=args.instance_memory_mb,
                    maximum_instance_count=args.maximum_instance_count,
                ),
            )
        else:
            linux_fx_version = f"Python|{args.runtime_version}"
        app = web.WebApp(
            name,
            name=args.app_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity.resource_id],
            ),
            key_vault_reference_identity=identity.resource_id,
            function_app_config=function_app_config,
            site_config=web.SiteConfigArgs(
                linux_fx_version=linux_fx_version,
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
                app_settings=mapped(settings, lambda k, v: web.NameValuePairArgs(name=k, value=v)),
            ),
            # The host must be able to reach its storage when it starts (roles and container first), and
            # the app's first token exchange must find its FICs (AADSTS70021 otherwise).
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*grants, container, *args.chain_credentials]
            ),
        )
        self.plan = plan
        self.web_app = app
        self.auth_settings: pulumi.CustomResource | None = None
        if args.authentication is not None:
            self.auth_settings, _ = declare_auth_settings(
                name,
                site_name=app.name,
                resource_group_name=args.resource_group_name,
                client_id=args.azure_ad.client_id,
                issuer=args.cloud.issuer(args.azure_ad.tenant_id),
                auth=args.authentication,
                opts=child,
            )
        self.storage_grants = grants
        self.deployment_container = container
        self.app_id = app.id
        self.default_host_name = app.default_host_name
        self.principal_id: pulumi.Output[str] = identity.principal_id
        self.azure_ad_env = env_output(self.env, args.azure_ad)
        self.host_storage_env = host
        self.register_outputs(
            {
                "app_id": self.app_id,
                "default_host_name": self.default_host_name,
                "principal_id": self.principal_id,
                "host_storage_env": host,
            }
        )
