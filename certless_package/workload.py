"""CertificatelessWorkload for the package: identity + app registration + trust + compute, one description."""

from typing import Any, NotRequired, TypedDict

import pulumi

from certless_package.convert import plain
from certless_package.index_type import IndexTyped
from certless_package.types import (
    AksOptions,
    AppRegistrationArgs,
    AppServiceOptions,
    CloudName,
    ContainerAppOptions,
    ExistingAppArgs,
    FunctionAppOptions,
    ManagedIdentityArgs,
    VmOptions,
    WorkloadKind,
)
from components import workload as base
from components.app_registration import AppRegistrationArgs as AppRegistrationSpec
from components.app_registration import AppRole
from components.clouds import CLOUDS
from components.easy_auth import UNAUTHENTICATED_ACTIONS, EasyAuth
from components.handles import AppOutputs
from components.identity import ManagedIdentityArgs as ManagedIdentitySpec
from components.registry import RegistryPull


class CertificatelessWorkloadArgs(TypedDict):
    """One workload: where it runs, the app it signs in as and the identity that proves it."""

    kind: WorkloadKind
    """Where the workload runs; give that kind's options (appService, containerApp, aks, functionApp, vm)."""
    tenant_id: str
    """Entra tenant ID (GUID) of the app and the identity; fixes the FIC issuer."""
    cloud: NotRequired[CloudName]
    """The Azure cloud; default AzurePublic."""
    app: NotRequired[AppRegistrationArgs]
    """A new app registration for this workload (or existingApp)."""
    existing_app: NotRequired[ExistingAppArgs]
    """An app registration declared elsewhere (or app)."""
    identity: NotRequired[ManagedIdentityArgs]
    """The user-assigned identity; none: the compute's system-assigned identity (App Service, Container
    Apps), or no identity at all (AKS direct mode)."""
    app_service: NotRequired[AppServiceOptions]
    container_app: NotRequired[ContainerAppOptions]
    aks: NotRequired[AksOptions]
    function_app: NotRequired[FunctionAppOptions]
    vm: NotRequired[VmOptions]
    identity_trust_name: NotRequired[str]
    """Name of the app's FIC trusting the user-assigned identity, declared here; none: declared elsewhere."""
    system_trust_name: NotRequired[str]
    """Name of the app's FIC trusting the system-assigned identity (required for that case)."""


class CertificatelessWorkload(base.CertificatelessWorkload, IndexTyped):
    """A workload that signs in to Entra as its app registration with no secret and no certificate: the
    app's federated identity credential trusts the workload's managed identity (or AKS service account),
    and the compute carries the AzureAd settings the runtime reads."""

    app_client_id: pulumi.Output[str]
    """Client ID of the app registration the workload signs in as."""
    identity_client_id: pulumi.Output[str | None]
    """Client ID of the user-assigned identity; none for a system-assigned identity or AKS direct mode."""
    identity_principal_id: pulumi.Output[str | None]
    """Principal (object) ID of the identity: the subject of the app's FIC."""
    identity_resource_id: pulumi.Output[str | None]
    identity_type: str | None
    """UserAssigned, SystemAssigned, or none (AKS direct mode)."""
    azure_ad_env: pulumi.Output[dict[str, str]]
    """The AzureAd settings in .NET's environment variable form, as set on the compute."""
    appsettings_json: pulumi.Output[str]
    """The same settings as an appsettings.json document."""

    def __init__(
        self, name: str, args: CertificatelessWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, to_spec(name, args), opts)
        self.app_client_id = self.app.client_id


def to_spec(name: str, args: CertificatelessWorkloadArgs) -> base.CertificatelessWorkloadArgs:
    """The package's inputs as the component's Args; a wrong combination fails here, before any resource."""
    if ("app" in args) == ("existing_app" in args):
        raise ValueError(f"CertificatelessWorkload {name!r}: give exactly one of app and existingApp")
    app: AppOutputs | AppRegistrationSpec
    if "app" in args:
        new = args["app"]
        app = AppRegistrationSpec(
            display_name=new["display_name"],
            owners=tuple(new.get("owners", ())),
            sign_in_audience=new.get("sign_in_audience", "AzureADMyOrg"),
            app_roles=tuple(AppRole(**plain(role)) for role in new.get("app_roles", ())),
        )
    else:
        existing = args["existing_app"]
        app = AppOutputs(
            client_id=pulumi.Output.from_input(existing["client_id"]),
            object_id=pulumi.Output.from_input(existing["object_id"]),
        )
    identity = ManagedIdentitySpec(**plain(args["identity"])) if "identity" in args else None
    container_app = None
    if "container_app" in args:
        c = plain(args["container_app"])
        server, registry_id = c.pop("registry_server", None), c.pop("registry_resource_id", None)
        if (server is None) != (registry_id is None):
            raise ValueError(
                f"CertificatelessWorkload {name!r}: containerApp needs both registryServer and"
                " registryResourceId, or neither"
            )
        registry = RegistryPull(server, registry_id) if server is not None else None
        container_app = base.ContainerAppOptions(**c, registry=registry)
    return base.CertificatelessWorkloadArgs(
        kind=args["kind"].value,
        cloud=CLOUDS[args.get("cloud", CloudName.AZURE_PUBLIC).value],
        tenant_id=args["tenant_id"],
        app=app,
        identity=identity,
        app_service=base.AppServiceOptions(**with_easy_auth(args["app_service"]))
        if "app_service" in args
        else None,
        container_app=container_app,
        aks=base.AksOptions(**plain(args["aks"])) if "aks" in args else None,
        function_app=(
            base.FunctionAppOptions(**with_easy_auth(args["function_app"]))
            if "function_app" in args
            else None
        ),
        vm=base.VmOptions(**plain(args["vm"])) if "vm" in args else None,
        identity_trust_name=args.get("identity_trust_name"),
        system_trust_name=args.get("system_trust_name"),
    )


def with_easy_auth(options: Any) -> dict[str, Any]:
    """The site's options with ``authentication`` as the component's EasyAuth."""
    site = plain(options)
    auth = site.pop("authentication", None)
    if auth is not None:
        auth = dict(auth)
        action = auth.get("unauthenticated_client_action", "RedirectToLoginPage")
        if action not in UNAUTHENTICATED_ACTIONS:
            raise ValueError(
                f"authentication.unauthenticatedClientAction {str(action)[:80]!r}; expected one of"
                f" {', '.join(UNAUTHENTICATED_ACTIONS)}"
            )
        site["authentication"] = EasyAuth(**auth)
    return site
