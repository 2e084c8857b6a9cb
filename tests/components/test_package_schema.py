"""The component package's schema, inferred as the host infers it for `pulumi package add`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi_schemas
import pytest
from pulumi_schemas import VendoredSchemaChanged, package_metaschema, validator

from certless_package.schema import package_schema

SCHEMA = package_schema()
METASCHEMA = package_metaschema()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_inferred_schema_is_valid_against_pulumis_package_metaschema() -> None:
    errors = sorted(validator(METASCHEMA).iter_errors(SCHEMA), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_metaschema_check_catches_a_broken_schema() -> None:
    broken = copy.deepcopy(SCHEMA)
    workload = broken["resources"]["certless:index:CertificatelessWorkload"]
    workload["inputProperties"]["tenantId"]["type"] = "guid"
    broken["types"]["certless:index:CloudName"]["enum"][0]["value"] = ["AzurePublic"]
    broken["name"] = "certless pkg"
    paths = {tuple(e.path)[:3] for e in validator(METASCHEMA).iter_errors(broken)}
    assert ("name",) in paths
    assert ("resources", "certless:index:CertificatelessWorkload", "inputProperties") in paths
    assert ("types", "certless:index:CloudName") in paths  # no variant of a type accepts it


def test_a_vendored_metaschema_that_differs_from_the_pinned_copy_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loosened copy (here: any package name allowed) would let a bad schema pass unnoticed.
    original = (pulumi_schemas.VENDOR / "pulumi.json").read_text()
    (tmp_path / "pulumi.json").write_text(original.replace('"^[a-zA-Z][-a-zA-Z0-9_]*$"', '".*"', 1))
    monkeypatch.setattr(pulumi_schemas, "VENDOR", tmp_path)
    with pytest.raises(
        VendoredSchemaChanged, match=r"^tests/vendor/pulumi/pulumi.json: sha256 [0-9a-f]{64}, expected"
    ):
        package_metaschema()


def test_every_component_is_an_index_component_of_the_certless_package() -> None:
    assert SCHEMA["name"] == "certless"
    assert set(SCHEMA["resources"]) == {
        "certless:index:CertificatelessWorkload",
        "certless:index:ManagedIdentity",
        "certless:index:AppRegistration",
        "certless:index:AccessGrant",
    }
    assert all(r["isComponent"] for r in SCHEMA["resources"].values())
    assert all(t.startswith("certless:index:") for t in SCHEMA["types"])


def test_every_reference_resolves_and_required_names_exist() -> None:
    # What the CLI's binder checks beyond the metaschema: local references name a declared type.
    for ref in _refs(SCHEMA):
        assert ref.startswith("#/types/") or ref == "pulumi.json#/Any", ref
        if ref.startswith("#/types/"):
            assert ref.removeprefix("#/types/") in SCHEMA["types"], ref
    for token, resource in SCHEMA["resources"].items():
        assert set(resource["requiredInputs"]) <= set(resource["inputProperties"]), token
        assert set(resource["required"]) <= set(resource["properties"]), token
    for token, typ in SCHEMA["types"].items():
        assert set(typ.get("required", [])) <= set(typ.get("properties", {})), token


def test_workload_inputs_say_what_is_plain_and_what_may_be_an_output() -> None:
    workload = SCHEMA["resources"]["certless:index:CertificatelessWorkload"]
    assert workload["requiredInputs"] == ["kind", "tenantId"]
    inputs = workload["inputProperties"]
    # The kind, tenant and cloud decide what is declared: known when the program runs.
    assert inputs["kind"] == {**inputs["kind"], "plain": True, "$ref": "#/types/certless:index:WorkloadKind"}
    assert inputs["tenantId"]["plain"] is True
    app_service = SCHEMA["types"]["certless:index:AppServiceOptions"]
    assert app_service["required"] == ["appName", "planName", "resourceGroupName"]
    # A resource group may come from another resource: an Input, so not plain.
    assert "plain" not in app_service["properties"]["resourceGroupName"]
    assert app_service["properties"]["appSettings"]["additionalProperties"]["type"] == "string"
    kinds = [v["value"] for v in SCHEMA["types"]["certless:index:WorkloadKind"]["enum"]]
    assert kinds == ["appservice", "containerapp", "aks", "functionapp", "vm"]
    outputs = workload["properties"]
    assert outputs["appClientId"]["type"] == "string"
    assert outputs["azureAdEnv"] == {**outputs["azureAdEnv"], "type": "object"}
    assert outputs["azureAdEnv"]["additionalProperties"]["type"] == "string"
    assert "appClientId" in workload["required"]
    assert "identityClientId" not in workload["required"]  # none for a system-assigned identity


def test_descriptions_come_from_the_docstrings() -> None:
    tenant = SCHEMA["resources"]["certless:index:CertificatelessWorkload"]["inputProperties"]["tenantId"]
    assert "tenant ID" in tenant["description"]
    grant = SCHEMA["resources"]["certless:index:AccessGrant"]
    assert "nothing secret" in grant["properties"]["grants"]["description"]
