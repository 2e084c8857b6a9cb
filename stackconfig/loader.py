"""Reads the raw stack configuration and turns it into a StackConfig, or raises one ConfigError.

``schema.py`` validates each object of what the user wrote (pydantic); this module resolves what needs
the whole stack: references between sections, defaults and names with the colour applied, uniqueness.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from typing import Any, cast

from components.clouds import CLOUDS, Cloud
from components.easy_auth import callback_uri
from components.naming import fic_name, with_color
from policy.rules import roles as role_table
from stackconfig import access, web
from stackconfig import rules as r
from stackconfig import schema as s
from stackconfig import vm as vm_block
from stackconfig.access import GRAPH
from stackconfig.cloud_env import check_cloud_environment
from stackconfig.errors import ConfigError
from stackconfig.model import (
    AksSpec,
    AppServiceSpec,
    AppSpec,
    ContainerAppSpec,
    EasyAuthSpec,
    FunctionAppSpec,
    IdentityOwner,
    IdentitySpec,
    ReferencedApp,
    ReferencedIdentity,
    StackConfig,
    WorkloadSpec,
)
from stackconfig.registry import check_registries, registry_fields
from stackconfig.trust_plan import check_trust_plan

NS = s.NS
LOCATION_KEY = s.LOCATION_KEY
KEYS = s.KEYS


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
    settings = s.read({k: v for k, v in raw.items() if k.startswith(f"{NS}:") or k == LOCATION_KEY})
    check_cloud_environment(raw, CLOUDS[settings.cloud].name, settings.location)
    resource_group = settings.resource_group_name
    color = settings.color

    owner: IdentityOwner | None = None
    identities: dict[str, IdentitySpec] = {}
    apps: dict[str, AppSpec] = {}
    if settings.identity_owner is not None:
        owner = _owner(settings.identity_owner)
    else:
        identities = {
            key: _identity(key, entry, resource_group) for key, entry in (settings.identities or {}).items()
        }
        app_keys = tuple(settings.apps or {})
        apps = {
            key: _app(r.where(_k("apps"), key), key, entry, stack, identities, app_keys=app_keys)
            for key, entry in (settings.apps or {}).items()
        }
        web.check_known_client_cycles(apps)

    workloads = {
        name: _workload(
            name,
            entry,
            stack=stack,
            default_rg=resource_group,
            color=color,
            identities=identities,
            apps=apps,
            owner=owner,
            cloud=CLOUDS[settings.cloud],
        )
        for name, entry in (settings.workloads or {}).items()
    }
    apps = web.register_easy_auth_callbacks(apps, workloads, _k("workloads"))

    check_registries(workloads, settings.cloud, _k("workloads"))
    trusts = _identity_trusts(workloads, apps)
    _check_unique_physical_names(workloads)
    access.check_unique_grants(workloads)
    web.check_unique_delegations(workloads)
    config = StackConfig(
        stack=stack,
        tenant_id=settings.tenant_id,
        cloud=CLOUDS[settings.cloud],
        location=settings.location,
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


def _identity(ikey: str, entry: s.IdentityEntry, default_rg: str) -> IdentitySpec:
    key = r.where(_k("identities"), ikey)
    name = None
    if entry.resource_id is None:
        name = r.physical_name(r.where(key, "name"), entry.name or f"id-{ikey}", "identity")
    rg = entry.resource_group_name or default_rg
    return IdentitySpec(ikey, name, entry.resource_id, rg, entry.protect)


def _app(
    key: str,
    akey: str,
    entry: s.AppEntry,
    stack: str,
    identities: Mapping[str, IdentitySpec],
    *,
    app_keys: tuple[str, ...],
) -> AppSpec:
    display_name = entry.display_name or f"certless-{akey}-{stack}"
    trusts: list[str] = []
    for i, identity in enumerate(entry.trust_identities):
        if not isinstance(identity, str) or identity not in identities:
            raise r.fail(f"{r.where(key, 'trustIdentities')}[{i}]", identity, f"a key of {_k('identities')}")
        if identity not in trusts:
            trusts.append(identity)
    roles = access.app_roles(r.where(key, "appRoles"), entry.app_roles)
    return AppSpec(
        akey,
        display_name,
        entry.owners,
        entry.sign_in_audience,
        entry.protect,
        tuple(trusts),
        roles,
        web=web.web_spec(r.where(key, "web"), entry.web) if entry.web is not None else None,
        api=web.api_spec(r.where(key, "api"), akey, entry.api, roles, app_keys)
        if entry.api is not None
        else None,
    )


def _owner(entry: s.IdentityOwnerEntry) -> IdentityOwner:
    if entry.stack is not None:
        return IdentityOwner(stack=entry.stack)
    identities = {
        key: ReferencedIdentity(key, item.resource_id, item.client_id, item.principal_id)
        for key, item in (entry.identities or {}).items()
    }
    apps = {
        key: ReferencedApp(key, item.client_id, item.object_id, _sign_in_record(item))
        for key, item in (entry.apps or {}).items()
    }
    return IdentityOwner(stack=None, identities=identities, apps=apps)


def _sign_in_record(item: s.ReferencedAppEntry) -> dict[str, Any] | None:
    """The same record an owner stack exports as ``sharedIdentity.apps.<key>.signIn``."""
    if item.web is None and item.api is None:
        return None
    return {
        "web": item.web is not None,
        "callbackPath": item.web.callback_path if item.web is not None else "",
        "redirectUris": list(item.web.redirect_uris) if item.web is not None else [],
        "idTokens": item.web.id_tokens if item.web is not None else False,
        "api": item.api is not None,
        "requestedAccessTokenVersion": item.api.requested_access_token_version if item.api is not None else 0,
        "scopes": list(item.api.scopes) if item.api is not None else [],
    }


def _workload(
    name: str,
    entry: s.WorkloadEntry,
    *,
    stack: str,
    default_rg: str,
    color: str | None,
    identities: Mapping[str, IdentitySpec],
    apps: Mapping[str, AppSpec],
    owner: IdentityOwner | None,
    cloud: Cloud,
) -> WorkloadSpec:
    key = r.where(_k("workloads"), name)
    kind = entry.kind
    known_apps = apps if owner is None else owner.apps
    if (owner is None or owner.stack is None) and entry.app not in known_apps:
        raise r.fail(
            r.where(key, "app"), entry.app, "one of the configured apps: " + ", ".join(sorted(known_apps))
        )
    permission_apps: Mapping[str, object] = known_apps
    if owner is not None and owner.stack is not None:
        # The owner stack's app keys are known only from its output: an API named by key is looked up
        # there with the workload's own app, and a key it does not export is one error naming the output.
        permission_apps = {api: None for api in _named_apis(entry)}
    rg = entry.resource_group_name or default_rg

    app_service = container_app = aks = function_app = vm = None
    cluster_fic = system_fic = None
    block_key = r.where(key, s.KIND_BLOCK[kind])
    if kind == "appservice":
        app_service = _app_service(
            block_key,
            entry.app_service or s.AppServiceBlock.model_validate({}),
            name,
            stack,
            color,
            cloud=cloud,
        )
        system_fic = fic_name("compute", app_service.name)
    elif kind == "containerapp":
        assert entry.container_app is not None  # the schema requires it
        container_app = _container_app(block_key, entry.container_app, name, color)
        system_fic = fic_name("compute", container_app.name)
    elif kind == "functionapp":
        function_app = _function_app(
            block_key,
            entry.function_app or s.FunctionAppBlock.model_validate({}),
            name,
            stack,
            color,
            cloud=cloud,
        )
    elif kind == "vm":
        vm = vm_block.vm(block_key, entry.vm, name, color, s.AZURE_AD_PREFIX)
    else:
        assert entry.aks is not None  # the schema requires it
        aks = _aks(block_key, entry.aks, name, rg, color)
        cluster_fic = fic_name("aks", aks.cluster_name, aks.namespace, aks.service_account)

    identity_key = entry.identity
    if identity_key is not None:
        known = identities if owner is None else owner.identities
        if (owner is None or owner.stack is None) and identity_key not in known:
            raise r.fail(
                r.where(key, "identity"),
                identity_key,
                "one of the configured identities: " + (", ".join(sorted(known)) or "(none configured)"),
            )

    return WorkloadSpec(
        name=name,
        kind=cast(Any, kind),
        app=entry.app,
        identity=identity_key,
        identity_type=cast(Any, entry.identity_type),
        resource_group_name=rg,
        app_service=app_service,
        container_app=container_app,
        aks=aks,
        function_app=function_app,
        vm=vm,
        cluster_fic_name=cluster_fic,
        system_fic_name=system_fic if entry.identity_type == "SystemAssigned" else None,
        access=access.grants(r.where(key, "access"), entry.access, kind),
        api_permissions=access.api_permissions(
            r.where(key, "apiPermissions"), entry.api_permissions, permission_apps
        ),
        delegated_permissions=web.delegated_permissions(
            r.where(key, "delegatedPermissions"), entry.delegated_permissions, permission_apps
        ),
    )


def _named_apis(entry: s.WorkloadEntry) -> list[str]:
    """The APIs a workload's permissions name by app key (not Graph, not an appId GUID)."""
    names: list[str] = []
    for permissions in (entry.api_permissions, entry.delegated_permissions):
        for item in permissions if isinstance(permissions, list) else ():
            api = item.get("api") if isinstance(item, Mapping) else None
            if isinstance(api, str) and api != GRAPH and role_table.definition_guid(api) != api.lower():
                names.append(api)
    return names


def _colored(key: str, base: str, color: str | None, kind: str) -> str:
    """The physical name with the colour suffix, checked again: the suffix can make it too long."""
    return r.physical_name(key, with_color(base, color), kind)


def _app_service(
    key: str, block: s.AppServiceBlock, workload: str, stack: str, color: str | None, *, cloud: Cloud
) -> AppServiceSpec:
    # Web app names are global (<name>.azurewebsites.net): the default includes the stack name.
    name = _colored(r.where(key, "name"), block.name or f"{workload}-{stack}", color, "webapp")
    plan = _colored(r.where(key, "planName"), block.plan_name or f"plan-{workload}", color, "plan")
    return AppServiceSpec(
        name,
        plan,
        block.sku,
        block.linux_fx_version,
        dict(block.app_settings),
        _easy_auth(block.authentication, cloud.site_host(name)),
    )


def _easy_auth(block: s.AuthenticationBlock | None, host: str) -> EasyAuthSpec | None:
    if block is None or not block.enabled:
        return None
    return EasyAuthSpec(
        callback_uri=callback_uri(host),
        require_authentication=block.require_authentication,
        unauthenticated_client_action=block.unauthenticated_client_action,
        allowed_audiences=tuple(dict.fromkeys(block.allowed_audiences)),
        allowed_applications=tuple(dict.fromkeys(block.allowed_applications)),
        excluded_paths=tuple(dict.fromkeys(block.excluded_paths)),
        token_store=block.token_store,
        login_parameters=tuple(block.login_parameters),
    )


def default_storage_account(workload: str, stack: str, color: str | None) -> str:
    """Storage account names are global, 3-24 lowercase letters and digits: a readable part and a hash."""
    raw = "-".join(p for p in (workload, stack, color) if p)
    readable = re.sub(r"[^a-z0-9]", "", raw.lower())[:14]
    return f"st{readable}{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def _function_app(
    key: str, block: s.FunctionAppBlock, workload: str, stack: str, color: str | None, *, cloud: Cloud
) -> FunctionAppSpec:
    # Function app names are global (<name>.azurewebsites.net): the default includes the stack name.
    name = _colored(r.where(key, "name"), block.name or f"{workload}-{stack}", color, "webapp")
    plan = _colored(r.where(key, "planName"), block.plan_name or f"plan-{workload}", color, "plan")
    account_id = block.storage_account_id
    if account_id is not None:
        found = s.STORAGE_ACCOUNT_ID.fullmatch(account_id)
        assert found is not None  # the schema checked the pattern
        account = found.group(1)
    else:
        account = r.match(
            r.where(key, "storageAccountName"),
            block.storage_account_name or default_storage_account(workload, stack, color),
            s.STORAGE_ACCOUNT,
            "a storage account name of 3-24 lowercase letters and digits",
        )
    container = r.match(
        r.where(key, "deploymentContainer"),
        with_color(block.deployment_container or "app-package", color),
        s.BLOB_CONTAINER,
        "a blob container name of 3-63 lowercase letters, digits and single '-'",
    )
    return FunctionAppSpec(
        name,
        plan,
        block.sku,
        block.runtime_version,
        account,
        account_id,
        container,
        block.instance_memory_mb,
        block.maximum_instance_count,
        dict(block.app_settings),
        _easy_auth(block.authentication, cloud.site_host(name)),
    )


def _container_app(
    key: str, block: s.ContainerAppBlock, workload: str, color: str | None
) -> ContainerAppSpec:
    name = _colored(r.where(key, "name"), block.name or workload, color, "containerapp")
    env_name = None
    if block.environment_id is None:
        env_name = _colored(
            r.where(key, "environmentName"), block.environment_name or f"cae-{workload}", color, "environment"
        )
    registry, registry_id = registry_fields(
        key, {"registry": block.registry, "registryResourceId": block.registry_resource_id}, block.image
    )
    return ContainerAppSpec(
        name,
        block.image,
        env_name,
        block.environment_id,
        block.target_port,
        dict(block.env),
        registry,
        registry_id,
    )


def _aks(key: str, block: s.AksBlock, workload: str, default_rg: str, color: str | None) -> AksSpec:
    sa = _dns_name(r.where(key, "serviceAccount"), with_color(block.service_account, color), 253)
    deployment = _dns_name(
        r.where(key, "deploymentName"), with_color(block.deployment_name or workload, color), 63
    )
    # A coloured stack usually shares the cluster and namespace with the other colour: creating the
    # namespace there would tie it to this colour's lifetime, so coloured stacks default to not creating it.
    create_ns = block.create_namespace if block.create_namespace is not None else color is None
    return AksSpec(
        block.cluster_resource_group or default_rg,
        block.cluster_name,
        block.namespace,
        sa,
        create_ns,
        deployment,
        block.image,
        block.replicas,
        block.container_port,
        cast(Any, block.mode),
        block.issuer_url,
        dict(block.env),
        credentials=cast(Any, block.credentials),
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
