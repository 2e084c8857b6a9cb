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


def test_colour_preview_writes_the_owner_identitys_fic_in_that_identitys_subscription(tmp_path: Path) -> None:
    import copy

    from certless_ops.plan.runner import run_preview

    blue = plan_of(REPO, "prod")
    outputs = copy.deepcopy(blue["outputs"])
    shared = outputs["sharedIdentity"]["identities"]["shared"]
    other = "bbbbbbbb-5555-4666-8777-888888888888"
    shared["resourceId"] = shared["resourceId"].replace(shared["resourceId"].split("/")[2], other)
    # As `pulumi preview` runs it: a StackReference is read during a preview, so the owner's
    # resourceId (and the subscription in it) is known there, while the cluster's FIC is still to create.
    green = run_preview(
        load_stack_config(REPO, "prod-green", _green_config(tmp_path)), stack_outputs={"prod": outputs}
    )
    (provider,) = [r for r in green["resources"] if r["type"] == "pulumi:providers:azure-native"]
    assert provider["inputs"]["subscriptionId"] == other
    (fic,) = [
        r
        for r in green["resources"]
        if r["type"] == "azure-native:managedidentity:FederatedIdentityCredential"
    ]
    assert fic["provider"].startswith(provider["urn"] + "::")
    assert fic["id"] is None  # created by the update, as a preview shows it
