"""Small certless.plan/v1 documents for the blue-green checks, in the shape the plan simulator writes.

``owner_plan`` is a blue stack that owns the shared identity layer; ``colour_plan`` is a colour stack
that references it. Each test breaks one thing on top of them.
"""

from __future__ import annotations

import copy
from typing import Any

PROJECT = "certless"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "11111111-2222-3333-4444-555555555555"
IDENTITY_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-certless-shared/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-orders"
)
PRINCIPAL_ID = "0b5c1d2e-1111-4c3d-8e9f-0a1b2c3d4e5f"
IDENTITY_CLIENT_ID = "6a7b8c9d-2222-4e5f-8a1b-2c3d4e5f6a7b"
APP_OBJECT_ID = "9f8e7d6c-3333-4b4a-9988-776655443322"
APP_CLIENT_ID = "1a2b3c4d-4444-4f6a-8b9c-0d1e2f3a4b5c"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://AzureADTokenExchange"
APP_FIC_NAME = "mi-id-orders"


def urn(stack: str, type_: str, name: str, parents: str = "") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{parents}{type_}::{name}"


def resource(
    stack: str,
    type_: str,
    name: str,
    *,
    id_: str | None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    custom: bool = True,
    protect: bool = False,
    retain_on_delete: bool = False,
    read: bool = False,
    dependencies: list[str] | None = None,
    provider: str | None = None,
) -> dict[str, Any]:
    inputs = inputs or {}
    return {
        "urn": urn(stack, type_, name),
        "type": type_,
        "name": name,
        "custom": custom,
        "parent": None
        if type_ == "pulumi:pulumi:Stack"
        else urn(stack, "pulumi:pulumi:Stack", f"{PROJECT}-{stack}"),
        "provider": provider,
        "id": id_,
        "inputs": inputs,
        "outputs": {**inputs, **(outputs or {}), **({"id": id_} if id_ else {})},
        "dependencies": dependencies or [],
        "property_dependencies": {},
        "protect": protect,
        "retain_on_delete": retain_on_delete,
        "deleted_with": None,
        "import_id": None,
        "read": read,
    }


def rg_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{name}"


def site_id(rg: str, name: str) -> str:
    return f"{rg_id(rg)}/providers/Microsoft.Web/sites/{name}"


def identity_fic_id(name: str) -> str:
    return f"{IDENTITY_ID}/federatedIdentityCredentials/{name}"


def workload(color: str, *, aks: bool = False, cluster_issuer: str | None = None) -> dict[str, Any]:
    fics: list[dict[str, Any]] = [
        {"name": APP_FIC_NAME, "on": "app", "issuer": ISSUER, "subject": PRINCIPAL_ID, "audience": AUDIENCE}
    ]
    out: dict[str, Any] = {
        "kind": "aks" if aks else "appservice",
        "aksMode": "via-identity" if aks else None,
        "identityType": "UserAssigned",
        "tenantId": TENANT,
        "appClientId": APP_CLIENT_ID,
        "appObjectId": APP_OBJECT_ID,
        "identityClientId": IDENTITY_CLIENT_ID,
        "identityPrincipalId": PRINCIPAL_ID,
        "identityResourceId": IDENTITY_ID,
        "federatedCredentials": fics,
    }
    if aks:
        fics.append(
            {
                "name": f"aks-orders-{color}",
                "on": "identity",
                "issuer": cluster_issuer,
                "subject": "system:serviceaccount:orders:orders",
                "audience": AUDIENCE,
            }
        )
        out["aks"] = {
            "clusterName": f"aks-{color}",
            "namespace": "orders",
            "serviceAccount": "orders",
            "oidcIssuerUrl": cluster_issuer,
        }
    return out


def cluster_issuer(color: str) -> str:
    return f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/{color}-0000-4000-8000-000000000000/"


def _compute(stack: str, color: str, *, aks: bool, after: list[str]) -> list[dict[str, Any]]:
    rg = f"rg-orders-{color}"
    res = [resource(stack, "azure-native:resources:ResourceGroup", rg, id_=rg_id(rg))]
    if not aks:
        res.append(
            resource(
                stack,
                "azure-native:web:WebApp",
                f"web-orders-{color}",
                id_=site_id(rg, f"orders-{color}"),
                inputs={"name": f"orders-{color}", "resourceGroupName": rg},
                dependencies=[res[0]["urn"]],
            )
        )
        return res
    issuer = cluster_issuer(color)
    fic = resource(
        stack,
        "azure-native:managedidentity:FederatedIdentityCredential",
        f"aks-orders-{color}",
        id_=identity_fic_id(f"aks-orders-{color}"),
        inputs={
            "resourceGroupName": "rg-certless-shared",
            "resourceName": "id-orders",
            "federatedIdentityCredentialResourceName": f"aks-orders-{color}",
            "issuer": issuer,
            "subject": "system:serviceaccount:orders:orders",
            "audiences": [AUDIENCE],
        },
        dependencies=after,
    )
    provider = resource(
        stack,
        "pulumi:providers:kubernetes",
        f"k8s-{color}",
        id_="prov",
        inputs={"kubeconfig": f"kube-{color}"},
    )
    prov_ref = f"{provider['urn']}::prov"
    namespaced = [
        resource(
            stack,
            "kubernetes:core/v1:ServiceAccount",
            "orders-sa",
            id_="orders/orders",
            inputs={"metadata": {"name": "orders", "namespace": "orders"}},
            provider=prov_ref,
        ),
        resource(
            stack,
            "kubernetes:apps/v1:Deployment",
            "orders",
            id_="orders/orders",
            inputs={"metadata": {"name": "orders", "namespace": "orders"}},
            provider=prov_ref,
        ),
    ]
    namespace = resource(
        stack,
        "kubernetes:core/v1:Namespace",
        "orders-ns",
        id_="orders",
        inputs={"metadata": {"name": "orders"}},
        provider=prov_ref,
    )
    return [*res, fic, provider, namespace, *namespaced]


def _document(
    stack: str, color: str, resources: list[dict[str, Any]], work: dict[str, Any]
) -> dict[str, Any]:
    root = resource(stack, "pulumi:pulumi:Stack", f"{PROJECT}-{stack}", id_=None, custom=False)
    return {
        "schema": "certless.plan/v1",
        "project": PROJECT,
        "stack": stack,
        "config": {"certless:color": color},
        "resources": [root, *resources],
        "invokes": [],
        "outputs": {
            "tenantId": TENANT,
            "cloud": "AzurePublic",
            "instance": "https://login.microsoftonline.com/",
            "tokenExchangeAudience": AUDIENCE,
            "workloads": {"orders": work},
        },
        "warnings": [],
    }


def shared_layer(stack: str, *, protect: bool = True) -> list[dict[str, Any]]:
    rg = resource(
        stack, "azure-native:resources:ResourceGroup", "rg-certless-shared", id_=rg_id("rg-certless-shared")
    )
    uami = resource(
        stack,
        "azure-native:managedidentity:UserAssignedIdentity",
        "id-orders",
        id_=IDENTITY_ID,
        inputs={"resourceGroupName": "rg-certless-shared", "resourceName": "id-orders"},
        outputs={"principalId": PRINCIPAL_ID, "clientId": IDENTITY_CLIENT_ID, "tenantId": TENANT},
        protect=protect,
        dependencies=[rg["urn"]],
    )
    app = resource(
        stack,
        "azuread:index/application:Application",
        "app-orders",
        id_=f"/applications/{APP_OBJECT_ID}",
        inputs={"displayName": "orders", "preventDuplicateNames": True},
        outputs={"objectId": APP_OBJECT_ID, "clientId": APP_CLIENT_ID},
        protect=protect,
    )
    sp = resource(
        stack,
        "azuread:index/servicePrincipal:ServicePrincipal",
        "app-orders",
        id_="sp-object-id",
        inputs={"clientId": APP_CLIENT_ID},
        protect=protect,
        dependencies=[app["urn"]],
    )
    app_fic = resource(
        stack,
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
        APP_FIC_NAME,
        id_=f"{APP_OBJECT_ID}/federatedIdentityCredential/cred-1",
        inputs={
            "applicationId": f"/applications/{APP_OBJECT_ID}",
            "displayName": APP_FIC_NAME,
            "issuer": ISSUER,
            "subject": PRINCIPAL_ID,
            "audiences": [AUDIENCE],
        },
        protect=protect,
        dependencies=[app["urn"], uami["urn"]],
    )
    return [rg, uami, app, sp, app_fic]


def owner_plan(
    stack: str = "prod", color: str = "blue", *, aks: bool = False, protect: bool = True
) -> dict[str, Any]:
    shared = shared_layer(stack, protect=protect)
    uami_urn = shared[1]["urn"]
    resources = [*shared, *_compute(stack, color, aks=aks, after=[uami_urn])]
    return _document(stack, color, resources, workload(color, aks=aks, cluster_issuer=cluster_issuer(color)))


def colour_plan(stack: str = "prod-green", color: str = "green", *, aks: bool = False) -> dict[str, Any]:
    ref = resource(
        stack,
        "pulumi:pulumi:StackReference",
        "shared",
        id_="acme/certless/prod",
        inputs={"name": "acme/certless/prod"},
        outputs={"outputs": {}},
    )
    resources = [ref, *_compute(stack, color, aks=aks, after=[])]
    return _document(stack, color, resources, workload(color, aks=aks, cluster_issuer=cluster_issuer(color)))


def find(plan: dict[str, Any], type_suffix: str, name: str | None = None) -> dict[str, Any]:
    for res in plan["resources"]:
        if res["type"].endswith(type_suffix) and (name is None or res["name"] == name):
            return res
    raise KeyError(f"no {type_suffix} {name or ''} in {plan['stack']}")


def copy_plan(plan: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(plan)
