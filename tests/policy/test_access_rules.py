"""The access rules on the real program's prod plan: a grant on the FIC identity, broad grants, repeats."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan
from certless_ops.review import Review, review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES, roles
from policy.rules.access import DUPLICATE_GRANT, GRANT_ON_FIC_IDENTITY, LEAST_PRIVILEGE
from policy.rules.production import PROTECTED

REPO = Path(__file__).resolve().parents[2]
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
SP = "azuread:index/servicePrincipal:ServicePrincipal"


@pytest.fixture(scope="module")
def prod_plan() -> dict[str, Any]:
    return run_plan(load_stack_config(REPO, "prod"))


@pytest.fixture
def plan(prod_plan: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(prod_plan)


def review(plan: dict[str, Any]) -> Review:
    return review_plan(plan, parse_pack_config({}, ALL_POLICIES))


def violations(result: Review, policy: str) -> list[tuple[str, str, str]]:
    return [(v.enforcement, v.resource_name, v.message) for v in result.violations if v.policy == policy]


def the_grant(plan: dict[str, Any]) -> dict[str, Any]:
    (grant,) = [r for r in plan["resources"] if r["type"] == ROLE_ASSIGNMENT and "-access-" in r["name"]]
    return grant


def set_props(resource: dict[str, Any], **values: Any) -> None:
    resource["inputs"].update(values)
    resource["outputs"].update(values)


def test_prods_grant_to_the_app_passes_every_access_rule(plan: dict[str, Any]) -> None:
    result = review(plan)
    for policy in (GRANT_ON_FIC_IDENTITY, LEAST_PRIVILEGE, DUPLICATE_GRANT, PROTECTED):
        assert violations(result, policy) == [], policy


def test_a_data_grant_on_the_identity_the_app_trusts_is_a_mandatory_violation(plan: dict[str, Any]) -> None:
    identity = next(r for r in plan["resources"] if r["type"] == UAMI)
    sp = next(r for r in plan["resources"] if r["type"] == SP)
    grant = the_grant(plan)
    set_props(grant, principalId=identity["outputs"]["principalId"])
    (found,) = violations(review(plan), GRANT_ON_FIC_IDENTITY)
    enforcement, name, message = found
    assert (enforcement, name) == ("mandatory", grant["name"])
    assert "'Storage Blob Data Contributor'" in message
    assert f"identity '{identity['name']}'" in message
    assert sp["outputs"]["objectId"] in message, "the message names the principal to grant instead"
    assert "403 AuthorizationPermissionMismatch" in message


def test_a_grant_on_an_identity_with_no_platform_use_is_a_violation() -> None:
    """An identity that serves no platform feature (no Functions host, no Key Vault references): a
    data role on it is the classic mistake, reported, not skipped."""
    plan = run_plan(load_stack_config(REPO, "dev"))
    identity = next(r for r in plan["resources"] if r["type"] == UAMI)
    grant = the_grant(plan)
    set_props(grant, principalId=identity["outputs"]["principalId"])
    # Key Vault references made the identity the platform's own: a read role on a vault is allowed.
    kv_read = roles.definition_id(
        grant["inputs"]["scope"].split("/")[2], roles.ROLES["Key Vault Secrets User"].guid
    )
    as_kv_reader = copy.deepcopy(plan)
    set_props(the_grant(as_kv_reader), roleDefinitionId=kv_read)
    assert violations(review(as_kv_reader), GRANT_ON_FIC_IDENTITY) == []
    # The web app resolves its references with its system identity: the user-assigned one has no use.
    for candidate in (plan, as_kv_reader):
        set_props(
            next(r for r in candidate["resources"] if r["type"] == "azure-native:web:WebApp"),
            keyVaultReferenceIdentity="SystemAssigned",
        )
        (found,) = violations(review(candidate), GRANT_ON_FIC_IDENTITY)
        assert found[:2] == ("mandatory", grant["name"])
        assert f"identity '{identity['name']}'" in found[2]


def test_acr_pull_on_the_identity_is_the_platforms_own_use(plan: dict[str, Any]) -> None:
    identity = next(r for r in plan["resources"] if r["type"] == UAMI)
    grant = the_grant(plan)
    sub = grant["inputs"]["scope"].split("/")[2]
    set_props(
        grant,
        principalId=identity["outputs"]["principalId"],
        roleDefinitionId=roles.definition_id(sub, roles.ROLES["AcrPull"].guid),
    )
    assert violations(review(plan), GRANT_ON_FIC_IDENTITY) == []


def test_the_functions_host_storage_roles_on_the_identity_are_allowed(plan: dict[str, Any]) -> None:
    host = [r for r in plan["resources"] if r["type"] == ROLE_ASSIGNMENT and "-host-" in r["name"]]
    assert host, "prod's Function App grants its host storage roles to the identity"
    result = review(plan)
    assert violations(result, GRANT_ON_FIC_IDENTITY) == []
    assert violations(result, LEAST_PRIVILEGE) == [], "Blob Data Owner is the host's documented minimum"


def test_host_storage_roles_are_the_hosts_only_under_its_binding(plan: dict[str, Any]) -> None:
    host = [r for r in plan["resources"] if r["type"] == ROLE_ASSIGNMENT and "-host-" in r["name"]]
    by_urn = {r["urn"]: r for r in plan["resources"]}
    grant = by_urn[host[0]["parent"]]
    assert grant["type"] == "certless:access:AccessGrant"
    binding = by_urn[grant["parent"]]
    assert binding["type"] == "certless:compute:FunctionAppBinding"
    assert all(r["protect"] for r in host), "protected with the identity in production"
    assert violations(review(plan), GRANT_ON_FIC_IDENTITY) == []
    # A plan of an earlier version had them directly under the binding: still the host's.
    older = copy.deepcopy(plan)
    for r in older["resources"]:
        if r["urn"] in {h["urn"] for h in host}:
            r["parent"] = binding["urn"]
    assert violations(review(older), GRANT_ON_FIC_IDENTITY) == []
    # The same roles on the identity declared anywhere else (a workload's own AccessGrant) are the
    # classic mistake: the app never uses them.
    elsewhere = next(
        r for r in plan["resources"] if r["type"] == "certless:access:AccessGrant" and r is not grant
    )
    moved = copy.deepcopy(plan)
    for r in moved["resources"]:
        if r["urn"] in {h["urn"] for h in host}:
            r["parent"] = elsewhere["urn"]
    found = violations(review(moved), GRANT_ON_FIC_IDENTITY)
    assert sorted(name for _, name, _ in found) == sorted(h["name"] for h in host)
    assert {enforcement for enforcement, _, _ in found} == {"mandatory"}


@pytest.mark.parametrize(
    ("role", "scope", "fragment"),
    [
        ("Contributor", None, "'Contributor' manages resources"),
        ("Owner", None, "'Owner' manages resources"),
        ("Storage Blob Data Reader", "subscription", "is a whole subscription"),
        ("Storage Blob Data Owner", None, "allows every data action under"),
        ("Key Vault Secrets Officer", None, "allows every data action under"),
    ],
)
def test_broad_grants_are_advisory(plan: dict[str, Any], role: str, scope: str | None, fragment: str) -> None:
    grant = the_grant(plan)
    sub = grant["inputs"]["scope"].split("/")[2]
    values: dict[str, Any] = {"roleDefinitionId": roles.definition_id(sub, roles.ROLES[role].guid)}
    if scope == "subscription":
        values["scope"] = f"/subscriptions/{sub}"
    set_props(grant, **values)
    (found,) = violations(review(plan), LEAST_PRIVILEGE)
    assert found[0] == "advisory"
    assert fragment in found[2]


def test_the_same_grant_twice_is_a_mandatory_violation(plan: dict[str, Any]) -> None:
    grant = the_grant(plan)
    twin = copy.deepcopy(grant)
    twin["name"] = grant["name"] + "-twin"
    twin["urn"] = grant["urn"] + "-twin"
    upper = twin["inputs"]["scope"].upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")
    set_props(twin, scope=upper)  # ARM IDs are case-insensitive: still the same grant
    plan["resources"].append(twin)
    (found,) = violations(review(plan), DUPLICATE_GRANT)
    assert found[:2] == ("mandatory", twin["name"])
    assert "409 RoleAssignmentExists" in found[2]


def test_an_unprotected_grant_in_prod_is_reported(plan: dict[str, Any]) -> None:
    grant = the_grant(plan)
    assert grant["protect"] is True, "prod's app is protected, and so is its grant"
    grant["protect"] = False
    (found,) = violations(review(plan), PROTECTED)
    assert found[:2] == ("mandatory", grant["name"])
