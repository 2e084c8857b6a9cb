"""The program's identity ownership settings, as written in a stack file (docs/configuration.md).

A stack owns the shared identity layer when it declares ``certless:identities`` / ``certless:apps``;
it references the layer with ``certless:identityOwner``: ``{stack: org/project/stack}`` (a
StackReference to the owner) or explicit IDs ``{identities: {...}, apps: {...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

NAMESPACE = "certless"
COLOR = "color"
IDENTITIES = "identities"
APPS = "apps"
IDENTITY_OWNER = "identityOwner"
WORKLOADS = "workloads"


@dataclass(frozen=True)
class Ownership:
    owns: bool
    owner_stack: str | None  # the StackReference name, when the layer is referenced from a stack
    explicit_ids: bool  # referenced by explicit IDs: no owner stack to check


def key_in(config: Mapping[str, Any], name: str, project: str | None) -> str | None:
    """The key holding ``certless:<name>``: namespaced, or bare in a project named certless."""
    namespaced = f"{NAMESPACE}:{name}"
    if namespaced in config:
        return namespaced
    if project == NAMESPACE and name in config:
        return name
    return None


def get(config: Mapping[str, Any], name: str, project: str | None) -> Any:
    key = key_in(config, name, project)
    return config[key] if key is not None else None


def ownership_of(config: Mapping[str, Any], project: str | None) -> Ownership:
    owner = get(config, IDENTITY_OWNER, project)
    if isinstance(owner, Mapping) and owner:  # `{}` is Pulumi.yaml's "not set"
        stack = owner.get("stack")
        if isinstance(stack, str) and stack:
            return Ownership(owns=False, owner_stack=stack, explicit_ids=False)
        return Ownership(owns=False, owner_stack=None, explicit_ids=True)
    return Ownership(owns=True, owner_stack=None, explicit_ids=False)


def set_color(config: CommentedMap, color: str, project: str | None) -> None:
    key = key_in(config, COLOR, project) or f"{NAMESPACE}:{COLOR}"
    if key in config:
        config[key] = color
    else:
        # Next to the other top-level certless settings, before the workloads, for a readable file.
        config.insert(_position_before(config, WORKLOADS, project), key, color)


def reference_owner(config: CommentedMap, owner_ref: str, project: str | None) -> list[str]:
    """Replace the owned layer (identities, apps) by a reference to the owner stack; return removed keys."""
    removed: list[str] = []
    position = None
    for name in (IDENTITIES, APPS, IDENTITY_OWNER):
        key = key_in(config, name, project)
        if key is not None:
            index = list(config).index(key)
            position = index if position is None else min(position, index)
            del config[key]
            if name != IDENTITY_OWNER:  # an empty identityOwner placeholder is replaced, not reported
                removed.append(key)
    if position is None:
        position = _position_before(config, WORKLOADS, project)
    reference = CommentedMap()
    reference["stack"] = owner_ref
    config.insert(position, f"{NAMESPACE}:{IDENTITY_OWNER}", reference)
    return removed


def _position_before(config: CommentedMap, name: str, project: str | None) -> int:
    key = key_in(config, name, project)
    return list(config).index(key) if key is not None else len(config)
