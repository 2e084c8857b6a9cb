"""A deterministic, table-driven stand-in for Azure Resource Manager, Microsoft Graph and Kubernetes.

For each resource type the program registers it answers with the outputs the real service would return
(camelCase wire names, realistic IDs). Every generated GUID is a UUIDv5 of the resource URN and the
property name, so two runs of the same program give the same plan.

Cluster settings for `getManagedCluster` are controlled by the cluster name, so tests can exercise the
program's checks without a real cluster:

* a name containing ``nooidc`` reports the OIDC issuer disabled (no ``issuerURL``);
* a name containing ``nowi`` reports workload identity disabled (no ``securityProfile.workloadIdentity``);
* a name containing ``noaad`` is a cluster without Entra integration (no ``aadProfile``): its user
  kubeconfig carries a client certificate. Every other cluster is Entra-integrated, as AKS recommends,
  and its user kubeconfig execs ``kubelogin get-token --login devicecode``, as the real one does;
* a name containing ``nolocal`` has local accounts disabled: listClusterAdminCredential fails. Azure
  allows that only on Entra-integrated clusters, so a name with both ``noaad`` and ``nolocal`` is refused.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from certless_ops.errors import UserError
from certless_ops.plan import ids
from certless_ops.plan.graph import GRAPH_APP_ID, GRAPH_APP_ROLES, GRAPH_DELEGATED_SCOPES

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
_MISSING = "MISSING"


@dataclass(frozen=True)
class Environment:
    """The tenant, subscription and region the simulated deployment runs in."""

    tenant_id: str
    subscription_id: str
    location: str
    deployer_client_id: str
    deployer_object_id: str
    # Stack reference name -> that stack's outputs (from --stack-outputs).
    stack_outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Request:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    resource_id: str | None


Handler = Callable[["Simulator", _Request], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class _Arm:
    """An Azure Resource Manager resource: provider type path and the inputs naming each ID segment."""

    provider_type: str
    name_inputs: tuple[str, ...]
    computed: Callable[[Simulator, _Request, str, str], dict[str, Any]] | None = None
    located: bool = True


class SimulationError(UserError):
    """The program asked for something the offline simulator cannot answer (e.g. an unknown stack)."""


class Simulator(Mocks):
    """Pulumi `Mocks` that play Azure, Entra and Kubernetes; thread-safe (the engine calls from a pool)."""

    def __init__(self, env: Environment, preview: bool = False) -> None:
        self.env = env
        # As in `pulumi preview`: a resource to be created reports its inputs only; its ID and every
        # computed output stay unknown (the SDK reads a missing output as unknown in a dry run).
        self.preview = preview
        self._lock = threading.Lock()
        self._identities: dict[str, dict[str, str]] = _identities_exported_by(env.stack_outputs)
        self._environment_domains: dict[str, str] = {}
        self.unmodelled_types: set[str] = set()
        self.unmodelled_invokes: set[str] = set()

    # -- Mocks API ---------------------------------------------------------------------------------
    def new_resource(self, args: MockResourceArgs, urn: str | None = None) -> tuple[str | None, dict]:
        req = _Request(
            urn=urn or f"urn:pulumi:unknown::unknown::{args.typ}::{args.name}",
            type=args.typ,
            name=args.name,
            inputs=dict(args.inputs),
            resource_id=args.resource_id or None,
        )
        if not args.custom and not args.typ.startswith("pulumi:"):
            return None, {}  # components: their outputs are what they register themselves
        handler = _RESOURCES.get(args.typ) or self._fallback_handler(args.typ)
        if self.preview and not req.resource_id and not args.typ.startswith("pulumi:"):
            return None, _preview_outputs(req.inputs, self._computed_keys(handler, req))
        return handler(self, req)

    def _computed_keys(self, handler: Handler, req: _Request) -> set[str]:
        """The outputs a create would compute, which a provider's preview reports as unknown.

        Found by running the handler on a throwaway copy of the simulator (so a preview leaves no state
        behind) with every unknown input blanked; a handler that cannot answer then adds none.
        """
        shadow = copy.copy(self)
        shadow._lock = threading.Lock()
        with self._lock:
            shadow._identities = dict(self._identities)
            shadow._environment_domains = dict(self._environment_domains)
        shadow.unmodelled_types, shadow.unmodelled_invokes = set(), set()
        blanked = _Request(req.urn, req.type, req.name, _blank_unknowns(req.inputs), None)
        try:
            _, state = handler(shadow, blanked)
        except Exception:  # a model that needs a value the preview does not know
            return set()
        return {k for k in state if k not in req.inputs}

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        invoke = _INVOKES.get(args.token)
        if invoke is None:
            with self._lock:
                self.unmodelled_invokes.add(args.token)
            return dict(args.args), None
        return invoke(self, dict(args.args)), None

    # -- shared state ------------------------------------------------------------------------------
    def identity_for(self, resource_id: str) -> dict[str, str]:
        """clientId/principalId of a user-assigned identity by ARM ID (created here or pre-existing)."""
        key = resource_id.lower()
        with self._lock:
            known = self._identities.get(key)
        if known is not None:
            return known
        return {
            "clientId": ids.guid(key, "clientId"),
            "principalId": ids.guid(key, "principalId"),
            "tenantId": self.env.tenant_id,
        }

    def _remember_identity(self, resource_id: str, record: dict[str, str]) -> None:
        with self._lock:
            self._identities[resource_id.lower()] = record

    def _fallback_handler(self, typ: str) -> Handler:
        with self._lock:
            self.unmodelled_types.add(typ)
        return _echo

    # -- helpers used by the handler table ---------------------------------------------------------
    def arm(self, spec: _Arm, req: _Request) -> tuple[str, dict[str, Any]]:
        inputs = req.inputs
        if req.resource_id:  # read (`Resource.get`) or imported: the ID names the existing resource
            rid = req.resource_id
            names = [rid.rstrip("/").rsplit("/", 1)[-1]]
        else:
            names = [str(inputs.get(n) or "") for n in spec.name_inputs]
            if not names[-1]:
                names[-1] = f"{req.name}{ids.suffix(req.urn, 'name')}"  # azure-native auto-naming
            names = [n or _MISSING for n in names]
            rg = str(inputs.get("resourceGroupName") or _MISSING)
            rid = ids.arm_id(self.env.subscription_id, rg, spec.provider_type, *names)
        out: dict[str, Any] = {**inputs, "id": rid, "name": names[-1], "type": spec.provider_type}
        if spec.located:
            out["location"] = inputs.get("location") or self.env.location
        if spec.computed is not None:
            computed = spec.computed(self, req, rid, names[-1])
            out.update(computed)
        return rid, out

    def compute_identity(self, req: _Request, identity: Any) -> dict[str, Any] | None:
        """The identity block Azure returns: the list of UAMI IDs becomes a map with their IDs."""
        if not isinstance(identity, dict):
            return None
        kind = str(identity.get("type") or "None")
        out: dict[str, Any] = {"type": kind}
        if "SystemAssigned" in kind:
            out["principalId"] = ids.guid(req.urn, "identity.principalId")
            out["tenantId"] = self.env.tenant_id
        uami_ids = identity.get("userAssignedIdentities") or []
        if isinstance(uami_ids, dict):  # already a map (e.g. an echoed output)
            uami_ids = list(uami_ids)
        if "UserAssigned" in kind or uami_ids:
            out["userAssignedIdentities"] = {
                str(uid): {k: v for k, v in self.identity_for(str(uid)).items() if k != "tenantId"}
                for uid in uami_ids
            }
        return out

    def issuer_url(self, cluster_id: str, location: str) -> str:
        cluster_guid = ids.guid(cluster_id.lower(), "oidc")
        return f"https://{location}.oic.prod-aks.azure.com/{self.env.tenant_id}/{cluster_guid}/"


def _identities_exported_by(stack_outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Identities other stacks export (e.g. an owner's ``sharedIdentity``), by lower-cased ARM ID.

    A stack that references them attaches them to its compute; Azure then reports their real client
    and principal IDs, which are the ones the owner exported, not new ones.
    """
    found: dict[str, dict[str, str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            rid, client, principal = (value.get(k) for k in ("resourceId", "clientId", "principalId"))
            is_uami = "/userassignedidentities/" in str(rid).lower()
            if is_uami and all(isinstance(v, str) and v for v in (rid, client, principal)):
                record = {"clientId": str(client), "principalId": str(principal)}
                tenant = value.get("tenantId")
                if isinstance(tenant, str) and tenant:
                    record["tenantId"] = tenant
                found[str(rid).lower()] = record
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for outputs in stack_outputs.values():
        walk(outputs)
    return found


def _blank_unknowns(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _blank_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_unknowns(v) for v in value]
    return "" if isinstance(value, Unknown) else value


def _preview_outputs(inputs: Mapping[str, Any], computed: set[str]) -> dict[str, Any]:
    """What a resource to be created reports in a preview: its inputs, in the output shape, and every
    other output unknown, as azure-native's preview of a create answers (inputs mapped to outputs,
    unknowns for the rest).

    An identity's user-assigned identities are an input list of IDs but an output map keyed by ID; their
    client and principal IDs are unknown until the resource exists (absent here, so unknown).
    """
    out: dict[str, Any] = dict(inputs)
    out.update(dict.fromkeys(sorted(computed), rpc.UNKNOWN))
    identity = inputs.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        attached = identity["userAssignedIdentities"]
        # An identity created in the same preview has no ID yet: the map's keys, so the map, are unknown.
        keyed: Any = {i: {} for i in attached} if all(isinstance(i, str) for i in attached) else rpc.UNKNOWN
        out["identity"] = {**identity, "userAssignedIdentities": keyed}
    if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type") or ""):
        # A system-assigned identity exists once the compute does.
        out["identity"] = {**out["identity"], "principalId": rpc.UNKNOWN, "tenantId": rpc.UNKNOWN}
    return out


# -- resource handlers --------------------------------------------------------------------------------


def _echo(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    rid = req.resource_id or ids.guid(req.urn, "id")
    return rid, {**req.inputs, "id": rid}


def _uami(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    if req.resource_id:  # an existing identity: same answer as getUserAssignedIdentity gives for it
        return dict(sim.identity_for(rid))
    record = {
        "clientId": ids.guid(req.urn, "clientId"),
        "principalId": ids.guid(req.urn, "principalId"),
        "tenantId": sim.env.tenant_id,
    }
    sim._remember_identity(rid, record)
    return dict(record)


def _web_app(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "defaultHostName": f"{name}.azurewebsites.net",
        "hostNames": [f"{name}.azurewebsites.net"],
        "enabledHostNames": [f"{name}.azurewebsites.net", f"{name}.scm.azurewebsites.net"],
        "state": "Running",
        "resourceGroup": req.inputs.get("resourceGroupName"),
    }
    site_config = req.inputs.get("siteConfig")
    if isinstance(site_config, dict):
        # azure-native reads siteConfig back from GET .../config/web, which never returns the app settings
        # or connection strings (only POST .../config/appsettings/list does): they are null in the outputs.
        out["siteConfig"] = {k: v for k, v in site_config.items() if k not in _WEB_APP_WRITE_ONLY}
    identity = sim.compute_identity(req, req.inputs.get("identity"))
    if identity is not None:
        out["identity"] = identity
    return out


_WEB_APP_WRITE_ONLY = frozenset({"appSettings", "connectionStrings"})


def _site_config(config_name: str) -> Handler:
    """A site's config singleton (``.../sites/{name}/config/{config_name}``): ARM names it after the config,
    not after the site, and gives it no location; its other properties are what was PUT (no secret is
    set by the program, so the provider's WithoutSecrets read returns them all)."""

    def handler(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
        site = str(req.inputs.get("name") or _MISSING)
        rg = str(req.inputs.get("resourceGroupName") or _MISSING)
        rid = req.resource_id or (
            ids.arm_id(sim.env.subscription_id, rg, "Microsoft.Web/sites", site) + f"/config/{config_name}"
        )
        return rid, {**req.inputs, "id": rid, "name": config_name, "type": "Microsoft.Web/sites/config"}

    return handler


def _managed_environment(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    location = req.inputs.get("location") or sim.env.location
    domain = f"{name.lower()}-{ids.suffix(req.urn, 'domain')}.{location}.azurecontainerapps.io"
    with sim._lock:
        sim._environment_domains[rid.lower()] = domain
    return {"defaultDomain": domain, "staticIp": "20.0.0.10", "provisioningState": "Succeeded"}


def _container_app(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    env_id = str(req.inputs.get("environmentId") or req.inputs.get("managedEnvironmentId") or "")
    with sim._lock:
        domain = sim._environment_domains.get(
            env_id.lower(), f"simulated.{sim.env.location}.azurecontainerapps.io"
        )
    revision = f"{name}--{ids.suffix(req.urn, 'revision')[:7]}"
    out: dict[str, Any] = {
        "latestRevisionName": revision,
        "latestReadyRevisionName": revision,
        "latestRevisionFqdn": f"{revision}.{domain}",
        "provisioningState": "Succeeded",
        "runningStatus": "Running",
    }
    configuration = req.inputs.get("configuration")
    if isinstance(configuration, dict) and isinstance(configuration.get("ingress"), dict):
        out["configuration"] = {
            **configuration,
            "ingress": {**configuration["ingress"], "fqdn": f"{name}.{domain}"},
        }
    identity = sim.compute_identity(req, req.inputs.get("identity"))
    if identity is not None:
        out["identity"] = identity
    return out


def _managed_cluster(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    location = req.inputs.get("location") or sim.env.location
    oidc = req.inputs.get("oidcIssuerProfile") or {}
    out: dict[str, Any] = {
        "fqdn": f"{name}-{ids.suffix(req.urn, 'fqdn')}.hcp.{location}.azmk8s.io",
        "provisioningState": "Succeeded",
        "oidcIssuerProfile": {"enabled": bool(oidc.get("enabled"))},
    }
    if oidc.get("enabled"):
        out["oidcIssuerProfile"]["issuerURL"] = sim.issuer_url(rid, str(location))
    return out


def _without_custom_data(os_profile: Any) -> Any:
    # ARM never returns customData on a read: it is write-only (and immutable on a VM).
    if not isinstance(os_profile, dict):
        return os_profile
    return {k: v for k, v in os_profile.items() if k != "customData"}


def _virtual_machine(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "osProfile": _without_custom_data(req.inputs.get("osProfile")),
        "vmId": ids.guid(req.urn, "vmId"),
        "provisioningState": "Succeeded",
    }
    identity = sim.compute_identity(req, req.inputs.get("identity"))
    if identity is not None:
        out["identity"] = identity
    return out


def _scale_set(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    profile = req.inputs.get("virtualMachineProfile")
    out: dict[str, Any] = {"uniqueId": ids.guid(req.urn, "uniqueId"), "provisioningState": "Succeeded"}
    if isinstance(profile, dict):
        out["virtualMachineProfile"] = {
            **profile,
            "osProfile": _without_custom_data(profile.get("osProfile")),
        }
    identity = sim.compute_identity(req, req.inputs.get("identity"))
    if identity is not None:
        out["identity"] = identity
    return out


def _virtual_network(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    subnets = req.inputs.get("subnets") or []
    return {
        "subnets": [
            {**s, "id": f"{rid}/subnets/{s.get('name')}", "provisioningState": "Succeeded"}
            for s in subnets
            if isinstance(s, dict)
        ],
        "provisioningState": "Succeeded",
    }


def _public_ip(sim: Simulator, req: _Request, rid: str, name: str) -> dict[str, Any]:
    # A static Standard address from the documentation range (RFC 5737): never a real host.
    return {"ipAddress": f"203.0.113.{int(ids.guid(req.urn, 'ip')[:2], 16) % 250 + 1}"}


def _role_assignment(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    name = str(req.inputs.get("roleAssignmentName") or ids.guid(req.urn, "name"))
    scope = str(req.inputs.get("scope") or f"/subscriptions/{sim.env.subscription_id}")
    rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    return rid, {**req.inputs, "id": rid, "name": name, "type": "Microsoft.Authorization/roleAssignments"}


def _blob_container(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    # Containers live under the account's single blob service, named "default".
    names = [str(req.inputs.get(n) or _MISSING) for n in ("accountName", "containerName")]
    rg = str(req.inputs.get("resourceGroupName") or _MISSING)
    kind = "Microsoft.Storage/storageAccounts/blobServices/containers"
    rid = ids.arm_id(sim.env.subscription_id, rg, kind, names[0], "default", names[1])
    return rid, {**req.inputs, "id": rid, "name": names[1], "type": kind}


def _resource_group(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    name = str(req.inputs.get("resourceGroupName") or f"{req.name}{ids.suffix(req.urn, 'name')}")
    rid = f"/subscriptions/{sim.env.subscription_id}/resourceGroups/{name}"
    out = {**req.inputs, "id": rid, "name": name, "type": "Microsoft.Resources/resourceGroups"}
    out["location"] = req.inputs.get("location") or sim.env.location
    return rid, out


def _application(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    object_id = ids.guid(req.urn, "objectId")
    rid = f"/applications/{object_id}"
    return rid, {
        **req.inputs,
        "id": rid,
        "objectId": object_id,
        "clientId": ids.guid(req.urn, "clientId"),
        "publisherDomain": f"tenant{sim.env.tenant_id[:8]}.onmicrosoft.com",
        "signInAudience": req.inputs.get("signInAudience") or "AzureADMyOrg",
    }


def _service_principal(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    object_id = ids.guid(req.urn, "objectId")
    return object_id, {
        **req.inputs,
        "id": object_id,
        "objectId": object_id,
        "applicationTenantId": sim.env.tenant_id,
        "type": "Application",
    }


def _identifier_uri(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    uri = str(req.inputs.get("identifierUri") or _MISSING)
    app = str(req.inputs.get("applicationId") or _MISSING)
    rid = f"{app}/identifierUris/{base64.urlsafe_b64encode(uri.encode()).decode().rstrip('=')}"
    return rid, {**req.inputs, "id": rid}


def _app_role_assignment(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    resource = str(req.inputs.get("resourceObjectId") or _MISSING)
    assignment_id = ids.guid(req.urn, "appRoleAssignmentId")
    return f"/servicePrincipals/{resource}/appRoleAssignedTo/{assignment_id}", {
        **req.inputs,
        "id": f"/servicePrincipals/{resource}/appRoleAssignedTo/{assignment_id}",
        "principalType": "ServicePrincipal",
    }


def _app_fic(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    credential_id = ids.guid(req.urn, "credentialId")
    app_object_id = str(req.inputs.get("applicationId") or _MISSING).rsplit("/", 1)[-1]
    rid = f"{app_object_id}/federatedIdentityCredential/{credential_id}"
    return rid, {**req.inputs, "id": rid, "credentialId": credential_id}


_K8S_CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume"}
)


def _kubernetes(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    kind = req.type.rsplit(":", 1)[-1]
    metadata = dict(req.inputs.get("metadata") or {})
    metadata.setdefault("name", f"{req.name}-{ids.suffix(req.urn, 'name')}")  # pulumi-kubernetes auto-naming
    metadata["uid"] = ids.guid(req.urn, "uid")
    metadata["resourceVersion"] = "1"
    if kind in _K8S_CLUSTER_SCOPED:
        rid = str(metadata["name"])
    else:
        metadata.setdefault("namespace", "default")
        rid = f"{metadata['namespace']}/{metadata['name']}"
    return rid, {**req.inputs, "metadata": metadata}


def _provider(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    return ids.guid(req.urn, "provider"), dict(req.inputs)


def _stack_reference(sim: Simulator, req: _Request) -> tuple[str, dict[str, Any]]:
    name = str(req.inputs.get("name") or req.resource_id or req.name)
    outputs = _lookup_stack(sim.env.stack_outputs, name)
    if outputs is None:
        known = ", ".join(sorted(sim.env.stack_outputs)) or "none"
        raise SimulationError(
            f"the program reads stack {name!r} through a StackReference; expected "
            f"--stack-outputs {name}=FILE (a plan JSON of that stack, or a JSON object of its outputs); "
            f"stacks with outputs given: {known}"
        )
    return name, {"name": name, "outputs": dict(outputs), "secretOutputNames": []}


def _lookup_stack(known: Mapping[str, Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    if name in known:
        return known[name]
    # "org/project/stack" also matches an entry given as "project/stack" or "stack".
    parts = name.split("/")
    for i in range(1, len(parts)):
        short = "/".join(parts[i:])
        if short in known:
            return known[short]
    return None


def _arm_handler(spec: _Arm) -> Handler:
    return lambda sim, req: sim.arm(spec, req)


_RESOURCES: dict[str, Handler] = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:managedidentity:UserAssignedIdentity": _arm_handler(
        _Arm("Microsoft.ManagedIdentity/userAssignedIdentities", ("resourceName",), _uami)
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": _arm_handler(
        _Arm(
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            ("resourceName", "federatedIdentityCredentialResourceName"),
            located=False,
        )
    ),
    "azure-native:web:AppServicePlan": _arm_handler(_Arm("Microsoft.Web/serverfarms", ("name",))),
    "azure-native:web:WebApp": _arm_handler(_Arm("Microsoft.Web/sites", ("name",), _web_app)),
    # Two tokens for one PUT .../config/authsettingsV2 (the provider's old and current API versions).
    "azure-native:web:WebAppAuthSettingsV2": _site_config("authsettingsV2"),
    "azure-native:web:WebAppAuthSettingsV2WithoutSecrets": _site_config("authsettingsV2"),
    "azure-native:web:WebAppSlotConfigurationNames": _site_config("slotConfigNames"),
    "azure-native:app:ManagedEnvironment": _arm_handler(
        _Arm("Microsoft.App/managedEnvironments", ("environmentName",), _managed_environment)
    ),
    "azure-native:app:ContainerApp": _arm_handler(
        _Arm("Microsoft.App/containerApps", ("containerAppName",), _container_app)
    ),
    "azure-native:containerservice:ManagedCluster": _arm_handler(
        _Arm("Microsoft.ContainerService/managedClusters", ("resourceName",), _managed_cluster)
    ),
    "azure-native:storage:StorageAccount": _arm_handler(
        _Arm("Microsoft.Storage/storageAccounts", ("accountName",))
    ),
    "azure-native:storage:BlobContainer": _blob_container,
    "azure-native:compute:VirtualMachine": _arm_handler(
        _Arm("Microsoft.Compute/virtualMachines", ("vmName",), _virtual_machine)
    ),
    "azure-native:compute:VirtualMachineScaleSet": _arm_handler(
        _Arm("Microsoft.Compute/virtualMachineScaleSets", ("vmScaleSetName",), _scale_set)
    ),
    "azure-native:network:NetworkInterface": _arm_handler(
        _Arm("Microsoft.Network/networkInterfaces", ("networkInterfaceName",))
    ),
    "azure-native:network:VirtualNetwork": _arm_handler(
        _Arm("Microsoft.Network/virtualNetworks", ("virtualNetworkName",), _virtual_network)
    ),
    "azure-native:network:NatGateway": _arm_handler(
        _Arm("Microsoft.Network/natGateways", ("natGatewayName",))
    ),
    "azure-native:network:PublicIPAddress": _arm_handler(
        _Arm("Microsoft.Network/publicIPAddresses", ("publicIpAddressName",), _public_ip)
    ),
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azuread:index/application:Application": _application,
    "azuread:index/servicePrincipal:ServicePrincipal": _service_principal,
    "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri": _identifier_uri,
    "azuread:index/appRoleAssignment:AppRoleAssignment": _app_role_assignment,
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential": _app_fic,
    "kubernetes:core/v1:Namespace": _kubernetes,
    "kubernetes:core/v1:ServiceAccount": _kubernetes,
    "kubernetes:core/v1:ConfigMap": _kubernetes,
    "kubernetes:core/v1:Pod": _kubernetes,
    "kubernetes:apps/v1:Deployment": _kubernetes,
    "pulumi:providers:kubernetes": _provider,
    "pulumi:providers:azure-native": _provider,
    "pulumi:providers:azuread": _provider,
    "pulumi:pulumi:StackReference": _stack_reference,
}


# -- invokes ------------------------------------------------------------------------------------------


def _client_config(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "clientId": sim.env.deployer_client_id,
        "objectId": sim.env.deployer_object_id,
        "subscriptionId": sim.env.subscription_id,
        "tenantId": sim.env.tenant_id,
    }


def _get_cluster(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    rg = str(args.get("resourceGroupName") or _MISSING)
    name = str(args.get("resourceName") or _MISSING)
    rid = ids.arm_id(sim.env.subscription_id, rg, "Microsoft.ContainerService/managedClusters", name)
    location = sim.env.location
    lowered = name.lower()
    if "noaad" in lowered and "nolocal" in lowered:
        raise SimulationError(
            f"getManagedCluster {name!r}: no such cluster can exist: disableLocalAccounts is allowed only on"
            " an Entra-integrated (AAD) cluster, so a name may say noaad or nolocal, not both"
        )
    oidc_enabled = "nooidc" not in lowered
    oidc: dict[str, Any] = {"enabled": oidc_enabled}
    if oidc_enabled:
        oidc["issuerURL"] = sim.issuer_url(rid, location)
    # Azure leaves a disabled workload identity out of securityProfile rather than reporting it false.
    security: dict[str, Any] = {}
    if "nowi" not in lowered:
        security["workloadIdentity"] = {"enabled": True}
    cluster: dict[str, Any] = {
        "id": rid,
        "name": name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": location,
        "kubernetesVersion": "1.33.2",
        "currentKubernetesVersion": "1.33.2",
        "dnsPrefix": name,
        "fqdn": f"{name}-{ids.suffix(rid, 'fqdn')}.hcp.{location}.azmk8s.io",
        "nodeResourceGroup": f"MC_{rg}_{name}_{location}",
        "provisioningState": "Succeeded",
        "enableRBAC": True,
        "disableLocalAccounts": "nolocal" in lowered,
        "oidcIssuerProfile": oidc,
        "securityProfile": security,
    }
    if "noaad" not in lowered:
        cluster["aadProfile"] = {"managed": True, "enableAzureRBAC": True, "tenantID": sim.env.tenant_id}
    return cluster


AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_PUBLIC_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
_KUBELOGIN_HINT = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://aka.ms/aks/kubelogin\n"
)


def _placeholder(sim: Simulator, cluster: dict[str, Any], what: str) -> str:
    # Base64 of a label, not of a real certificate or key: nothing here can authenticate anywhere.
    return base64.b64encode(f"simulated {what} for {cluster['id']}".encode()).decode()


def _kubeconfig(sim: Simulator, cluster: dict[str, Any], user_name: str, user: dict[str, Any]) -> str:
    import yaml

    name = cluster["name"]
    doc = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {
                    "certificate-authority-data": _placeholder(sim, cluster, "cluster CA"),
                    "server": f"https://{cluster['fqdn']}:443",
                },
                "name": name,
            }
        ],
        "contexts": [{"context": {"cluster": name, "user": user_name}, "name": name}],
        "current-context": name,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user_name, "user": user}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _local_user(sim: Simulator, cluster: dict[str, Any], role: str) -> dict[str, Any]:
    return {
        "client-certificate-data": _placeholder(sim, cluster, f"{role} certificate"),
        "client-key-data": _placeholder(sim, cluster, f"{role} key"),
        "token": ids.suffix(cluster["id"], f"{role}-token") * 4,
    }


def _credentials(name: str, kubeconfig: str) -> dict[str, Any]:
    return {"kubeconfigs": [{"name": name, "value": base64.b64encode(kubeconfig.encode()).decode()}]}


def _user_credentials(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    cluster = _get_cluster(sim, args)
    user_name = f"clusterUser_{args.get('resourceGroupName')}_{cluster['name']}"
    if "aadProfile" not in cluster:  # local accounts: the user kubeconfig holds a credential itself
        user = _local_user(sim, cluster, "clusterUser")
    elif args.get("format") == "azure":  # the legacy auth-provider, removed from kubectl in 1.26
        user = {
            "auth-provider": {
                "name": "azure",
                "config": {
                    "apiserver-id": AKS_SERVER_ID,
                    "client-id": AKS_PUBLIC_CLIENT_ID,
                    "config-mode": "1",
                    "environment": "AzurePublicCloud",
                    "tenant-id": sim.env.tenant_id,
                },
            }
        }
    else:
        # What AKS returns for an Entra-integrated cluster: kubelogin with an interactive device-code login.
        user = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "args": [
                    "get-token",
                    "--environment",
                    "AzurePublicCloud",
                    "--server-id",
                    AKS_SERVER_ID,
                    "--client-id",
                    AKS_PUBLIC_CLIENT_ID,
                    "--tenant-id",
                    sim.env.tenant_id,
                    "--login",
                    "devicecode",
                ],
                "command": "kubelogin",
                "env": None,
                "installHint": _KUBELOGIN_HINT,
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": False,
            }
        }
    return _credentials("clusterUser", _kubeconfig(sim, cluster, user_name, user))


def _admin_credentials(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    cluster = _get_cluster(sim, args)
    if cluster["disableLocalAccounts"]:
        raise SimulationError(
            f"listClusterAdminCredential on AKS cluster {cluster['name']!r}: (BadRequest) Getting static"
            " credential is not allowed because this cluster is set to disable local accounts."
        )
    user_name = f"clusterAdmin_{args.get('resourceGroupName')}_{cluster['name']}"
    return _credentials(
        "clusterAdmin", _kubeconfig(sim, cluster, user_name, _local_user(sim, cluster, "admin"))
    )


def _get_identity(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    rg = str(args.get("resourceGroupName") or _MISSING)
    name = str(args.get("resourceName") or _MISSING)
    rid = ids.arm_id(sim.env.subscription_id, rg, "Microsoft.ManagedIdentity/userAssignedIdentities", name)
    return {
        "id": rid,
        "name": name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": sim.env.location,
        **sim.identity_for(rid),
    }


def _exported_app(stack_outputs: Mapping[str, Mapping[str, Any]], client_id: str) -> Mapping[str, Any] | None:
    """An app another stack exports (sharedIdentity.apps.<key>), found by client ID."""

    def walk(value: Any) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            if str(value.get("clientId", "")).lower() == client_id and "objectId" in value:
                return value
            for item in value.values():
                if (hit := walk(item)) is not None:
                    return hit
        elif isinstance(value, list):
            for item in value:
                if (hit := walk(item)) is not None:
                    return hit
        return None

    return walk(dict(stack_outputs))


def _get_service_principal(sim: Simulator, args: dict[str, Any]) -> dict[str, Any]:
    client_id = str(args.get("clientId") or _MISSING).lower()
    if client_id == GRAPH_APP_ID:
        object_id, roles, name = ids.guid(sim.env.tenant_id, "graph-sp"), GRAPH_APP_ROLES, "Microsoft Graph"
        scopes = dict(GRAPH_DELEGATED_SCOPES)
    else:
        exported = _exported_app(sim.env.stack_outputs, client_id) or {}
        object_id = str(exported.get("servicePrincipalObjectId") or ids.guid(client_id, "servicePrincipal"))
        raw = exported.get("appRoleIds")
        roles = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        raw_scopes = exported.get("scopeIds")
        scopes = {str(k): str(v) for k, v in raw_scopes.items()} if isinstance(raw_scopes, Mapping) else {}
        name = str(exported.get("displayName") or client_id)
    return {
        "id": object_id,
        "objectId": object_id,
        "clientId": client_id,
        "displayName": name,
        "applicationTenantId": sim.env.tenant_id,
        "appRoleIds": dict(roles),
        "oauth2PermissionScopeIds": scopes,
        "appRoles": [
            {"id": rid, "value": value, "allowedMemberTypes": ["Application"], "enabled": True}
            for value, rid in roles.items()
        ],
        "type": "Application",
    }


_INVOKES: dict[str, Callable[[Simulator, dict[str, Any]], dict[str, Any]]] = {
    "azuread:index/getServicePrincipal:getServicePrincipal": _get_service_principal,
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:containerservice:getManagedCluster": _get_cluster,
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
    "azure-native:containerservice:listManagedClusterAdminCredentials": _admin_credentials,
    "azure-native:managedidentity:getUserAssignedIdentity": _get_identity,
}
