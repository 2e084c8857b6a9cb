"""A colour stack planned against its owner's outputs sees the owner's identity, as Azure would show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan

from .support import REPO, plan_of

UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def _green_config(tmp_path: Path) -> Path:
    doc = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    config = doc["config"]
    del config["certless:identities"], config["certless:apps"]
    config["certless:identityOwner"] = {"stack": "prod"}
    config["certless:color"] = "green"
    path = tmp_path / "Pulumi.prod-green.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_colour_compute_carries_the_owner_identity_ids_and_subscription(tmp_path: Path) -> None:
    blue = plan_of(REPO, "prod")
    (identity,) = [r for r in blue["resources"] if r["type"] == UAMI]
    green = run_plan(
        load_stack_config(REPO, "prod-green", _green_config(tmp_path)),
        stack_outputs={"prod": blue["outputs"]},
    )
    # Stacks of one project in one tenant deploy to one subscription unless configured otherwise.
    assert green["simulation"]["subscriptionId"] == blue["simulation"]["subscriptionId"]
    (app,) = [r for r in green["resources"] if r["type"] == "azure-native:app:ContainerApp"]
    attached: dict[str, Any] = app["outputs"]["identity"]["userAssignedIdentities"]
    assert attached == {
        identity["outputs"]["id"]: {
            "clientId": identity["outputs"]["clientId"],
            "principalId": identity["outputs"]["principalId"],
        }
    }


def test_colour_tree_follows_the_chain_through_the_owner_stack(tmp_path: Path) -> None:
    from rich.console import Console

    from certless_ops.plan.tree import render

    blue = plan_of(REPO, "prod")
    green = run_plan(
        load_stack_config(REPO, "prod-green", _green_config(tmp_path)),
        stack_outputs={"prod": blue["outputs"]},
    )
    console = Console(record=True, width=240, color_system=None)
    render(green, console)
    text = console.export_text()
    assert "broken trust chain" not in text and "no identity in this plan" not in text, text
    assert "= clientId of identity `shared` (stack prod)" in text
    assert "= app registration `orders` (stack prod)" in text
    assert (
        "trust chain: service account orders/orders-worker-green → FIC `orders-worker-cluster` on identity "
        "`shared` (stack prod) → FIC `uami-shared` on app registration `orders` (stack prod)"
    ) in text
