"""`plan --preview`: the program run as `pulumi preview` runs it, where computed outputs are unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config
from certless_ops.plan.monitor import UNKNOWN
from certless_ops.plan.runner import run_plan, run_preview

from .support import REPO, run_cli

BRANCHY = Path(__file__).parent / "fixtures" / "branchy"
E2E_STACK = REPO / "tests" / "e2e" / "stacks" / "Pulumi.e2e.yaml"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def shipped(stack: str) -> tuple[Any, ...]:
    if stack == "e2e":
        return (REPO, "e2e", E2E_STACK)
    return (REPO, stack, None)


@pytest.mark.parametrize("stack", ["dev", "prod", "e2e"])
def test_shipped_and_e2e_stacks_pass_a_preview_with_the_same_resources(stack: str) -> None:
    cfg = load_stack_config(*shipped(stack))
    preview = run_preview(cfg)
    plan = run_plan(cfg)
    assert preview["simulation"]["preview"] is True and plan["simulation"]["preview"] is False
    assert [r["urn"] for r in preview["resources"]] == [r["urn"] for r in plan["resources"]]
    # Computed values really were unknown: a new identity's IDs, a created resource's ID.
    # As azure-native previews a create: the inputs, and every output the create computes unknown.
    for identity in (r for r in preview["resources"] if r["type"] == UAMI and not r["read"]):
        assert identity["id"] is None
        computed = {k: identity["outputs"][k] for k in ("principalId", "clientId", "tenantId", "id")}
        assert computed == dict.fromkeys(computed, UNKNOWN)
    assert UNKNOWN in str(preview["outputs"]["workloads"])
    assert UNKNOWN not in str(plan["outputs"])


def test_a_program_that_passes_outputs_as_inputs_previews_cleanly() -> None:
    preview = run_preview(load_stack_config(BRANCHY, "sound"))
    fic = next(r for r in preview["resources"] if r["name"] == "trust")
    assert fic["inputs"]["subject"] == UNKNOWN


def test_a_resource_declared_inside_an_apply_on_an_unknown_fails_the_preview() -> None:
    cfg = load_stack_config(BRANCHY, "inapply")
    assert any(r["name"] == "trust" for r in run_plan(cfg)["resources"])  # a plain plan cannot tell
    with pytest.raises(UserError) as err:
        run_preview(cfg)
    message = str(err.value)
    assert "`pulumi preview` would not show" in message
    assert "ApplicationFederatedIdentityCredential 'trust'" in message and "\n" not in message


def test_a_branch_on_an_unknown_value_fails_the_preview() -> None:
    cfg = load_stack_config(BRANCHY, "future")
    run_plan(cfg)  # every value is known in a plan, so the branch never shows there
    with pytest.raises(UserError, match=r"failed under preview .*'NoneType' object has no attribute 'lower'"):
        run_preview(cfg)


def test_the_command_line_preview_reports_one_line_and_exits_2() -> None:
    result = run_cli("--project-dir", str(BRANCHY), "--stack", "inapply", "--preview", "--quiet")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: the program registers 1 ")
    ok = run_cli("--stack", "dev", "--preview", "--quiet")
    assert ok.returncode == 0, ok.stderr
