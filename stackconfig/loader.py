"""Reads the raw stack configuration and turns it into a StackConfig, or raises one ConfigError."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from typing import Any, cast

from components.clouds import CLOUDS
from components.naming import fic_name, with_color
from stackconfig import access
from stackconfig import rules as r
from stackconfig import vm as vm_block
from stackconfig.cloud_env import check_cloud_environment
from stackconfig.errors import ConfigError
from stackconfig.model import (
    AksSpec,
    AppServiceSpec,
    AppSpec,
    ContainerAppSpec,
    FunctionAppSpec,
    IdentityOwner,
    IdentitySpec,
    ReferencedApp,
    ReferencedIdentity,
    StackConfig,
    WorkloadSpec,
)
from stackconfig.trust_plan import check_trust_plan

NS = "certless"
LOCATION_KEY = "azure-native:location"
KEYS = (
    "tenantId",
    "cloud",
    "resourceGroupName",
    "color",
    "identities",
    "apps",
    "identityOwner",
    "workloads",
)
AZURE_AD_PREFIX = "AzureAd__"


def _k(name: str) -> str:
    return f"{NS}:{name}"


def _unset(value: Any) -> bool:
    """Absent, or the empty default Pulumi.yaml declares for an optional key (the CLI needs one)."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "{}")) or value == {}


def load(raw: Mapping[str, Any], secret_keys: Collection[str], stack: str) -> StackConfig:
    """Validate everything before any resource exists; the first problem stops with one message."""
    for key in sorted(raw):
        namespace, _, name = key.partition(":")
        if namespace != NS:
            continue
        if name not in KEYS:
            raise ConfigError(
                f"config {r.shown(key)}: unknown key; expected one of: {', '.join(_k(k) for k in KEYS)}"
            )
        if key in secret_keys:
            raise ConfigError(
                f"config {key}: is a secret value; certless needs no secrets and accepts none in"
                " configuration (set it with plain `pulumi config set`)"
            )

    raw = {k: v for k, v in raw.items() if not _unset(v)}

    def need(key: str) -> Any:
        if raw.get(key) is None:
            raise ConfigError(f"config {key}: missing required key")
        return raw[key]

    tenant_id = r.guid(_k("tenantId"), need(_k("tenantId")))
    cloud = CLOUDS[r.one_of(_k("cloud"), raw.get(_k("cloud"), "AzurePublic"), tuple(CLOUDS))]
    location = r.match(
        LOCATION_KEY, need(LOCATION_KEY), r.LOCATION, "an Azure location name in lowercase, like westeurope"
    )
    check_cloud_environment(raw, cloud.name, location)
    resource_group = _resource_group(_k("resourceGroupName"), need(_k("resourceGroupName")))
    color = raw.get(_k("color"))
    if color is not None:
        color = r.match(_k("color"), color, r.COLOR, "a lowercase DNS label of 1-12 characters, like blue")

    has_layer = raw.get(_k("identities")) is not None or raw.get(_k("apps")) is not None
    owner: IdentityOwner | None = None
    identities: dict[str, IdentitySpec] = {}
    apps: dict[str, AppSpec] = {}
    if raw.get(_k("identityOwner")) is not None:
        if has_layer:
            raise ConfigError(
                f"config {_k('identityOwner')}: set together with {_k('identities')}/{_k('apps')}; expected"
                " either (the stack owns the identity layer) or the other (it references it), not both"
            )
        owner = _owner(_k("identityOwner"), raw[_k("identityOwner")])
    else:
        if raw.get(_k("apps")) is None:
            raise ConfigError(f"config {_k('apps')}: missing required key (or set {_k('identityOwner')})")
        if raw.get(_k("identities")) is not None:
            identities = {
                key: _identity(r.where(_k("identities"), key), key, value, resource_group)
                for key, value in r.keyed(_k("identities"), raw[_k("identities")]).items()
            }
        apps = {
            key: _app(r.where(_k("apps"), key), key, value, stack, identities)
            for key, value in r.keyed(_k("apps"), raw[_k("apps")]).items()
        }

    # An owner that declares its trusts may hold the identity layer alone, with no compute of its own.
    layer_only = owner is None and any(a.trust_identities for a in apps.values())
    if layer_only and _unset(raw.get(_k("workloads"))):
        workloads_raw: Mapping[str, Any] = {}
    else:
        workloads_raw = r.keyed(_k("workloads"), need(_k("workloads")))
    workloads: dict[str, WorkloadSpec] = {}
    for name, value in workloads_raw.items():
        workloads[name] = _workload(
            name,
            value,
            stack=stack,
            default_rg=resource_group,
            color=color,
            identities=identities,
            apps=apps,
            owner=owner,
        )

    trusts = _identity_trusts(workloads, apps)
    _check_unique_physical_names(workloads)
    access.check_unique_grants(workloads)
    config = StackConfig(
        stack=stack,
        tenant_id=tenant_id,
        cloud=cloud,
        location=location,
        resource_group_name=resource_group,
        color=color,
        identities=identities,
        apps=apps,
        owner=owner,
        workloads=workloads,
        identity_trusts=trusts,
    )
    check_trust_plan(config)
    return config


def identity_trust_fic_name(identity_key: str) -> str:
    """Name of the app's FIC trusting a shared identity: colour-free, same in owner and referencing stack."""
    return fic_name("uami", identity_key)


def _resource_group(key: str, value: Any) -> str:
    return r.match(
        key, value, r.RESOURCE_GROUP, "a resource group name: 1-90 letters, digits, '-', '_', '.', '(' or ')'"
    )


def _identity(key: str, ikey: str, value: Any, default_rg: str) -> IdentitySpec:
    obj = r.fields(key, value, ("name", "resourceId", "resourceGroupName", "protect"))
    if (obj.get("name") is not None) and (obj.get("resourceId") is not None):
        raise ConfigError(
            f"config {key}: has both name and resourceId; expected name (create) or resourceId (adopt)"
        )
    resource_id = obj.get("resourceId")
    if resource_id is not None:
        resource_id = r.match(
            r.where(key, "resourceId"),
            resource_id,
            r.IDENTITY_ID,
            "a user-assigned identity resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/<name>",
        )
        name = None
    else:
        name = r.physical_name(r.where(key, "name"), obj.get("name", f"id-{ikey}"), "identity")
    rg = default_rg
    if obj.get("resourceGroupName") is not None:
        rg = _resource_group(r.where(key, "resourceGroupName"), obj["resourceGroupName"])
    protect = r.boolean(r.where(key, "protect"), obj.get("protect", False))
    return IdentitySpec(ikey, name, resource_id, rg, protect)


def _app(key: str, akey: str, value: Any, stack: str, identities: Mapping[str, IdentitySpec]) -> AppSpec:
    obj = r.fields(
        key,
        value if value is not None else {},
        ("displayName", "owners", "signInAudience", "protect", "trustIdentities", "appRoles"),
    )
    display_name = r.string(r.where(key, "displayName"), obj.get("displayName", f"certless-{akey}-{stack}"))
    if len(display_name) > 120:
        raise r.fail(r.where(key, "displayName"), display_name, "at most 120 characters")
    owners_raw = r.structured(r.where(key, "owners"), obj.get("owners", []), list)
    owners = tuple(r.guid(r.where(key, f"owners[{i}]"), o) for i, o in enumerate(owners_raw))
    audience = r.one_of(
        r.where(key, "signInAudience"),
        obj.get("signInAudience", "AzureADMyOrg"),
        ("AzureADMyOrg", "AzureADMultipleOrgs"),
    )
    protect = r.boolean(r.where(key, "protect"), obj.get("protect", False))
    trusts_raw = r.structured(r.where(key, "trustIdentities"), obj.get("trustIdentities", []), list)
    trusts: list[str] = []
    for i, identity in enumerate(trusts_raw):
        if not isinstance(identity, str) or identity not in identities:
            raise r.fail(f"{r.where(key, 'trustIdentities')}[{i}]", identity, f"a key of {_k('identities')}")
        if identity not in trusts:
            trusts.append(identity)
    roles = access.app_roles(r.where(key, "appRoles"), obj.get("appRoles"))
    return AppSpec(akey, display_name, owners, audience, protect, tuple(trusts), roles)


def _owner(key: str, value: Any) -> IdentityOwner:
    obj = r.fields(key, value, ("stack", "identities", "apps"))
    if obj.get("stack") is not None:
        if obj.get("identities") is not None or obj.get("apps") is not None:
            raise ConfigError(f"config {key}: has stack and explicit IDs; expected one of the two")
        stack = r.match(
            r.where(key, "stack"), obj["stack"], r.STACK_NAME, "a stack name like org/certless/prod"
        )
        return IdentityOwner(stack=stack)
    if obj.get("apps") is None:
        raise ConfigError(
            f"config {key}: missing stack or apps; expected {{stack: org/project/stack}} or explicit IDs"
            " {identities: {...}, apps: {...}}"
        )
    identities: dict[str, ReferencedIdentity] = {}
    if obj.get("identities") is not None:
        for ikey, item in r.keyed(r.where(key, "identities"), obj["identities"]).items():
            k = r.where(key, "identities", ikey)
            f = r.fields(
                k, item, ("resourceId", "clientId", "principalId"), ("resourceId", "clientId", "principalId")
            )
            identities[ikey] = ReferencedIdentity(
                ikey,
                r.match(
                    r.where(k, "resourceId"),
                    f["resourceId"],
                    r.IDENTITY_ID,
                    "a user-assigned identity resource ID",
                ),
                r.guid(r.where(k, "clientId"), f["clientId"]),
                r.guid(r.where(k, "principalId"), f["principalId"]),
            )
    apps: dict[str, ReferencedApp] = {}
    for akey, item in r.keyed(r.where(key, "apps"), obj["apps"]).items():
        k = r.where(key, "apps", akey)
        f = r.fields(k, item, ("clientId", "objectId"), ("clientId", "objectId"))
        apps[akey] = ReferencedApp(
            akey, r.guid(r.where(k, "clientId"), f["clientId"]), r.guid(r.where(k, "objectId"), f["objectId"])
        )
    return IdentityOwner(stack=None, identities=identities, apps=apps)


WORKLOAD_FIELDS = (
    "kind",
    "app",
    "identity",
    "identityType",
    "resourceGroupName",
    "appService",
    "containerApp",
    "aks",
    "access",
    "apiPermissions",
    "functionApp",
    "vm",
)
KIND_BLOCK = {
    "appservice": "appService",
    "containerapp": "containerApp",
    "aks": "aks",
    "functionapp": "functionApp",
    "vm": "vm",
}


def _workload(
    name: str,
    value: Any,
    *,
    stack: str,
    default_rg: str,
    color: str | None,
    identities: Mapping[str, IdentitySpec],
    apps: Mapping[str, AppSpec],
    owner: IdentityOwner | None,
) -> WorkloadSpec:
    key = r.where(_k("workloads"), name)
    obj = r.fields(key, value, WORKLOAD_FIELDS, ("kind", "app"))
    kind = r.one_of(r.where(key, "kind"), obj["kind"], tuple(KIND_BLOCK))
    block = KIND_BLOCK[kind]
    for other in KIND_BLOCK.values():
        if other != block and obj.get(other) is not None:
            raise ConfigError(
                f"config {r.where(key, other)}: set on a {kind} workload; expected only {block}"
            )

    app_key = r.string(r.where(key, "app"), obj["app"])
    known_apps = apps if owner is None else owner.apps
    if (owner is None or owner.stack is None) and app_key not in known_apps:
        raise r.fail(
            r.where(key, "app"), app_key, "one of the configured apps: " + ", ".join(sorted(known_apps))
        )

    identity_type = r.one_of(
        r.where(key, "identityType"),
        obj.get("identityType", "UserAssigned"),
        ("UserAssigned", "SystemAssigned"),
    )
    rg = default_rg
    if obj.get("resourceGroupName") is not None:
        rg = _resource_group(r.where(key, "resourceGroupName"), obj["resourceGroupName"])

    app_service = container_app = aks = function_app = vm = None
    cluster_fic = system_fic = None
    block_key = r.where(key, block)
    if kind == "appservice":
        app_service = _app_service(block_key, obj.get(block) or {}, name, stack, color)
        system_fic = fic_name("compute", app_service.name)
    elif kind == "containerapp":
        if obj.get(block) is None:
            raise ConfigError(f"config {block_key}: missing required field (image is needed)")
        container_app = _container_app(block_key, obj[block], name, color)
        system_fic = fic_name("compute", container_app.name)
    elif kind == "functionapp":
        function_app = _function_app(block_key, obj.get(block) or {}, name, stack, color)
        if identity_type == "SystemAssigned":
            raise r.fail(
                r.where(key, "identityType"),
                identity_type,
                "UserAssigned for Function Apps (host and deployment storage authenticate with it)",
            )
    elif kind == "vm":
        if obj.get(block) is None:
            raise ConfigError(
                f"config {block_key}: missing required field (sshPublicKey and command are needed)"
            )
        vm = vm_block.vm(block_key, obj[block], name, color, AZURE_AD_PREFIX)
        if identity_type == "SystemAssigned":
            raise r.fail(r.where(key, "identityType"), identity_type, "UserAssigned for VM workloads")
    else:
        if obj.get(block) is None:
            raise ConfigError(f"config {block_key}: missing required field")
        aks = _aks(block_key, obj[block], name, rg, color)
        cluster_fic = fic_name("aks", aks.cluster_name, aks.namespace, aks.service_account)
        if identity_type == "SystemAssigned":
            raise r.fail(r.where(key, "identityType"), identity_type, "UserAssigned for AKS workloads")

    needs_identity = identity_type == "UserAssigned" and not (aks is not None and aks.mode == "direct")
    identity_key = obj.get("identity")
    if needs_identity:
        if identity_key is None:
            raise ConfigError(
                f"config {r.where(key, 'identity')}: missing required field (a user-assigned identity key;"
                " or identityType: SystemAssigned)"
            )
        identity_key = r.string(r.where(key, "identity"), identity_key)
        known = identities if owner is None else owner.identities
        if (owner is None or owner.stack is None) and identity_key not in known:
            raise r.fail(
                r.where(key, "identity"),
                identity_key,
                "one of the configured identities: " + (", ".join(sorted(known)) or "(none configured)"),
            )
    elif identity_key is not None:
        reason = (
            "AKS direct mode trusts the cluster itself"
            if aks is not None
            else "identityType is SystemAssigned"
        )
        raise r.fail(r.where(key, "identity"), identity_key, f"no identity ({reason})")

    return WorkloadSpec(
        name=name,
        kind=cast(Any, kind),
        app=app_key,
        identity=identity_key,
        identity_type=cast(Any, identity_type),
        resource_group_name=rg,
        app_service=app_service,
        container_app=container_app,
        aks=aks,
        function_app=function_app,
        vm=vm,
        cluster_fic_name=cluster_fic,
        system_fic_name=system_fic if identity_type == "SystemAssigned" else None,
        access=access.grants(r.where(key, "access"), obj.get("access"), kind),
        api_permissions=access.api_permissions(
            r.where(key, "apiPermissions"), obj.get("apiPermissions"), known_apps
        ),
    )


def _app_service(key: str, value: Any, workload: str, stack: str, color: str | None) -> AppServiceSpec:
    obj = r.fields(key, value, ("name", "planName", "sku", "linuxFxVersion", "appSettings"))
    # Web app names are global (<name>.azurewebsites.net): the default includes the stack name.
    name = r.physical_name(
        r.where(key, "name"), with_color(obj.get("name", f"{workload}-{stack}"), color), "webapp"
    )
    plan = r.physical_name(
        r.where(key, "planName"), with_color(obj.get("planName", f"plan-{workload}"), color), "plan"
    )
    sku = r.match(r.where(key, "sku"), obj.get("sku", "B1"), r.SKU, "an App Service SKU like B1, P1v3")
    fx = r.string(r.where(key, "linuxFxVersion"), obj.get("linuxFxVersion", "PYTHON|3.12"))
    settings = r.string_map(r.where(key, "appSettings"), obj.get("appSettings", {}), AZURE_AD_PREFIX)
    return AppServiceSpec(name, plan, sku, fx, settings)


FUNCTION_SKUS = ("FC1", "EP1", "EP2", "EP3")
FUNCTION_PYTHON_VERSIONS = ("3.10", "3.11", "3.12")
FLEX_MEMORY_MB = (512, 2048, 4096)
STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
STORAGE_ACCOUNT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Storage"
    r"/storageAccounts/([a-z0-9]{3,24})$"
)
BLOB_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# The host's own connection is certless's to set; a connection-string form of it would carry the key.
HOST_SETTINGS = (
    "AzureWebJobsStorage",
    "AzureWebJobsDashboard",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "DEPLOYMENT_STORAGE_CONNECTION_STRING",
)


def default_storage_account(workload: str, stack: str, color: str | None) -> str:
    """Storage account names are global, 3-24 lowercase letters and digits: a readable part and a hash."""
    raw = "-".join(p for p in (workload, stack, color) if p)
    readable = re.sub(r"[^a-z0-9]", "", raw.lower())[:14]
    return f"st{readable}{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def _function_app(key: str, value: Any, workload: str, stack: str, color: str | None) -> FunctionAppSpec:
    obj = r.fields(
        key,
        value,
        (
            "name",
            "planName",
            "sku",
            "runtimeVersion",
            "storageAccountName",
            "storageAccountId",
            "deploymentContainer",
            "instanceMemoryMB",
            "maximumInstanceCount",
            "appSettings",
        ),
    )
    # Function app names are global (<name>.azurewebsites.net): the default includes the stack name.
    name = r.physical_name(
        r.where(key, "name"), with_color(obj.get("name", f"{workload}-{stack}"), color), "webapp"
    )
    plan = r.physical_name(
        r.where(key, "planName"), with_color(obj.get("planName", f"plan-{workload}"), color), "plan"
    )
    sku = r.one_of(r.where(key, "sku"), obj.get("sku", "FC1"), FUNCTION_SKUS)
    runtime = r.one_of(
        r.where(key, "runtimeVersion"), str(obj.get("runtimeVersion", "3.11")), FUNCTION_PYTHON_VERSIONS
    )
    account_id = obj.get("storageAccountId")
    if account_id is not None:
        if obj.get("storageAccountName") is not None:
            raise ConfigError(
                f"config {key}: has storageAccountName and storageAccountId; expected one of the two"
            )
        found = STORAGE_ACCOUNT_ID.fullmatch(account_id) if isinstance(account_id, str) else None
        if found is None:
            raise r.fail(
                r.where(key, "storageAccountId"),
                account_id,
                "a storage account resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                "Microsoft.Storage/storageAccounts/<name>",
            )
        account = found.group(1)
    else:
        account = r.match(
            r.where(key, "storageAccountName"),
            obj.get("storageAccountName", default_storage_account(workload, stack, color)),
            STORAGE_ACCOUNT,
            "a storage account name of 3-24 lowercase letters and digits",
        )
    container = r.match(
        r.where(key, "deploymentContainer"),
        obj.get("deploymentContainer", with_color("app-package", color)),
        BLOB_CONTAINER,
        "a blob container name of 3-63 lowercase letters, digits and single '-'",
    )
    memory = r.integer(r.where(key, "instanceMemoryMB"), obj.get("instanceMemoryMB", 2048), 512, 16384)
    if sku == "FC1" and memory not in FLEX_MEMORY_MB:
        raise r.fail(r.where(key, "instanceMemoryMB"), memory, "one of 512, 2048, 4096 (Flex Consumption)")
    maximum = r.integer(r.where(key, "maximumInstanceCount"), obj.get("maximumInstanceCount", 100), 40, 1000)
    settings = r.string_map(r.where(key, "appSettings"), obj.get("appSettings", {}), AZURE_AD_PREFIX)
    for setting in settings:
        if any(setting.lower().split("__")[0] == h.lower() for h in HOST_SETTINGS):
            raise r.fail(
                r.where(key, "appSettings", setting),
                setting,
                "no host storage setting (certless sets AzureWebJobsStorage__* for the identity)",
            )
    return FunctionAppSpec(
        name, plan, sku, runtime, account, account_id, container, memory, maximum, settings
    )


def _container_app(key: str, value: Any, workload: str, color: str | None) -> ContainerAppSpec:
    obj = r.fields(
        key, value, ("name", "image", "environmentName", "environmentId", "targetPort", "env"), ("image",)
    )
    name = r.physical_name(r.where(key, "name"), with_color(obj.get("name", workload), color), "containerapp")
    image = r.match(
        r.where(key, "image"),
        obj["image"],
        r.IMAGE,
        "a container image reference like myregistry.azurecr.io/app:1.0",
    )
    env_id = obj.get("environmentId")
    env_name = None
    if env_id is not None:
        if obj.get("environmentName") is not None:
            raise ConfigError(f"config {key}: has environmentName and environmentId; expected one of the two")
        env_id = r.match(
            r.where(key, "environmentId"),
            env_id,
            r.ENVIRONMENT_ID,
            "a Container Apps managed environment resource ID",
        )
    else:
        env_name = r.physical_name(
            r.where(key, "environmentName"),
            with_color(obj.get("environmentName", f"cae-{workload}"), color),
            "environment",
        )
    port = obj.get("targetPort")
    target_port = r.integer(r.where(key, "targetPort"), port, 1, 65535) if port is not None else None
    env = r.string_map(r.where(key, "env"), obj.get("env", {}), AZURE_AD_PREFIX)
    return ContainerAppSpec(name, image, env_name, env_id, target_port, env)


def _aks(key: str, value: Any, workload: str, default_rg: str, color: str | None) -> AksSpec:
    allowed = (
        "clusterResourceGroup",
        "clusterName",
        "namespace",
        "serviceAccount",
        "createNamespace",
        "deploymentName",
        "image",
        "replicas",
        "containerPort",
        "mode",
        "issuerUrl",
        "env",
    )
    obj = r.fields(key, value, allowed, ("clusterName", "namespace", "serviceAccount", "image"))
    cluster_rg = default_rg
    if obj.get("clusterResourceGroup") is not None:
        cluster_rg = _resource_group(r.where(key, "clusterResourceGroup"), obj["clusterResourceGroup"])
    cluster = r.physical_name(r.where(key, "clusterName"), obj["clusterName"], "cluster")
    namespace = r.match(
        r.where(key, "namespace"),
        obj["namespace"],
        r.DNS_LABEL,
        "a DNS-1123 label (lowercase letters, digits, '-'; at most 63)",
    )
    if namespace.startswith("kube-"):
        raise r.fail(
            r.where(key, "namespace"),
            namespace,
            "a namespace outside kube-* (the workload identity webhook skips them)",
        )
    sa = r.match(
        r.where(key, "serviceAccount"),
        obj["serviceAccount"],
        r.DNS_SUBDOMAIN,
        "a DNS-1123 subdomain (lowercase letters, digits, '-', '.')",
    )
    sa = _dns_name(r.where(key, "serviceAccount"), with_color(sa, color), 253)
    deployment = _dns_name(
        r.where(key, "deploymentName"), with_color(obj.get("deploymentName", workload), color), 63
    )
    image = r.match(
        r.where(key, "image"),
        obj["image"],
        r.IMAGE,
        "a container image reference like myregistry.azurecr.io/app:1.0",
    )
    replicas = r.integer(r.where(key, "replicas"), obj.get("replicas", 1), 0, 100)
    port = obj.get("containerPort")
    container_port = r.integer(r.where(key, "containerPort"), port, 1, 65535) if port is not None else None
    mode = r.one_of(r.where(key, "mode"), obj.get("mode", "via-identity"), ("via-identity", "direct"))
    issuer = obj.get("issuerUrl")
    issuer_url = r.https_url(r.where(key, "issuerUrl"), issuer) if issuer is not None else None
    if issuer_url is not None and not issuer_url.endswith("/"):
        # AKS issuers always end with '/', and the FIC issuer must equal the token's `iss` exactly.
        issuer_url += "/"
    # A coloured stack usually shares the cluster and namespace with the other colour: creating the
    # namespace there would tie it to this colour's lifetime, so coloured stacks default to not creating it.
    create_ns = r.boolean(r.where(key, "createNamespace"), obj.get("createNamespace", color is None))
    env = r.string_map(r.where(key, "env"), obj.get("env", {}), AZURE_AD_PREFIX)
    return AksSpec(
        cluster_rg,
        cluster,
        namespace,
        sa,
        create_ns,
        deployment,
        image,
        replicas,
        container_port,
        cast(Any, mode),
        issuer_url,
        env,
    )


def _dns_name(key: str, value: Any, limit: int) -> str:
    text = r.match(
        key,
        value,
        r.DNS_SUBDOMAIN if limit > 63 else r.DNS_LABEL,
        f"a DNS-1123 name of at most {limit} characters",
    )
    if len(text) > limit:
        raise r.fail(key, text, f"a DNS-1123 name of at most {limit} characters (colour suffix included)")
    return text


def _identity_trusts(
    workloads: Mapping[str, WorkloadSpec], apps: Mapping[str, AppSpec]
) -> tuple[tuple[str, str, str], ...]:
    seen: dict[tuple[str, str], str] = {}
    for app in apps.values():
        for identity in app.trust_identities:
            seen.setdefault((app.key, identity), identity_trust_fic_name(identity))
    for w in workloads.values():
        if w.uses_identity_trust:
            assert w.identity is not None
            seen.setdefault((w.app, w.identity), identity_trust_fic_name(w.identity))
    return tuple((app, identity, name) for (app, identity), name in seen.items())


def _check_unique_physical_names(workloads: Mapping[str, WorkloadSpec]) -> None:
    owners: dict[tuple[str, ...], str] = {}

    def claim(ident: tuple[str, ...], workload: str, field: str, what: str) -> None:
        previous = owners.setdefault(ident, workload)
        if previous != workload:
            raise ConfigError(
                f"config {r.where(_k('workloads'), workload, field)}: {ident[-1]!r} is already the {what}"
                f" of workload {previous!r}; expected a unique name"
            )

    for w in workloads.values():
        if w.app_service is not None:
            claim(("webapp", w.app_service.name.lower()), w.name, "appService.name", "web app name")
            claim(
                ("plan", w.resource_group_name.lower(), w.app_service.plan_name.lower()),
                w.name,
                "appService.planName",
                "plan name",
            )
        if w.function_app is not None:
            f = w.function_app
            claim(("webapp", f.name.lower()), w.name, "functionApp.name", "web app name")
            claim(
                ("plan", w.resource_group_name.lower(), f.plan_name.lower()),
                w.name,
                "functionApp.planName",
                "plan name",
            )
            if f.storage_account_id is None:
                claim(
                    ("storage", f.storage_account_name),
                    w.name,
                    "functionApp.storageAccountName",
                    "storage account",
                )
        if w.vm is not None:
            claim(("vm", w.resource_group_name.lower(), w.vm.name.lower()), w.name, "vm.name", "VM name")
        if w.container_app is not None:
            claim(
                ("containerapp", w.resource_group_name.lower(), w.container_app.name),
                w.name,
                "containerApp.name",
                "container app name",
            )
            if w.container_app.environment_name is not None:
                claim(
                    ("environment", w.resource_group_name.lower(), w.container_app.environment_name.lower()),
                    w.name,
                    "containerApp.environmentName",
                    "managed environment name",
                )
        if w.aks is not None:
            a = w.aks
            cluster = (a.cluster_resource_group.lower(), a.cluster_name.lower(), a.namespace)
            claim(
                ("deployment", *cluster, a.deployment_name), w.name, "aks.deploymentName", "deployment name"
            )
            if a.create_namespace:
                creator = owners.setdefault(("namespace", *cluster), w.name)
                if creator != w.name:
                    raise ConfigError(
                        f"config {r.where(_k('workloads'), w.name, 'aks.createNamespace')}: namespace"
                        f" {a.namespace!r} on cluster {a.cluster_name!r} is already created by workload"
                        f" {creator!r}; expected createNamespace: false on every other workload using it"
                    )
            claim(
                ("serviceaccount", *cluster, a.service_account),
                w.name,
                "aks.serviceAccount",
                "service account",
            )
