"""The blue-green checks on small plans: a sound release passes; each mistake fails its own check."""

from __future__ import annotations

from typing import Any

import pytest

from certless_ops.bluegreen.checks import CheckResult, Release, run_checks
from certless_ops.bluegreen.planview import Plan

from . import planbuilder as pb


def run(
    blue: dict[str, Any], green: dict[str, Any], owner: dict[str, Any] | None = None
) -> dict[str, CheckResult]:
    release = Release(
        Plan.from_json(blue, "blue (prod)"),
        Plan.from_json(green, "green (prod-green)"),
        Plan.from_json(owner, "owner") if owner else None,
    )
    return {r.id: r for r in run_checks(release)}


def failing(results: dict[str, CheckResult]) -> set[str]:
    return {k for k, v in results.items() if not v.passed}


@pytest.mark.parametrize("aks", [False, True], ids=["appservice", "aks"])
def test_sound_release_passes_every_check(aks: bool) -> None:
    results = run(pb.owner_plan(aks=aks), pb.colour_plan(aks=aks))
    assert failing(results) == set(), {k: v.findings for k, v in results.items()}
    assert set(results) == {
        "shared-layer",
        "physical-names",
        "fic-unique",
        "destroy-blue",
        "destroy-green",
        "shared-protected",
        "aks-fics",
        "fic-limit",
        "redirect-uris",
    }
    assert any("owned by blue (prod)" in d for d in results["shared-layer"].details)


def test_destroying_the_protected_owner_reports_exclude_protected() -> None:
    results = run(pb.owner_plan(), pb.colour_plan())
    details = " ".join(results["destroy-blue"].details)
    assert "pulumi destroy -s prod fails on its 4 protected resources" in details
    # the identity's resource group is kept because the protected identity depends on it
    assert "keeps 4 protected + 1 they depend on" in details


def test_colliding_physical_name_fails() -> None:
    green = pb.colour_plan()
    site = pb.find(green, "web:WebApp")
    site["id"] = pb.site_id("rg-orders-green", "orders-blue")  # colour left out of the site name
    results = run(pb.owner_plan(), green)
    # the same site in both stacks: destroying either colour deletes the other's site too
    assert failing(results) == {"physical-names", "destroy-blue", "destroy-green"}
    assert any(
        "green (prod-green)'s WebApp 'web-orders-green'" in f for f in results["destroy-blue"].findings
    )
    (finding,) = results["physical-names"].findings
    assert "WebApp name 'orders-blue' is created by more than one stack" in finding
    assert "blue (prod): WebApp 'web-orders-blue'" in finding
    assert "green (prod-green): WebApp 'web-orders-green'" in finding


def test_green_that_creates_its_own_shared_layer_fails_ownership_names_and_fic_checks() -> None:
    green = pb.colour_plan()
    green["resources"].extend(pb.shared_layer("prod-green"))
    results = run(pb.owner_plan(), green)
    assert {"shared-layer", "physical-names", "fic-unique"} <= failing(results)
    assert any(
        "identity " + pb.IDENTITY_ID + " is created by blue (prod) and green (prod-green)" in f
        for f in results["shared-layer"].findings
    )
    (fic,) = results["fic-unique"].findings
    assert f"app {pb.APP_OBJECT_ID} gets 2 FICs for issuer {pb.ISSUER} and subject {pb.PRINCIPAL_ID}" in fic
    assert "issuer and subject combination already exists" in fic


def test_second_fic_with_same_issuer_and_subject_under_another_name_fails() -> None:
    green = pb.colour_plan()
    extra = pb.shared_layer("prod-green")[4]
    extra["inputs"]["displayName"] = extra["outputs"]["displayName"] = "mi-id-orders-green"
    green["resources"].append(extra)
    results = run(pb.owner_plan(), green)
    assert "fic-unique" in failing(results)
    assert "physical-names" not in failing(results)  # different FIC names: only issuer+subject clash


def test_unprotected_shared_layer_fails_protection_and_destroy_of_owner() -> None:
    results = run(pb.owner_plan(protect=False), pb.colour_plan())
    assert failing(results) == {"shared-protected", "destroy-blue"}
    protect_findings = results["shared-protected"].findings
    assert len(protect_findings) == 4
    assert any(f.startswith(f"identity {pb.IDENTITY_ID}") for f in protect_findings)
    destroy = results["destroy-blue"].findings
    assert any(
        f"identity {pb.IDENTITY_ID}: deleted as UserAssignedIdentity 'id-orders'" in f for f in destroy
    )
    assert any("app registration" in f for f in destroy)
    # green's compute survives: nothing of green's is listed
    assert not any("green (prod-green)" in f for f in destroy)


def test_retain_on_delete_keeps_the_shared_layer_but_not_its_resource_group() -> None:
    blue = pb.owner_plan(protect=False)
    for res in blue["resources"][1:]:
        if res["type"].startswith("azuread") or res["type"].endswith("UserAssignedIdentity"):
            res["retain_on_delete"] = True
    results = run(blue, pb.colour_plan())
    assert results["shared-protected"].passed
    (finding,) = results["destroy-blue"].findings
    assert (
        f"identity {pb.IDENTITY_ID}: deleted with its container ResourceGroup 'rg-certless-shared'" in finding
    )


def test_green_placed_in_the_shared_resource_group_would_delete_it() -> None:
    green = pb.colour_plan()
    green["resources"].append(
        pb.resource(
            "prod-green",
            "azure-native:resources:ResourceGroup",
            "rg-certless-shared",
            id_=pb.rg_id("rg-certless-shared"),
        )
    )
    results = run(pb.owner_plan(), green)
    assert "destroy-green" in failing(results)
    findings = results["destroy-green"].findings
    assert any(f.startswith("pulumi destroy -s prod-green: identity ") for f in findings)
    assert any("deleted with its container ResourceGroup 'rg-certless-shared'" in f for f in findings)


def test_green_using_another_identity_fails_shared_layer() -> None:
    green = pb.colour_plan()
    green["outputs"]["workloads"]["orders"]["identityResourceId"] = pb.IDENTITY_ID + "-green"
    results = run(pb.owner_plan(), green)
    assert "shared-layer" in failing(results)
    (finding,) = results["shared-layer"].findings
    assert "workload 'orders': blue (prod) uses identity" in finding and "-green" in finding


def test_aks_colour_without_its_own_cluster_fic_fails() -> None:
    green = pb.colour_plan(aks=True)
    green["resources"] = [
        r for r in green["resources"] if not r["type"].endswith("FederatedIdentityCredential")
    ]
    results = run(pb.owner_plan(aks=True), green)
    assert failing(results) == {"aks-fics"}
    (finding,) = results["aks-fics"].findings
    assert finding.startswith("green (prod-green): workload 'orders' has no FIC of its own on the identity")
    assert pb.cluster_issuer("green") in finding


def test_aks_fics_on_one_identity_without_ordering_fail_serialization() -> None:
    blue = pb.owner_plan(aks=True)
    second = pb.copy_plan(pb.find(blue, "FederatedIdentityCredential", "aks-orders-blue"))
    second["name"] = "aks-orders-blue-2"
    second["urn"] += "-2"
    second["id"] = pb.identity_fic_id("aks-orders-blue-2")
    second["inputs"]["subject"] = second["outputs"]["subject"] = "system:serviceaccount:orders:worker"
    blue["resources"].append(second)
    results = run(blue, pb.colour_plan(aks=True))
    assert failing(results) == {"aks-fics"}
    assert "can be written at the same time" in results["aks-fics"].findings[0]
    # chained after the first one: serialized, passes
    second["dependencies"] = [pb.find(blue, "FederatedIdentityCredential", "aks-orders-blue")["urn"]]
    assert run(blue, pb.colour_plan(aks=True))["aks-fics"].passed


def test_more_than_twenty_fics_on_the_identity_fails_the_limit_with_the_breakdown() -> None:
    blue = pb.owner_plan(aks=True)
    base = pb.find(blue, "FederatedIdentityCredential", "aks-orders-blue")
    previous = base["urn"]
    for i in range(19):
        extra = pb.copy_plan(base)
        extra["name"] = f"extra-{i}"
        extra["urn"] = base["urn"] + f"-{i}"
        extra["id"] = pb.identity_fic_id(f"extra-{i}")
        extra["inputs"]["subject"] = extra["outputs"]["subject"] = f"system:serviceaccount:orders:sa{i}"
        extra["dependencies"] = [previous]
        previous = extra["urn"]
        blue["resources"].append(extra)
    results = run(blue, pb.colour_plan(aks=True))
    assert failing(results) == {"fic-limit"}
    (finding,) = results["fic-limit"].findings
    assert finding == (
        f"identity {pb.IDENTITY_ID}: 21 FICs (20 from blue (prod), 1 from green (prod-green)), "
        "over the limit of 20"
    )


def test_shared_layer_owned_by_a_third_stack_needs_its_plan() -> None:
    owner = pb.owner_plan(stack="prod-identity", color="shared")
    owner["resources"] = [r for r in owner["resources"] if "orders-" not in r["name"] or "mi-" in r["name"]]
    blue = pb.colour_plan(stack="prod-blue", color="blue")
    green = pb.colour_plan()
    without = run(blue, green)
    assert "shared-protected" in failing(without)
    assert "pass the owner stack's plan" in without["shared-protected"].findings[0]
    with_owner = run(blue, green, owner)
    assert failing(with_owner) == set(), {k: v.findings for k, v in with_owner.items()}


def test_plans_from_different_subscriptions_are_flagged() -> None:
    green = pb.colour_plan()
    for res in green["resources"]:
        if res["id"]:
            res["id"] = res["id"].replace(pb.SUB, "99999999-2222-3333-4444-555555555555")
    results = run(pb.owner_plan(), green)
    assert "shared-layer" in failing(results)
    assert any("simulated in different subscriptions" in f for f in results["shared-layer"].findings)


def test_colour_workload_whose_app_does_not_trust_its_identity_fails() -> None:
    green = pb.colour_plan()
    other = dict(green["outputs"]["workloads"]["orders"])
    other["appObjectId"] = "0fd0a0c0-5555-4e6f-8a9b-0c1d2e3f4a5b"
    green["outputs"]["workloads"]["reports"] = other
    results = run(pb.owner_plan(), green)
    assert failing(results) == {"shared-layer"}
    (finding,) = results["shared-layer"].findings
    assert finding.startswith(
        "green (prod-green): workload 'reports' signs in as app 0fd0a0c0-5555-4e6f-8a9b-0c1d2e3f4a5b "
        "with identity"
    )
    assert "no stack checked here creates the app's FIC trusting that identity" in finding


def test_aks_direct_workloads_trust_the_cluster_from_the_app() -> None:
    def direct(plan: dict[str, Any], color: str) -> dict[str, Any]:
        work = plan["outputs"]["workloads"]["orders"]
        work.update(
            aksMode="direct",
            identityType=None,
            identityClientId=None,
            identityPrincipalId=None,
            identityResourceId=None,
        )
        work["aks"]["serviceAccount"] = f"orders-{color}"
        work["federatedCredentials"] = [
            {
                "name": f"aks-orders-{color}",
                "on": "app",
                "issuer": pb.cluster_issuer(color),
                "subject": f"system:serviceaccount:orders:orders-{color}",
                "audience": pb.AUDIENCE,
            }
        ]
        fic = pb.find(plan, "managedidentity:FederatedIdentityCredential")
        plan["resources"].remove(fic)
        app_fic = pb.copy_plan(pb.shared_layer(plan["stack"])[4])
        app_fic["urn"] += f"-{color}"
        app_fic["name"] = f"aks-orders-{color}"
        app_fic["protect"] = False
        for side in ("inputs", "outputs"):
            app_fic[side].update(
                displayName=f"aks-orders-{color}",
                issuer=pb.cluster_issuer(color),
                subject=f"system:serviceaccount:orders:orders-{color}",
            )
        app_fic["id"] = f"{pb.APP_OBJECT_ID}/federatedIdentityCredential/{color}"
        plan["resources"].append(app_fic)
        return plan

    results = run(direct(pb.owner_plan(aks=True), "blue"), direct(pb.colour_plan(aks=True), "green"))
    assert failing(results) == set(), {k: v.findings for k, v in results.items()}
    details = " ".join(results["aks-fics"].details)
    assert f"workload 'orders' has cluster FIC 'aks-orders-green' on the app {pb.APP_OBJECT_ID}" in details
    assert f"app {pb.APP_OBJECT_ID}: 3 FICs" in " ".join(results["fic-limit"].details)


def test_system_assigned_workloads_are_noted_not_failed() -> None:
    blue, green = pb.owner_plan(), pb.colour_plan()
    for plan, color in ((blue, "blue"), (green, "green")):
        work = plan["outputs"]["workloads"]["orders"]
        work["identityType"] = "SystemAssigned"
        work["identityResourceId"] = pb.site_id(f"rg-orders-{color}", f"orders-{color}")
    results = run(blue, green)
    assert "shared-layer" not in failing(results)
    assert any("uses a system-assigned identity" in d for d in results["shared-layer"].details)
