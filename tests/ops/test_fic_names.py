"""The plan tree, the demo and bluegreen-check name a FIC alike: by the name Entra or Azure stores.

One planned stack (the shipped prod: an app FIC trusting the identity and an AKS cluster FIC on the
identity), whose Pulumi resource names differ from the stored names, so a mix-up shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from certless_ops.bluegreen.checks import Release, run_checks
from certless_ops.bluegreen.planning import plan_stack
from certless_ops.bluegreen.planview import Plan
from certless_ops.demo import render
from certless_ops.plan.fic_names import FIC_TYPES, fic_name_of, fic_phrase
from certless_ops.plan.tree import render as render_tree

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return plan_stack(REPO, "prod")


def _fics(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] in FIC_TYPES]


def _console() -> Console:
    return Console(record=True, width=400, color_system=None)


def _tree(plan: dict[str, Any]) -> str:
    console = _console()
    render_tree(plan, console)
    return console.export_text()


def _demo(plan: dict[str, Any]) -> str:
    console = _console()
    render.plan_table(console, plan)
    return console.export_text()


def _bluegreen(plan: dict[str, Any]) -> str:
    # The stack as both colours: every FIC is then declared twice, and the checks name each one.
    view = Plan.from_json(plan, "prod")
    results = run_checks(Release(view, view))
    return "\n".join(line for r in results for line in (*r.findings, *r.details))


def test_the_stored_name_is_the_one_the_program_gives_entra_and_azure(prod: dict[str, Any]) -> None:
    stored = {
        r["name"]: r["inputs"].get("displayName")
        or r["inputs"].get("federatedIdentityCredentialResourceName")
        for r in _fics(prod)
    }
    assert {r["name"]: fic_name_of(r) for r in _fics(prod)} == stored
    exported = {f["name"] for w in prod["outputs"]["workloads"].values() for f in w["federatedCredentials"]}
    assert set(stored.values()) == exported
    assert all(pulumi_name != name for pulumi_name, name in stored.items())  # else the test proves nothing


def test_tree_demo_and_bluegreen_check_name_each_fic_identically(prod: dict[str, Any]) -> None:
    outputs = {"plan tree": _tree(prod), "demo": _demo(prod), "bluegreen-check": _bluegreen(prod)}
    for fic in _fics(prod):
        for where, text in outputs.items():
            assert fic_phrase(fic_name_of(fic)) in text, f"{where} does not name {fic_name_of(fic)!r}"
            assert f"'{fic['name']}'" not in text and f"`{fic['name']}`" not in text, (
                f"{where} names a FIC by its Pulumi resource name {fic['name']!r}"
            )
