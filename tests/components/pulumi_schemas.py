"""Pulumi's own JSON Schemas, vendored under tests/vendor/pulumi/, and a validator for them.

No package on PyPI or npm ships these files (the CLI embeds them in its Go binary), so they are copied
from pulumi/pulumi at one commit, with its Apache-2.0 licence beside them. Each is checked against the
sha256 recorded here before use: a hand-edited copy fails loudly instead of judging our files by rules
Pulumi never wrote. JSON Schema patterns are ECMA-262 regular expressions (the package metaschema uses
``(?<name>...)`` groups, which Python's ``re`` spells differently), so patterns are matched with regress.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import regress
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

VENDOR = Path(__file__).resolve().parents[1] / "vendor" / "pulumi"
PULUMI_COMMIT = "1b5949891b3cefcb9974752b24a5ecef0acc86c8"
# File under VENDOR -> (its path in pulumi/pulumi at PULUMI_COMMIT, sha256 of its bytes).
PINNED = {
    "pulumi.json": (
        "pkg/codegen/schema/pulumi.json",
        "45c9aa5144ef1c1ef1ce3515a6d379d288558d36d189435dfa32a246b9d3ad4b",
    ),
    "project.json": (
        "sdk/go/common/workspace/project.json",
        "55b50752803a9b595675fa3119e710f91e907821deef1674e9e25e7b5ebc5daf",
    ),
}


class VendoredSchemaChanged(AssertionError):
    """A vendored schema's bytes differ from the pinned copy."""


def vendored(name: str) -> dict[str, Any]:
    """The vendored schema ``name`` (a key of PINNED), after checking its sha256."""
    upstream, expected = PINNED[name]
    data = (VENDOR / name).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise VendoredSchemaChanged(
            f"tests/vendor/pulumi/{name}: sha256 {actual}, expected {expected} (pulumi/pulumi"
            f" {upstream} at {PULUMI_COMMIT}); re-vendor it and update PINNED and the README together"
        )
    loaded: dict[str, Any] = json.loads(data)
    return loaded


def package_metaschema() -> dict[str, Any]:
    return vendored("pulumi.json")


def project_schema() -> dict[str, Any]:
    return vendored("project.json")


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and regress.Regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _ecma_pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = regress.Regex(pattern)
        for key, value in instance.items():
            if compiled.find(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_formats = FormatChecker()


@_formats.checks("regex", raises=ValueError)
def _is_ecma_regex(text: object) -> bool:
    if isinstance(text, str):
        regress.Regex(text)
    return True


EcmaValidator = validators.extend(
    Draft202012Validator, {"pattern": _ecma_pattern, "patternProperties": _ecma_pattern_properties}
)


def validator(schema: dict[str, Any]) -> Any:
    """A draft 2020-12 validator for ``schema``, after checking the schema itself against the draft."""
    EcmaValidator(Draft202012Validator.META_SCHEMA, format_checker=_formats).validate(schema)
    return EcmaValidator(schema, format_checker=_formats)
