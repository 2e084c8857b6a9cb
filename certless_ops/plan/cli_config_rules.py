"""The Pulumi CLI's rules for Pulumi.yaml `config:` and the stack values it checks against them.

Modelled on pulumi/pulumi: the project schema (`sdk/go/common/workspace/project.json`), shorthand
rewriting and `Project.Validate` (`project.go`), run when the project loads; then `mergeConfig` and
`validateStackConfigValue` (`pkg/workspace/config.go`), run by `preview`/`up` before the program starts.
Messages are the CLI's own where it has a one-line message; schema errors, which the CLI prints as a
multi-line list, are said in one line here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from certless_ops.errors import UserError

TYPES = ("string", "integer", "boolean", "array", "object")
_DECLARATION_KEYS = ("default", "description", "items", "secret", "type", "value")
_SHORTHAND_TYPES = (str, int, bool, list)  # what Go's yaml sees as string, int, bool or an array
_ATOI = re.compile(r"[+-]?[0-9]+")


def namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def in_project_namespace(key: str, project: str) -> bool:
    return ":" not in key or key.startswith(project + ":")


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_items(where: str, items: Any, depth: int = 0) -> None:
    # configItemsType: an object with a `type` (and, for arrays, nested `items`).
    if not isinstance(items, dict) or "type" not in items:
        raise UserError(
            f"{where}: items {_shown(items)} must be a mapping with a 'type' ({', '.join(TYPES)})"
        )
    unknown = sorted(set(items) - {"type", "items"})
    if unknown:
        raise UserError(f"{where}: items attribute {unknown[0]!r} is not allowed; expected type and items")
    if items["type"] not in TYPES:
        raise UserError(f"{where}: items type {_shown(items['type'])} is not one of {', '.join(TYPES)}")
    if items["type"] == "array":
        if "items" not in items:
            raise UserError(f"{where}: items of type array need their own 'items'")
        _check_items(where, items["items"], depth + 1)
    elif "items" in items:
        _check_items(where, items["items"], depth + 1)


def declaration(where: str, key: str, raw: Any, project: str) -> dict[str, Any]:
    """``raw`` as the CLI reads it: the schema check, then shorthand turned into default or value."""
    at = f"{where}: config key {key!r}"
    if isinstance(raw, _SHORTHAND_TYPES):
        return {"default": raw} if in_project_namespace(key, project) else {"value": raw}
    if not isinstance(raw, dict):
        raise UserError(
            f"{at}: got {_shown(raw)}; expected a string, integer, boolean or list, or a declaration"
            f" with {', '.join(_DECLARATION_KEYS)} (the CLI's project schema)"
        )
    unknown = sorted(set(map(str, raw)) - set(_DECLARATION_KEYS))
    if unknown:
        raise UserError(
            f"{at}: attribute {unknown[0]!r} is not allowed; expected {', '.join(_DECLARATION_KEYS)}"
        )
    if "type" in raw and raw["type"] not in TYPES:
        raise UserError(f"{at}: type {_shown(raw['type'])} is not one of {', '.join(TYPES)}")
    if "items" in raw:
        _check_items(at, raw["items"])
    if "description" in raw and not isinstance(raw["description"], str):
        raise UserError(f"{at}: description {_shown(raw['description'])} must be text")
    if "secret" in raw and not isinstance(raw["secret"], bool):
        raise UserError(f"{at}: secret {_shown(raw['secret'])} must be true or false")
    # A null default or value is no default or value to the CLI (a nil Go interface).
    return {k: v for k, v in raw.items() if not (k in ("default", "value") and v is None)}


def type_label(type_name: str, items: Any) -> str:
    """InferFullTypeName: `array<string>`, `array<array<integer>>`."""
    if isinstance(items, dict):
        return f"array<{type_label(str(items.get('type')), items.get('items'))}>"
    return type_name


def value_fits(type_name: str, items: Any, value: Any) -> bool:
    """ValidateConfigValue: a stack scalar arrives as its text, an object or array as parsed JSON."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and _ATOI.fullmatch(value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or not isinstance(items, dict):
        return False
    return all(value_fits(str(items.get("type")), items.get("items"), v) for v in value)


def validate_project(where: str, project: str, declared: dict[str, dict[str, Any]]) -> None:
    """Project.Validate, run when the CLI loads Pulumi.yaml (before any stack is read)."""
    for key in sorted(declared):
        decl = declared[key]
        if "default" in decl and "value" in decl:
            raise UserError(
                f"{where}: project config '{key}' cannot have both a 'default' and 'value' attribute"
            )
        typed = "type" in decl
        if in_project_namespace(key, project):
            if typed and decl["type"] == "array" and "items" not in decl:
                raise UserError(
                    f"{where}: The configuration key '{key}' declares an array but does not specify the"
                    " underlying type via the 'items' attribute"
                )
            if (
                typed
                and "default" in decl
                and not value_fits(decl["type"], decl.get("items"), decl["default"])
            ):
                raise UserError(
                    f"{where}: The default value specified for configuration key '{key}' is not of the"
                    f" expected type '{type_label(decl['type'], decl.get('items'))}'"
                )
        elif typed:
            raise UserError(
                f"{where}: Configuration key '{key}' is not namespaced by the project and should not"
                " define a type"
            )
        elif "default" in decl:
            raise UserError(
                f"{where}: Configuration key '{key}' is not namespaced by the project and should not define a"
                " default value. Did you mean to use the 'value' attribute instead of 'default'?"
            )
        elif "value" not in decl:
            raise UserError(
                f"{where}: Configuration key '{key}' is namespaced and must provide an attribute 'value'"
            )


def _format_keys(keys: list[str]) -> str:
    """'a', 'b' and 'c', as the CLI lists missing keys."""
    quoted = [f"'{k}'" for k in sorted(keys)]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def check_stack(
    stack: str,
    project: str,
    declared: dict[str, dict[str, Any]],
    *,
    on_stack: set[str],
    encrypted: set[str],
    as_checked: dict[str, Any],
) -> None:
    """mergeConfig with validation: required keys first, then secret and type of each typed key.

    ``encrypted`` names the stack keys holding a ``secure:`` value; ``as_checked`` holds each merged
    value as the CLI checks it: a scalar as its text, an object or array parsed.
    """
    missing = [
        key
        for key, decl in declared.items()
        if namespaced(key, project) not in on_stack
        and "default" not in decl
        and "value" not in decl
        and namespaced(key, project).partition(":")[0] == project
    ]
    if missing:
        noun = "value" if len(missing) == 1 else "values"
        raise UserError(f"Stack '{stack}' is missing configuration {noun} {_format_keys(missing)}")
    for key in sorted(declared):
        decl = declared[key]
        if "type" not in decl:
            continue  # the CLI checks explicitly typed keys only, the secret flag included
        full = namespaced(key, project)
        if decl.get("secret") and full not in encrypted:
            # A plain stack value, or a default merged in: neither is encrypted.
            raise UserError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if not value_fits(decl["type"], decl.get("items"), as_checked.get(full, "")):
            raise UserError(
                f"Stack '{stack}' with configuration key '{key}' must be of type"
                f" '{type_label(decl['type'], decl.get('items'))}'"
            )
