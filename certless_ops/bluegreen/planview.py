"""A read-only view of a ``certless.plan/v1`` document with what the blue-green checks need.

Only the documented schema (docs/plan-schema.md) is relied on: resources with their options and
simulated IDs, and the ``workloads`` stack outputs that name the identity and app each workload uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from certless_ops.plan.fic_names import FIC_TYPES, fic_name, fic_phrase

STACK_REFERENCE = "pulumi:pulumi:StackReference"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"

# Azure resources whose name is a DNS label under a shared zone, so it must be unique worldwide,
# whatever the resource group (``<name>.azurewebsites.net``, ``<name>.vault.azure.net`` ...).
GLOBAL_NAME_TYPES = frozenset(
    {
        "azure-native:web:WebApp",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:containerregistry:Registry",
    }
)


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    id: str | None
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    dependencies: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    read: bool

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Resource:
        return cls(
            urn=str(raw["urn"]),
            type=str(raw["type"]),
            name=str(raw.get("name", "")),
            custom=bool(raw.get("custom", False)),
            parent=raw.get("parent"),
            provider=raw.get("provider"),
            id=raw.get("id"),
            inputs=raw.get("inputs") or {},
            outputs=raw.get("outputs") or {},
            dependencies=tuple(raw.get("dependencies") or ()),
            protect=bool(raw.get("protect", False)),
            retain_on_delete=bool(raw.get("retain_on_delete", False)),
            read=bool(raw.get("read", False)),
        )

    @property
    def owned(self) -> bool:
        """True when the stack creates (and so on destroy deletes) a physical resource for this."""
        return (
            self.custom
            and not self.read
            and self.type != STACK_REFERENCE
            and not self.type.startswith("pulumi:providers:")
        )

    def prop(self, name: str) -> Any:
        """An output, falling back to the input of the same name."""
        value = self.outputs.get(name)
        return self.inputs.get(name) if value is None else value

    @property
    def label(self) -> str:
        """How messages name the resource; a FIC by the name Entra or Azure stores (fic_names.py)."""
        if self.type in FIC_TYPES:
            return fic_phrase(fic_name(self.type, self.inputs, self.outputs, self.name))
        return f"{self.type.rsplit(':', 1)[-1]} {self.name!r}"


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str
    aks_mode: str | None
    identity_type: str
    identity_resource_id: str | None
    identity_principal_id: str | None
    app_object_id: str | None
    app_client_id: str | None
    federated_credentials: tuple[Mapping[str, Any], ...]
    aks: Mapping[str, Any] | None
    redirect_uris: Mapping[str, Any] | None = None
    """A colour's sign-in URIs on the owner's app: ``{needed, missing}`` (program/colour_sign_in.py)."""

    @classmethod
    def from_json(cls, name: str, raw: Mapping[str, Any]) -> Workload:
        return cls(
            name=name,
            kind=str(raw.get("kind", "")),
            aks_mode=raw.get("aksMode"),
            identity_type=str(raw.get("identityType") or ""),  # null for AKS direct mode
            identity_resource_id=raw.get("identityResourceId"),
            identity_principal_id=raw.get("identityPrincipalId"),
            app_object_id=raw.get("appObjectId"),
            app_client_id=raw.get("appClientId"),
            federated_credentials=tuple(raw.get("federatedCredentials") or ()),
            aks=raw.get("aks"),
            redirect_uris=raw.get("redirectUris"),
        )


@dataclass(frozen=True)
class Plan:
    """One stack's plan; ``label`` is how messages name it, e.g. ``green (prod-green)``."""

    stack: str
    project: str
    config: Mapping[str, Any]
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any]
    label: str
    by_urn: Mapping[str, Resource] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, document: Mapping[str, Any], label: str | None = None) -> Plan:
        resources = tuple(Resource.from_json(r) for r in document.get("resources") or ())
        stack = str(document.get("stack", ""))
        return cls(
            stack=stack,
            project=str(document.get("project", "")),
            config=document.get("config") or {},
            resources=resources,
            outputs=document.get("outputs") or {},
            label=label or stack,
            by_urn={r.urn: r for r in resources},
        )

    @property
    def workloads(self) -> list[Workload]:
        raw = self.outputs.get("workloads") or {}
        return [Workload.from_json(name, value) for name, value in sorted(raw.items())]

    def owned(self) -> Iterator[Resource]:
        return (r for r in self.resources if r.owned)

    def dependency_closure(self, urn: str) -> set[str]:
        """Every URN ``urn`` depends on, directly or through other resources."""
        seen: set[str] = set()
        stack = [urn]
        while stack:
            current = self.by_urn.get(stack.pop())
            if current is None:
                continue
            for dep in current.dependencies:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return seen
