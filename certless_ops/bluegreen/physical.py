"""Physical names: what a planned resource is called in Azure, Entra or Kubernetes.

Two stacks collide when they both create something with the same physical name; destroying a stack
deletes the physical resources it owns and, through containment, what lives inside them (a resource
group takes its resources, an identity or app registration takes its federated credentials, an app
registration takes its service principal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from certless_ops.bluegreen.planview import (
    APPLICATION,
    GLOBAL_NAME_TYPES,
    MANAGED_CLUSTER,
    SERVICE_PRINCIPAL,
    Plan,
    Resource,
)
from certless_ops.plan.fic_names import APP_FIC, fic_phrase

CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume"}
)


@dataclass(frozen=True)
class PhysicalName:
    key: str  # comparison key: case-folded where the platform is case-insensitive
    display: str  # how a message names it
    contained_by: tuple[str, ...] = ()  # keys whose deletion deletes this too


def arm_key(resource_id: str) -> str:
    return "arm:" + resource_id.rstrip("/").lower()


def arm_containers(resource_id: str) -> tuple[str, ...]:
    # Every ancestor at a resource boundary: /subscriptions/s/resourceGroups/rg, then each parent
    # resource (type/name pairs) below the provider namespace.
    parts = resource_id.strip("/").split("/")
    containers: list[str] = []
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        containers.append(arm_key("/" + "/".join(parts[:4])))
    if len(parts) > 6 and parts[4].lower() == "providers":
        for end in range(8, len(parts), 2):
            containers.append(arm_key("/" + "/".join(parts[:end])))
    return tuple(k for k in containers if k != arm_key(resource_id))


def app_key(object_id: str) -> str:
    return f"entra-app:{object_id.lower()}"


def app_object_id(resource: Resource) -> str | None:
    """The object ID of an Application resource, or of the app an app FIC is attached to."""
    if resource.type == APPLICATION:
        value = resource.outputs.get("objectId") or resource.id
    else:
        value = resource.prop("applicationId")
    if not isinstance(value, str) or not value:
        return None
    return value.rsplit("/", 1)[-1]


def physical_names(resource: Resource, plan: Plan, app_by_client_id: dict[str, str]) -> list[PhysicalName]:
    """The physical names an owned resource claims; empty for resources without one."""
    if resource.type.startswith("azure-native:"):
        if not resource.id:
            return []
        names = [PhysicalName(arm_key(resource.id), resource.id, arm_containers(resource.id))]
        if resource.type in GLOBAL_NAME_TYPES:
            short = resource.id.rstrip("/").rsplit("/", 1)[-1]
            kind = resource.type.rsplit(":", 1)[-1]
            names.append(PhysicalName(f"dns:{resource.type}:{short.lower()}", f"{kind} name {short!r}"))
        return names
    if resource.type == APPLICATION:
        oid = app_object_id(resource)
        names = [PhysicalName(app_key(oid), f"app registration {oid}")] if oid else []
        display_name = resource.prop("displayName")
        if resource.inputs.get("preventDuplicateNames") and isinstance(display_name, str):
            # With prevent_duplicate_names the display name is unique in the tenant.
            names.append(PhysicalName(f"entra-app-name:{display_name.lower()}", f"app name {display_name!r}"))
        return names
    if resource.type == SERVICE_PRINCIPAL:
        client_id = resource.prop("clientId")
        if not isinstance(client_id, str):
            return []
        owner_app = app_by_client_id.get(client_id.lower())
        return [
            PhysicalName(
                f"entra-sp:{client_id.lower()}",
                f"service principal of app {client_id}",
                (app_key(owner_app),) if owner_app else (),
            )
        ]
    if resource.type == APP_FIC:
        oid = app_object_id(resource)
        display_name = resource.prop("displayName")
        if not oid or not isinstance(display_name, str):
            return []
        return [
            PhysicalName(
                f"entra-app-fic:{oid.lower()}:{display_name.lower()}",
                f"{fic_phrase(display_name)} on app {oid}",
                (app_key(oid),),
            )
        ]
    if resource.type.startswith("kubernetes:") and not resource.type.startswith("kubernetes:helm"):
        return _kubernetes_names(resource, plan)
    return []


def _kubernetes_names(resource: Resource, plan: Plan) -> list[PhysicalName]:
    metadata = resource.inputs.get("metadata") or resource.outputs.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        return []
    kind = resource.type.rsplit(":", 1)[-1]
    cluster = kubernetes_cluster(resource, plan)
    if kind == "Namespace":
        return [PhysicalName(f"k8s:{cluster}:ns:{name}", f"Namespace {name}")]
    if kind in CLUSTER_SCOPED_KINDS:
        return [PhysicalName(f"k8s:{cluster}:{kind}:{name}", f"{kind} {name}")]
    namespace = metadata.get("namespace") or "default"
    # Deleting a namespace deletes every object in it.
    return [
        PhysicalName(
            f"k8s:{cluster}:{kind}:{namespace}/{name}",
            f"{kind} {namespace}/{name}",
            (f"k8s:{cluster}:ns:{namespace}",),
        )
    ]


def kubernetes_cluster(resource: Resource, plan: Plan) -> str:
    """Which cluster a Kubernetes object lands in: the AKS cluster behind its provider, if known."""
    # A provider reference is "<provider URN>::<provider ID>"; URNs contain "::" themselves.
    urn = (resource.provider or "").rpartition("::")[0]
    provider = plan.by_urn.get(urn) if urn else None
    if provider is None:
        # No explicit provider: the ambient kubeconfig; assume every stack's is the same cluster.
        return "ambient"
    for dep in plan.dependency_closure(provider.urn):
        dep_resource = plan.by_urn.get(dep)
        if dep_resource and dep_resource.type == MANAGED_CLUSTER and dep_resource.id:
            return arm_key(dep_resource.id)
    kubeconfig = provider.inputs.get("kubeconfig")
    if isinstance(kubeconfig, str):
        return "kubeconfig:" + hashlib.sha256(kubeconfig.encode()).hexdigest()[:16]
    return f"provider:{plan.stack}:{provider.urn}"


def plan_physical_names(plan: Plan) -> dict[str, list[PhysicalName]]:
    """URN -> physical names, for every resource the plan owns."""
    app_by_client_id = {
        str(r.prop("clientId")).lower(): oid
        for r in plan.resources
        if r.type == APPLICATION and r.prop("clientId") and (oid := app_object_id(r))
    }
    return {r.urn: physical_names(r, plan, app_by_client_id) for r in plan.owned()}
