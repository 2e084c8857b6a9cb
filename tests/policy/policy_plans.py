"""A certless.plan/v1 document in the shape the plan simulator writes, for the policy tests.

Three workloads that follow every rule: ``orders`` (App Service), ``reports`` (Container Apps) and
``billing`` (AKS, via-identity). Each test copies it and breaks one thing.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

PROJECT = "certless"
TENANT = "0d2b6f3e-6a3c-4e1e-9d7b-1a2b3c4d5e6f"
SUB = "b1aa9087-05f3-576c-913f-71056b0d6dbc"
RG = "rg-certless"
AUDIENCE = "api://AzureADTokenExchange"
ENTRA_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AKS_ISSUER = f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/cc31e0bf-4014-526e-a092-1dad2bad8bd2/"

IDS = {
    "orders": ("474db2d4-433d-5338-8660-8045172188d1", "aefb5ac7-77a4-5ee7-85da-4a494a85ac65"),
    "reports": ("5d1a7e3c-9b2f-4c61-8e0a-3f4b5c6d7e8f", "6e2b8f4d-0c3a-4d72-9f1b-4a5c6d7e8f90"),
    "billing": ("1b6c4d24-f1c3-56ab-856a-5a418115ce93", "90d69ae9-b1d8-5076-9428-d2ec084bcd56"),
}
APP_CLIENT_IDS = {
    "orders": "f4f70739-c5e3-5ef2-a3e7-ddd0cfad9b8d",
    "reports": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "billing": "2b3c4d5e-6f70-4819-a2b3-c4d5e6f70819",
}


def identity_id(name: str) -> str:
    providers = "providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/{providers}/id-{name}"


class PlanBuilder:
    def __init__(self, stack: str = "prod") -> None:
        self.stack = stack
        self.resources: list[dict[str, Any]] = []
        self.root = self._add("pulumi:pulumi:Stack", f"{PROJECT}-{stack}", None, custom=False)

    def urn(self, type_: str, name: str, parent: dict[str, Any] | None) -> str:
        chain = ""
        if parent is not None and parent["type"] != "pulumi:pulumi:Stack":
            chain = parent["urn"].split("::")[2] + "$"
        return f"urn:pulumi:{self.stack}::{PROJECT}::{chain}{type_}::{name}"

    def _add(
        self,
        type_: str,
        name: str,
        parent: dict[str, Any] | None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        *,
        custom: bool = True,
        protect: bool = False,
        dependencies: list[str] | None = None,
        property_dependencies: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        inputs = inputs or {}
        resource = {
            "urn": self.urn(type_, name, parent),
            "type": type_,
            "name": name,
            "custom": custom,
            "parent": parent["urn"] if parent else None,
            "provider": None,
            "id": (outputs or {}).get("id"),
            "inputs": inputs,
            "outputs": {**copy.deepcopy(inputs), **(outputs or {})},
            "dependencies": dependencies or [],
            "property_dependencies": property_dependencies or {k: [] for k in inputs},
            "protect": protect,
            "retain_on_delete": False,
            "deleted_with": None,
            "import_id": None,
            "read": False,
        }
        self.resources.append(resource)
        return resource

    def identity_chain(self, name: str, workload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        principal, client = IDS[name]
        identity = self._add(
            "azure-native:managedidentity:UserAssignedIdentity",
            f"{name}-id",
            workload,
            {"resourceGroupName": RG, "resourceName": f"id-{name}"},
            {
                "id": identity_id(name),
                "name": f"id-{name}",
                "principalId": principal,
                "clientId": client,
                "tenantId": TENANT,
            },
            protect=True,
        )
        app_object = str(uuid.uuid5(uuid.NAMESPACE_URL, f"certless-app-{name}"))
        app = self._add(
            "azuread:index/application:Application",
            f"{name}-app",
            workload,
            {"displayName": f"certless-{name}-{self.stack}"},
            {"id": f"/applications/{app_object}", "objectId": app_object, "clientId": APP_CLIENT_IDS[name]},
            protect=True,
        )
        self._add(
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
            f"{name}-fic",
            workload,
            {
                "applicationId": f"/applications/{app_object}",
                "audiences": [AUDIENCE],
                "displayName": f"mi-{name}",
                "issuer": ENTRA_ISSUER,
                "subject": principal,
            },
            protect=True,
            dependencies=[identity["urn"], app["urn"]],
        )
        return identity, app

    def azure_ad_env(
        self, name: str, source: str = "SignedAssertionFromManagedIdentity"
    ) -> list[dict[str, str]]:
        env = [
            {"name": "AzureAd__Instance", "value": "https://login.microsoftonline.com/"},
            {"name": "AzureAd__TenantId", "value": TENANT},
            {"name": "AzureAd__ClientId", "value": APP_CLIENT_IDS[name]},
            {"name": "AzureAd__ClientCredentials__0__SourceType", "value": source},
        ]
        if source == "SignedAssertionFromManagedIdentity":
            env.append(
                {"name": "AzureAd__ClientCredentials__0__ManagedIdentityClientId", "value": IDS[name][1]}
            )
        return env

    def app_service(self, name: str = "orders") -> None:
        workload = self._add("certless:index:CertificatelessWorkload", name, self.root, custom=False)
        identity, _ = self.identity_chain(name, workload)
        binding = self._add("certless:compute:AppServiceBinding", f"{name}-web", workload, custom=False)
        self._add(
            "azure-native:web:WebApp",
            f"{name}-web",
            binding,
            {
                "resourceGroupName": RG,
                "httpsOnly": True,
                "identity": {"type": "UserAssigned", "userAssignedIdentities": [identity_id(name)]},
                "keyVaultReferenceIdentity": identity_id(name),
                "siteConfig": {
                    "appSettings": self.azure_ad_env(name),
                    "minTlsVersion": "1.2",
                    "ftpsState": "Disabled",
                },
            },
            {
                "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/sites/{name}-web",
                "identity": {
                    "type": "UserAssigned",
                    "userAssignedIdentities": {
                        identity_id(name): {"clientId": IDS[name][1], "principalId": IDS[name][0]}
                    },
                },
            },
            dependencies=[identity["urn"]],
            property_dependencies={"siteConfig": [identity["urn"]], "identity": [identity["urn"]]},
        )

    def container_app(self, name: str = "reports") -> None:
        workload = self._add("certless:index:CertificatelessWorkload", name, self.root, custom=False)
        identity, _ = self.identity_chain(name, workload)
        self._add(
            "azure-native:app:ContainerApp",
            f"{name}-app",
            workload,
            {
                "resourceGroupName": RG,
                "identity": {"type": "UserAssigned", "userAssignedIdentities": [identity_id(name)]},
                "template": {
                    "containers": [{"name": "api", "image": "example/api:1", "env": self.azure_ad_env(name)}]
                },
                "configuration": {"secrets": [], "activeRevisionsMode": "Single"},
            },
            {
                "identity": {
                    "type": "UserAssigned",
                    "userAssignedIdentities": {
                        identity_id(name): {"clientId": IDS[name][1], "principalId": IDS[name][0]}
                    },
                }
            },
            dependencies=[identity["urn"]],
        )

    def aks(self, name: str = "billing", namespace: str = "billing") -> None:
        workload = self._add("certless:index:CertificatelessWorkload", name, self.root, custom=False)
        identity, _ = self.identity_chain(name, workload)
        binding = self._add(
            "certless:compute:AksWorkloadBinding",
            name,
            workload,
            outputs={"oidc_issuer_url": AKS_ISSUER, "namespace": namespace, "service_account": name},
            custom=False,
        )
        self._add(
            "azure-native:managedidentity:FederatedIdentityCredential",
            f"{name}-cluster",
            binding,
            {
                "audiences": [AUDIENCE],
                "federatedIdentityCredentialResourceName": f"aks-{name}",
                "issuer": AKS_ISSUER,
                "resourceGroupName": RG,
                "resourceName": f"id-{name}",
                "subject": f"system:serviceaccount:{namespace}:{name}",
            },
            {"name": f"aks-{name}"},
            dependencies=[identity["urn"]],
            property_dependencies={"resourceName": [identity["urn"]]},
        )
        self._add(
            "kubernetes:core/v1:ServiceAccount",
            name,
            binding,
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "annotations": {
                        "azure.workload.identity/client-id": IDS[name][1],
                        "azure.workload.identity/tenant-id": TENANT,
                    },
                },
            },
        )
        self._add(
            "kubernetes:apps/v1:Deployment",
            name,
            binding,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name, "azure.workload.identity/use": "true"}},
                        "spec": {
                            "serviceAccountName": name,
                            "containers": [
                                {"name": "app", "image": "example/app:1", "env": self.azure_ad_env(name)}
                            ],
                        },
                    },
                },
            },
        )

    def plan(self) -> dict[str, Any]:
        return {
            "schema": "certless.plan/v1",
            "project": PROJECT,
            "stack": self.stack,
            "config": {"certless:cloud": "AzurePublic", "certless:tenantId": TENANT},
            "resources": copy.deepcopy(self.resources),
            "invokes": [],
            "outputs": {},
            "warnings": [],
        }


def good_plan(stack: str = "prod") -> dict[str, Any]:
    builder = PlanBuilder(stack)
    builder.app_service()
    builder.container_app()
    builder.aks()
    return builder.plan()


def find(plan: dict[str, Any], name: str, type_suffix: str = "") -> dict[str, Any]:
    """The resource called ``name`` (whose type ends with ``type_suffix``)."""
    matches = [r for r in plan["resources"] if r["name"] == name and r["type"].endswith(type_suffix)]
    assert len(matches) == 1, f"{len(matches)} resources named {name!r} ending {type_suffix!r}"
    return matches[0]


def set_prop(
    resource: dict[str, Any], path: str, value: Any, *, where: tuple[str, ...] = ("inputs", "outputs")
) -> None:
    """Set a dotted property path (list indexes as numbers) in the resource's inputs and outputs."""
    for side in where:
        target: Any = resource[side]
        steps = path.split(".")
        for step in steps[:-1]:
            target = target[int(step)] if step.isdigit() else target.setdefault(step, {})
        last = steps[-1]
        if value is DELETE:
            if isinstance(target, dict):
                target.pop(last, None)
        elif last.isdigit():
            target[int(last)] = copy.deepcopy(value)
        else:
            target[last] = copy.deepcopy(value)


DELETE = object()
