"""The two blue-green policy rules, through pulumi_policy's analyzer servicer (certless_ops.review).

The review hands the pack the stack config (``certless:color``) and the policy config
(``sharedLayerOwner``) as the Pulumi CLI would.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel

from certless_ops.review import review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES
from policy.rules.blue_green import COLOUR_OWNS_LAYER, SHARED_LAYER_PROTECTED

from . import planbuilder as pb


def violations(
    plan: dict[str, Any], policy: str, config: dict[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    """(enforcement, resource name, message) of one policy's violations."""
    review = review_plan(plan, parse_pack_config(config or {}, ALL_POLICIES))
    return [(v.enforcement, v.resource_name, v.message) for v in review.violations if v.policy == policy]


def colour_violations(
    plan: dict[str, Any], policy_config: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """(resource name, message) of the colour rule's violations, each asserted mandatory."""
    found = violations(plan, COLOUR_OWNS_LAYER, {COLOUR_OWNS_LAYER: policy_config} if policy_config else None)
    assert {level for level, _, _ in found} <= {"mandatory"}
    return [(name, message) for _, name, message in found]


def owner(color: str = "") -> dict[str, Any]:
    plan = pb.owner_plan()
    plan["config"] = {"certless:color": color, "certless:tenantId": pb.TENANT}
    return plan


def test_both_rules_are_registered_in_the_pack() -> None:
    names = {p.name for p in ALL_POLICIES}
    assert {COLOUR_OWNS_LAYER, SHARED_LAYER_PROTECTED} <= names


def test_colour_stack_referencing_the_layer_passes() -> None:
    green = pb.colour_plan()
    assert green["config"]["certless:color"] == "green"
    assert colour_violations(green) == []


def test_owner_without_colour_passes() -> None:
    assert colour_violations(owner()) == []


def test_colour_stack_that_owns_the_layer_is_reported_per_resource() -> None:
    found = colour_violations(owner("green"))
    assert sorted(name for name, _ in found) == ["app-orders", "app-orders", "id-orders", pb.APP_FIC_NAME]
    message = next(m for name, m in found if name == "id-orders")
    assert message.startswith(
        "colour stack (certless:color 'green') owns UserAssignedIdentity 'id-orders' of the shared "
        "identity layer"
    )
    assert "certless:identityOwner" in message
    assert "./dev duplicate --from <owner stack> --color green" in message
    assert "mark it with sharedLayerOwner: true in its policy config" in message


def test_a_coloured_owner_marked_in_its_policy_config_passes() -> None:
    assert colour_violations(owner("blue"), {"sharedLayerOwner": True}) == []
    assert colour_violations(owner("blue"), {"sharedLayerOwner": False}) != []


def test_colour_rule_is_mandatory() -> None:
    policy = next(p for p in ALL_POLICIES if p.name == COLOUR_OWNS_LAYER)
    assert policy.enforcement_level is EnforcementLevel.MANDATORY


def test_cluster_fic_of_a_colour_is_not_part_of_the_shared_layer() -> None:
    green = pb.colour_plan(aks=True)
    direct = pb.copy_plan(pb.shared_layer("prod-green")[4])
    direct["inputs"]["issuer"] = direct["outputs"]["issuer"] = pb.cluster_issuer("green")
    direct["inputs"]["subject"] = direct["outputs"]["subject"] = "system:serviceaccount:orders:orders-green"
    green["resources"].append(direct)
    assert colour_violations(green) == []


def test_protected_shared_layer_passes() -> None:
    assert (
        violations(owner(), SHARED_LAYER_PROTECTED, {SHARED_LAYER_PROTECTED: {"sharedLayerOwner": True}})
        == []
    )


def test_unprotected_shared_layer_fails_when_the_stack_is_an_owner() -> None:
    plan = pb.owner_plan(protect=False)
    plan["config"] = {"certless:tenantId": pb.TENANT}
    assert violations(plan, SHARED_LAYER_PROTECTED) == []  # not marked as a shared-layer owner
    found = violations(plan, SHARED_LAYER_PROTECTED, {SHARED_LAYER_PROTECTED: {"sharedLayerOwner": True}})
    assert {level for level, _, _ in found} == {"mandatory"}
    assert sorted(name for _, name, _ in found) == ["app-orders", "app-orders", "id-orders", pb.APP_FIC_NAME]
    message = next(m for _, name, m in found if name == "id-orders")
    assert message.startswith(
        "UserAssignedIdentity 'id-orders' belongs to the identity layer that colour stacks reference, "
        "but it is not protected"
    )
    assert "Set protect: true on its entry in certless:identities or certless:apps" in message
