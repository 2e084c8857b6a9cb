"""Existing stacks keep every resource when the program's layout changes: no URN is lost to a re-parenting.

``urns_before_identity_layer.json`` holds, per stack, the URN the real engine gave each resource when
``__main__.py`` still declared the identity layer itself (main before 6ad24c4, by ``_write_expected``
below on that layout). Each of those must now be claimed again, by the same type and name: under its own
URN, or through an alias the program registers, as the engine resolves aliases (engine_urns.py). An
unclaimed old URN is a delete plus a create in ``pulumi up``: a new identity, a new client ID, broken FICs.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from component_fakes import ROOT, Recorder, Registration, install, run
from engine_urns import claimed_olds, engine_urns, qualified_type
from main_runner import run_main, shipped
from pulumi_azure_native import managedidentity

EXPECTED = Path(__file__).parent / "urns_before_identity_layer.json"
E2E_STACKS = ROOT / "tests" / "e2e" / "stacks"
LAYER_TYPES = {"certless:identity:IdentityLayer", "certless:identity:ReferencedIdentityLayer"}


def _stack_file(path: Path) -> dict[str, Any]:
    """Pulumi.yaml defaults plus one stack file, as the CLI hands config over (objects stay objects here)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    merged: dict[str, Any] = {
        f"certless:{key}": decl["default"]
        for key, decl in project.get("config", {}).items()
        if isinstance(decl, dict) and "default" in decl
    }
    merged.update(yaml.safe_load(path.read_text())["config"])
    return merged


def _green(owner: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:identities"], cfg["certless:apps"]
    cfg["certless:identityOwner"] = owner or {"stack": "org/certless/prod"}
    cfg["certless:color"] = "green"
    cfg["certless:workloads"]["orders-worker"]["aks"]["clusterName"] = "aks-certless-prod-green"
    return cfg


def _identity_only() -> dict[str, Any]:
    """docs/blue-green.md's identity-only owner: the layer, no workloads."""
    cfg = copy.deepcopy(shipped("prod"))
    del cfg["certless:workloads"]
    cfg["certless:apps"]["orders"]["trustIdentities"] = ["shared"]
    return cfg


def _green_by_ids() -> dict[str, Any]:
    """A colour given its owner's IDs explicitly: no StackReference."""
    rid = (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-certless-prod/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/id-certless-shared-prod"
    )
    guid = "aaaaaaaa-0000-4000-8000-00000000000"
    return _green(
        {
            "identities": {"shared": {"resourceId": rid, "clientId": f"{guid}1", "principalId": f"{guid}2"}},
            "apps": {"orders": {"clientId": f"{guid}3", "objectId": f"{guid}4"}},
        }
    )


def _run_green() -> Recorder:
    _, owner = run_main("prod", shipped("prod"))
    rec, _ = run_main("prod-green", _green(), stack_outputs={"sharedIdentity": owner["sharedIdentity"]})
    return rec


STACKS: dict[str, Callable[[], Recorder]] = {
    "dev": lambda: run_main("dev", shipped("dev"))[0],
    "prod": lambda: run_main("prod", shipped("prod"))[0],
    "e2e": lambda: run_main("e2e", _stack_file(E2E_STACKS / "Pulumi.e2e.yaml"))[0],
    "usgov": lambda: run_main("usgov", _stack_file(E2E_STACKS / "Pulumi.usgov.yaml"))[0],
    # The other colour of a blue-green pair: it references the identity layer of prod.
    "prod-green": _run_green,
    "prod-green-ids": lambda: run_main("prod-green-ids", _green_by_ids())[0],
    "prod-identity": lambda: run_main("prod-identity", _identity_only())[0],
}


@functools.cache
def _run(stack: str) -> Recorder:
    return STACKS[stack]()


def _expected() -> dict[str, list[str]]:
    return json.loads(EXPECTED.read_text())


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_old_urn_is_claimed_by_the_same_resource(stack: str) -> None:
    olds = set(_expected()[stack])
    rec = _run(stack)
    claims = claimed_olds(rec, olds, stack)
    by_old: dict[str, list[str]] = {}
    for claim in claims:
        if claim.old is not None:
            by_old.setdefault(claim.old, []).append(claim.urn)
            # The same resource: a URN names its type and logical name last.
            assert claim.old.rsplit("::", 1)[1] == claim.registration.name, claim
            assert qualified_type(claim.old).split("$")[-1] == claim.registration.type, claim
    assert sorted(olds - set(by_old)) == []  # nothing the stack holds today would be deleted
    assert {old: new for old, new in by_old.items() if len(new) > 1} == {}  # nor claimed twice


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_only_the_layer_components_are_new(stack: str) -> None:
    olds = set(_expected()[stack])
    created = [c for c in claimed_olds(_run(stack), olds, stack) if c.old is None]
    assert {c.registration.type for c in created} <= LAYER_TYPES, [c.urn for c in created]
    assert all(not c.registration.custom for c in created)


def test_engine_urns_carry_every_ancestor_type_where_the_mock_keeps_one() -> None:
    rec = _run("prod")
    real = engine_urns(rec, "prod")
    by_urn = {r.urn: r for r in rec.registrations}
    nested = 0
    for r in rec.registrations:
        chain: list[str] = []
        node: Registration | None = r
        while node is not None:
            chain.insert(0, node.type)
            node = by_urn.get(node.parent)
        assert qualified_type(real[r.urn]) == "$".join(chain), r.urn
        assert qualified_type(r.urn).split("$")[-1] == r.type and qualified_type(r.urn).count("$") == 1
        nested += len(chain) > 2
    assert nested > 10  # the workloads' bindings and their resources, the FICs under the apps


class _Part(pulumi.ComponentResource):
    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_, name, None, opts)
        self.register_outputs({})


def _program(layer: bool, aliases: list[pulumi.Alias]) -> Recorder:
    """An identity under a component, at the root or under a new layer component (with aliases or not)."""
    rec, _ = install(stack="s")

    def program() -> dict[str, Any]:
        parent = _Part("test:index:Layer", "layer") if layer else None
        identity = _Part("test:index:Identity", "web", pulumi.ResourceOptions(parent=parent, aliases=aliases))
        managedidentity.UserAssignedIdentity(
            "web",
            resource_group_name="rg",
            resource_name_="id-web",
            opts=pulumi.ResourceOptions(parent=identity),
        )
        return {}

    run(program)
    return rec


def test_the_check_fails_for_a_re_parenting_without_an_alias() -> None:
    olds = set(engine_urns(_program(layer=False, aliases=[]), "s").values())
    bare = claimed_olds(_program(layer=True, aliases=[]), olds, "s")
    assert {c.old for c in bare} == {None}  # the identity and its child would be deleted and re-created
    aliased = claimed_olds(
        _program(layer=True, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]), olds, "s"
    )
    assert {c.old for c in aliased if c.old} == olds
    assert [c.registration.type for c in aliased if c.old is None] == ["test:index:Layer"]
    # The child claims its old URN only because its parent matched one (the engine's sg.aliases).
    child = next(c for c in aliased if c.registration.custom)
    assert child.urn.count("$") == 2 and child.old is not None and child.old.count("$") == 1


def _write_expected() -> None:
    """Record the engine URNs of the current layout (once, on the layout the stacks were deployed with)."""
    data = {stack: sorted(set(engine_urns(run(), stack).values())) for stack, run in sorted(STACKS.items())}
    EXPECTED.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--write-expected"]:
    _write_expected()
