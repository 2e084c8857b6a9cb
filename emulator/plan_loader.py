"""Records from an offline plan (`certless.plan/v1`, docs/plan-schema.md).

Apps, identities and FICs come from `resources` (what would be deployed, adopted identities included);
clusters, hosts and AzureAd settings come from `outputs.workloads`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from emulator.entra.clouds import PUBLIC, cloud_named
from emulator.errors import RecordsError
from emulator.fields import items, obj, strings, text
from emulator.records import (
    PLAN_SCHEMA,
    App,
    Cluster,
    DelegatedGrant,
    ExternalApi,
    FederatedCredential,
    Identity,
    Records,
    Workload,
)

APP = "azuread:index/application:Application"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
AKS = "azure-native:containerservice:ManagedCluster"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
PRE_AUTHORIZED = "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized"
DELEGATED_GRANT = (
    "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def _props(res: Mapping[str, Any], path: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    inputs = obj(res.get("inputs") or {}, f"{path}.inputs")
    outputs = obj(res.get("outputs") or {}, f"{path}.outputs")
    return inputs, {**inputs, **outputs}


def _rg_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" in lowered:
        i = lowered.index("resourcegroups")
        if i + 1 < len(parts):
            return parts[i + 1].lower()
    return ""


def records_from_plan(plan: Mapping[str, Any]) -> Records:
    if plan.get("schema") != PLAN_SCHEMA:
        raise RecordsError("plan schema", repr(plan.get("schema")), repr(PLAN_SCHEMA))
    outputs = obj(plan.get("outputs") or {}, "plan.outputs")
    tenant = text(outputs, "tenantId", "plan.outputs")
    # The plan's cloud decides the issuers and the token-exchange audience the emulated Entra uses.
    cloud = cloud_named(
        text(outputs, "cloud", "plan.outputs", required=False) or PUBLIC.name, "plan.outputs.cloud"
    )
    audience = outputs.get("tokenExchangeAudience")
    if audience is not None and audience != cloud.token_exchange_audience:
        raise RecordsError(
            "plan.outputs.tokenExchangeAudience",
            repr(audience),
            f"{cloud.token_exchange_audience!r}, the token-exchange audience of {cloud.name}",
        )
    resources = [obj(r, f"plan.resources[{i}]") for i, r in enumerate(items(plan, "resources", "plan"))]

    apps: dict[str, App] = {}  # by object ID
    assignments: list[tuple[str, str, str]] = []
    grants: list[DelegatedGrant] = []
    scope_ids: dict[str, dict[str, str]] = {}  # app object ID -> scope ID -> value
    pre_authorized: list[tuple[str, str, list[str]]] = []  # (API object ID, client ID, scope IDs)
    sp_by_client: dict[str, str] = {}
    identities: list[Identity] = []
    clusters: dict[str, Cluster] = {}
    for i, res in enumerate(resources):
        path = f"plan.resources[{i}] ({res.get('type')} {res.get('name')})"
        kind = res.get("type")
        _inputs, props = _props(res, path)
        if kind == APP:
            api = props.get("api") if isinstance(props.get("api"), Mapping) else {}
            version = api.get("requestedAccessTokenVersion") if isinstance(api, Mapping) else None
            app = App(
                client_id=text(props, "clientId", path),
                tenant_id=tenant,
                object_id=text(props, "objectId", path),
                display_name=text(props, "displayName", path, required=False) or str(res.get("name", "")),
                identifier_uris=strings(props, "identifierUris", path),
                access_token_version=2 if version == 2 else 1,
                app_roles={
                    str(r["id"]): str(r["value"])
                    for r in props.get("appRoles") or []
                    if isinstance(r, Mapping) and r.get("id") and r.get("value") and r.get("enabled", True)
                },
                redirect_uris=_redirect_uris(props),
                api_scopes=_api_scopes(api if isinstance(api, Mapping) else {}),
            )
            apps[app.object_id] = app
            scope_ids[app.object_id] = _scope_ids(api if isinstance(api, Mapping) else {})
        elif kind == PRE_AUTHORIZED:
            owner, client, ids = (
                props.get(k) for k in ("applicationId", "authorizedClientId", "permissionIds")
            )
            if isinstance(owner, str) and isinstance(client, str) and isinstance(ids, list):
                pre_authorized.append(
                    (owner.removeprefix("/applications/"), client, [i for i in ids if isinstance(i, str)])
                )
        elif kind == APP_ROLE_ASSIGNMENT:
            ids = tuple(props.get(k) for k in ("principalObjectId", "resourceObjectId", "appRoleId"))
            if all(isinstance(v, str) for v in ids):
                assignments.append((str(ids[0]), str(ids[1]), str(ids[2])))
        elif kind == DELEGATED_GRANT:
            client_sp = props.get("servicePrincipalObjectId")
            resource_sp = props.get("resourceServicePrincipalObjectId")
            values = props.get("claimValues")
            if isinstance(client_sp, str) and isinstance(resource_sp, str) and isinstance(values, list):
                user = props.get("userObjectId")
                grants.append(
                    DelegatedGrant(
                        client_sp,
                        resource_sp,
                        tuple(str(v) for v in values if isinstance(v, str)),
                        user if isinstance(user, str) else "",
                    )
                )
        elif kind == SERVICE_PRINCIPAL:
            client_id, object_id = props.get("clientId"), props.get("objectId")
            if isinstance(client_id, str) and isinstance(object_id, str):
                sp_by_client[client_id] = object_id
        elif kind == UAMI:
            rid = props.get("id") or res.get("id") or ""
            identities.append(
                Identity(
                    name=text(props, "name", path, required=False)
                    or text(props, "resourceName", path, required=False)
                    or str(res.get("name", "")),
                    client_id=text(props, "clientId", path),
                    principal_id=text(props, "principalId", path),
                    tenant_id=text(props, "tenantId", path, required=False) or tenant,
                    resource_id=str(rid),
                )
            )
        elif kind == AKS:
            profile = props.get("oidcIssuerProfile")
            issuer = profile.get("issuerURL") if isinstance(profile, Mapping) else None
            name = props.get("name") or props.get("resourceName") or res.get("name")
            if isinstance(issuer, str) and isinstance(name, str):
                clusters[name] = Cluster(name, issuer)

    for app in apps.values():
        if app.client_id in sp_by_client:
            app.service_principal_id = sp_by_client[app.client_id]
    by_client = {a.client_id.lower(): a for a in apps.values()}
    for api_object_id, client_id, ids in pre_authorized:
        # A pre-authorized client gets these scopes without a consent prompt: consent for every user.
        api_app, client_app = apps.get(api_object_id), by_client.get(client_id.lower())
        if api_app is None or client_app is None:
            continue
        values = tuple(scope_ids[api_object_id][i] for i in ids if i in scope_ids[api_object_id])
        if values:
            grants.append(
                DelegatedGrant(client_app.service_principal_id, api_app.service_principal_id, values)
            )

    for i, res in enumerate(resources):
        path = f"plan.resources[{i}] ({res.get('type')} {res.get('name')})"
        kind = res.get("type")
        if kind not in (APP_FIC, UAMI_FIC):
            continue
        inputs, props = _props(res, path)
        audiences = tuple(strings(props, "audiences", path))
        if len(audiences) != 1:
            raise RecordsError(
                f"{path}.audiences", repr(list(audiences)), "exactly one audience, as Entra requires"
            )
        if kind == APP_FIC:
            fic = FederatedCredential(
                text(props, "displayName", path, required=False) or str(res.get("name", "")),
                text(props, "issuer", path),
                text(props, "subject", path),
                audiences,
            )
            owner_ref = text(props, "applicationId", path)
            owner_app = apps.get(owner_ref.removeprefix("/applications/"))
            if owner_app is None:
                raise RecordsError(
                    f"{path}.applicationId", owner_ref, "/applications/{objectId} of an app in the plan"
                )
            owner_app.federated_credentials.append(fic)
        else:
            fic = FederatedCredential(
                text(props, "federatedIdentityCredentialResourceName", path, required=False)
                or str(res.get("name", "")),
                text(props, "issuer", path),
                text(props, "subject", path),
                audiences,
            )
            ident_name = text(inputs or props, "resourceName", path)
            rg = text(props, "resourceGroupName", path, required=False).lower()
            owner = next(
                (
                    ident
                    for ident in identities
                    if ident.name == ident_name
                    and (not rg or not ident.resource_id or _rg_of(ident.resource_id) == rg)
                ),
                None,
            )
            if owner is None:
                raise RecordsError(
                    f"{path}.resourceName", ident_name, "the name of a user-assigned identity in the plan"
                )
            owner.federated_credentials.append(fic)

    workloads = []
    external: dict[str, ExternalApi] = {}
    for name, raw in obj(outputs.get("workloads") or {}, "plan.outputs.workloads").items():
        _external_apis(obj(raw, f"plan.outputs.workloads.{name}"), f"plan.outputs.workloads.{name}", external)
    for name, raw in obj(outputs.get("workloads") or {}, "plan.outputs.workloads").items():
        path = f"plan.outputs.workloads.{name}"
        w = obj(raw, path)
        aks = obj(w.get("aks") or {}, f"{path}.aks")
        w_tenant = text(w, "tenantId", path, required=False) or tenant
        identity_client = text(w, "identityClientId", path, required=False)
        system = w.get("identityType") == "SystemAssigned"
        principal = text(w, "identityPrincipalId", path, required=system)
        if system and not identity_client:
            # A system-assigned identity's client ID is not always exported; tokens still need one.
            identity_client = str(uuid.uuid5(uuid.NAMESPACE_URL, f"system-assigned:{principal}"))
        if identity_client and not any(i.client_id == identity_client for i in identities):
            identities.append(
                Identity(
                    name=f"{name}-system" if system else f"{name}-identity",
                    client_id=identity_client,
                    principal_id=principal or text(w, "identityPrincipalId", path),
                    tenant_id=w_tenant,
                    resource_id=text(w, "identityResourceId", path, required=False),
                    system_assigned=system,
                )
            )
        cluster_name = ""
        if aks:
            cluster_name = text(aks, "clusterName", f"{path}.aks")
            issuer = text(aks, "oidcIssuerUrl", f"{path}.aks")
            clusters.setdefault(cluster_name, Cluster(cluster_name, issuer))
        env = obj(w.get("azureAdEnv") or {}, f"{path}.azureAdEnv")
        workloads.append(
            Workload(
                name=str(name),
                kind=text(w, "kind", path),
                tenant_id=w_tenant,
                app_client_id=text(w, "appClientId", path, required=False),
                identity_client_id=identity_client,
                aks_mode=w.get("aksMode") if isinstance(w.get("aksMode"), str) else None,
                cluster=cluster_name,
                namespace=text(aks, "namespace", f"{path}.aks", required=False),
                service_account=text(aks, "serviceAccount", f"{path}.aks", required=False),
                azure_ad_env={str(k): str(v) for k, v in env.items()},
            )
        )
    return Records(
        tenants=[tenant],
        apps=list(apps.values()),
        identities=identities,
        clusters=list(clusters.values()),
        workloads=workloads,
        cloud=cloud.name,
        app_role_assignments=assignments,
        external_apis=list(external.values()),
        delegated_grants=grants,
    )


def _redirect_uris(props: Mapping[str, Any]) -> list[str]:
    """The web platform's redirect URIs (``web.redirectUris``), where a confidential client gets codes."""
    web = props.get("web")
    uris = web.get("redirectUris") if isinstance(web, Mapping) else None
    return [u for u in uris if isinstance(u, str)] if isinstance(uris, list) else []


def _scope_ids(api: Mapping[str, Any]) -> dict[str, str]:
    scopes = api.get("oauth2PermissionScopes")
    return {
        str(s["id"]): str(s["value"])
        for s in scopes or []
        if isinstance(s, Mapping) and isinstance(s.get("id"), str) and isinstance(s.get("value"), str)
    }


def _api_scopes(api: Mapping[str, Any]) -> list[str]:
    """Enabled ``api.oauth2PermissionScopes`` values: the delegated permissions the app exposes."""
    scopes = api.get("oauth2PermissionScopes")
    if not isinstance(scopes, list):
        return []
    return [
        str(s["value"])
        for s in scopes
        if isinstance(s, Mapping) and isinstance(s.get("value"), str) and s.get("enabled", True)
    ]


def _external_apis(workload: Mapping[str, Any], path: str, into: dict[str, ExternalApi]) -> None:
    """Graph and appId APIs of the workload's app role grants: which role ID means which value there.

    The plan's resources hold only role IDs; the grant records name the value Entra puts in ``roles``.
    Whether a role is granted is still decided by the plan's assignments (``Records.roles_for``).
    """
    for i, raw in enumerate(items(workload, "access", path)):
        grant = obj(raw, f"{path}.access[{i}]")
        api = grant.get("api")
        if grant.get("type") != "appRole" or not isinstance(api, str):
            continue
        app_id = GRAPH_APP_ID if api == "graph" else api.lower()
        try:
            uuid.UUID(app_id)
        except ValueError:
            continue  # the key of an app of this stack: its roles come from its registration
        where = f"{path}.access[{i}]"
        sp, role_id, value = (text(grant, k, where) for k in ("resourceObjectId", "appRoleId", "appRole"))
        known = into.setdefault(app_id, ExternalApi(app_id, sp))
        if known.service_principal_id.lower() != sp.lower():
            raise RecordsError(f"{where}.resourceObjectId", sp, f"{known.service_principal_id}, as before")
        known.app_roles[role_id] = value
