"""A typed view of a stack (the outputs ``AnalyzeStack`` hands to stack policies), built once per policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pulumi_policy import PolicyResource

from ._props import (
    AKS_BINDING,
    AKS_CLUSTER,
    APP_FIC,
    APP_FLEX_FIC,
    CONTAINER_APP,
    GUID_RE,
    IDENTITY,
    IDENTITY_FIC,
    UNKNOWN,
    WEB_TYPES,
    dig,
    met_unknown,
    not_recording,
    plain,
)


@dataclass
class Node:
    """One resource of the stack; its props as plain data (unknowns are UNKNOWN) on first use only,
    since a stack policy looks at the props of a few resource types."""

    resource: PolicyResource

    @cached_property
    def props(self) -> dict[str, Any]:
        value = plain(self.resource.props, self.resource.urn)
        return value if isinstance(value, dict) else {}

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def type(self) -> str:
        return self.resource.resource_type


@dataclass
class Identity:
    node: Node
    principal_id: Any
    client_id: Any
    tenant_id: Any
    resource_id: Any


@dataclass
class Fic:
    """A federated identity credential, on an app (azuread) or on a user-assigned identity."""

    node: Node
    on: str  # "app" or "identity"
    issuer: Any
    subject: Any  # None for flexible FICs
    parent_key: Any  # the app's /applications/{id}, or the identity's URN; UNKNOWN or None if unknown
    parent_label: str

    @property
    def name(self) -> str:
        """The name Entra or Azure stores (what the portal, ``az`` and the plan tree show); the resource
        name only while the stored one is unknown."""
        prop = "federatedIdentityCredentialResourceName" if self.on == "identity" else "displayName"
        stored = dig(self.node.props, prop)
        return stored if isinstance(stored, str) and stored else self.node.name


def fic_pair(first: Fic, second: Fic) -> tuple[str, str]:
    """Two FICs' quoted names for one sentence: the stored names, with the resource names when they match."""
    if first.name != second.name:
        return f"'{first.name}'", f"'{second.name}'"
    return (
        f"'{first.name}' (resource '{first.node.name}')",
        f"'{second.name}' (resource '{second.node.name}')",
    )


@dataclass
class StackView:
    nodes: list[Node]
    identities: list[Identity] = field(default_factory=list)
    fics: list[Fic] = field(default_factory=list)
    cluster_issuers: list[Any] = field(default_factory=list)
    # principal ID of a system-assigned identity -> the compute that owns it
    system_principals: dict[str, Node] = field(default_factory=dict)
    # principal IDs another stack exports through a StackReference (an adopted identity layer)
    referenced_principals: set[str] = field(default_factory=set)
    by_urn: dict[str, Node] = field(default_factory=dict)


def _identity_for_fic(node: Node, identities: list[Identity]) -> Identity | None:
    """The user-assigned identity a managed-identity FIC is created under.

    Preferred: the engine's property dependency of ``resourceName`` on the identity. Else the
    identity's name, from ``resourceName`` (an input, not always among the outputs) or from the FIC's
    ARM ID ``.../userAssignedIdentities/<name>/federatedIdentityCredentials/<fic>``, matched against
    the identities' names (same resource group when known).
    """
    deps = node.resource.property_dependencies.get("resourceName") or []
    for dep in deps:
        for identity in identities:
            if identity.node.urn == dep.urn:
                return identity
    parent_name = dig(node.props, "resourceName")
    group = dig(node.props, "resourceGroupName")
    arm_id = dig(node.props, "id")
    if not isinstance(parent_name, str) and isinstance(arm_id, str):
        parts = arm_id.split("/")
        lowered = [p.lower() for p in parts]
        if "userassignedidentities" in lowered:
            at = lowered.index("userassignedidentities")
            parent_name = parts[at + 1] if at + 1 < len(parts) else None
            if "resourcegroups" in lowered:
                group = parts[lowered.index("resourcegroups") + 1]
    if not isinstance(parent_name, str):
        return None
    matches = [i for i in identities if dig(i.node.props, "name") == parent_name]
    if isinstance(group, str) and len(matches) > 1:
        matches = [i for i in matches if dig(i.node.props, "resourceGroupName") in (group, None)]
    return matches[0] if len(matches) == 1 else None


STACK_REFERENCE = "pulumi:pulumi:StackReference"


def _exported_principals(value: Any, key: str = "") -> set[str]:
    """GUIDs under keys naming a principal ID (e.g. ``identityPrincipalId``) in a stack's exports."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in _exported_principals(v, str(k))}
    if isinstance(value, list):
        return {p for v in value for p in _exported_principals(v, key)}
    if isinstance(value, str) and "principalid" in key.lower() and GUID_RE.match(value):
        return {value}
    return set()


def build(resources: Iterable[PolicyResource]) -> StackView:
    """The view every stack policy starts from; its eager reads are no rule's judgement, so a value
    they meet unknown counts only where a rule then skips on it (``met_unknown``)."""
    with not_recording():
        return _build(resources)


def _build(resources: Iterable[PolicyResource]) -> StackView:
    view = StackView(nodes=[Node(r) for r in resources])
    view.by_urn = {n.urn: n for n in view.nodes}
    for node in view.nodes:
        if node.type == IDENTITY:
            view.identities.append(
                Identity(
                    node,
                    dig(node.props, "principalId"),
                    dig(node.props, "clientId"),
                    dig(node.props, "tenantId"),
                    dig(node.props, "id"),
                )
            )
        elif node.type == AKS_CLUSTER:
            view.cluster_issuers.append(dig(node.props, "oidcIssuerProfile", "issuerURL"))
        elif node.type == STACK_REFERENCE:
            view.referenced_principals |= _exported_principals(dig(node.props, "outputs"))
        elif node.type == AKS_BINDING:
            # The issuer the program read from the cluster through the AKS API (an invoke, which policy
            # packs cannot see), registered as the binding component's output.
            for key in ("oidcIssuerUrl", "oidc_issuer_url"):
                if key in node.props:
                    view.cluster_issuers.append(node.props[key])
        elif node.type in WEB_TYPES or node.type == CONTAINER_APP:
            identity_type = dig(node.props, "identity", "type")
            principal = dig(node.props, "identity", "principalId")
            system = (
                isinstance(identity_type, str) and "systemassigned" in identity_type.replace(" ", "").lower()
            )
            if system and isinstance(principal, str) and principal:
                view.system_principals[principal] = node
    for node in view.nodes:
        if node.type in (APP_FIC, APP_FLEX_FIC):
            app = dig(node.props, "applicationId")
            view.fics.append(
                Fic(
                    node,
                    "app",
                    dig(node.props, "issuer"),
                    dig(node.props, "subject") if node.type == APP_FIC else None,
                    app,
                    f"application {app}" if isinstance(app, str) else "its application",
                )
            )
        elif node.type == IDENTITY_FIC:
            identity = _identity_for_fic(node, view.identities)
            view.fics.append(
                Fic(
                    node,
                    "identity",
                    dig(node.props, "issuer"),
                    dig(node.props, "subject"),
                    identity.node.urn if identity else UNKNOWN,
                    f"identity '{identity.node.name}'" if identity else "its identity",
                )
            )
    return view


def attached_identity_ids(node: Node) -> Any:
    """Resource IDs of the user-assigned identities attached to a compute (lower-cased).

    Outputs carry a map ``{resourceId: {clientId, principalId}}``; inputs a list of IDs.
    """
    value = dig(node.props, "identity", "userAssignedIdentities")
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, Mapping):
        return {str(k).lower() for k in value}
    if isinstance(value, list):
        if any(v is UNKNOWN for v in value):
            return UNKNOWN
        return {str(v).lower() for v in value}
    return set()


def attached_client_ids(node: Node, view: StackView) -> Any:
    """Client IDs of the user-assigned identities attached to a compute, or UNKNOWN."""
    value = dig(node.props, "identity", "userAssignedIdentities")
    clients: set[str] = set()
    if isinstance(value, Mapping):
        for entry in value.values():
            client = dig(entry, "clientId")
            if isinstance(client, str):
                clients.add(client)
    ids = attached_identity_ids(node)
    if ids is UNKNOWN:
        return UNKNOWN
    for identity_id in ids:
        for identity in view.identities:
            if _same_identity(identity, identity_id):
                if met_unknown(identity.client_id, identity.node.props, "clientId"):
                    return UNKNOWN
                if isinstance(identity.client_id, str):
                    clients.add(identity.client_id)
    return clients


def _same_identity(identity: Identity, resource_id: str) -> bool:
    if isinstance(identity.resource_id, str):
        return identity.resource_id.lower() == resource_id
    # Without an ``id`` output, fall back to the identity's name, the ID's last segment.
    name = dig(identity.node.props, "name")
    return isinstance(name, str) and resource_id.rsplit("/", 1)[-1] == name.lower()


def ancestors(node: Node, view: StackView, memo: dict[str, set[str]]) -> set[str]:
    """URNs this resource depends on, directly or transitively."""
    if node.urn in memo:
        return memo[node.urn]
    memo[node.urn] = set()  # cycle guard
    found: set[str] = set()
    for dep in node.resource.dependencies:
        found.add(dep.urn)
        dep_node = view.by_urn.get(dep.urn)
        if dep_node is not None:
            found |= ancestors(dep_node, view, memo)
    memo[node.urn] = found
    return found


def identity_label(identity: Identity) -> str:
    return f"'{identity.node.name}'"
