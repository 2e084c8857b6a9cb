"""Validated stack configuration: every name final (colour applied), every reference resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from components.aks_kubeconfig import ClusterCredentials
from components.clouds import Cloud

Kind = Literal["appservice", "containerapp", "aks", "functionapp", "vm"]
VmMode = Literal["scaleset", "single"]
AksMode = Literal["via-identity", "direct"]
IdentityType = Literal["UserAssigned", "SystemAssigned"]


@dataclass(frozen=True)
class IdentitySpec:
    """An identity this stack owns: created (``name``) or adopted (``resource_id``)."""

    key: str
    name: str | None
    resource_id: str | None
    resource_group_name: str
    protect: bool


@dataclass(frozen=True)
class AppRoleSpec:
    """An app role the app exposes to other apps (application permission, the token's ``roles`` claim)."""

    value: str
    display_name: str
    description: str
    id: str
    """A fixed GUID derived from the value, so a re-run keeps the role (and its assignments)."""


@dataclass(frozen=True)
class WebSpec:
    """The app's web platform: where Entra sends sign-in responses, and what it may issue implicitly."""

    redirect_uris: tuple[str, ...]
    callback_path: str
    """The path of one of ``redirect_uris``: Microsoft.Identity.Web's ``CallbackPath``."""
    logout_url: str | None = None
    homepage_url: str | None = None
    id_tokens: bool = False
    """Implicit ID-token issuance (hybrid flows); access tokens are never issued implicitly."""


@dataclass(frozen=True)
class ScopeSpec:
    """A delegated permission the app exposes (the token's ``scp`` claim)."""

    value: str
    admin_consent_display_name: str
    description: str
    id: str
    """Given, or a fixed GUID derived from the app key and the value, so a re-run keeps the scope."""


@dataclass(frozen=True)
class PreAuthorizedSpec:
    """Another app of this stack that gets these scopes without a consent prompt."""

    app: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ApiSpec:
    scopes: tuple[ScopeSpec, ...] = ()
    requested_access_token_version: int = 2
    known_clients: tuple[str, ...] = ()
    """Keys of the apps of this stack whose consent also covers this API (consent bundling)."""
    pre_authorized: tuple[PreAuthorizedSpec, ...] = ()


@dataclass(frozen=True)
class AppSpec:
    key: str
    display_name: str
    owners: tuple[str, ...]
    sign_in_audience: str
    protect: bool
    trust_identities: tuple[str, ...] = ()
    """Identity keys the app trusts even when no workload of this stack uses the pair (an owner stack
    holding only the identity layer, which colour stacks reference)."""
    app_roles: tuple[AppRoleSpec, ...] = ()
    web: WebSpec | None = None
    api: ApiSpec | None = None

    @property
    def exposes_api(self) -> bool:
        """True when the app is a resource other apps get tokens for: it then has ``api://<client id>``."""
        return bool(self.app_roles) or self.api is not None


@dataclass(frozen=True)
class ReferencedIdentity:
    key: str
    resource_id: str
    client_id: str
    principal_id: str


@dataclass(frozen=True)
class ReferencedApp:
    key: str
    client_id: str
    object_id: str
    sign_in: dict[str, Any] | None = None
    """The app's ``signIn`` record, as an owner stack exports it, when the config describes its web
    platform or API (``identityOwner.apps.<key>.web`` / ``.api``); None when it describes neither."""


@dataclass(frozen=True)
class IdentityOwner:
    """The shared identity layer lives in another stack: named (``stack``) or given by explicit IDs."""

    stack: str | None
    identities: dict[str, ReferencedIdentity] = field(default_factory=dict)
    apps: dict[str, ReferencedApp] = field(default_factory=dict)


@dataclass(frozen=True)
class EasyAuthSpec:
    """App Service Authentication with the Entra provider and the FIC override (enabled ones only)."""

    callback_uri: str
    """``https://<site host>/.auth/login/aad/callback``: a redirect URI the app registration must hold."""
    require_authentication: bool = True
    unauthenticated_client_action: str = "RedirectToLoginPage"
    allowed_audiences: tuple[str, ...] = ()
    allowed_applications: tuple[str, ...] = ()
    excluded_paths: tuple[str, ...] = ()
    token_store: bool = True
    login_parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppServiceSpec:
    name: str
    plan_name: str
    sku: str
    linux_fx_version: str
    app_settings: dict[str, str]
    authentication: EasyAuthSpec | None = None


@dataclass(frozen=True)
class FunctionAppSpec:
    name: str
    plan_name: str
    sku: str
    runtime_version: str
    storage_account_name: str
    storage_account_id: str | None
    """An existing host storage account (the name is then taken from it); None creates one."""
    deployment_container: str
    instance_memory_mb: int
    maximum_instance_count: int
    app_settings: dict[str, str]
    authentication: EasyAuthSpec | None = None


@dataclass(frozen=True)
class VmSpec:
    name: str
    mode: VmMode
    instances: int
    size: str
    image: tuple[str, str, str, str]
    """publisher, offer, sku, version"""
    admin_username: str
    ssh_public_key: str
    command: str
    service_user: str
    subnet_id: str | None
    env: dict[str, str]


@dataclass(frozen=True)
class ContainerAppSpec:
    name: str
    image: str
    environment_name: str | None
    environment_id: str | None
    target_port: int | None
    env: dict[str, str]
    registry: str | None = None
    """Login server of a private Azure Container Registry the image comes from (pulled as the identity)."""
    registry_resource_id: str | None = None
    """That registry's resource ID: the scope of the identity's AcrPull role."""


@dataclass(frozen=True)
class AksSpec:
    cluster_resource_group: str
    cluster_name: str
    namespace: str
    service_account: str
    create_namespace: bool
    deployment_name: str
    image: str
    replicas: int
    container_port: int | None
    mode: AksMode
    issuer_url: str | None
    env: dict[str, str]
    credentials: ClusterCredentials = "user"
    """How the kubernetes provider authenticates (stackconfig.aks_credentials)."""


@dataclass(frozen=True)
class GrantSpec:
    """One Azure role assignment for the workload's app (its service principal)."""

    role_name: str | None
    """The built-in role name; None for a roleDefinitionId outside the table (a custom role)."""
    role_guid: str
    scope: str
    role_definition_id: str
    principal: Literal["app", "identity"] = "app"
    """Who is granted: the app's service principal (what the app's code runs as), or the workload's
    managed identity for what the platform itself does with it (image pull, Key Vault references)."""


@dataclass(frozen=True)
class ApiPermissionSpec:
    """Application permissions (app roles) on Graph, on another app of the stack, or on an appId."""

    api: str
    kind: Literal["graph", "app", "appId"]
    app_roles: tuple[str, ...]


@dataclass(frozen=True)
class DelegatedPermissionSpec:
    """Delegated permissions (scopes) the workload's app holds for every user, by admin consent."""

    api: str
    kind: Literal["graph", "app", "appId"]
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    kind: Kind
    app: str
    identity: str | None
    identity_type: IdentityType
    resource_group_name: str
    app_service: AppServiceSpec | None = None
    container_app: ContainerAppSpec | None = None
    aks: AksSpec | None = None
    function_app: FunctionAppSpec | None = None
    vm: VmSpec | None = None
    cluster_fic_name: str | None = None
    system_fic_name: str | None = None
    access: tuple[GrantSpec, ...] = ()
    api_permissions: tuple[ApiPermissionSpec, ...] = ()
    delegated_permissions: tuple[DelegatedPermissionSpec, ...] = ()

    @property
    def easy_auth(self) -> EasyAuthSpec | None:
        site = self.app_service or self.function_app
        return site.authentication if site is not None else None

    @property
    def uses_identity_trust(self) -> bool:
        """True when the app must trust this workload's user-assigned identity."""
        return self.identity is not None and not (self.aks is not None and self.aks.mode == "direct")


@dataclass(frozen=True)
class StackConfig:
    stack: str
    tenant_id: str
    cloud: Cloud
    location: str
    resource_group_name: str
    color: str | None
    identities: dict[str, IdentitySpec]
    apps: dict[str, AppSpec]
    owner: IdentityOwner | None
    workloads: dict[str, WorkloadSpec]
    identity_trusts: tuple[tuple[str, str, str], ...]
    """(app key, identity key, FIC name) for every app that trusts a user-assigned identity."""

    @property
    def owns_identity_layer(self) -> bool:
        return self.owner is None
