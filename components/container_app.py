"""ContainerAppBinding: a Container Apps environment (new or existing) and its container app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import app as containerapps

from components.azure_ad import (
    FROM_MANAGED_IDENTITY,
    AzureAdTarget,
    azure_ad_env,
    env_output,
    mapped,
    with_owner_settings,
)
from components.errors import system_principal
from components.handles import IdentityOutputs
from components.registry import RegistryPull, acr_pull_grant


@dataclass(frozen=True)
class ContainerAppBindingArgs:
    resource_group_name: pulumi.Input[str]
    app_name: str
    image: str
    azure_ad: AzureAdTarget
    identity: IdentityOutputs | None
    """The user-assigned identity to attach; None attaches a system-assigned identity instead."""
    environment_name: str | None = None
    """Create a managed environment with this name ..."""
    environment_id: str | None = None
    """... or use an existing one by resource ID (exactly one of the two)."""
    location: pulumi.Input[str] | None = None
    target_port: int | None = None
    """Expose HTTPS ingress (external) to this container port; None means no ingress."""
    cpu: float = 0.5
    memory: str = "1Gi"
    env: Mapping[str, str] = field(default_factory=dict)
    chain_credentials: Sequence[pulumi.Resource] = ()
    """The FICs the app's token exchanges need: the container app is created only once they exist."""
    registry: RegistryPull | None = None
    """A private registry the image comes from, pulled as the user-assigned identity (which needs AcrPull)."""
    registry_pull_grant: pulumi.Resource | None = None
    """The identity's AcrPull on ``registry`` when declared elsewhere (once per identity and registry)."""
    declare_registry_pull: bool = True
    """Declare that AcrPull here when no ``registry_pull_grant`` is given. False: another stack holds it
    (the owner of a shared identity), and this app does not wait for it."""


class ContainerAppBinding(pulumi.ComponentResource):
    """Outputs ``app_id``, ``environment_id`` and ``principal_id`` (the identity the app runs as)."""

    def __init__(self, name: str, args: ContainerAppBindingArgs, opts: pulumi.ResourceOptions | None = None):
        if (args.environment_name is None) == (args.environment_id is None):
            raise ValueError(
                f"ContainerAppBinding {name!r}: give exactly one of environment_name or environment_id"
            )
        if args.registry is not None and args.identity is None:
            raise ValueError(
                f"ContainerAppBinding {name!r}: a private registry needs a user-assigned identity (its"
                " AcrPull role must exist before the first revision pulls)"
            )
        super().__init__("certless:compute:ContainerAppBinding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        registries: list[containerapps.RegistryCredentialsArgs] | None = None
        pull_after: list[pulumi.Resource] = []
        if args.registry is not None:
            assert args.identity is not None
            grant = args.registry_pull_grant
            if grant is None and args.declare_registry_pull:
                grant = acr_pull_grant(
                    f"{name}-acrpull", args.identity.principal_id, args.registry, opts=child
                )
            if grant is not None:
                pull_after.append(grant)
            # The identity is named by its ARM resource ID; "system" would mean the system-assigned one.
            registries = [
                containerapps.RegistryCredentialsArgs(
                    server=args.registry.server, identity=args.identity.resource_id
                )
            ]
        environment_id: pulumi.Input[str]
        if args.environment_name is not None:
            environment = containerapps.ManagedEnvironment(
                name,
                environment_name=args.environment_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                opts=child,
            )
            environment_id = environment.id
        else:
            assert args.environment_id is not None
            environment_id = args.environment_id
        if args.identity is not None:
            identity = containerapps.ManagedServiceIdentityArgs(
                type=containerapps.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.identity.resource_id],
            )
            mi_client_id: pulumi.Input[str] | None = args.identity.client_id
        else:
            identity = containerapps.ManagedServiceIdentityArgs(
                type=containerapps.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            )
            mi_client_id = None
        self.env = azure_ad_env(args.azure_ad, FROM_MANAGED_IDENTITY, mi_client_id)
        env_vars = with_owner_settings(self.env, args.azure_ad, sorted(args.env.items()))
        ingress = (
            containerapps.IngressArgs(external=True, target_port=args.target_port, allow_insecure=False)
            if args.target_port is not None
            else None
        )
        container_app = containerapps.ContainerApp(
            name,
            container_app_name=args.app_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            environment_id=environment_id,
            identity=identity,
            configuration=containerapps.ConfigurationArgs(ingress=ingress, registries=registries),
            template=containerapps.TemplateArgs(
                containers=[
                    containerapps.ContainerArgs(
                        name=args.app_name,
                        image=args.image,
                        resources=containerapps.ContainerResourcesArgs(cpu=args.cpu, memory=args.memory),
                        env=mapped(env_vars, lambda k, v: containerapps.EnvironmentVarArgs(name=k, value=v)),
                    )
                ]
            ),
            # Its first token exchange would race the FICs' creation otherwise (AADSTS70021).
            # and its first revision's image pull would race the AcrPull assignment.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.chain_credentials, *pull_after]),
        )
        self.container_app = container_app
        self.app_id = container_app.id
        self.environment_id = pulumi.Output.from_input(environment_id)
        self.principal_id: pulumi.Output[str] = (
            args.identity.principal_id
            if args.identity is not None
            else container_app.identity.apply(
                lambda i: system_principal(i, f"container app {args.app_name!r}")
            )
        )
        self.azure_ad_env = env_output(self.env, args.azure_ad)
        self.register_outputs(
            {"app_id": self.app_id, "environment_id": self.environment_id, "principal_id": self.principal_id}
        )
