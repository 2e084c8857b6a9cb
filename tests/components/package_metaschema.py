"""Pulumi's package metaschema (pkg/codegen/schema/pulumi.json in pulumi/pulumi) and a validator for it.

The file is Pulumi's (Apache-2.0) and is not kept in this repository: it is read from
``$CERTLESS_PULUMI_METASCHEMA``, else from ``shared/reference/pulumi-package-schema.json`` beside a
folder above the checkout. JSON Schema patterns are ECMA-262 regular expressions (the metaschema uses
``(?<name>...)`` groups, which Python's ``re`` spells differently), so patterns are matched with regress.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import regress
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

ROOT = Path(__file__).resolve().parents[2]
SHARED_NAME = Path("shared") / "reference" / "pulumi-package-schema.json"


def metaschema_path() -> Path | None:
    named = os.environ.get("CERTLESS_PULUMI_METASCHEMA")
    if named:
        return Path(named)
    for folder in ROOT.parents:
        if (folder / SHARED_NAME).is_file():
            return folder / SHARED_NAME
    return None


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


def validator(metaschema: dict[str, Any]) -> Any:
    """A draft 2020-12 validator for the metaschema, after checking the metaschema itself."""
    EcmaValidator(Draft202012Validator.META_SCHEMA, format_checker=_formats).validate(metaschema)
    return EcmaValidator(metaschema, format_checker=_formats)


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded
