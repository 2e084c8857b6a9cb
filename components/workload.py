"""CertificatelessWorkload: identity + app registration + trust + compute, from one description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from components.aks import AksMode, AksWorkloadBinding, AksWorkloadBindingArgs
from components.aks_kubeconfig import ClusterCredentials
from components.app_registration import AppRegistration, AppRegistrationArgs
from components.app_service import AppServiceBinding, AppServiceBindingArgs
from components.azure_ad import AzureAdTarget, appsettings_json
from components.clouds import Cloud
from components.container_app import ContainerAppBinding, ContainerAppBindingArgs
from components.easy_auth import EasyAuth
from components.federated_credential import FederatedCredential, FederatedCredentialArgs
from components.function_app import FLEX_SKU, FunctionAppBinding, FunctionAppBindingArgs
from components.handles import AppOutputs, IdentityOutputs
from components.identity import ManagedIdentity, ManagedIdentityArgs
from components.registry import RegistryPull
from components.virtual_machine import (
    UBUNTU_2404,
    VirtualMachineBinding,
    VirtualMachineBindingArgs,
    VmImage,
    VmMode,
)

Kind = Literal["appservice", "containerapp", "aks", "functionapp", "vm"]

SYSTEM_ASSIGNED_WARNING = (
    "workload {name!r} uses a system-assigned identity as the app's federated credential subject;"
    " Entra's documentation says only user-assigned identities are supported there. Prefer identityType"
    " UserAssigned."
)


@dataclass(frozen=True)
class AppServiceOptions:
    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    location: pulumi.Input[str] | None = None
    sku: str = "B1"
    linux_fx_version: str = "PYTHON|3.12"
    app_settings: Mapping[str, str] = field(default_factory=dict)
    authentication: EasyAuth | None = None
    """App Service Authentication with the FIC instead of a secret (needs a user-assigned identity)."""


@dataclass(frozen=True)
class ContainerAppOptions:
    resource_group_name: pulumi.Input[str]
    app_name: str
    image: str
    environment_name: str | None = None
    environment_id: str | None = None
    location: pulumi.Input[str] | None = None
    target_port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    registry: RegistryPull | None = None
    """A private registry the image comes from (pulled as the user-assigned identity, given AcrPull)."""
    registry_pull_grant: pulumi.Resource | None = None
    """The identity's AcrPull on ``registry`` when declared once for several workloads; None: here."""
    declare_registry_pull: bool = True
    """False when another stack declares that AcrPull (a shared identity's owner)."""


@dataclass(frozen=True)
class FunctionAppOptions:
    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    storage_account_name: str
    storage_account_id: str | None = None
    deployment_container: str = "app-package"
    location: pulumi.Input[str] | None = None
    sku: str = FLEX_SKU
    runtime_version: str = "3.11"
    instance_memory_mb: int = 2048
    maximum_instance_count: int = 100
    app_settings: Mapping[str, str] = field(default_factory=dict)
    authentication: EasyAuth | None = None
    """App Service Authentication in front of the functions, with the FIC instead of a secret."""


@dataclass(frozen=True)
class VmOptions:
    resource_group_name: pulumi.Input[str]
    vm_name: str
    command: str
    admin_username: str
    ssh_public_key: str
    mode: VmMode = "scaleset"
    instances: int = 2
    size: str = "Standard_B2s"
    image: VmImage = UBUNTU_2404
    service_user: str = "certless-app"
    subnet_id: str | None = None
    location: pulumi.Input[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AksOptions:
    cluster_resource_group: str
    cluster_name: str
    namespace: str
    service_account: str
    deployment_name: str
    image: str
    mode: AksMode
    credential_name: str
    create_namespace: bool = True
    replicas: int = 1
    container_port: int | None = None
    expected_issuer_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    credentials: ClusterCredentials = "user"


@dataclass(frozen=True)
class CertificatelessWorkloadArgs:
    kind: Kind
    cloud: Cloud
    tenant_id: str
    app: AppOutputs | AppRegistrationArgs
    """An app registration shared with other workloads, or the description of a new one (created here)."""
    identity: IdentityOutputs | ManagedIdentityArgs | None
    """A shared user-assigned identity, the description of a new one, or None: system-assigned identity
    (App Service, Container Apps) or no identity at all (AKS direct mode)."""
    app_service: AppServiceOptions | None = None
    container_app: ContainerAppOptions | None = None
    aks: AksOptions | None = None
    function_app: FunctionAppOptions | None = None
    vm: VmOptions | None = None
    identity_trust_name: str | None = None
    """Declare here the app's FIC trusting the user-assigned identity, under this name. Leave None when
    the stack declares that FIC once for several workloads, or another stack owns it."""
    system_trust_name: str | None = None
    """Name of the app's FIC trusting the compute's system-assigned identity (required for that case)."""
    chain_credentials: Sequence[pulumi.Resource] = ()
    """FICs of this workload's chain declared outside it (e.g. once per app and identity by the stack's
    identity layer): the compute waits for them, as it waits for those declared here."""
    callback_path: str | None = None
    """The app's sign-in path when it signs users in (``AzureAd__CallbackPath``)."""
    api_token_version: Literal[1, 2] | None = None
    """Set when the app is a web API: the access token version it accepts, which decides the ``aud``
    its tokens carry (``AzureAd__Audience``): the client ID (v2) or ``api://<client id>`` (v1)."""
    api_scopes: Sequence[str] = ()
    """The web API's scopes (``AzureAd__Scopes``)."""


class CertificatelessWorkload(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: CertificatelessWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ):
        chosen = {
            "appservice": args.app_service,
            "containerapp": args.container_app,
            "aks": args.aks,
            "functionapp": args.function_app,
            "vm": args.vm,
        }
        if chosen[args.kind] is None or sum(v is not None for v in chosen.values()) != 1:
            raise ValueError(
                f"CertificatelessWorkload {name!r}: kind {args.kind!r} needs exactly its own options"
            )
        aks_mode = args.aks.mode if args.aks is not None else None
        no_identity = args.identity is None
        system_assigned = no_identity and args.kind != "aks"
        if args.kind == "aks" and aks_mode == "via-identity" and no_identity:
            raise ValueError(
                f"CertificatelessWorkload {name!r}: AKS via-identity mode needs a user-assigned identity"
            )
        if system_assigned and args.system_trust_name is None:
            raise ValueError(
                f"CertificatelessWorkload {name!r}: system-assigned identity needs system_trust_name"
            )
        if args.kind == "functionapp" and not isinstance(
            args.identity, IdentityOutputs | ManagedIdentityArgs
        ):
            raise ValueError(
                f"CertificatelessWorkload {name!r}: a Function App needs a user-assigned identity (its host"
                " storage authenticates with it)"
            )
        if args.kind == "vm" and not isinstance(args.identity, IdentityOutputs | ManagedIdentityArgs):
            raise ValueError(
                f"CertificatelessWorkload {name!r}: a VM workload needs a user-assigned identity (its"
                " settings name the identity's client ID for IMDS)"
            )
        super().__init__("certless:index:CertificatelessWorkload", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        app = (
            AppRegistration(name, args.app, opts=child).outputs
            if isinstance(args.app, AppRegistrationArgs)
            else args.app
        )
        identity = (
            ManagedIdentity(name, args.identity, opts=child).outputs
            if isinstance(args.identity, ManagedIdentityArgs)
            else args.identity
        )

        audience = args.cloud.token_exchange_audience
        entra_issuer = args.cloud.issuer(args.tenant_id)
        api_audience: pulumi.Input[str] | None = None
        if args.api_token_version == 2:
            api_audience = app.client_id
        elif args.api_token_version == 1:
            api_audience = app.client_id.apply(lambda cid: f"api://{cid}")
        target = AzureAdTarget(
            args.cloud.instance,
            args.tenant_id,
            app.client_id,
            args.cloud.token_exchange_url,
            callback_path=args.callback_path,
            audience=api_audience,
            scopes=" ".join(args.api_scopes) or None,
            owner_settings=app.sign_in,
        )
        credentials: list[FederatedCredential] = []
        if identity is not None and args.identity_trust_name is not None and aks_mode != "direct":
            credentials.append(
                FederatedCredential(
                    f"{name}-app-trusts-identity",
                    FederatedCredentialArgs(
                        credential_name=args.identity_trust_name,
                        issuer=entra_issuer,
                        subject=identity.principal_id,
                        audience=audience,
                        app=app,
                    ),
                    opts=child,
                )
            )

        # The compute carrying the AzureAd settings waits for every FIC its first token exchange needs.
        chain = [*args.chain_credentials, *(c.resource for c in credentials)]
        compute: (
            AppServiceBinding
            | ContainerAppBinding
            | AksWorkloadBinding
            | FunctionAppBinding
            | VirtualMachineBinding
        )
        if args.vm is not None:
            v = args.vm
            assert identity is not None
            compute = VirtualMachineBinding(
                name,
                VirtualMachineBindingArgs(
                    resource_group_name=v.resource_group_name,
                    vm_name=v.vm_name,
                    azure_ad=target,
                    identity=identity,
                    command=v.command,
                    admin_username=v.admin_username,
                    ssh_public_key=v.ssh_public_key,
                    mode=v.mode,
                    instances=v.instances,
                    size=v.size,
                    image=v.image,
                    service_user=v.service_user,
                    subnet_id=v.subnet_id,
                    location=v.location,
                    env=v.env,
                    chain_credentials=chain,
                ),
                opts=child,
            )
        elif args.function_app is not None:
            f = args.function_app
            assert identity is not None
            compute = FunctionAppBinding(
                name,
                FunctionAppBindingArgs(
                    resource_group_name=f.resource_group_name,
                    plan_name=f.plan_name,
                    app_name=f.app_name,
                    azure_ad=target,
                    identity=identity,
                    cloud=args.cloud,
                    storage_account_name=f.storage_account_name,
                    storage_account_id=f.storage_account_id,
                    deployment_container=f.deployment_container,
                    location=f.location,
                    sku=f.sku,
                    runtime_version=f.runtime_version,
                    instance_memory_mb=f.instance_memory_mb,
                    maximum_instance_count=f.maximum_instance_count,
                    app_settings=f.app_settings,
                    chain_credentials=chain,
                    authentication=f.authentication,
                ),
                opts=child,
            )
        elif args.app_service is not None:
            o = args.app_service
            compute = AppServiceBinding(
                name,
                AppServiceBindingArgs(
                    resource_group_name=o.resource_group_name,
                    plan_name=o.plan_name,
                    app_name=o.app_name,
                    azure_ad=target,
                    identity=identity,
                    location=o.location,
                    sku=o.sku,
                    linux_fx_version=o.linux_fx_version,
                    app_settings=o.app_settings,
                    chain_credentials=chain,
                    authentication=o.authentication,
                    issuer=entra_issuer,
                ),
                opts=child,
            )
        elif args.container_app is not None:
            c = args.container_app
            compute = ContainerAppBinding(
                name,
                ContainerAppBindingArgs(
                    resource_group_name=c.resource_group_name,
                    app_name=c.app_name,
                    image=c.image,
                    azure_ad=target,
                    identity=identity,
                    environment_name=c.environment_name,
                    environment_id=c.environment_id,
                    location=c.location,
                    target_port=c.target_port,
                    env=c.env,
                    chain_credentials=chain,
                    registry=c.registry,
                    registry_pull_grant=c.registry_pull_grant,
                    declare_registry_pull=c.declare_registry_pull,
                ),
                opts=child,
            )
        else:
            k = args.aks
            assert k is not None
            compute = AksWorkloadBinding(
                name,
                AksWorkloadBindingArgs(
                    cluster_resource_group=k.cluster_resource_group,
                    cluster_name=k.cluster_name,
                    namespace=k.namespace,
                    service_account=k.service_account,
                    deployment_name=k.deployment_name,
                    image=k.image,
                    mode=k.mode,
                    azure_ad=target,
                    app=app,
                    audience=audience,
                    credential_name=k.credential_name,
                    identity=identity if k.mode == "via-identity" else None,
                    create_namespace=k.create_namespace,
                    replicas=k.replicas,
                    container_port=k.container_port,
                    expected_issuer_url=k.expected_issuer_url,
                    env=k.env,
                    credentials=k.credentials,
                    chain_credentials=chain,
                ),
                opts=child,
            )
            credentials.append(compute.cluster_credential)

        if system_assigned:
            pulumi.log.warn(SYSTEM_ASSIGNED_WARNING.format(name=name), resource=self)
            assert args.system_trust_name is not None
            assert isinstance(compute, AppServiceBinding | ContainerAppBinding)
            # The subject exists only once the compute does: compute first, then the FIC (data dependency).
            credentials.append(
                FederatedCredential(
                    f"{name}-app-trusts-compute",
                    FederatedCredentialArgs(
                        credential_name=args.system_trust_name,
                        issuer=entra_issuer,
                        subject=compute.principal_id,
                        audience=audience,
                        app=app,
                    ),
                    opts=child,
                )
            )

        self.kind = args.kind
        self.aks_mode = aks_mode
        self.app = app
        self.identity = identity
        self.compute = compute
        self.credentials = credentials
        self.identity_type: str | None = (
            "SystemAssigned" if system_assigned else (None if identity is None else "UserAssigned")
        )
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.identity_client_id: pulumi.Output[str | None] = none
        self.identity_principal_id: pulumi.Output[str | None] = none
        self.identity_resource_id: pulumi.Output[str | None] = none
        if identity is not None:
            self.identity_client_id = identity.client_id
            self.identity_principal_id = identity.principal_id
            self.identity_resource_id = identity.resource_id
        elif isinstance(compute, AppServiceBinding | ContainerAppBinding):
            # System-assigned: the compute resource is the identity (no client ID is exported for it).
            self.identity_principal_id = compute.principal_id
            self.identity_resource_id = compute.app_id
        self.azure_ad_env = compute.azure_ad_env
        self.appsettings_json = compute.azure_ad_env.apply(appsettings_json)
        self.register_outputs(
            {
                "app_client_id": app.client_id,
                "identity_client_id": self.identity_client_id,
                "identity_principal_id": self.identity_principal_id,
                "azure_ad_env": self.azure_ad_env,
            }
        )
