"""certless: certificateless Entra authentication for apps on Azure.

Reads and validates the stack configuration first (a bad value stops the program before any resource
is registered), then declares the shared identity layer (owned here, or referenced from its owning
stack), the workloads, and the stack outputs (docs/plan-schema.md, docs/configuration.md).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from components import (
    AccessGrant,
    AccessGrantArgs,
    AksOptions,
    AksWorkloadBinding,
    AppOutputs,
    AppRegistration,
    AppRegistrationArgs,
    AppRole,
    AppRoleGrant,
    AppServiceOptions,
    CertificatelessWorkload,
    CertificatelessWorkloadArgs,
    ContainerAppOptions,
    FederatedCredential,
    FederatedCredentialArgs,
    FunctionAppBinding,
    FunctionAppOptions,
    IdentityOutputs,
    ManagedIdentity,
    ManagedIdentityArgs,
    PermissionScope,
    RoleGrant,
    VirtualMachineBinding,
    VmImage,
    VmOptions,
    WebApi,
    WebPlatform,
)
from components.access import describe_grants
from components.identity import resource_group_of
from components.registry import RegistryPull, acr_pull_grant
from stackconfig import (
    ConfigError,
    StackConfig,
    WorkloadSpec,
    identity_trust_fic_name,
    load,
    read_pulumi_config,
)
from stackconfig.access import app_role_id
from stackconfig.model import ApiSpec, WebSpec
from stackconfig.provider_config import provider_arguments, subscription_of
from stackconfig.rules import GUID, IDENTITY_ID, shown
from stackconfig.web import creation_order

SHARED_OUTPUT = "sharedIdentity"
SHARED_IDENTITY_FIELDS = ("resourceId", "clientId", "principalId")
SHARED_APP_FIELDS = ("clientId", "objectId")


Trusts = dict[tuple[str, str], pulumi.Resource]
"""(app key, identity key) -> the app's FIC trusting that identity, declared once by the identity layer."""


def owned_layer(
    config: StackConfig,
) -> tuple[dict[str, IdentityOutputs], dict[str, AppOutputs], Trusts, dict[str, Any]]:
    """Identities, apps and the apps' FICs trusting the identities, plus the sharedIdentity export."""
    identities: dict[str, IdentityOutputs] = {}
    for key, spec in config.identities.items():
        identities[key] = ManagedIdentity(
            key,
            ManagedIdentityArgs(
                resource_group_name=spec.resource_group_name,
                identity_name=spec.name,
                location=config.location,
                existing_resource_id=spec.resource_id,
            ),
            opts=pulumi.ResourceOptions(protect=spec.protect),
        ).outputs
    registrations: dict[str, AppRegistration] = {}
    for key in creation_order(config.apps):  # an API names its known clients' client IDs
        app = config.apps[key]
        registrations[key] = AppRegistration(
            key,
            AppRegistrationArgs(
                app.display_name,
                app.owners,
                app.sign_in_audience,
                [AppRole(r.value, r.display_name, r.description, r.id) for r in app.app_roles],
                web=web_platform(app.web),
                api=web_api(app.api, registrations),
            ),
            opts=pulumi.ResourceOptions(protect=app.protect),
        )
    registrations = {key: registrations[key] for key in config.apps}  # the configured order
    for key, app in config.apps.items():
        for client in app.api.pre_authorized if app.api is not None else ():
            ids = scope_ids(app.api)
            registrations[key].pre_authorize(
                client.app, registrations[client.app].client_id, [ids[v] for v in client.scopes]
            )
    trusts: Trusts = {}
    for app_key, identity_key, name in config.identity_trusts:
        trusts[app_key, identity_key] = FederatedCredential(
            f"{app_key}-trusts-{identity_key}",
            FederatedCredentialArgs(
                credential_name=name,
                issuer=config.cloud.issuer(config.tenant_id),
                subject=identities[
                    identity_key
                ].principal_id,  # the principal (object) ID, never the client ID
                audience=config.cloud.token_exchange_audience,
                app=registrations[app_key].outputs,
            ),
            opts=pulumi.ResourceOptions(parent=registrations[app_key]),  # protected with its app
        ).resource
    apps = {key: reg.outputs for key, reg in registrations.items()}
    export = {
        "tenantId": config.tenant_id,
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
        "apps": {
            key: {
                "clientId": a.client_id,
                "objectId": a.object_id,
                "servicePrincipalObjectId": a.service_principal_id,
                "appRoleIds": {r.value: r.id for r in config.apps[key].app_roles},
                # A web API's delegated permissions, for stacks that grant them by ID.
                **({"scopeIds": scope_ids(config.apps[key].api)} if config.apps[key].api is not None else {}),
            }
            for key, a in apps.items()
        },
    }
    return identities, apps, trusts, export


_GUID_OUTPUTS = frozenset({"clientId", "principalId", "objectId"})


def _is_guid(value: Any) -> bool:
    return isinstance(value, str) and GUID.fullmatch(value) is not None


def _lookup(shared: Any, path: tuple[str, ...]) -> Any:
    node = shared
    for part in path:
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def _needed_paths(identity_keys: set[str], app_keys: set[str]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("tenantId",)]
    paths += [("identities", k, f) for k in sorted(identity_keys) for f in SHARED_IDENTITY_FIELDS]
    paths += [("apps", k, f) for k in sorted(app_keys) for f in SHARED_APP_FIELDS]
    return paths


def referenced_layer(config: StackConfig) -> tuple[dict[str, IdentityOutputs], dict[str, AppOutputs]]:
    """The identity layer of another stack: through a StackReference, or from explicit IDs."""
    owner = config.owner
    assert owner is not None
    identity_keys = {w.identity for w in config.workloads.values() if w.identity is not None}
    app_keys = {w.app for w in config.workloads.values()}
    if owner.stack is None:
        identities = {
            key: _identity_from_id(ref.resource_id, ref.client_id, ref.principal_id, config.tenant_id)
            for key, ref in owner.identities.items()
        }
        apps = {
            key: AppOutputs(pulumi.Output.from_input(a.client_id), pulumi.Output.from_input(a.object_id))
            for key, a in owner.apps.items()
        }
        return identities, apps

    stack = owner.stack
    ref = pulumi.StackReference(stack)

    needed = _needed_paths(identity_keys, app_keys)

    def checked(shared: Any) -> Any:
        # Everything is checked here, once, so a gap gives one message naming every missing output.
        if shared is None:
            raise pulumi.RunError(
                f"stack {stack!r} has no output {SHARED_OUTPUT!r}; expected the stack that owns the identity"
                " layer (certless:identities and certless:apps) to be deployed first"
            )
        tenant = _lookup(shared, ("tenantId",))
        if tenant is not None and str(tenant).lower() != config.tenant_id:
            raise pulumi.RunError(
                f"stack {stack!r} exports tenant {tenant!r}, but certless:tenantId is {config.tenant_id!r};"
                " expected the same tenant"
            )
        missing = [".".join((SHARED_OUTPUT, *p)) for p in needed if _lookup(shared, p) is None]
        if missing:
            raise pulumi.RunError(
                f"stack {stack!r} does not export {', '.join(missing)}; expected the owning stack to hold"
                " every identity and app this stack's workloads name (deploy the owner with them first)"
            )
        for key in sorted(identity_keys):
            rid = _lookup(shared, ("identities", key, "resourceId"))
            if not isinstance(rid, str) or IDENTITY_ID.match(rid) is None:
                raise pulumi.RunError(
                    f"stack {stack!r} exports {SHARED_OUTPUT}.identities.{key}.resourceId = {shown(rid)};"
                    " expected /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
                )
        # An ID must arrive as GUID text: a number (12345, which the engine hands over as 12345.0)
        # would otherwise become a FIC subject or role assignment principal that matches nothing.
        for path in needed:
            if path[-1] in _GUID_OUTPUTS and not _is_guid(_lookup(shared, path)):
                value = _lookup(shared, path)
                raise pulumi.RunError(
                    f"stack {stack!r} exports {'.'.join((SHARED_OUTPUT, *path))} = {shown(value)}; expected"
                    " a GUID like 00000000-0000-0000-0000-000000000000"
                )
        return shared

    shared = ref.get_output(SHARED_OUTPUT).apply(checked)

    def field(path: tuple[str, ...]) -> pulumi.Output[str]:
        # Entra compares FIC subjects case-sensitively and emits IDs in lower case.
        if path[-1] in _GUID_OUTPUTS:
            return shared.apply(lambda s: str(_lookup(s, path)).lower())
        return shared.apply(lambda s: str(_lookup(s, path)))

    identities = {}
    for key in sorted(identity_keys):
        resource_id = field(("identities", key, "resourceId"))
        identities[key] = IdentityOutputs(
            client_id=field(("identities", key, "clientId")),
            principal_id=field(("identities", key, "principalId")),
            tenant_id=pulumi.Output.from_input(config.tenant_id),
            resource_id=resource_id,
            name=resource_id.apply(lambda rid: rid.rsplit("/", 1)[-1]),
            resource_group_name=resource_id.apply(resource_group_of),
        )
    apps = {
        key: AppOutputs(field(("apps", key, "clientId")), field(("apps", key, "objectId")))
        for key in sorted(app_keys)
    }
    return identities, apps


def _identity_from_id(resource_id: str, client_id: str, principal_id: str, tenant_id: str) -> IdentityOutputs:
    return IdentityOutputs(
        client_id=pulumi.Output.from_input(client_id),
        principal_id=pulumi.Output.from_input(principal_id),
        tenant_id=pulumi.Output.from_input(tenant_id),
        resource_id=pulumi.Output.from_input(resource_id),
        name=pulumi.Output.from_input(resource_id.rsplit("/", 1)[-1]),
        resource_group_name=pulumi.Output.from_input(resource_group_of(resource_id)),
    )


def scope_ids(api: ApiSpec | None) -> dict[str, str]:
    return {s.value: s.id for s in api.scopes} if api is not None else {}


def web_platform(spec: WebSpec | None) -> WebPlatform | None:
    if spec is None:
        return None
    return WebPlatform(spec.redirect_uris, spec.logout_url, spec.homepage_url, spec.id_tokens)


def web_api(spec: ApiSpec | None, registrations: dict[str, AppRegistration]) -> WebApi | None:
    if spec is None:
        return None
    return WebApi(
        scopes=[
            PermissionScope(s.value, s.admin_consent_display_name, s.description, s.id) for s in spec.scopes
        ],
        requested_access_token_version=spec.requested_access_token_version,
        known_client_ids=[registrations[k].client_id for k in spec.known_clients],
    )


def workload_args(
    config: StackConfig, w: WorkloadSpec, app: AppOutputs, identity: IdentityOutputs | None
) -> CertificatelessWorkloadArgs:
    app_service = container_app = aks = function_app = vm = None
    if w.vm is not None:
        v = w.vm
        vm = VmOptions(
            resource_group_name=w.resource_group_name,
            vm_name=v.name,
            command=v.command,
            admin_username=v.admin_username,
            ssh_public_key=v.ssh_public_key,
            mode=v.mode,
            instances=v.instances,
            size=v.size,
            image=VmImage(*v.image),
            service_user=v.service_user,
            subnet_id=v.subnet_id,
            location=config.location,
            env=v.env,
        )
    elif w.function_app is not None:
        f = w.function_app
        function_app = FunctionAppOptions(
            resource_group_name=w.resource_group_name,
            plan_name=f.plan_name,
            app_name=f.name,
            storage_account_name=f.storage_account_name,
            storage_account_id=f.storage_account_id,
            deployment_container=f.deployment_container,
            location=config.location,
            sku=f.sku,
            runtime_version=f.runtime_version,
            instance_memory_mb=f.instance_memory_mb,
            maximum_instance_count=f.maximum_instance_count,
            app_settings=f.app_settings,
        )
    elif w.app_service is not None:
        s = w.app_service
        app_service = AppServiceOptions(
            resource_group_name=w.resource_group_name,
            plan_name=s.plan_name,
            app_name=s.name,
            location=config.location,
            sku=s.sku,
            linux_fx_version=s.linux_fx_version,
            app_settings=s.app_settings,
        )
    elif w.container_app is not None:
        c = w.container_app
        container_app = ContainerAppOptions(
            resource_group_name=w.resource_group_name,
            app_name=c.name,
            image=c.image,
            environment_name=c.environment_name,
            environment_id=c.environment_id,
            location=config.location,
            target_port=c.target_port,
            env=c.env,
            registry=RegistryPull(c.registry, c.registry_resource_id)
            if c.registry is not None and c.registry_resource_id is not None
            else None,
        )
    else:
        k = w.aks
        assert k is not None and w.cluster_fic_name is not None
        aks = AksOptions(
            cluster_resource_group=k.cluster_resource_group,
            cluster_name=k.cluster_name,
            namespace=k.namespace,
            service_account=k.service_account,
            deployment_name=k.deployment_name,
            image=k.image,
            mode=k.mode,
            credential_name=w.cluster_fic_name,
            create_namespace=k.create_namespace,
            replicas=k.replicas,
            container_port=k.container_port,
            expected_issuer_url=k.issuer_url,
            env=k.env,
            credentials=k.credentials,
        )
    return CertificatelessWorkloadArgs(
        kind=w.kind,
        cloud=config.cloud,
        tenant_id=config.tenant_id,
        app=app,
        identity=identity,
        app_service=app_service,
        container_app=container_app,
        aks=aks,
        function_app=function_app,
        vm=vm,
        identity_trust_name=None,  # declared once per app and identity, by the identity layer
        system_trust_name=w.system_fic_name,
        **sign_in_settings(config, w.app),
    )


def sign_in_settings(config: StackConfig, app_key: str) -> dict[str, Any]:
    """The web app's CallbackPath and the web API's Audience and Scopes, from the app this stack owns."""
    spec = config.apps.get(app_key)
    if spec is None:
        return {}
    return {
        "callback_path": spec.web.callback_path if spec.web is not None else None,
        "api_token_version": spec.api.requested_access_token_version if spec.api is not None else None,
        "api_scopes": [s.value for s in spec.api.scopes] if spec.api is not None else [],
    }


def workload_output(
    config: StackConfig, w: WorkloadSpec, workload: CertificatelessWorkload
) -> pulumi.Output[Any]:
    credentials: list[pulumi.Output[dict[str, str]]] = []
    if w.uses_identity_trust:
        assert w.identity is not None
        credentials.append(
            workload.identity_principal_id.apply(
                lambda principal: {
                    "name": identity_trust_fic_name(w.identity or ""),
                    "on": "app",
                    "issuer": config.cloud.issuer(config.tenant_id),
                    "subject": principal or "",
                    "audience": config.cloud.token_exchange_audience,
                }
            )
        )
    credentials.extend(c.describe() for c in workload.credentials)
    aks: Any = None
    if w.aks is not None and isinstance(workload.compute, AksWorkloadBinding):
        aks = {
            "clusterName": w.aks.cluster_name,
            "namespace": w.aks.namespace,
            "serviceAccount": w.aks.service_account,
            "oidcIssuerUrl": workload.compute.oidc_issuer_url,
            "credentials": w.aks.credentials,
        }
    record: dict[str, Any] = {
        "kind": w.kind,
        "aksMode": w.aks.mode if w.aks is not None else None,
        "identityType": workload.identity_type,
        "tenantId": config.tenant_id,
        "appClientId": workload.app.client_id,
        "appObjectId": workload.app.object_id,
        "identityClientId": workload.identity_client_id,
        "identityPrincipalId": workload.identity_principal_id,
        "identityResourceId": workload.identity_resource_id,
        "federatedCredentials": pulumi.Output.all(*credentials),
        "azureAdEnv": workload.azure_ad_env,
        "appsettingsJson": workload.appsettings_json,
    }
    if aks is not None:
        record["aks"] = aks
    if isinstance(workload.compute, FunctionAppBinding):
        # Nothing secret: the host storage connection is identity-based (URIs, credential, client ID).
        record["hostStorageEnv"] = workload.compute.host_storage_env
    if isinstance(workload.compute, VirtualMachineBinding):
        # The cloud-init document the VM boots with (nothing secret: IDs, instance, the command).
        record["cloudInit"] = workload.compute.cloud_init
    return pulumi.Output.from_input(record)


GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph, in every tenant


@dataclass(frozen=True)
class ResolvedApi:
    """An API outside this stack's apps, as Entra knows it: its service principal and app role IDs."""

    object_id: str
    app_role_ids: dict[str, str]


def resolved_apis(config: StackConfig) -> dict[str, ResolvedApi]:
    """Graph and appId APIs, read from Entra before any resource so a role the API lacks stops the run."""
    found: dict[str, ResolvedApi] = {}
    for name, w in config.workloads.items():
        for index, permission in enumerate(w.api_permissions):
            if permission.kind == "app":
                continue
            client_id = GRAPH_APP_ID if permission.kind == "graph" else permission.api.lower()
            if permission.api not in found:
                sp = azuread.get_service_principal(client_id=client_id)
                found[permission.api] = ResolvedApi(sp.object_id, dict(sp.app_role_ids or {}))
            exposed = found[permission.api].app_role_ids
            for i, value in enumerate(permission.app_roles):
                if value not in exposed:
                    raise ConfigError(
                        f"config certless:workloads.{name}.apiPermissions[{index}].appRoles[{i}]: "
                        f"{shown(value)}; expected an application permission that {permission.api} exposes"
                        f" ({', '.join(sorted(exposed)[:8]) or 'it exposes none'}"
                        f"{', ...' if len(exposed) > 8 else ''})"
                    )
    return found


def _referenced_sp(client_id: pulumi.Output[str]) -> pulumi.Output[azuread.GetServicePrincipalResult]:
    return azuread.get_service_principal_output(client_id=client_id)


def declare_access(
    config: StackConfig,
    name: str,
    w: WorkloadSpec,
    *,
    apps: dict[str, AppOutputs],
    apis: dict[str, ResolvedApi],
    workload: CertificatelessWorkload,
) -> pulumi.Output[list[Any]]:
    """The workload's grants: to its app's service principal, and (platform use only) to its identity.

    A stack that references its identity layer shares the app (and a user-assigned identity) with the
    owner stack, which declares their grants: declaring the same assignment twice would fail in Azure,
    and destroying one colour would remove the other's access. It records them without declaring them.
    """
    app = apps[w.app]
    app_principal = app.service_principal_id or _referenced_sp(app.client_id).object_id
    app_roles: list[AppRoleGrant] = []
    for permission in w.api_permissions:
        for value in permission.app_roles:
            if permission.kind != "app":
                api = apis[permission.api]
                role_id: pulumi.Input[str] = api.app_role_ids[value]
                resource: pulumi.Input[str] = api.object_id
            elif (owned := apps[permission.api].service_principal_id) is not None:
                role_id, resource = app_role_id(value), owned
            else:
                sp = _referenced_sp(apps[permission.api].client_id)
                role_id = sp.app_role_ids.apply(functools.partial(_exposed, value=value, api=permission.api))
                resource = sp.object_id
            app_roles.append(AppRoleGrant(permission.api, value, role_id, resource))
    shared_identity = w.identity_type == "UserAssigned"
    groups = [
        ("app", app_principal, [g for g in w.access if g.principal == "app"], app_roles, True),
        (
            "identity",
            workload.identity_principal_id.apply(lambda p: p or ""),
            [g for g in w.access if g.principal == "identity"],
            [],
            shared_identity,
        ),
    ]
    grants: list[pulumi.Output[list[Any]]] = []
    for grantee, principal, roles, approles, shared in groups:
        if not roles and not approles:
            continue
        args = AccessGrantArgs(
            principal_object_id=principal,
            principal=grantee,  # type: ignore[arg-type]
            roles=[RoleGrant(g.role_guid, g.scope, g.role_name) for g in roles],
            app_roles=approles,
            description=f"certless: workload {name} ({'its app' if grantee == 'app' else 'its identity'})",
        )
        if shared and not config.owns_identity_layer:
            pulumi.log.warn(
                f"workload {name}: {len(roles) + len(approles)} grant(s) to the shared {grantee} are declared"
                " by the stack that owns the identity layer, not here; keep its access config the same"
            )
            grants.append(describe_grants(args, declared_by="identity owner"))
        else:
            grants.append(
                AccessGrant(
                    f"{name}-{'access' if grantee == 'app' else 'identity-access'}",
                    args,
                    # Protected like the principal it serves: losing a grant cuts the app off its data.
                    opts=pulumi.ResourceOptions(protect=_protected_principal(config, w, grantee)),
                ).grants
            )
    return pulumi.Output.all(*grants).apply(lambda lists: [g for part in lists for g in part])


def _protected_principal(config: StackConfig, w: WorkloadSpec, grantee: str) -> bool:
    if grantee == "app":
        return w.app in config.apps and config.apps[w.app].protect
    return (
        w.identity is not None and w.identity in config.identities and config.identities[w.identity].protect
    )


def _exposed(ids: Any, *, value: str, api: str) -> str:
    if not isinstance(ids, dict) or value not in ids:
        raise pulumi.RunError(
            f"app {api!r} does not expose app role {value!r}; expected one of its appRoles"
            f" ({', '.join(sorted(ids or {})) or 'none'})"
        )
    return str(ids[value])


def registry_pull(
    config: StackConfig,
    grants: dict[tuple[str, str], pulumi.Resource | None],
    identity_key: str,
    identity: IdentityOutputs,
    registry: RegistryPull,
) -> pulumi.Resource | None:
    """One AcrPull per identity and registry, shared by every workload pulling from it with that identity
    (a second assignment of the same role, principal and scope is refused by Azure).

    A stack referencing its identity layer shares the identity with the owner and the other colour: the
    owner declares the grant (as an ``access`` entry with ``role: AcrPull``), or destroying one colour
    would cut the other off its registry. None: nothing declared here.
    """
    key = (identity_key, registry.resource_id.lower())
    if key in grants:
        return grants[key]
    if not config.owns_identity_layer:
        pulumi.log.warn(
            f"identity {identity_key!r} pulls from {registry.server}: its AcrPull on {registry.resource_id}"
            " is declared by the stack that owns the identity layer, not here (an access entry"
            " {role: AcrPull, scope: <registry id>} on a workload of that stack using the identity)"
        )
        grants[key] = None
    else:
        grants[key] = acr_pull_grant(
            f"{identity_key}-acrpull-{registry.server.split('.')[0]}", identity.principal_id, registry
        )
    return grants[key]


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


def declare(config: StackConfig, apis: dict[str, ResolvedApi] | None = None) -> None:
    shared_export: dict[str, Any] | None = None
    trusts: Trusts = {}  # a referenced layer's FICs were created with their owning stack
    if config.owns_identity_layer:
        identities, apps, trusts, shared_export = owned_layer(config)
    else:
        identities, apps = referenced_layer(config)
    identities = target_own_subscriptions(config, identities)
    workloads: dict[str, Any] = {}
    pull_grants: dict[tuple[str, str], pulumi.Resource | None] = {}
    for name, w in config.workloads.items():
        identity = identities[w.identity] if w.identity is not None and w.uses_identity_trust else None
        args = workload_args(config, w, apps[w.app], identity)
        trust = trusts.get((w.app, w.identity or "")) if w.uses_identity_trust else None
        if trust is not None:
            args = dataclasses.replace(args, chain_credentials=[trust])
        if args.container_app is not None and args.container_app.registry is not None:
            assert w.identity is not None and identity is not None  # checked with the config
            grant = registry_pull(config, pull_grants, w.identity, identity, args.container_app.registry)
            args = dataclasses.replace(
                args,
                container_app=dataclasses.replace(
                    args.container_app, registry_pull_grant=grant, declare_registry_pull=False
                ),
            )
        workload = CertificatelessWorkload(name, args)
        workloads[name] = workload_output(config, w, workload)
        if w.access or w.api_permissions:
            workloads[name] = pulumi.Output.all(
                workloads[name],
                declare_access(config, name, w, apps=apps, apis=apis or {}, workload=workload),
            ).apply(lambda v: {**v[0], "access": v[1]})
    pulumi.export("tenantId", config.tenant_id)
    pulumi.export("cloud", config.cloud.name)
    pulumi.export("instance", config.cloud.instance)
    pulumi.export("tokenExchangeAudience", config.cloud.token_exchange_audience)
    pulumi.export("workloads", workloads)
    if shared_export is not None:
        pulumi.export(SHARED_OUTPUT, shared_export)


def validated_config() -> tuple[StackConfig, dict[str, ResolvedApi]]:
    raw, secret_keys = read_pulumi_config()
    try:
        config = load(raw, secret_keys, pulumi.get_stack())
        return config, resolved_apis(config)
    except ConfigError as err:
        # RunError: the engine prints the message alone, without a traceback, and the run fails.
        raise pulumi.RunError(str(err)) from None


# Validation runs first and completely: no resource is registered for a bad configuration.
declare(*validated_config())
