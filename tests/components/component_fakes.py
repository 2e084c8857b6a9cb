"""A small deterministic Azure/Entra/Kubernetes stand-in for the Pulumi mock engine, with a recording monitor.

Tests assert on what it recorded after the program finished (not inside ``apply`` callbacks), so an
assertion cannot pass because a callback never ran.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from certless_ops.plan.graph import GRAPH_APP_ID, GRAPH_APP_ROLES, GRAPH_DELEGATED_SCOPES

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = uuid.UUID("3b9b3f0e-1d0c-4f0e-9c55-1f3a1c0de000")
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def guid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    provider: str
    read: bool = False
    aliases: list[tuple[str, str]] = field(default_factory=list)
    """(name, parent URN) of each alias spec the SDK sent; empty parts mean "unchanged"."""
    ignore_changes: list[str] = field(default_factory=list)
    alias_specs: list[dict[str, Any]] = field(default_factory=list)
    """The alias specs (or URNs) the SDK sent; the engine, not the SDK, resolves them into URNs."""


@dataclass
class Recorder:
    registrations: list[Registration] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)


class FakeAzure(Mocks):
    """Answers like Azure/Entra: real ID shapes, computed GUIDs, identity blocks keyed by identity ID."""

    def __init__(
        self, recorder: Recorder, stack_outputs: dict[str, Any] | None = None, tenant: str = ""
    ) -> None:
        self.recorder = recorder
        self.stack_outputs = stack_outputs or {}
        self.tenant = tenant or guid("tenant")
        self.clusters: dict[str, dict[str, Any]] = {}
        self.api_roles: dict[
            str, dict[str, str]
        ] = {}  # appId -> app role value -> ID, for getServicePrincipal
        self.api_scopes: dict[str, dict[str, str]] = {}  # appId -> scope value -> ID, likewise

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        rg = inputs.get("resourceGroupName", "rg")
        arm = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers"
        out = dict(inputs)
        if t == "pulumi:pulumi:StackReference":
            return f"{inputs.get('name')}", {"name": inputs.get("name"), "outputs": self.stack_outputs}
        if t == "azure-native:managedidentity:UserAssignedIdentity":
            rid = (
                args.resource_id
                or f"{arm}/Microsoft.ManagedIdentity/userAssignedIdentities/{inputs['resourceName']}"
            )
            out.update(
                name=rid.rsplit("/", 1)[-1],
                clientId=guid(rid, "client"),
                principalId=guid(rid, "principal"),
                tenantId=self.tenant,
            )
            return rid, out
        if t == "azure-native:managedidentity:FederatedIdentityCredential":
            rid = (
                f"{arm}/Microsoft.ManagedIdentity/userAssignedIdentities/{inputs.get('resourceName')}"
                f"/federatedIdentityCredentials/{inputs['federatedIdentityCredentialResourceName']}"
            )
            out["name"] = inputs["federatedIdentityCredentialResourceName"]
            return rid, out
        if t == "azuread:index/application:Application":
            oid = guid("app", name, "object")
            out.update(objectId=oid, clientId=guid("app", name, "client"))
            return f"/applications/{oid}", out
        if t == "azuread:index/servicePrincipal:ServicePrincipal":
            oid = guid("sp", name)
            out.update(objectId=oid)
            return oid, out
        if t == "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential":
            cid = guid("appfic", name)
            out.update(credentialId=cid)
            return f"{inputs.get('applicationId')}/federatedIdentityCredential/{cid}", out
        if t == "azure-native:web:AppServicePlan":
            return f"{arm}/Microsoft.Web/serverfarms/{inputs['name']}", out
        if t == "azure-native:web:WebApp":
            rid = f"{arm}/Microsoft.Web/sites/{inputs['name']}"
            out.update(
                identity=self._identity(rid, inputs.get("identity")),
                defaultHostName=f"{inputs['name']}.azurewebsites.net",
            )
            out.pop("siteConfig", None)  # app settings are input-only on the real API
            return rid, out
        if t == "azure-native:storage:StorageAccount":
            return f"{arm}/Microsoft.Storage/storageAccounts/{inputs['accountName']}", out
        if t == "azure-native:app:ManagedEnvironment":
            return f"{arm}/Microsoft.App/managedEnvironments/{inputs['environmentName']}", out
        if t == "azure-native:app:ContainerApp":
            rid = f"{arm}/Microsoft.App/containerApps/{inputs['containerAppName']}"
            out.update(identity=self._identity(rid, inputs.get("identity")))
            return rid, out
        if t in ("azure-native:compute:VirtualMachine", "azure-native:compute:VirtualMachineScaleSet"):
            scale_set = t.endswith("ScaleSet")
            rid = (
                f"{arm}/Microsoft.Compute/virtualMachineScaleSets/{inputs['vmScaleSetName']}"
                if scale_set
                else f"{arm}/Microsoft.Compute/virtualMachines/{inputs['vmName']}"
            )
            out.update(identity=self._identity(rid, inputs.get("identity")))
            # customData is write-only: a read never returns it.
            holder = out.get("virtualMachineProfile", out) if scale_set else out
            if isinstance(holder.get("osProfile"), dict):
                holder["osProfile"] = {k: v for k, v in holder["osProfile"].items() if k != "customData"}
            return rid, out
        network = {
            "azure-native:network:VirtualNetwork": ("virtualNetworks", "virtualNetworkName"),
            "azure-native:network:NatGateway": ("natGateways", "natGatewayName"),
            "azure-native:network:PublicIPAddress": ("publicIPAddresses", "publicIpAddressName"),
            "azure-native:network:NetworkInterface": ("networkInterfaces", "networkInterfaceName"),
        }
        if t in network:
            kind, name_input = network[t]
            return f"{arm}/Microsoft.Network/{kind}/{inputs[name_input]}", out
        if t.startswith("kubernetes:"):
            meta = inputs.get("metadata") or {}
            return f"{meta.get('namespace', '')}/{meta.get('name', name)}", out
        return f"{name}-id", out

    def _identity(self, rid: str, identity: dict[str, Any] | None) -> dict[str, Any] | None:
        if not identity:
            return None
        block: dict[str, Any] = {"type": identity["type"]}
        if "SystemAssigned" in identity["type"]:
            block.update(principalId=guid(rid, "system-principal"), tenantId=self.tenant)
        ids = identity.get("userAssignedIdentities") or []
        if ids:
            block["userAssignedIdentities"] = {
                i: {"clientId": guid(i, "client"), "principalId": guid(i, "principal")} for i in ids
            }
        return block

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.recorder.invokes.append((args.token, dict(args.args)))
        key = f"{args.args.get('resourceGroupName')}/{args.args.get('resourceName')}"
        if args.token == "azure-native:containerservice:getManagedCluster":
            cluster = self.clusters.get(key, {})
            oidc = cluster.get("oidc", True)
            wi = cluster.get("workloadIdentity", True)
            issuer = f"https://westeurope.oic.prod-aks.azure.com/{self.tenant}/{guid(key, 'issuer')}/"
            return {
                "name": args.args.get("resourceName"),
                "location": "westeurope",
                "oidcIssuerProfile": {"enabled": oidc, "issuerURL": issuer if oidc else None},
                "securityProfile": {"workloadIdentity": {"enabled": wi}},
            }
        if args.token == "azuread:index/getServicePrincipal:getServicePrincipal":
            client_id = str(args.args.get("clientId"))
            roles = GRAPH_APP_ROLES if client_id == GRAPH_APP_ID else self.api_roles.get(client_id, {})
            scopes = (
                GRAPH_DELEGATED_SCOPES if client_id == GRAPH_APP_ID else self.api_scopes.get(client_id, {})
            )
            return {
                "objectId": guid("sp-of", client_id),
                "clientId": client_id,
                "appRoleIds": dict(roles),
                "oauth2PermissionScopeIds": dict(scopes),
            }
        if args.token in (
            "azure-native:containerservice:listManagedClusterUserCredentials",
            "azure-native:containerservice:listManagedClusterAdminCredentials",
        ):
            # An Entra-integrated cluster's user kubeconfig execs kubelogin (device code), as AKS returns
            # it; a cluster with aad=False, and the admin kubeconfig, carry a credential of their own.
            local = not self.clusters.get(key, {}).get("aad", True) or "Admin" in args.token
            user = (
                "{token: fake-user-token}"
                if local
                else "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin,"
                " args: [get-token, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630, --login, devicecode]}}"
            )
            kubeconfig = (
                f"apiVersion: v1\nkind: Config\nclusters: [{{name: {key}}}]\n"
                f"users: [{{name: clusterUser, user: {user}}}]\n"
            )
            return {
                "kubeconfigs": [
                    {"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}
                ]
            }
        return {}


class RecordingMonitor(MockMonitor):
    """Keeps what the SDK sent: parent, explicit and property dependencies, protect and provider."""

    def __init__(self, mocks: FakeAzure) -> None:
        super().__init__(mocks)
        self.recorder = mocks.recorder

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response.urn, read=False, custom=bool(request.custom))
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        self._record(request, response.urn, read=True, custom=True)
        return response

    def _record(self, request: Any, urn: str, *, read: bool, custom: bool) -> None:
        registered = self.resources.get(urn)
        props = {k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()}
        self.recorder.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent,
                custom=custom,
                inputs=pulumi.runtime.rpc.deserialize_properties(
                    request.object if not read else request.properties
                ),
                outputs=dict(registered.state) if registered is not None else {},
                dependencies=list(getattr(request, "dependencies", [])),
                property_dependencies=props,
                protect=bool(getattr(request, "protect", False)),
                provider=request.provider,
                read=read,
                aliases=[(a.spec.name, a.spec.parentUrn) for a in getattr(request, "aliases", [])],
                ignore_changes=list(getattr(request, "ignoreChanges", [])),
                alias_specs=[_alias(a) for a in getattr(request, "aliases", [])] if not read else [],
            )
        )


def _alias(alias: Any) -> dict[str, Any]:
    if alias.HasField("spec"):
        spec = alias.spec
        parent = spec.WhichOneof("parent")
        return {
            "name": spec.name,
            "type": spec.type,
            "stack": spec.stack,
            "project": spec.project,
            "parentUrn": spec.parentUrn if parent == "parentUrn" else "",
            "noParent": bool(spec.noParent) if parent == "noParent" else False,
        }
    return {"urn": alias.urn}


class _WarningCapture(logging.Handler):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.WARNING)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.recorder.warnings.append(record.getMessage())


def _quiet_program_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop asyncio's report of an unobserved program failure; report anything else as asyncio would.

    A program that fails on purpose (the test asserts its RunError) leaves every output that depended on
    the failure holding the same exception, and asyncio would print each one when it is collected: inside
    whichever later test happens to run the garbage collector, or after the run's summary. Any other
    exception, a defect, is still reported.
    """
    if "never retrieved" in str(context.get("message", "")) and isinstance(
        context.get("exception"), pulumi.RunError
    ):
        return
    loop.default_exception_handler(context)


def _ensure_event_loop() -> None:
    """The Pulumi SDK runs on the thread's current loop; other test modules may have closed or unset it."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed")
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    loop.set_exception_handler(_quiet_program_failures)


def install(
    stack: str = "test", stack_outputs: dict[str, Any] | None = None, tenant: str = ""
) -> tuple[Recorder, FakeAzure]:
    """Fresh mocks for one test; must run before any resource is constructed."""
    _ensure_event_loop()
    recorder = Recorder()
    fake = FakeAzure(recorder, stack_outputs, tenant)
    logger = logging.getLogger(f"certless-test-{uuid.uuid4()}")
    logger.propagate = False
    logger.addHandler(_WarningCapture(recorder))
    pulumi.runtime.set_mocks(
        fake, project="certless", stack=stack, preview=False, logger=logger, monitor=RecordingMonitor(fake)
    )
    return recorder, fake


def run(program: Any) -> dict[str, Any]:
    """Run ``program`` under the mock engine until every registration finished; return resolved outputs.

    ``program`` returns a dict of name -> Output (or plain values); the resolved values come back.
    """
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def _test() -> Any:
        outputs = program() or {}
        return pulumi.Output.all(**outputs).apply(resolved.update)

    _test()
    return resolved


def stack_config(stack: str) -> dict[str, str]:
    """Config as the Pulumi CLI hands it over: Pulumi.yaml defaults + the stack file, objects as JSON."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    merged: dict[str, Any] = {}
    for key, decl in project.get("config", {}).items():
        if isinstance(decl, dict) and "default" in decl:
            merged[f"certless:{key}" if ":" not in key else key] = decl["default"]
    merged.update(values)
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}
