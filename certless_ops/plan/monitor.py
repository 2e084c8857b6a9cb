"""Pulumi's mock resource monitor, extended to keep the whole registration request of every resource.

`Mocks.new_resource` only sees type, name, inputs, provider and ID; protect, retain_on_delete, parent,
dependencies and deleted_with exist only in the RegisterResourceRequest, so the plan is built here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.settings import get_project, get_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from certless_ops.plan.simulator import Simulator

SECRET = "[secret]"
UNKNOWN = "[unknown]"
_STACK_TYPE = "pulumi:pulumi:Stack"
# Invokes whose answer is a credential: the plan keeps its shape, never the kubeconfig itself.
_CREDENTIAL_INVOKES = frozenset(
    {
        "azure-native:containerservice:listManagedClusterUserCredentials",
        "azure-native:containerservice:listManagedClusterAdminCredentials",
    }
)


def _without_kubeconfigs(result: Any) -> Any:
    if not isinstance(result, dict) or not isinstance(result.get("kubeconfigs"), list):
        return result
    kubeconfigs = [{**k, "value": SECRET} if isinstance(k, dict) else SECRET for k in result["kubeconfigs"]]
    return {**result, "kubeconfigs": kubeconfigs}


@dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    deleted_with: str | None = None
    import_id: str | None = None
    read: bool = False


@dataclass
class InvokeRecord:
    token: str
    args: dict[str, Any]
    result: dict[str, Any]


def to_plain(value: Any) -> Any:
    """A protobuf property value as JSON-ready data; secrets become "[secret]", never their value."""
    if isinstance(value, struct_pb2.Struct):
        if rpc._special_sig_key in value:
            return _special(value)
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


def _special(value: struct_pb2.Struct) -> Any:
    sig = value[rpc._special_sig_key]
    if sig == rpc._special_secret_sig:
        return SECRET
    if sig == rpc._special_resource_sig:
        return value.get("urn", UNKNOWN)
    if sig == rpc._special_output_value_sig:
        if value.get("secret", False):
            return SECRET
        return to_plain(value["value"]) if "value" in value else UNKNOWN
    if sig == rpc._special_asset_sig:
        for key in ("path", "uri"):
            if key in value:
                return {"asset": {key: value[key]}}
        return {"asset": {"text": SECRET}}  # inline text may hold anything: keep it out of the plan
    if sig == rpc._special_archive_sig:
        for key in ("path", "uri"):
            if key in value:
                return {"archive": {key: value[key]}}
        return {"archive": {"assets": "[inline]"}}
    return UNKNOWN


class RecordingMonitor(MockMonitor):
    """MockMonitor that answers from the Simulator and records every request in full."""

    def __init__(self, simulator: Simulator) -> None:
        super().__init__(simulator)
        self.simulator = simulator
        self.records: dict[str, ResourceRecord] = {}
        self.invokes: list[InvokeRecord] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine forms URNs (resource.NewURN): a child's type is prefixed by its parent's whole
        # qualified type, and resources whose parent is the stack carry no prefix. Pulumi's MockMonitor
        # keeps only the parent's last type segment and prefixes the stack's own type.
        if parent and parent.split("::")[2] != _STACK_TYPE:
            type_ = f"{parent.split('::')[2]}${type_}"
        return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

    def _keep(self, record: ResourceRecord) -> None:
        with self._lock:
            self.records[record.urn] = record

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        common = {
            "urn": urn,
            "type": request.type,
            "name": request.name,
            "custom": bool(request.custom),
            "parent": request.parent or None,
            "provider": request.provider or None,
            "inputs": to_plain(request.object),
            "dependencies": sorted(set(request.dependencies)),
            "property_dependencies": {
                k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items())
            },
            "protect": bool(request.protect),
            "retain_on_delete": bool(request.retainOnDelete),
            "deleted_with": request.deletedWith or None,
            "import_id": request.importId or None,
        }
        if request.type == _STACK_TYPE:
            self.stack_urn = urn
            self._keep(ResourceRecord(id=None, outputs={}, **common))
            return resource_pb2.RegisterResourceResponse(urn=urn)

        _ensure_event_loop()
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=rpc.deserialize_properties(request.object),
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        id_, state = self.simulator.new_resource(args, urn=urn)
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
        self._keep(ResourceRecord(id=id_, outputs=to_plain(obj_proto), **common))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)

    def ReadResource(self, request: Any) -> Any:
        _ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=rpc.deserialize_properties(request.properties),
            provider=request.provider,
            resource_id=request.id,
            custom=True,
        )
        id_, state = self.simulator.new_resource(args, urn=urn)
        props_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
        self._keep(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                provider=request.provider or None,
                id=id_,
                inputs=to_plain(request.properties),
                outputs=to_plain(props_proto),
                dependencies=sorted(set(request.dependencies)),
                import_id=request.id or None,
                read=True,
            )
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=props_proto)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = to_plain(request.outputs)
        with self._lock:
            if request.urn == self.stack_urn:
                self.stack_outputs = outputs
            elif request.urn in self.records:
                self.records[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        _ensure_event_loop()
        args = rpc.deserialize_properties(request.args)
        ret, _failures = self.simulator.call(
            MockCallArgs(token=request.tok, args=args, provider=request.provider)
        )
        ret_proto = _sync_await(rpc.serialize_properties(ret, {}))
        result = to_plain(ret_proto)
        if request.tok in _CREDENTIAL_INVOKES:
            result = _without_kubeconfigs(result)
        with self._lock:
            self.invokes.append(InvokeRecord(request.tok, to_plain(request.args), result))
        return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": ret_proto})


class RecordingEngine:
    """Stands in for the engine's Log endpoint: keeps warnings and errors for the plan."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def Log(self, request: Any) -> None:
        with self._lock:
            if request.severity == engine_pb2.WARNING:
                self.warnings.append(request.message)
            elif request.severity == engine_pb2.ERROR:
                self.errors.append(request.message)
