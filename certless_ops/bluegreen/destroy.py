"""Simulate ``pulumi destroy`` of one stack on its plan.

``pulumi destroy`` fails when it reaches a protected resource; the release runbook then uses
``pulumi destroy --exclude-protected``, which keeps protected resources and everything they depend on
and deletes the rest. Resources with ``retain_on_delete`` leave the state but stay in the cloud.
Deleting a physical resource also deletes what it contains (see physical.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from certless_ops.bluegreen.physical import PhysicalName, plan_physical_names
from certless_ops.bluegreen.planview import Plan, Resource


@dataclass
class DestroyOutcome:
    plan: Plan
    deleted: dict[str, Resource] = field(default_factory=dict)  # physical key -> the resource deleting it
    protected: list[Resource] = field(default_factory=list)
    kept_as_dependency: list[Resource] = field(default_factory=list)
    retained: list[Resource] = field(default_factory=list)

    def cause(self, target: PhysicalName) -> str | None:
        """Why destroying the stack takes ``target`` away, or None when it survives."""
        doer = self.deleted.get(target.key)
        if doer is not None:
            return f"deleted as {doer.label} ({doer.urn})"
        for container in target.contained_by:
            doer = self.deleted.get(container)
            if doer is not None:
                return f"deleted with its container {doer.label} ({doer.urn})"
        return None


def simulate_destroy(plan: Plan) -> DestroyOutcome:
    outcome = DestroyOutcome(plan)
    owned = list(plan.owned())
    kept: set[str] = set()
    for resource in owned:
        if resource.protect:
            outcome.protected.append(resource)
            kept.add(resource.urn)
            kept.update(plan.dependency_closure(resource.urn))
    names = plan_physical_names(plan)
    for resource in owned:
        if resource.protect:
            continue
        if resource.urn in kept:
            outcome.kept_as_dependency.append(resource)
            continue
        if resource.retain_on_delete:
            outcome.retained.append(resource)
            continue
        for name in names.get(resource.urn, ()):
            outcome.deleted.setdefault(name.key, resource)
    return outcome


def casualties(outcome: DestroyOutcome, targets: Iterable[tuple[str, PhysicalName]]) -> list[str]:
    """One line per target (``(what, name)``) that the destroy takes away."""
    lines = []
    for what, target in targets:
        cause = outcome.cause(target)
        if cause is not None:
            lines.append(f"{what}: {cause}")
    return lines
