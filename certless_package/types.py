"""Input types of the component package, annotated as Pulumi's schema inference reads them.

No ``from __future__ import annotations`` in this room: the inference reads the annotations as runtime
objects. ``NotRequired`` marks an optional input; ``pulumi.Input[...]`` one that may be another
resource's output; a bare type (a name, a kind) must be known when the program runs.
"""

from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi


class CloudName(StrEnum):
    """The Azure cloud: its login host, Entra issuer and token-exchange audience."""

    AZURE_PUBLIC = "AzurePublic"
    """Azure public cloud: login.microsoftonline.com, audience api://AzureADTokenExchange."""
    AZURE_US_GOVERNMENT = "AzureUSGovernment"
    """Azure US Government: login.microsoftonline.us."""
    AZURE_CHINA = "AzureChina"
    """Azure operated by 21Vianet: login.partner.microsoftonline.cn."""


class WorkloadKind(StrEnum):
    """Where the workload runs; the options of that kind must be given, and only those."""

    APP_SERVICE = "appservice"
    """A Linux App Service web app (options: appService)."""
    CONTAINER_APP = "containerapp"
    """An Azure Container Apps app (options: containerApp)."""
    AKS = "aks"
    """A deployment on AKS with workload identity (options: aks)."""
    FUNCTION_APP = "functionapp"
    """A Flex Consumption Function App (options: functionApp)."""
    VM = "vm"
    """A Linux virtual machine or scale set (options: vm)."""


class AksMode(StrEnum):
    """How a pod's service-account token reaches the app's token exchange."""

    VIA_IDENTITY = "via-identity"
    """The pod's token is exchanged for the user-assigned identity's, which the app's FIC trusts."""
    DIRECT = "direct"
    """The app's FIC trusts the cluster's OIDC issuer itself; no managed identity."""


class ClusterCredentials(StrEnum):
    """How the kubernetes provider authenticates to the cluster."""

    USER = "user"
    """The user kubeconfig as it is."""
    AZURECLI = "azurecli"
    """kubelogin with the Azure CLI login."""
    WORKLOADIDENTITY = "workloadidentity"
    """kubelogin with a workload identity token."""
    MSI = "msi"
    """kubelogin with the machine's managed identity."""
    SPN = "spn"
    """kubelogin with a service principal."""
    ADMIN = "admin"
    """The admin (local account) kubeconfig."""


class VmMode(StrEnum):
    """A scale set of instances, or one virtual machine."""

    SCALESET = "scaleset"
    """A virtual machine scale set."""
    SINGLE = "single"
    """One virtual machine."""


class Grantee(StrEnum):
    """Who receives a grant: the app's service principal, or the managed identity itself."""

    APP = "app"
    """The app registration's service principal (what the app signs in as)."""
    IDENTITY = "identity"
    """The managed identity (for what the platform does with it, e.g. image pulls)."""


class AppRoleArgs(TypedDict):
    """An application permission the app exposes (granted to other apps)."""

    value: str
    """The role's value, as it appears in the ``roles`` claim."""
    display_name: str
    description: str
    id: str
    """The role's GUID."""


class AppRegistrationArgs(TypedDict):
    """A new Entra app registration and its service principal."""

    display_name: str
    """Display name of the app registration."""
    owners: NotRequired[list[str]]
    """Object IDs of the owners; the deployer must be one (or hold Application.ReadWrite.All) to add FICs."""
    sign_in_audience: NotRequired[str]
    """Who may sign in; default AzureADMyOrg."""
    app_roles: NotRequired[list[AppRoleArgs]]
    """Application permissions the app exposes; with any, its identifier URI is api://<client id>."""


class ExistingAppArgs(TypedDict):
    """An app registration that exists already (declared by another stack or by hand)."""

    client_id: pulumi.Input[str]
    """The app's client (application) ID."""
    object_id: pulumi.Input[str]
    """The app registration's object ID."""


class ManagedIdentityArgs(TypedDict):
    """A user-assigned identity: a new one (resource group and name), or an existing one adopted by ID."""

    resource_group_name: NotRequired[pulumi.Input[str]]
    """Resource group of a new identity."""
    identity_name: NotRequired[str]
    """Physical name of a new identity (3-128 characters)."""
    location: NotRequired[pulumi.Input[str]]
    tags: NotRequired[dict[str, str]]
    existing_resource_id: NotRequired[str]
    """Adopt this identity instead of creating one: it is only read, never created or changed."""


class EasyAuthOptions(TypedDict, total=False):
    """App Service Authentication signing users in as the app registration with the user-assigned
    identity's token (its FIC) instead of a client secret. Register
    https://<site host>/.auth/login/aad/callback as a redirect URI of the app yourself."""

    require_authentication: bool
    """Default true: unauthenticated requests never reach the app."""
    unauthenticated_client_action: str
    """RedirectToLoginPage (default), Return401, Return403, or AllowAnonymous."""
    allowed_audiences: list[str]
    """Token audiences accepted beside api://<client id>."""
    allowed_applications: list[str]
    """Client IDs of the only apps whose tokens are accepted."""
    excluded_paths: list[str]
    token_store: bool
    login_parameters: list[str]


class AppServiceOptions(TypedDict):
    """A Linux App Service plan and web app."""

    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    location: NotRequired[pulumi.Input[str]]
    sku: NotRequired[str]
    """Plan SKU; default B1."""
    linux_fx_version: NotRequired[str]
    """Runtime stack; default PYTHON|3.12."""
    app_settings: NotRequired[dict[str, str]]
    """Extra app settings beside the AzureAd ones."""
    authentication: NotRequired[EasyAuthOptions]
    """App Service Authentication with the FIC (needs a user-assigned identity)."""


class ContainerAppOptions(TypedDict):
    """A container app in a new (environmentName) or existing (environmentId) Container Apps environment."""

    resource_group_name: pulumi.Input[str]
    app_name: str
    image: str
    environment_name: NotRequired[str]
    environment_id: NotRequired[str]
    location: NotRequired[pulumi.Input[str]]
    target_port: NotRequired[int]
    """Ingress port; none: no ingress."""
    env: NotRequired[dict[str, str]]
    registry_server: NotRequired[str]
    """Login server of a private registry the image comes from (pulled as the user-assigned identity)."""
    registry_resource_id: NotRequired[str]
    """ARM ID of that registry: the identity gets AcrPull on it."""


class AksOptions(TypedDict):
    """A Kubernetes deployment and service account on an existing AKS cluster with workload identity."""

    cluster_resource_group: str
    cluster_name: str
    namespace: str
    service_account: str
    deployment_name: str
    image: str
    mode: AksMode
    credential_name: str
    """Name of the FIC that trusts the cluster's issuer for the service account."""
    create_namespace: NotRequired[bool]
    replicas: NotRequired[int]
    container_port: NotRequired[int]
    expected_issuer_url: NotRequired[str]
    """Fail when the cluster's OIDC issuer differs from this URL."""
    env: NotRequired[dict[str, str]]
    credentials: NotRequired[ClusterCredentials]


class FunctionAppOptions(TypedDict):
    """A Flex Consumption Function App whose host storage authenticates with the user-assigned identity."""

    resource_group_name: pulumi.Input[str]
    plan_name: str
    app_name: str
    storage_account_name: str
    storage_account_id: NotRequired[str]
    """ARM ID of an existing storage account; none: a new one is created."""
    deployment_container: NotRequired[str]
    location: NotRequired[pulumi.Input[str]]
    sku: NotRequired[str]
    runtime_version: NotRequired[str]
    instance_memory_mb: NotRequired[int]
    maximum_instance_count: NotRequired[int]
    app_settings: NotRequired[dict[str, str]]
    authentication: NotRequired[EasyAuthOptions]
    """App Service Authentication with the FIC in front of the functions."""


class VmOptions(TypedDict):
    """A Linux VM or scale set running the app's command as a service user."""

    resource_group_name: pulumi.Input[str]
    vm_name: str
    command: str
    admin_username: str
    ssh_public_key: str
    mode: NotRequired[VmMode]
    instances: NotRequired[int]
    size: NotRequired[str]
    service_user: NotRequired[str]
    subnet_id: NotRequired[str]
    location: NotRequired[pulumi.Input[str]]
    env: NotRequired[dict[str, str]]


class RoleGrantArgs(TypedDict):
    """An Azure role assignment."""

    role_guid: str
    """The role definition's GUID (built-in or custom)."""
    scope: pulumi.Input[str]
    """ARM ID the role applies to, under /subscriptions/<id>."""
    role_name: NotRequired[str]
    """The built-in role's name, for outputs and descriptions."""
    key: NotRequired[str]
    """Stable part of the child's resource name; needed when the scope is another resource's output."""


class AppRoleGrantArgs(TypedDict):
    """An app role (application permission) of an API granted to the principal."""

    api: str
    """What the API is called here (e.g. graph), for names and outputs."""
    value: str
    """The app role's value, e.g. User.Read.All."""
    app_role_id: pulumi.Input[str]
    resource_object_id: pulumi.Input[str]
    """Object ID of the API's service principal."""
