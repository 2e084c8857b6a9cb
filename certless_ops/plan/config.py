"""Read a Pulumi project and stack configuration the way the Pulumi CLI hands it to a Python program."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from certless_ops.errors import UserError
from certless_ops.plan import safe_yaml

# Keys a Pulumi.yaml config entry may carry when it is a declaration rather than a plain value.
_DECLARATION_KEYS = frozenset({"type", "default", "description", "secret", "items", "value"})


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


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _contains_secure(value: Any) -> bool:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return True
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _to_wire(value: Any) -> str:
    """The string the CLI would put in PULUMI_CONFIG for this YAML value."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""  # `key: null` leaves the key unset, never the text "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


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

    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    declared = project_doc.get("config") or {}
    if not isinstance(declared, dict):
        raise UserError(f"project file {str(project_file)!r}: 'config' must be a mapping")
    for key, decl in declared.items():
        if isinstance(decl, dict) and decl and set(decl) <= _DECLARATION_KEYS:
            if decl.get("secret"):
                secret_keys.append(_namespaced(str(key), project))
            if "value" in decl:
                values[_namespaced(str(key), project)] = decl["value"]
            elif "default" in decl:
                values[_namespaced(str(key), project)] = decl["default"]
        else:
            values[_namespaced(str(key), project)] = decl

    stack_values = stack_doc.get("config") or {}
    if not isinstance(stack_values, dict):
        raise UserError(f"stack config file {str(config_file)!r}: 'config' must be a mapping")
    for key, value in stack_values.items():
        values[_namespaced(str(key), project)] = value

    _apply_cli_rules(stack, project, declared, {_namespaced(str(k), project) for k in stack_values}, values)

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
        wire={k: _to_wire(v) for k, v in ordered.items()},
        values=ordered,
        secret_keys=tuple(sorted(set(secret_keys))),
    )


def _format_keys(keys: list[str]) -> str:
    """'a', 'b' and 'c', as the CLI lists missing keys."""
    quoted = [f"'{k}'" for k in sorted(keys)]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


_BOOL_WORDS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


def _type_ok(type_name: str, items: Any, value: Any) -> bool:
    """The CLI's type check: scalars reach it as text, structured values as their JSON."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (
            isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value) is not None
        )
    if type_name == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value in _BOOL_WORDS)
    if type_name == "array" and isinstance(value, list):
        item_type = items.get("type") if isinstance(items, dict) else None
        return isinstance(item_type, str) and all(_type_ok(item_type, items.get("items"), v) for v in value)
    return False


def _as_cli_sees(value: Any) -> Any:
    """A stack value as the CLI validates it: a scalar becomes its text, an object or list stays."""
    return value if isinstance(value, (dict, list)) else _to_wire(value)


def _apply_cli_rules(
    stack: str, project: str, declared: dict[str, Any], on_stack: set[str], values: dict[str, Any]
) -> None:
    """What `pulumi preview` checks before the program starts (ValidateStackConfigAndApplyProjectConfig).

    A project-namespace key declared without `default` or `value` must be set by the stack; a declared
    `type` is enforced on the merged value (stack value or default); a `secret: true` key needs an
    encrypted stack value.
    """
    missing: list[str] = []
    for key in sorted(declared, key=str):
        decl = declared[key]
        if not (isinstance(decl, dict) and decl and set(decl) <= _DECLARATION_KEYS):
            continue
        full = _namespaced(str(key), project)
        if full not in on_stack and "default" not in decl and "value" not in decl:
            if full.partition(":")[0] == project:
                missing.append(str(key))
            continue
    if missing:
        noun = "value" if len(missing) == 1 else "values"
        raise UserError(f"Stack '{stack}' is missing configuration {noun} {_format_keys(missing)}")
    for key in sorted(declared, key=str):
        decl = declared[key]
        if not (isinstance(decl, dict) and decl and set(decl) <= _DECLARATION_KEYS):
            continue
        full = _namespaced(str(key), project)
        if full not in values or "type" not in decl:
            continue  # the CLI checks explicitly typed keys only
        if decl.get("secret") and full in on_stack:
            raise UserError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        type_name = decl["type"]
        if not _type_ok(str(type_name), decl.get("items"), _as_cli_sees(values[full])):
            raise UserError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{_type_label(decl)}'"
            )


def _type_label(decl: dict[str, Any]) -> str:
    if decl.get("type") == "array" and isinstance(decl.get("items"), dict):
        return f"List<{_type_label(decl['items'])}>"
    return str(decl.get("type"))


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
