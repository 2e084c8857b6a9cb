"""Policy pack configuration, in the format of ``pulumi preview --policy-pack-config FILE``.

``{"<policy>": "mandatory"}`` or ``{"<policy>": {"enforcementLevel": "advisory", "<property>": ...}}``,
plus ``{"all": "<level>"}`` for every policy. Validated against each policy's config schema: an unknown
policy or property name, a bad level or a value outside the schema is an error, never ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import EnforcementLevel, Policy

from certless_ops.errors import UserError

LEVELS = {level.value: level for level in EnforcementLevel}


@dataclass(frozen=True)
class PackConfig:
    """Validated configuration: per policy, an enforcement level override and properties."""

    levels: dict[str, EnforcementLevel] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None


def load_pack_config(path: str | Path, policies: Sequence[Policy]) -> PackConfig:
    """Read and validate a pack config file; one clear UserError for any problem."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"policy pack config {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"policy pack config {str(p)!r} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"policy pack config {str(p)!r} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_pack_config(raw, policies, source=str(p))


def _level(value: Any, where: str) -> EnforcementLevel:
    if not isinstance(value, str) or value not in LEVELS:
        raise UserError(f"{where}: enforcement level {value!r}; expected one of: {', '.join(LEVELS)}")
    return LEVELS[value]


def parse_pack_config(raw: Any, policies: Sequence[Policy], source: str | None = None) -> PackConfig:
    origin = f"policy pack config {source!r}" if source else "policy pack config"
    if not isinstance(raw, Mapping):
        raise UserError(f"{origin}: expected a JSON object of policy names, got {type(raw).__name__}")
    by_name = {p.name: p for p in policies}
    levels: dict[str, EnforcementLevel] = {}
    properties: dict[str, dict[str, Any]] = {}
    if "all" in raw:
        all_level = _level(raw["all"], f"{origin}: 'all'")
        levels.update(dict.fromkeys(by_name, all_level))
    for name, value in raw.items():
        if name == "all":
            continue
        policy = by_name.get(name)
        if policy is None:
            raise UserError(
                f"{origin}: unknown policy {name!r}; expected one of: {', '.join(sorted(by_name))} (or 'all')"
            )
        where = f"{origin}: {name}"
        if isinstance(value, str):
            levels[name] = _level(value, where)
            continue
        if not isinstance(value, Mapping):
            raise UserError(f"{where}: expected a level string or an object, got {type(value).__name__}")
        props = {k: v for k, v in value.items() if k != "enforcementLevel"}
        if "enforcementLevel" in value:
            levels[name] = _level(value["enforcementLevel"], where)
        _validate_properties(policy, props, where)
        properties[name] = props
    return PackConfig(levels=levels, properties=properties, source=source)


def _validate_properties(policy: Policy, props: dict[str, Any], where: str) -> None:
    schema = policy.config_schema
    known = dict(schema.properties) if schema else {}
    for key in props:
        if key not in known:
            expected = ", ".join(sorted(known)) if known else "none besides enforcementLevel"
            raise UserError(f"{where}: unknown property {key!r}; expected: {expected}")
    document = {
        "type": "object",
        "properties": known,
        "required": list(schema.required or []) if schema else [],
    }
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(document).iter_errors(props))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path)
        raise UserError(f"{where}{'.' + path if path else ''}: {error.message}")
