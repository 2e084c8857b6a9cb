"""A colour stack planned against its owner's outputs sees the owner's identity, as Azure would show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan

from .support import REPO, plan_of, run_cli

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
        "trust chain: service account orders/orders-worker-green → "
        "FIC 'aks-aks-certless-prod-orders-orders-worker-green' on identity `shared` (stack prod) → "
        "FIC 'uami-shared' on app registration `orders` (stack prod)"
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


# -- the plan command plans the owner itself when its settings are in the project ------------------------


def _project_with(tmp_path: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A project folder running the real program, holding only the given stack files."""
    for name in ("__main__.py", "program", "stackconfig", "components", "Pulumi.yaml"):
        (tmp_path / name).symlink_to(REPO / name)
    for stack, doc in stacks.items():
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def _colour(owner_reference: str, colour: str = "green") -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    config = doc["config"]
    del config["certless:identities"], config["certless:apps"]
    config["certless:identityOwner"] = {"stack": owner_reference}
    config["certless:color"] = colour
    return dict(doc)


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def _attached_identity(plan: dict[str, Any]) -> dict[str, Any]:
    (app,) = [r for r in plan["resources"] if r["type"] == "azure-native:app:ContainerApp"]
    return dict(app["outputs"]["identity"]["userAssignedIdentities"])


@pytest.mark.parametrize("reference", ["prod", "acme/prod", "acme/certless/prod"])
def test_plan_of_a_colour_stack_plans_its_owner_from_the_project(
    tmp_path: Path, reference: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from certless_ops.__main__ import main

    blue = plan_of(REPO, "prod")
    (identity,) = [r for r in blue["resources"] if r["type"] == UAMI]
    config = tmp_path / "Pulumi.prod-green.yaml"
    config.write_text(yaml.safe_dump(_colour(reference)))
    target = tmp_path / "green.json"
    args = ["plan", "--stack", "prod-green", "--config-file", str(config), "--quiet", "--json", str(target)]
    assert main(args) == 0, capsys.readouterr().err
    green = json.loads(target.read_text())
    assert _attached_identity(green) == {
        identity["outputs"]["id"]: {
            "clientId": identity["outputs"]["clientId"],
            "principalId": identity["outputs"]["principalId"],
        }
    }


def test_given_stack_outputs_win_over_planning_the_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import copy

    from certless_ops.__main__ import main

    outputs = copy.deepcopy(plan_of(REPO, "prod")["outputs"])
    shared = outputs["sharedIdentity"]["identities"]["shared"]
    shared["clientId"] = "cccccccc-1111-4222-8333-444444444444"  # as deployed elsewhere, not as planned here
    given = tmp_path / "prod-outputs.json"
    given.write_text(json.dumps(outputs))
    config = tmp_path / "Pulumi.prod-green.yaml"
    config.write_text(yaml.safe_dump(_colour("acme/certless/prod")))
    target = tmp_path / "green.json"
    args = ["plan", "--stack", "prod-green", "--config-file", str(config), "--quiet", "--json", str(target)]
    assert main([*args, "--stack-outputs", f"acme/certless/prod={given}"]) == 0, capsys.readouterr().err
    (attached,) = _attached_identity(json.loads(target.read_text())).values()
    assert attached["clientId"] == "cccccccc-1111-4222-8333-444444444444"


def test_an_owner_cycle_is_one_line_naming_the_loop(tmp_path: Path) -> None:
    project = _project_with(
        tmp_path, {"prod-blue": _colour("prod-green", "blue"), "prod-green": _colour("prod-blue")}
    )
    result = run_cli("--project-dir", str(project), "--stack", "prod-green")
    assert result.returncode == 2
    assert _error_line(result.stderr) == (
        "error: certless:identityOwner of stack 'prod-blue': stack 'prod-green' leads back to itself "
        "(prod-green -> prod-blue -> prod-green); expected an owner chain that ends in a stack owning "
        "certless:identities and certless:apps"
    )


def test_an_owner_that_does_not_plan_is_one_line_naming_it_and_the_way_round(tmp_path: Path) -> None:
    owner = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    owner["config"]["certless:identities"]["shared"]["colour"] = "blue"  # not a key of an identity
    project = _project_with(tmp_path, {"prod": owner, "prod-green": _colour("acme/certless/prod")})
    result = run_cli("--project-dir", str(project), "--stack", "prod-green")
    assert result.returncode == 2
    line = _error_line(result.stderr)
    assert line.startswith(
        "error: owner stack 'prod' of stack 'prod-green' (Pulumi.prod.yaml) does not plan: "
    )
    assert "colour" in line
    assert line.endswith(
        "; expected it to plan, or its outputs given with --stack-outputs acme/certless/prod=FILE"
    )


def test_an_owner_of_another_project_still_asks_for_its_outputs(tmp_path: Path) -> None:
    project = _project_with(
        tmp_path,
        {
            "prod": yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text()),
            "prod-green": _colour("acme/other/prod"),
        },
    )
    result = run_cli("--project-dir", str(project), "--stack", "prod-green")
    assert result.returncode == 2
    assert "expected --stack-outputs acme/other/prod=FILE" in _error_line(result.stderr)
