"""The plan's URNs are the ones `pulumi up` gives the same program, so a plan can be read beside real state.

The engine (pulumi/pulumi pkg/resource/deploy/deployment.go `generateURN`) prefixes a child's type with
its parent's whole qualified type, and leaves the stack's type out. Pulumi's Python mock monitor, which
the plan runs under, would keep only the immediate parent's type and put the stack's type at the root.
"""

from __future__ import annotations

from typing import Any

import pytest

from .support import REPO, plan_of

STACK = "pulumi:pulumi:Stack"


@pytest.fixture(scope="module")
def dev_plan() -> dict[str, Any]:
    return plan_of(REPO, "dev")


def _qualified(urn: str) -> str:
    return urn.split("::")[2]


def test_every_urn_carries_all_its_ancestors_types_and_never_the_stacks(dev_plan: dict[str, Any]) -> None:
    by_urn = {r["urn"]: r for r in dev_plan["resources"]}
    deepest = 0
    for r in dev_plan["resources"]:
        chain: list[str] = []
        parent = r["parent"]
        while parent is not None and by_urn[parent]["type"] != STACK:
            chain.insert(0, by_urn[parent]["type"])
            parent = by_urn[parent]["parent"]
        expected = "$".join([*chain, r["type"]])
        assert r["urn"] == f"urn:pulumi:dev::certless::{expected}::{r['name']}"
        deepest = max(deepest, len(chain))
    assert deepest >= 2  # grandchildren exist, so the whole chain (not the parent alone) is checked


def test_a_top_level_component_is_named_by_its_own_type(dev_plan: dict[str, Any]) -> None:
    layer = next(r for r in dev_plan["resources"] if r["type"] == "certless:identity:IdentityLayer")
    assert _qualified(layer["urn"]) == "certless:identity:IdentityLayer"
    assert not any(_qualified(r["urn"]).startswith(f"{STACK}$") for r in dev_plan["resources"])
