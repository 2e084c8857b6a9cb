"""Pulumi stack settings files (``Pulumi.<stack>.yaml``): load, inspect for secrets, write back.

Round-trip YAML (ruamel) keeps the user's comments, key order and quoting, so the new colour's file
diffs cleanly against its source.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from certless_ops.errors import UserError

# Top-level keys through which a stack file carries its own secrets provider and key material. They
# belong to that stack alone (a new stack gets its own at `pulumi stack init`) and are never copied.
ENCRYPTION_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap long values such as resource IDs
    return yaml


@dataclass
class StackFile:
    """One stack's settings file, as a round-trip YAML document."""

    path: Path
    stack: str
    document: CommentedMap

    @property
    def config(self) -> CommentedMap:
        config = self.document.get("config")
        if config is None:
            config = CommentedMap()
            self.document["config"] = config
        if not isinstance(config, CommentedMap):
            raise UserError(
                f"{self.path}: 'config' must be a mapping of settings, got {type(config).__name__}"
            )
        return config

    def dumps(self) -> str:
        buffer = io.StringIO()
        _yaml().dump(self.document, buffer)
        return buffer.getvalue()


def stack_file_path(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def existing_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_file(project_dir: Path, stack: str) -> StackFile:
    path = stack_file_path(project_dir, stack)
    if not path.is_file():
        known = ", ".join(existing_stacks(project_dir)) or "none"
        raise UserError(
            f"stack {stack!r} does not exist: no {path.name} in {project_dir} (stacks found there: {known})"
        )
    return parse_stack_file(path, stack, path.read_text(encoding="utf-8"))


def parse_stack_file(path: Path, stack: str, text: str) -> StackFile:
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise UserError(f"{path}: expected a mapping with a 'config' key, got {type(document).__name__}")
    return StackFile(path=path, stack=stack, document=document)


def encrypted_entries(document: Mapping[str, Any]) -> list[str]:
    """Config paths of encrypted (``secure:``) values: only the source stack's provider can read them."""
    config = document.get("config")
    return list(_secure_paths(config, "")) if isinstance(config, Mapping) else []


def _secure_paths(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, Mapping):
        # Pulumi writes an encrypted value as a mapping with the single key `secure`.
        if set(node) == {"secure"}:
            yield path
            return
        for key, value in node.items():
            yield from _secure_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secure_paths(value, f"{path}[{index}]")


def project_name(project_dir: Path) -> str | None:
    """The ``name`` in ``Pulumi.yaml``, or None when there is no readable project file."""
    for candidate in ("Pulumi.yaml", "Pulumi.yml"):
        path = project_dir / candidate
        if path.is_file():
            try:
                document = _yaml().load(path.read_text(encoding="utf-8"))
            except YAMLError:
                return None
            name = document.get("name") if isinstance(document, Mapping) else None
            return str(name) if name else None
    return None
