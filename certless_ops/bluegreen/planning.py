"""Plan stacks offline for the blue-green tools, all in one Azure subscription.

Both colours of a release deploy into the subscription their owner's identity lives in (the AKS
cluster FICs of each colour are written under that identity). The offline simulator derives a
subscription from the stack name when the config names none, so every stack after the first is planned
with the first one's subscription unless its own config sets ``azure-native:subscriptionId``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SUBSCRIPTION_KEYS = ("azure-native:subscriptionId",)


def subscription_of(plan: Mapping[str, Any]) -> str | None:
    """The subscription of the first Azure resource ID in the plan (None when it has none).

    A role assignment's ID lives under its scope, which may be in another subscription (a grant on a
    storage account elsewhere): it says nothing about where the stack deploys, so it is skipped.
    """
    for resource in plan.get("resources") or ():
        rid = resource.get("id")
        if resource.get("type") == ROLE_ASSIGNMENT:
            continue
        if isinstance(rid, str) and rid.lower().startswith("/subscriptions/"):
            return rid.split("/")[2]
    return None


ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def plan_stack(
    project_dir: Path,
    stack: str,
    *,
    text: str | None = None,
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
    subscription: str | None = None,
) -> dict[str, Any]:
    """Plan ``stack`` (its Pulumi.<stack>.yaml, or ``text`` as its settings) with the offline plan tool."""
    # Imported here: the plan tool loads the Pulumi SDKs, which plan files alone never need.
    from certless_ops.plan.config import load_stack_config
    from certless_ops.plan.runner import run_plan

    with tempfile.TemporaryDirectory(prefix="certless-bluegreen-") as tmp:
        config_file = None
        if text is not None:
            config_file = Path(tmp) / f"Pulumi.{stack}.yaml"
            config_file.write_text(text, encoding="utf-8")
        cfg = load_stack_config(project_dir, stack, config_file)
        if subscription and not any(cfg.values.get(k) for k in SUBSCRIPTION_KEYS):
            key = SUBSCRIPTION_KEYS[0]
            cfg = dataclasses.replace(
                cfg,
                values={**cfg.values, key: subscription},
                wire={**cfg.wire, key: subscription},
            )
        return run_plan(cfg, outputs or {})
