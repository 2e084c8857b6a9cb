"""Run the pack's policies on a plan the way the Pulumi engine would, through pulumi_policy's servicer.

The engine talks to a policy pack over gRPC: ``Configure`` (policy config), ``ConfigureStack``,
``Analyze`` once per resource with its INPUTS, and ``AnalyzeStack`` once with every resource's
OUTPUTS, parent and dependencies. Here the same protobuf messages are built from the plan and handed
to pulumi_policy's own servicer in-process, so the policy logic (levels, config, unknown handling,
diagnostics) is the library's, not a copy. The stack config reaches the pack as ``PULUMI_CONFIG``
and the stack name as ``PULUMI_STACK``, as the CLI passes them to the pack's process.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.config import CONFIG
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from certless_ops.review.pack_config import PackConfig
from policy.rules import ALL_POLICIES, PACK_NAME
from policy.rules._props import STACK_CONFIG_KEYS

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"

_TO_PROTO = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.DISABLED: proto.DISABLED,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
}
_FROM_PROTO = {v: k for k, v in _TO_PROTO.items()}


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str  # "mandatory" | "advisory"
    urn: str
    resource_type: str
    resource_name: str
    message: str  # the rule's own message (the pack's description is in ``Review.policies``)

    def to_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "message": self.message,
        }


@dataclass
class Review:
    stack: str
    pack_name: str
    pack_version: str
    policies: list[dict[str, str]]  # name, description, enforcement (effective)
    violations: list[Violation] = field(default_factory=list)
    resources: int = 0
    seconds: float = 0.0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "advisory"]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "policyPack": {"name": self.pack_name, "version": self.pack_version},
            "policies": self.policies,
            "violations": [v.to_json() for v in self.violations],
            "summary": {
                "resources": self.resources,
                "policies": len(self.policies),
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "passed": not self.mandatory,
            },
        }


def pack_version() -> str:
    """The version in PulumiPolicy.yaml, which the CLI reports over the pack's own."""
    with open(PACK_DIR / "PulumiPolicy.yaml", encoding="utf-8") as fh:
        return str(yaml.safe_load(fh).get("version") or "0.0.1")


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(values))
    return message


def _options(resource: Mapping[str, Any]) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(
        protect=bool(resource.get("protect")), parent=resource.get("parent") or ""
    )


def analyze_requests(plan: Mapping[str, Any]) -> list[proto.AnalyzeRequest]:
    """One request per resource the program registers (not reads, not providers), with its inputs."""
    return [
        proto.AnalyzeRequest(
            type=r["type"],
            urn=r["urn"],
            name=r["name"],
            properties=_struct(r.get("inputs") or {}),
            options=_options(r),
        )
        for r in plan["resources"]
        if not r.get("read") and not str(r["type"]).startswith("pulumi:providers:")
    ]


def analyze_stack_request(plan: Mapping[str, Any]) -> proto.AnalyzeStackRequest:
    """Every resource of the stack with its outputs, parent, dependencies and property dependencies."""
    resources = []
    for r in plan["resources"]:
        property_dependencies = {
            key: proto.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in (r.get("property_dependencies") or {}).items()
            if urns
        }
        resources.append(
            proto.AnalyzerResource(
                type=r["type"],
                urn=r["urn"],
                name=r["name"],
                properties=_struct(r.get("outputs") or {}),
                options=_options(r),
                parent=r.get("parent") or "",
                dependencies=list(r.get("dependencies") or []),
                propertyDependencies=property_dependencies,
            )
        )
    return proto.AnalyzeStackRequest(resources=resources)


def configure_request(policies: Sequence[Policy], config: PackConfig) -> proto.ConfigureAnalyzerRequest:
    """Like the engine: every policy gets its effective level (config, else its default) and properties."""
    policy_config = {}
    for policy in policies:
        level = config.levels.get(policy.name) or policy.enforcement_level or EnforcementLevel.ADVISORY
        policy_config[policy.name] = proto.PolicyConfig(
            enforcementLevel=_TO_PROTO[level], properties=_struct(config.properties.get(policy.name, {}))
        )
    return proto.ConfigureAnalyzerRequest(policyConfig=policy_config)


def _config_env(plan: Mapping[str, Any]) -> str:
    # The CLI passes config values as strings, structured values as JSON text. Only the keys the
    # rules read are passed: the servicer re-parses PULUMI_CONFIG on every Analyze call.
    values = {k: v for k, v in (plan.get("config") or {}).items() if k in STACK_CONFIG_KEYS}
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})


@contextlib.contextmanager
def _pack_environment(plan: Mapping[str, Any]) -> Iterator[None]:
    """PULUMI_STACK/PROJECT/CONFIG as the CLI sets them for the pack, restored afterwards.

    PULUMI_DRY_RUN is left unset on purpose: with it, the servicer would reconfigure the process-wide
    Pulumi runtime settings, which the review does not need and must not disturb.
    """
    wanted = {
        "PULUMI_STACK": str(plan.get("stack") or ""),
        "PULUMI_PROJECT": str(plan.get("project") or ""),
        "PULUMI_CONFIG": _config_env(plan),
    }
    saved = {k: os.environ.get(k) for k in (*wanted, "PULUMI_DRY_RUN")}
    os.environ.update(wanted)
    os.environ.pop("PULUMI_DRY_RUN", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _message(diagnostic: Any, descriptions: Mapping[str, str]) -> str:
    # pulumi_policy prefixes the rule's message with the policy description and a newline.
    description = descriptions.get(diagnostic.policyName, "")
    text = str(diagnostic.message)
    if description and text.startswith(description):
        text = text[len(description) :].lstrip("\n")
    return text or description


def review_plan(
    plan: Mapping[str, Any],
    config: PackConfig | None = None,
    policies: Sequence[Policy] = ALL_POLICIES,
) -> Review:
    """Evaluate the pack on a plan (a certless.plan/v1 document) and collect its diagnostics."""
    config = config or PackConfig()
    started = time.perf_counter()
    servicer = _PolicyAnalyzerServicer(PACK_NAME, pack_version(), list(policies), EnforcementLevel.ADVISORY)
    descriptions = {p.name: p.description for p in policies}
    by_urn = {r["urn"]: r for r in plan["resources"]}
    stack = str(plan.get("stack") or "")

    def evaluate() -> list[tuple[str, Any]]:
        # The servicer copies PULUMI_CONFIG into Pulumi's config store: give it a private one.
        CONFIG.set({})
        servicer.Configure(configure_request(policies, config), None)
        servicer.ConfigureStack(
            proto.AnalyzerStackConfigureRequest(stack=stack, project=str(plan.get("project") or "")), None
        )
        found: list[tuple[str, Any]] = []
        for request in analyze_requests(plan):
            for diagnostic in servicer.Analyze(request, None).diagnostics:
                found.append((diagnostic.urn or request.urn, diagnostic))
        for diagnostic in servicer.AnalyzeStack(analyze_stack_request(plan), None).diagnostics:
            found.append((diagnostic.urn, diagnostic))
        return found

    with _pack_environment(plan):
        found = contextvars.copy_context().run(evaluate)

    info = servicer.GetAnalyzerInfo(None, None)
    effective = {
        p.name: (config.levels.get(p.name) or p.enforcement_level or EnforcementLevel.ADVISORY).value
        for p in policies
    }
    review = Review(
        stack=stack,
        pack_name=info.name,
        pack_version=info.version,
        policies=[
            {"name": p.name, "description": p.description, "enforcement": effective[p.name]} for p in policies
        ],
        resources=len(plan["resources"]),
    )
    for urn, diagnostic in found:
        resource = by_urn.get(urn, {})
        review.violations.append(
            Violation(
                policy=diagnostic.policyName,
                enforcement=_FROM_PROTO[diagnostic.enforcementLevel].value,
                urn=urn,
                resource_type=str(resource.get("type", "")),
                resource_name=str(resource.get("name", "")) if urn else "(stack)",
                message=_message(diagnostic, descriptions),
            )
        )
    review.seconds = time.perf_counter() - started
    return review
