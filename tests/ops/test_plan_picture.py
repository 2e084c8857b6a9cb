"""plan --format mermaid: the trust chain as a picture, with every link that does not hold in red."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from certless_ops.plan.picture import mermaid

from .support import REPO, plan_of, run_cli


def ops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certless_ops", *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prod_plan() -> dict[str, Any]:
    return plan_of(REPO, "prod")


def _edges(text: str) -> list[tuple[str, str, str, bool]]:
    labels = dict(re.findall(r'^\s+(n_\w+)\S*?"([^"]*)"', text, flags=re.M))
    found = []
    for a, arrow, label, b in re.findall(r'^\s+(n_\w+) (-->|-\.->)\|"([^"]*)"\| (n_\w+)$', text, flags=re.M):
        found.append((labels[a], label, labels[b], arrow == "-.->"))
    return found


def test_every_workload_chain_is_drawn(prod_plan: dict[str, Any]) -> None:
    text = mermaid(prod_plan)
    assert text.startswith("flowchart LR\n")
    edges = _edges(text)
    app = "app certless-orders-prod"
    identity = "identity id-certless-shared-prod"
    assert ("Container App orders-api", "runs as", identity, False) in edges
    assert ("Function App orders-jobs", "runs as", identity, False) in edges
    assert ("VM orders-batch", "runs as", identity, False) in edges
    assert ("AKS pod orders-worker", "runs as", "service account orders/orders-worker", False) in edges
    assert (
        "service account orders/orders-worker",
        "FIC aks-aks-certless-prod-orders-orders-worker",
        identity,
        False,
    ) in edges
    assert (identity, "FIC uami-shared", app, False) in edges
    assert "linkStyle" not in text  # nothing broken


def test_a_fic_trusting_the_wrong_subject_is_drawn_broken(prod_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(prod_plan)
    w = plan["outputs"]["workloads"]["orders-api"]
    for fic in w["federatedCredentials"]:
        if fic["on"] == "app":
            fic["subject"] = w["identityClientId"]  # the classic mistake: client ID, not principal ID
    text = mermaid(plan)
    broken = [e for e in _edges(text) if e[3]]
    assert (
        "identity id-certless-shared-prod",
        "no FIC trusts it",
        "app certless-orders-prod",
        True,
    ) in broken
    index = [line for line in text.splitlines() if "-->" in line or "-.->" in line].index(
        next(line for line in text.splitlines() if "no FIC trusts it" in line)
    )
    assert re.search(rf"linkStyle (\d+,)*{index}(,\d+)* stroke:#d00", text)


def test_names_cannot_break_the_markup(prod_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(prod_plan)
    app = next(r for r in plan["resources"] if r["type"] == "azuread:index/application:Application")
    app["outputs"]["displayName"] = 'evil"]; click x "<script>'
    text = mermaid(plan)
    assert "<script>" not in text and 'evil"]' not in text


def test_a_hundred_workloads_draw_in_well_under_a_second(prod_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(prod_plan)
    base = plan["outputs"]["workloads"]
    plan["outputs"]["workloads"] = {f"{n}-{i}": w for i in range(25) for n, w in base.items()}
    started = time.perf_counter()
    text = mermaid(plan)
    assert text.count("runs as") >= 100
    assert time.perf_counter() - started < 1.0


def test_the_cli_prints_the_picture() -> None:
    proc = run_cli("--stack", "dev", "--format", "mermaid")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("flowchart LR\n")
    assert "App Service orders-web" in proc.stdout
    bad = run_cli("--stack", "dev", "--format", "gif")
    assert bad.returncode == 2 and "invalid choice: 'gif'" in bad.stderr


def test_review_markdown_has_the_verdict_the_violations_and_the_picture(
    prod_plan: dict[str, Any], tmp_path: Any
) -> None:
    import json

    plan = copy.deepcopy(prod_plan)
    fic = next(r for r in plan["resources"] if r["type"].endswith("ApplicationFederatedIdentityCredential"))
    identity = next(r for r in plan["resources"] if r["type"].endswith("UserAssignedIdentity"))
    fic["inputs"]["subject"] = fic["outputs"]["subject"] = identity["outputs"]["clientId"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    proc = ops("review", "--plan", str(path), "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert out.startswith("### :x: certless policy review: stack `prod` FAILED")
    assert "| `certless-app-fic-trusts-user-assigned-identity` | mandatory |" in out
    assert "```mermaid\nflowchart LR\n" in out and "</details>" in out
    both = ops("review", "--plan", str(path), "--format", "markdown", "--json")
    assert both.returncode == 2 and "both would go to stdout; expected --json FILE" in both.stderr
    # --json FILE keeps stdout for the summary: the workflow gets both from one run.
    report = path.parent / "review.json"
    both = ops("review", "--plan", str(path), "--format", "markdown", "--json", str(report))
    assert both.returncode == 1 and both.stdout.startswith("### :x: certless policy review")
    assert json.loads(report.read_text())["summary"]["passed"] is False


def test_a_preview_plan_draws_each_workload_whose_chain_is_known_only_after_deploy() -> None:
    """In a preview a workload's record holds unknowns (its identity's IDs): drawn, never a traceback."""
    result = run_cli("--stack", "prod", "--preview", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart LR\n") and "Traceback" not in result.stderr
    for workload in ("orders-api", "orders-worker"):
        assert f'"{workload}: chain known only after deploy"' in result.stdout
