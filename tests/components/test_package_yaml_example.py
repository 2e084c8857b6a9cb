"""examples/yaml-workload: every property it sets exists in the package schema, with a value of that type."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from certless_package.schema import package_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "yaml-workload" / "Pulumi.yaml"
SCHEMA = package_schema()
INTERPOLATION = re.compile(r"^\$\{([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?\}$")


def _problems(value: Any, prop: dict[str, Any], path: str, program: dict[str, Any]) -> list[str]:
    if isinstance(value, str) and (found := INTERPOLATION.match(value)):
        name, attribute = found.groups()
        if attribute is None:  # config: known when the program runs, so fine for a plain property
            return [] if name in program.get("config", {}) else [f"{path}: unknown config {name}"]
        if prop.get("plain"):
            return [f"{path}: plain property, but given the output {value}"]
        resource = program["resources"].get(name)
        if resource is None:
            return [f"{path}: unknown resource {name}"]
        outputs = SCHEMA["resources"][resource["type"]]["properties"]
        return [] if attribute in outputs else [f"{path}: {name} has no output {attribute}"]
    ref = prop.get("$ref")
    if ref is not None:
        typ = SCHEMA["types"][ref.removeprefix("#/types/")]
        if "enum" in typ:
            allowed = [v["value"] for v in typ["enum"]]
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        return _object_problems(value, typ.get("properties", {}), typ.get("required", []), path, program)
    kind = prop["type"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, v in enumerate(value) for p in _problems(v, prop["items"], f"{path}[{i}]", program)]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        extra = prop["additionalProperties"]
        return [p for k, v in value.items() for p in _problems(v, extra, f"{path}.{k}", program)]
    expected: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
    }
    return [] if isinstance(value, expected[kind]) else [f"{path}: expected {kind}, got {value!r}"]


def _object_problems(
    value: Any, properties: dict[str, Any], required: list[str], path: str, program: dict[str, Any]
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object"]
    problems = [f"{path}: missing required {r}" for r in required if r not in value]
    for key, item in value.items():
        if key not in properties:
            problems.append(f"{path}.{key}: no such property in the schema")
        else:
            problems += _problems(item, properties[key], f"{path}.{key}", program)
    return problems


def check(program: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, resource in program["resources"].items():
        spec = SCHEMA["resources"].get(resource["type"])
        if spec is None:
            problems.append(f"{name}: no resource {resource['type']} in the package")
            continue
        problems += _object_problems(
            resource.get("properties", {}), spec["inputProperties"], spec["requiredInputs"], name, program
        )
    return problems


def test_the_yaml_example_uses_only_what_the_schema_declares() -> None:
    program = yaml.safe_load(EXAMPLE.read_text())
    assert program["runtime"] == "yaml"
    assert {r["type"] for r in program["resources"].values()} >= {"certless:index:CertificatelessWorkload"}
    assert check(program) == []


def test_the_check_names_a_misspelt_property_a_wrong_enum_and_a_plain_expression() -> None:
    program = yaml.safe_load(EXAMPLE.read_text())
    shop = program["resources"]["shop"]["properties"]
    shop["appService"]["planNmae"] = shop["appService"].pop("planName")
    shop["cloud"] = "AzureGermany"
    shop["identityTrustName"] = "${readBlobs.grants}"
    problems = check(program)
    assert "shop.appService: missing required planName" in problems
    assert "shop.appService.planNmae: no such property in the schema" in problems
    assert any(p.startswith("shop.cloud: 'AzureGermany' is not one of") for p in problems)
    assert "shop.identityTrustName: plain property, but given the output ${readBlobs.grants}" in problems
