"""Run the pack's policies on a plan the way the Pulumi engine would, through pulumi_policy's servicer.

The engine talks to a policy pack over gRPC: ``Configure`` (policy config), ``ConfigureStack``,
``Analyze`` once per resource with its INPUTS, and ``AnalyzeStack`` once with every resource's
OUTPUTS, parent and dependencies. Here the same protobuf messages are built from the plan and handed
to pulumi_policy's own servicer in-process, so the policy logic (levels, config, unknown handling,
diagnostics) is the library's, not a copy. The stack config reaches the pack as ``PULUMI_CONFIG``
and the stack name as ``PULUMI_STACK``, as the CLI passes them to the pack's process.

A preview plan (``plan --preview``) is reviewed as ``pulumi preview`` runs the pack: the engine
marshals every unknown value as pulumi_policy's unknown sentinel (``MarshalProperties`` with
``KeepUnknowns``), both in Analyze's inputs and in AnalyzeStack's outputs, and it runs AnalyzeStack in
a preview too. A policy that reads an unknown value raises ``UnknownValueError`` in the library, which
answers with an advisory "can't run policy ... during preview" diagnostic: the review lists those as
skipped in preview, not as violations.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.config import CONFIG
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from certless_ops.review.pack_config import PackConfig
from policy.rules import ALL_POLICIES, PACK_NAME
from policy.rules._props import STACK_CONFIG_KEYS, UnknownRead, recording_unknown_reads

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
# How a plan records a value the engine left unknown (certless_ops.plan.monitor.UNKNOWN).
PLAN_UNKNOWN = "[unknown]"
_STACK_TYPE = "pulumi:pulumi:Stack"
# pulumi_policy's answer when a policy read an unknown value: "can't run policy 'NAME' from policy pack
# 'PACK@vVERSION' during preview: string value at .PATH can't be known during preview".
_CANT_RUN = re.compile(
    r"^can't run policy '(?P<policy>[^']*)' from policy pack '[^']*' during preview: (?P<why>.*)$", re.S
)

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


@dataclass(frozen=True)
class Skipped:
    """A policy that could not judge a resource in a preview: it read a value known only after deploy."""

    policy: str
    urn: str
    resource_type: str
    resource_name: str
    reason: str  # e.g. "string value at .subject can't be known during preview"

    def to_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "reason": self.reason,
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
    preview: bool = False
    skipped: list[Skipped] = field(default_factory=list)  # only in a preview

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "advisory"]

    @property
    def skipped_summary(self) -> str:
        """ "skipped in preview: N rule(s) on M resource(s) ..." for the human reports."""
        rules = len({s.policy for s in self.skipped})
        resources = len({s.urn for s in self.skipped})
        return (
            f"skipped in preview: {rules} rule(s) on {resources} resource(s) "
            "read values known only after deploy"
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "stack": self.stack,
            "preview": self.preview,
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
        if self.preview:
            document["skippedInPreview"] = [s.to_json() for s in self.skipped]
            document["summary"]["skippedInPreview"] = {
                "rules": len({s.policy for s in self.skipped}),
                "resources": len({s.urn for s in self.skipped}),
            }
        return document


def pack_version() -> str:
    """The version in PulumiPolicy.yaml, which the CLI reports over the pack's own."""
    with open(PACK_DIR / "PulumiPolicy.yaml", encoding="utf-8") as fh:
        return str(yaml.safe_load(fh).get("version") or "0.0.1")


def is_preview_plan(plan: Mapping[str, Any]) -> bool:
    simulation = plan.get("simulation")
    return isinstance(simulation, Mapping) and simulation.get("preview") is True


def _engine_value(value: Any) -> Any:
    """A plan value as the engine marshals it to a policy pack: unknowns become the unknown sentinel.

    The engine turns every computed value into a typed sentinel; values the program sends unknown are
    strings to it (the SDKs register them as the string sentinel), so the string one is the one seen.
    """
    if isinstance(value, dict):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v) for v in value]
    if value == PLAN_UNKNOWN:
        return UNKNOWN_STRING_VALUE
    return value


def _struct(values: Mapping[str, Any], preview: bool = False) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(_engine_value(dict(values)) if preview else dict(values))
    return message


def _options(resource: Mapping[str, Any]) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(
        protect=bool(resource.get("protect")), parent=resource.get("parent") or ""
    )


def analyze_requests(plan: Mapping[str, Any]) -> list[proto.AnalyzeRequest]:
    """One request per resource the program registers (not reads, not providers), with its inputs."""
    preview = is_preview_plan(plan)
    return [
        proto.AnalyzeRequest(
            type=r["type"],
            urn=r["urn"],
            name=r["name"],
            properties=_struct(r.get("inputs") or {}, preview),
            options=_options(r),
        )
        for r in plan["resources"]
        if not r.get("read") and not str(r["type"]).startswith("pulumi:providers:")
    ]


def analyze_stack_request(plan: Mapping[str, Any]) -> proto.AnalyzeStackRequest:
    """Every resource of the stack with its outputs, parent, dependencies and property dependencies.

    In a preview the engine sends what each provider answered to the preview of its create (inputs, and
    every other output unknown) or the registered outputs of a component, unknowns as sentinels.
    """
    preview = is_preview_plan(plan)
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
                properties=_struct(r.get("outputs") or {}, preview),
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


_Met = tuple[str, str | None, list[UnknownRead]]  # policy, URN validated (None: the stack), reads


def _validate_recording(policy: Policy, met: list[_Met], args: Any, report: Any) -> Any:
    with recording_unknown_reads() as reads:
        result = cast(Any, policy).validate(args, report)
    if reads:
        met.append((policy.name, getattr(args, "urn", None), reads))
    return result


def _recording(policies: Sequence[Policy], met: list[_Met]) -> list[Policy]:
    """The policies, each noting the unknown values its rule looked up (the pack's rules skip them).

    Copies, so the pack's own policy objects stay untouched; the servicer calls ``policy.validate``.
    """
    recording = []
    for policy in policies:
        clone = copy.copy(policy)
        vars(clone)["validate"] = functools.partial(_validate_recording, policy, met)
        recording.append(clone)
    return recording


def _reason(paths: Sequence[str]) -> str:
    shown = sorted({p for p in paths if p})
    if not shown:
        return "read a value known only after deploy"
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return f"read {', '.join(shown[:3])}{more}, known only after deploy"


def review_plan(
    plan: Mapping[str, Any],
    config: PackConfig | None = None,
    policies: Sequence[Policy] = ALL_POLICIES,
) -> Review:
    """Evaluate the pack on a plan (a certless.plan/v1 document) and collect its diagnostics.

    A preview plan (``simulation.preview``) is reviewed as ``pulumi preview`` runs the pack.
    """
    config = config or PackConfig()
    preview = is_preview_plan(plan)
    started = time.perf_counter()
    met: list[_Met] = []
    served = _recording(policies, met) if preview else list(policies)
    servicer = _PolicyAnalyzerServicer(PACK_NAME, pack_version(), served, EnforcementLevel.ADVISORY)
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
        preview=preview,
    )
    stack_urn = next((r["urn"] for r in plan["resources"] if r["type"] == _STACK_TYPE), "")
    for urn, diagnostic in found:
        resource = by_urn.get(urn, {})
        cant_run = _CANT_RUN.match(str(diagnostic.message)) if preview else None
        if cant_run is not None:
            # The engine attributes a stack policy's diagnostic without a URN to the root stack.
            skipped_urn = urn or stack_urn
            resource = by_urn.get(skipped_urn, {})
            review.skipped.append(
                Skipped(
                    policy=diagnostic.policyName,
                    urn=skipped_urn,
                    resource_type=str(resource.get("type", "")),
                    resource_name=str(resource.get("name", "")) or "(stack)",
                    reason=cant_run.group("why").strip(),
                )
            )
            continue
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
    _add_met_unknowns(review, met, by_urn, stack_urn)
    review.seconds = time.perf_counter() - started
    return review


def _add_met_unknowns(
    review: Review, met: Sequence[_Met], by_urn: Mapping[str, Mapping[str, Any]], stack_urn: str
) -> None:
    """A rule that looked up an unknown value and reported nothing on that resource was skipped there."""
    paths: dict[tuple[str, str], list[str]] = {}
    for policy, validated, reads in met:
        for owner, path in reads:
            paths.setdefault((policy, owner or validated or stack_urn), []).append(path)
    judged = {(v.policy, v.urn) for v in review.violations} | {(s.policy, s.urn) for s in review.skipped}
    for (policy, urn), read in sorted(paths.items()):
        if (policy, urn) in judged:
            continue
        resource = by_urn.get(urn, {})
        review.skipped.append(
            Skipped(
                policy=policy,
                urn=urn,
                resource_type=str(resource.get("type", "")),
                resource_name=str(resource.get("name", "")) or "(stack)",
                reason=_reason(read),
            )
        )
