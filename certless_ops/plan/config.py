"""Read a Pulumi project and stack configuration the way the Pulumi CLI hands it to a Python program."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from certless_ops.errors import UserError
from certless_ops.plan import cli_config_rules as rules
from certless_ops.plan import safe_yaml


@dataclass(frozen=True)
class StackConfig:
    """Everything the runner needs to start the program as `pulumi preview` would."""

    project: str
    stack: str
    project_dir: Path
    main: Path
    # Namespaced key -> value exactly as the CLI passes it (strings; objects as JSON text).
    wire: dict[str, str] = field(default_factory=dict)
    # Namespaced key -> parsed value, for the plan file's `config` block.
    values: dict[str, Any] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} {str(path)!r} does not exist") from None
    except OSError as exc:
        raise UserError(f"{what} {str(path)!r} cannot be read: {exc.strerror}") from None
    try:
        data = safe_yaml.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        why = f": {str(problem)[:200]}" if problem else ""
        raise UserError(f"{what} {str(path)!r} is not valid YAML{where}{why}") from None
    except RecursionError:
        raise UserError(f"{what} {str(path)!r} nests too deeply; expected plain configuration") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{what} {str(path)!r} must be a YAML mapping, got {type(data).__name__}")
    return data


_namespaced = rules.namespaced


def _contains_secure(value: Any) -> bool:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return True
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _go_float(number: float) -> str:
    """A float as Go's encoding/json writes it: shortest digits, exponent only below 1e-6 or from 1e21."""
    if not math.isfinite(number):
        raise ValueError(f"{number} has no JSON form")
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    if 1e-6 <= abs(number) < 1e21:
        text = format(Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(number).partition("e")
    return f"{mantissa.removesuffix('.0')}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"


def _go_json(value: Any) -> str:
    """JSON as Go writes a decoded YAML value: sorted keys, Go's numbers, no spaces."""
    if isinstance(value, dict):
        items = ",".join(
            f"{json.dumps(str(k))}:{_go_json(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        )
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if isinstance(value, float):
        return _go_float(value)
    return json.dumps(value)


def _to_wire(value: Any) -> str:
    """The string the CLI would put in PULUMI_CONFIG for this YAML value (ValueError: no JSON form)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""  # `key: null` leaves the key unset, never the text "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return _go_json(value)


def available_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(project_dir: Path, stack: str | None, config_file: Path | None = None) -> StackConfig:
    """Merge Pulumi.yaml defaults with Pulumi.<stack>.yaml (or an explicit config file)."""
    project_dir = project_dir.resolve()
    project_file = project_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise UserError(
            f"project directory {str(project_dir)!r} has no Pulumi.yaml; "
            "expected the folder holding the Pulumi program (use --project-dir)"
        )
    project_doc = _read_yaml(project_file, "project file")
    project = project_doc.get("name")
    if not isinstance(project, str) or not project:
        raise UserError(f"project file {str(project_file)!r} has no 'name'; expected the project name")

    main = _program_entry(project_dir, project_doc)

    if config_file is None:
        if not stack:
            raise UserError("no stack given; expected --stack NAME or --config-file PATH")
        config_file = project_dir / f"Pulumi.{stack}.yaml"
        if not config_file.is_file():
            found = ", ".join(available_stacks(project_dir)) or "none"
            raise UserError(
                f"stack {stack!r}: config file {str(config_file)!r} does not exist; stacks found: {found}"
            )
    elif not stack:
        name = config_file.name
        stack = name[len("Pulumi.") : -len(".yaml")] if name.startswith("Pulumi.") else config_file.stem
    stack_doc = _read_yaml(config_file, "stack config file")
    if stack_doc.get("environment"):
        raise UserError(
            f"stack config file {str(config_file)!r} imports a Pulumi ESC environment; "
            "environments cannot be resolved offline, expected plain config values"
        )

    raw_declared = project_doc.get("config") or {}
    if not isinstance(raw_declared, dict):
        raise UserError(f"project file {str(project_file)!r}: 'config' must be a mapping")
    where = f"project file {str(project_file)!r}"
    declared = {
        str(key): rules.declaration(where, str(key), decl, project) for key, decl in raw_declared.items()
    }
    rules.validate_project(where, project, declared)

    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    as_checked: dict[str, Any] = {}
    for key, decl in declared.items():
        if decl.get("secret"):
            secret_keys.append(_namespaced(key, project))
        for attr in ("value", "default"):
            if attr in decl:
                values[_namespaced(key, project)] = decl[attr]
                as_checked[_namespaced(key, project)] = _merged_default(decl[attr])

    stack_values = stack_doc.get("config") or {}
    if not isinstance(stack_values, dict):
        raise UserError(f"stack config file {str(config_file)!r}: 'config' must be a mapping")
    seen: dict[str, str] = {}
    for key, value in stack_values.items():
        full = _namespaced(str(key), project)
        if full in seen:
            raise UserError(
                f"stack config file {str(config_file)!r}: {seen[full]!r} and {str(key)!r} name the same key"
                f" {full!r}; the Pulumi CLI keeps one of them at random, expected it once"
            )
        seen[full] = str(key)
        _wire_of(full, value, config_file)
        values[full] = value
        as_checked[full] = _as_cli_sees(value)

    encrypted = {k for k, v in stack_values.items() if _contains_secure(v)}
    rules.check_stack(
        stack,
        project,
        declared,
        on_stack=set(seen),
        encrypted={_namespaced(str(k), project) for k in encrypted},
        as_checked=as_checked,
    )

    for key, value in values.items():
        if _contains_secure(value):
            raise UserError(
                f"config key {key!r} in {str(config_file)!r} holds an encrypted 'secure:' value, which "
                "cannot be decrypted offline; expected a plain value in a test stack"
            )

    ordered = dict(sorted(values.items()))
    return StackConfig(
        project=project,
        stack=stack,
        project_dir=project_dir,
        main=main,
        wire={k: _wire_of(k, v, project_file) for k, v in ordered.items()},
        values=ordered,
        secret_keys=tuple(sorted(set(secret_keys))),
    )


def _wire_of(key: str, value: Any, source: Path) -> str:
    try:
        return _to_wire(value)
    except ValueError:
        where, bad = _non_finite(key, value) or (key, value)
        raise UserError(
            f"config key {where!r} in {str(source)!r} holds {repr(bad)[:80]}, which the Pulumi CLI cannot"
            " write as JSON; expected a finite number"
        ) from None


def _non_finite(path: str, value: Any) -> tuple[str, Any] | None:
    """The path (`key.field[index]`) and value of the first number JSON cannot hold, e.g. `.nan`."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, item in items:
        found = _non_finite(f"{path}[{name}]" if isinstance(name, int) else f"{path}.{name}", item)
        if found:
            return found
    return None


def _as_cli_sees(value: Any) -> Any:
    """A stack value as the CLI validates it: a scalar becomes its text, an object or list stays."""
    return value if isinstance(value, (dict, list)) else _to_wire(value)


def _merged_default(value: Any) -> Any:
    """A Pulumi.yaml default or value merged into the stack: text for string, int and bool, else JSON."""
    return _to_wire(value) if isinstance(value, (str, int, bool)) else value


def _program_entry(project_dir: Path, project_doc: dict[str, Any]) -> Path:
    runtime = project_doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise UserError(f"project runtime is {runtime_name!r}; expected 'python'")
    main_opt = project_doc.get("main")
    base = project_dir / main_opt if isinstance(main_opt, str) else project_dir
    main = base / "__main__.py" if base.is_dir() else base
    if not main.is_file():
        raise UserError(f"program entry {str(main)!r} does not exist; expected the project's __main__.py")
    return main
