"""Outputs of the owner stack a colour stack references, planned offline when its settings are here.

A colour stack reads the shared identity layer through a StackReference to its owner
(``certless:identityOwner: {stack: org/certless/prod}``). When the owner's ``Pulumi.<owner>.yaml`` sits
in the same project, the owner is planned first (and its own owner before it) and its outputs answer the
reference, as they would after ``pulumi up`` of the owner. Outputs given by the caller
(``--stack-outputs``) win and stop the walk there: that is how an owner kept elsewhere is described.

The reference is parsed as the Pulumi CLI parses a stack name (pulumi/pulumi
``pkg/backend/httpstate/backend.go``, ``parseStackName``): ``stack``, ``owner/stack`` (this project) or
``owner/project/stack``. A reference to another project is never planned here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from certless_ops.errors import UserError
from certless_ops.plan.config import StackConfig, load_stack_config

Planner = Callable[[StackConfig, Mapping[str, Mapping[str, Any]]], dict[str, Any]]


def referenced_stack(cfg: StackConfig) -> str | None:
    """The StackReference name of ``<project>:identityOwner.stack``, if the stack sets one."""
    owner = cfg.values.get(f"{cfg.project}:identityOwner")
    if isinstance(owner, Mapping):
        name = owner.get("stack")
        if isinstance(name, str) and name:
            return name
    return None


def local_stack_name(reference: str, project: str) -> str | None:
    """The stack of this project a reference names, or None when it names another project's stack."""
    parts = reference.split("/")
    if len(parts) == 3 and parts[1] != project:
        return None
    return parts[-1] if len(parts) <= 3 else None


def _given(outputs: Mapping[str, Mapping[str, Any]], reference: str) -> bool:
    # The same matching the simulator uses to answer the reference ("org/proj/stack" matches "stack").
    parts = reference.split("/")
    return any("/".join(parts[i:]) in outputs for i in range(len(parts)))


def with_owner_outputs(
    cfg: StackConfig,
    given: Mapping[str, Mapping[str, Any]],
    plan: Planner,
    *,
    _chain: tuple[str, ...] = (),
) -> dict[str, Mapping[str, Any]]:
    """``given`` plus the outputs of each owner stack in ``cfg``'s chain that is planned here.

    ``plan`` runs one stack (normally ``runner.run_plan``); an owner that fails is one UserError that
    names it and how to give its outputs instead.
    """
    outputs: dict[str, Mapping[str, Any]] = dict(given)
    chain = (*_chain, cfg.stack)
    reference = referenced_stack(cfg)
    if reference is None or _given(outputs, reference):
        return outputs
    owner = local_stack_name(reference, cfg.project)
    if owner is None or not (cfg.project_dir / f"Pulumi.{owner}.yaml").is_file():
        return outputs  # kept elsewhere: the simulator asks for --stack-outputs when it is read
    if owner in chain:
        loop = " -> ".join((*chain, owner))
        raise UserError(
            f"certless:identityOwner of stack {cfg.stack!r}: stack {reference!r} leads back to itself "
            f"({loop}); expected an owner chain that ends in a stack owning certless:identities and "
            "certless:apps"
        )
    owner_cfg = load_stack_config(cfg.project_dir, owner)
    owner_outputs = with_owner_outputs(owner_cfg, outputs, plan, _chain=chain)
    try:
        owner_plan = plan(owner_cfg, owner_outputs)
    except UserError as exc:
        raise UserError(
            f"owner stack {owner!r} of stack {cfg.stack!r} (Pulumi.{owner}.yaml) does not plan: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; expected it to plan, or its "
            f"outputs given with --stack-outputs {reference}=FILE"
        ) from None
    outputs.update(owner_outputs)
    outputs[reference] = owner_plan["outputs"]
    return outputs
