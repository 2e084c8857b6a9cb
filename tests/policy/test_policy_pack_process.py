"""The pack as the Pulumi CLI runs it: a separate process, asked over the Analyzer gRPC protocol.

The CLI starts ``pulumi-analyzer-policy-python <engine address> .`` in the pack's folder, a shell
script that runs ``python -u -m pulumi.policy <engine address> .`` from the pack's virtualenv, with
the stack's config in PULUMI_CONFIG and PULUMI_PROJECT/STACK/DRY_RUN; the pack prints the port of
its gRPC server on stdout. These tests do exactly that, then call GetAnalyzerInfo, Configure,
Analyze and AnalyzeStack with an AnalyzerStub.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from policy_plans import IDS, find, good_plan, set_prop
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from certless_ops.review.analyzer import (
    analyze_requests,
    analyze_stack_request,
    configure_request,
)
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    plan = good_plan()
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(plan["config"]),
        "PULUMI_PROJECT": "certless",
        "PULUMI_STACK": "prod",
        "PULUMI_DRY_RUN": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"the pack did not print its port; stdout {line!r}, stderr:\n{err.decode()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=20)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _configure(stub: analyzer_pb2_grpc.AnalyzerStub, config: dict[str, Any] | None = None) -> None:
    stub.Configure(configure_request(ALL_POLICIES, parse_pack_config(config or {}, ALL_POLICIES)))


def _stack_diagnostics(stub: analyzer_pb2_grpc.AnalyzerStub, plan: dict[str, Any]) -> list[Any]:
    return list(stub.AnalyzeStack(analyze_stack_request(plan)).diagnostics)


def test_analyzer_info_lists_every_policy_with_its_level_and_schema(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "certless"
    assert info.supportsConfig
    policies = {p.name: p for p in info.policies}
    assert set(policies) == {p.name for p in ALL_POLICIES}
    assert policies["certless-no-client-secrets"].enforcementLevel == proto.MANDATORY
    assert policies["certless-app-service-hardening"].enforcementLevel == proto.ADVISORY
    assert policies["certless-fic-limits"].policy_type == proto.PolicyType.POLICY_TYPE_STACK
    assert policies["certless-fic-audience"].policy_type == proto.PolicyType.POLICY_TYPE_RESOURCE
    schema = policies["certless-fic-limits"].configSchema.properties
    assert schema["maxPerParent"]["maximum"] == 20


def test_analyze_flags_a_client_secret_resource(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    request = proto.AnalyzeRequest(
        type="azuread:index/applicationPassword:ApplicationPassword",
        urn="urn:pulumi:prod::certless::azuread:index/applicationPassword:ApplicationPassword::ci-secret",
        name="ci-secret",
    )
    diagnostics = list(analyzer.Analyze(request).diagnostics)
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("certless-no-client-secrets", proto.MANDATORY)
    ]
    assert "'ci-secret' creates a client secret (password) on an application" in diagnostics[0].message


def test_configure_lowers_certificates_to_advisory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    request = proto.AnalyzeRequest(
        type="azuread:index/applicationCertificate:ApplicationCertificate",
        urn="urn:pulumi:dev::certless::azuread:index/applicationCertificate:ApplicationCertificate::legacy",
        name="legacy",
    )
    _configure(analyzer, {"certless-no-client-certificates": "advisory"})
    levels = [d.enforcementLevel for d in analyzer.Analyze(request).diagnostics]
    _configure(analyzer)
    assert levels == [proto.ADVISORY]
    assert [d.enforcementLevel for d in analyzer.Analyze(request).diagnostics] == [proto.MANDATORY]


def test_every_resource_of_the_reference_plan_passes(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    plan = good_plan()
    for request in analyze_requests(plan):
        assert list(analyzer.Analyze(request).diagnostics) == [], request.urn
    assert _stack_diagnostics(analyzer, plan) == []


def test_analyze_stack_catches_the_client_id_as_subject(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    plan = good_plan()
    fic = find(plan, "orders-fic")
    set_prop(fic, "subject", IDS["orders"][1])
    diagnostics = _stack_diagnostics(analyzer, plan)
    assert [(d.policyName, d.enforcementLevel, d.urn) for d in diagnostics] == [
        ("certless-app-fic-trusts-user-assigned-identity", proto.MANDATORY, fic["urn"])
    ]
    assert "the CLIENT ID of identity 'orders-id'" in diagnostics[0].message


def test_dependencies_and_the_stack_name_reach_the_pack(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    plan = good_plan()
    extra = copy.deepcopy(find(plan, "billing-cluster"))
    extra["name"], extra["urn"] = "billing-second", extra["urn"].replace("billing-cluster", "billing-second")
    set_prop(extra, "subject", "system:serviceaccount:billing:second")
    plan["resources"].append(extra)
    identity = find(plan, "reports-id")
    identity["protect"] = False  # the pack sees PULUMI_STACK=prod: a production stack
    found = {(d.policyName, d.urn) for d in _stack_diagnostics(analyzer, plan)}
    assert found == {("certless-identity-fics-serialized", extra["urn"])}
    request = next(r for r in analyze_requests(plan) if r.urn == identity["urn"])
    diagnostics = list(analyzer.Analyze(request).diagnostics)
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("certless-production-protected", proto.MANDATORY)
    ]


def test_unknown_values_in_preview_produce_no_diagnostic(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    plan = good_plan()
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string marker
    set_prop(find(plan, "orders-fic"), "subject", unknown)
    set_prop(find(plan, "orders-id"), "principalId", unknown, where=("outputs",))
    assert _stack_diagnostics(analyzer, plan) == []
    for request in analyze_requests(plan):
        assert list(analyzer.Analyze(request).diagnostics) == []
