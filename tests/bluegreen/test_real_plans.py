"""The blue-green tools on plans of the real program (planned offline), in a scratch project.

The scratch project links the real ``__main__.py``, ``program/``, ``stackconfig/``, ``components/`` and
``Pulumi.yaml`` and holds its own stack files, so each test can shape the owner stack it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from certless_ops.__main__ import main
from certless_ops.bluegreen.checks import CheckResult, Release, run_checks
from certless_ops.bluegreen.duplicate import DuplicateRequest, prepare
from certless_ops.bluegreen.planning import plan_stack, subscription_of
from certless_ops.bluegreen.planview import Plan
from certless_ops.commands.duplicate import offline_planner

REPO = Path(__file__).resolve().parents[2]

SHOP = """\
# shop: owns the shared identity layer (no colour: it is the layer's home) and serves traffic today.
config:
  azure-native:location: westeurope
  certless:tenantId: 6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11
  certless:resourceGroupName: rg-shop
  certless:identities:
    shop:
      name: id-shop
      protect: {protect}
  certless:apps:
    shop:
      displayName: shop
      protect: {protect}
  certless:workloads:
    api:
      kind: containerapp
      app: shop
      identity: shop
      containerApp:
        image: mcr.microsoft.com/azuredocs/containerapps-helloworld:latest
        environmentName: cae-shop
    worker:
      kind: aks
      app: shop
      identity: shop
      aks:
        clusterName: aks-shop
        namespace: shop
        createNamespace: {create_namespace}
        serviceAccount: worker
        image: mcr.microsoft.com/azuredocs/aks-helloworld:v1
        mode: via-identity
        credentials: azurecli
"""


def scratch_project(tmp: Path, *, protect: bool = True, create_namespace: bool = False) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("__main__.py", "program", "stackconfig", "components", "Pulumi.yaml"):
        (tmp / name).symlink_to(REPO / name)
    text = SHOP.format(protect=str(protect).lower(), create_namespace=str(create_namespace).lower())
    (tmp / "Pulumi.shop.yaml").write_text(text)
    return tmp


def plans_of(project: Path, *, same_namespace: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Duplicate shop into green with the real planner, write it, and plan both colours.

    ``same_namespace`` undoes duplicate's own namespace for green, as a user editing the file might.
    """
    result = prepare(DuplicateRequest(project, "shop", "green", org="acme"), offline_planner(project))
    text = result.text
    if same_namespace:
        text = text.replace("namespace: shop-green", "namespace: shop")
    result.path.write_text(text)
    blue = plan_stack(project, "shop")
    green = plan_stack(
        project,
        "shop-green",
        outputs={"acme/certless/shop": blue["outputs"]},
        subscription=subscription_of(blue),
    )
    return blue, green


def release_of(project: Path, *, same_namespace: bool = False) -> Release:
    blue, green = plans_of(project, same_namespace=same_namespace)
    return Release(Plan.from_json(blue, "blue (shop)"), Plan.from_json(green, "green (shop-green)"))


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, CheckResult]]:
    project = scratch_project(tmp_path_factory.mktemp("sound"))
    return project, {r.id: r for r in run_checks(release_of(project))}


def test_duplicated_stack_passes_every_check_on_real_plans(
    sound: tuple[Path, dict[str, CheckResult]],
) -> None:
    project, results = sound
    assert {k: v.findings for k, v in results.items() if not v.passed} == {}
    assert (project / "Pulumi.shop-green.yaml").read_text().count("certless:identityOwner:") == 1
    # both colours put their own cluster FIC on the one shared identity
    aks = results["aks-fics"].details
    assert any(d.startswith("blue (shop): workload 'worker' has cluster FIC") for d in aks)
    assert any(d.startswith("green (shop-green): workload 'worker' has cluster FIC") for d in aks)
    limit = " ".join(results["fic-limit"].details)
    assert "2 FICs (1 from blue (shop), 1 from green (shop-green))" in limit
    # the owner colour cannot simply be destroyed: its protected shared layer stays
    assert any("fails on its" in d and "--exclude-protected" in d for d in results["destroy-blue"].details)


def test_command_plans_both_stacks_and_reports_json(
    sound: tuple[Path, dict[str, CheckResult]], capsys: pytest.CaptureFixture[str]
) -> None:
    project, _ = sound
    args = ["bluegreen-check", "--blue", "shop", "--green", "shop-green", "--project-dir", str(project)]
    assert main([*args, "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert report["blue"] == "shop" and report["green"] == "shop-green"
    assert len(report["checks"]) == 9


def test_namespace_created_by_both_colours_on_one_cluster_is_caught(tmp_path: Path) -> None:
    project = scratch_project(tmp_path, create_namespace=True)
    results = {r.id: r for r in run_checks(release_of(project, same_namespace=True))}
    failed = {k for k, v in results.items() if not v.passed}
    assert failed == {"physical-names", "destroy-blue", "destroy-green"}
    assert (
        results["physical-names"].findings[0].startswith("Namespace shop is created by more than one stack")
    )
    assert any(
        "green (shop-green)'s Deployment" in f and "deleted with its container Namespace" in f
        for f in results["destroy-blue"].findings
    )


def test_unprotected_shared_layer_is_caught_on_real_plans(tmp_path: Path) -> None:
    results = {r.id: r for r in run_checks(release_of(scratch_project(tmp_path, protect=False)))}
    failed = {k for k, v in results.items() if not v.passed}
    assert failed == {"shared-protected", "destroy-blue"}
    assert any(f.startswith("identity /subscriptions/") for f in results["shared-protected"].findings)
    assert any("deleted as UserAssignedIdentity" in f for f in results["destroy-blue"].findings)


def test_policy_review_of_the_real_owner_plan(tmp_path: Path) -> None:
    from certless_ops.review import review_plan
    from certless_ops.review.pack_config import parse_pack_config
    from policy.rules import ALL_POLICIES
    from policy.rules.blue_green import COLOUR_OWNS_LAYER, SHARED_LAYER_PROTECTED

    config = parse_pack_config({SHARED_LAYER_PROTECTED: {"sharedLayerOwner": True}}, ALL_POLICIES)
    protected, green = plans_of(scratch_project(tmp_path / "protected"))
    assert [v for v in review_plan(protected, config).violations if v.policy == SHARED_LAYER_PROTECTED] == []
    # the colour stack written by duplicate references the layer: the colour rule has nothing to say
    assert green["config"]["certless:color"] == "green"
    green_review = review_plan(green, parse_pack_config({}, ALL_POLICIES))
    assert [v for v in green_review.violations if v.policy == COLOUR_OWNS_LAYER] == []
    unprotected, _ = plans_of(scratch_project(tmp_path / "unprotected", protect=False))
    found = {
        v.resource_type.rsplit(":", 1)[-1]
        for v in review_plan(unprotected, config).violations
        if v.policy == SHARED_LAYER_PROTECTED
    }
    assert found == {
        "UserAssignedIdentity",
        "Application",
        "ServicePrincipal",
        "ApplicationFederatedIdentityCredential",
    }


def test_duplicate_refuses_an_owner_that_does_not_export_the_shared_layer(tmp_path: Path) -> None:
    from certless_ops.errors import UserError

    project = scratch_project(tmp_path)
    blue, _ = plans_of(project)  # writes Pulumi.shop-green.yaml, which references acme/certless/shop
    stale = {**blue, "outputs": {k: v for k, v in blue["outputs"].items() if k != "sharedIdentity"}}
    request = DuplicateRequest(project, "shop-green", "blue", owner_plan=stale)
    with pytest.raises(UserError) as err:
        prepare(request, offline_planner(project))
    message = str(err.value)
    assert message.startswith(
        "stack 'shop-green' cannot be planned against the outputs of its owner stack 'acme/certless/shop':"
    )
    assert "has no output 'sharedIdentity'" in message
    assert not (project / "Pulumi.shop-blue.yaml").exists()


def test_duplicate_of_the_shipped_prod_stack(tmp_path: Path) -> None:
    for name in ("__main__.py", "program", "stackconfig", "components", "Pulumi.yaml", "Pulumi.prod.yaml"):
        (tmp_path / name).symlink_to(REPO / name)
    result = prepare(DuplicateRequest(tmp_path, "prod", "green", org="acme"), offline_planner(tmp_path))
    assert result.target == "prod-green"
    assert result.removed_keys == ["certless:identities", "certless:apps"]
    counts = {c.target.split(" ", 1)[0]: c.by_stack for c in result.fic_counts}
    # the orders-worker AKS workload puts one cluster FIC per colour on the shared identity
    assert counts == {"app": {"prod": 1}, "identity": {"prod": 1, "prod-green (new)": 1}}
    # prod's AKS workload creates its namespace on the cluster green shares: green gets its own
    assert any(
        n.startswith(
            "workload 'orders-worker': prod creates namespace 'orders' on cluster 'aks-certless-prod'; "
            "prod-green runs in its own namespace 'orders-green'"
        )
        for n in result.notes
    )


def test_check_plans_the_owner_both_colours_reference_and_names_it_when_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = scratch_project(tmp_path)
    plans_of(project)  # writes Pulumi.shop-green.yaml
    blue = prepare(DuplicateRequest(project, "shop-green", "blue"), offline_planner(project))
    blue.path.write_text(blue.text)
    args = ["bluegreen-check", "--blue", "shop-green", "--green", "shop-blue", "--project-dir", str(project)]
    # Both colours reference acme/certless/shop, whose Pulumi.shop.yaml is here: planned as the owner.
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["owner"] == "shop" and report["passed"] is True
    (project / "Pulumi.shop.yaml").rename(project / "shop.yaml.kept-elsewhere")
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        "error: the blue stack 'shop-green' references stack 'acme/certless/shop', which is not planned "
        "here; expected the owner of the shared identity layer as --owner shop (or --plan-owner FILE)"
    )


SHOP_NO_SHARED_IDENTITY = """\
config:
  azure-native:location: westeurope
  certless:tenantId: 6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11
  certless:resourceGroupName: rg-shop
  certless:apps:
    shop:
      displayName: shop
      protect: true
  certless:workloads:
    web:
      kind: appservice
      app: shop
      identityType: SystemAssigned
    worker:
      kind: aks
      app: shop
      aks:
        clusterName: aks-shop
        namespace: shop
        createNamespace: false
        serviceAccount: worker
        image: mcr.microsoft.com/azuredocs/aks-helloworld:v1
        mode: direct
        credentials: azurecli
"""


def test_app_only_layer_with_system_assigned_and_aks_direct_workloads(tmp_path: Path) -> None:
    from certless_ops.review import review_plan
    from certless_ops.review.pack_config import parse_pack_config
    from policy.rules import ALL_POLICIES
    from policy.rules.blue_green import COLOUR_OWNS_LAYER

    project = scratch_project(tmp_path)
    (project / "Pulumi.shop.yaml").write_text(SHOP_NO_SHARED_IDENTITY)
    blue, green = plans_of(project)
    results = {
        r.id: r for r in run_checks(Release(Plan.from_json(blue, "shop"), Plan.from_json(green, "green")))
    }
    assert {k: v.findings for k, v in results.items() if not v.passed} == {}
    # each colour trusts its own cluster (direct) and its own web app's identity on the one app
    assert any("4 FICs (2 from green, 2 from shop)" in d for d in results["fic-limit"].details)
    # the colour's FICs for its own compute are not the shared layer
    found = [v for v in review_plan(green, parse_pack_config({}, ALL_POLICIES)).violations]
    assert [v.message for v in found if v.policy == COLOUR_OWNS_LAYER] == []


def test_checks_on_the_shipped_prod_and_its_green(tmp_path: Path) -> None:
    for name in ("__main__.py", "program", "stackconfig", "components", "Pulumi.yaml", "Pulumi.prod.yaml"):
        (tmp_path / name).symlink_to(REPO / name)
    result = prepare(DuplicateRequest(tmp_path, "prod", "green", org="acme"), offline_planner(tmp_path))
    result.path.write_text(result.text)

    def check() -> dict[str, CheckResult]:
        blue = plan_stack(tmp_path, "prod")
        green = plan_stack(
            tmp_path,
            "prod-green",
            outputs={"acme/certless/prod": blue["outputs"]},
            subscription=subscription_of(blue),
        )
        return {
            r.id: r for r in run_checks(Release(Plan.from_json(blue, "prod"), Plan.from_json(green, "green")))
        }

    # as duplicated: green runs in a namespace of its own, so every check passes
    as_written = check()
    assert {k: v.findings for k, v in as_written.items() if not v.passed} == {}
    # the mistake duplicate avoids: green's worker in the namespace prod creates on the same cluster
    result.path.write_text(
        result.text.replace("namespace: orders-green", "namespace: orders").replace(
            "createNamespace: true", "createNamespace: false"
        )
    )
    shared = check()
    assert {k for k, v in shared.items() if not v.passed} == {"destroy-blue"}
    assert all(
        "deleted with its container Namespace 'orders-worker'" in f for f in shared["destroy-blue"].findings
    )


LAYER_ONLY = """\
# layer: the shared identity layer alone; both colours reference it
config:
  azure-native:location: westeurope
  certless:tenantId: 6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11
  certless:resourceGroupName: rg-shop
  certless:identities:
    shop:
      name: id-shop
      protect: true
  certless:apps:
    shop:
      displayName: shop
      protect: true
      trustIdentities: [shop]
"""


def test_identity_only_owner_lets_either_colour_be_destroyed_whole(tmp_path: Path) -> None:
    project = scratch_project(tmp_path)
    (project / "Pulumi.layer.yaml").write_text(LAYER_ONLY)
    blue_text = (
        SHOP.format(protect="true", create_namespace="true")
        .split("  certless:identities:")[0]
        .replace("config:\n", "config:\n  certless:identityOwner:\n    stack: acme/certless/layer\n")
    )
    workloads = SHOP.split("  certless:workloads:")[1].format(protect="true", create_namespace="true")
    (project / "Pulumi.shop-blue.yaml").write_text(
        blue_text + "  certless:color: blue\n  certless:workloads:" + workloads
    )
    green = prepare(DuplicateRequest(project, "shop-blue", "green", org="acme"), offline_planner(project))
    green.path.write_text(green.text)

    owner = plan_stack(project, "layer")
    outputs = {"acme/certless/layer": owner["outputs"]}
    sub = subscription_of(owner)
    blue = plan_stack(project, "shop-blue", outputs=outputs, subscription=sub)
    green_plan = plan_stack(project, "shop-green", outputs=outputs, subscription=sub)
    release = Release(
        Plan.from_json(blue, "blue"),
        Plan.from_json(green_plan, "green"),
        owner=Plan.from_json(owner, "layer"),
    )
    results = {r.id: r for r in run_checks(release)}
    assert {k: v.findings for k, v in results.items() if not v.passed} == {}
    # Nothing of the blue stack is protected: `pulumi destroy -s shop-blue` removes all of it.
    assert not any(r["protect"] for r in blue["resources"])
    assert not any(r["type"].startswith("azuread:") for r in blue["resources"] + green_plan["resources"])
