"""``./dev review``: the shipped stacks, exit statuses, JSON, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from policy_plans import IDS, find, good_plan, set_prop

from certless_ops.__main__ import main
from policy.rules import ALL_POLICIES


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # keep rich from wrapping the lines the tests read


def write(tmp_path: Path, plan: Any, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The offline plans of the shipped stacks, written once, in parallel."""
    folder = tmp_path_factory.mktemp("plans")
    paths = {stack: folder / f"{stack}.json" for stack in ("dev", "prod")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "certless_ops", "plan", "--stack", stack, "--json", str(path), "--quiet"],
            stderr=subprocess.PIPE,
        )
        for stack, path in paths.items()
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    return paths


def test_review_stack_runs_the_plan_and_the_shipped_prod_stack_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["review", "--stack", "prod", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stack"] == "prod"
    assert report["summary"]["passed"] is True
    assert report["summary"]["mandatory"] == 0
    assert report["summary"]["resources"] > 5
    assert report["packConfig"].endswith("policy/config/prod.json")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_plans_have_no_violation_at_all(
    stack: str, shipped_plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "--plan", str(shipped_plans[stack]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["stack"], report["violations"]) == (stack, [])
    assert report["packConfig"].endswith(f"policy/config/{stack}.json")


def test_the_real_prod_plan_is_checked_not_waved_through(
    tmp_path: Path, shipped_plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = json.loads(shipped_plans["prod"].read_text(encoding="utf-8"))
    fic = next(r for r in plan["resources"] if r["type"].endswith("ApplicationFederatedIdentityCredential"))
    identity = next(r for r in plan["resources"] if r["type"].endswith("UserAssignedIdentity"))
    set_prop(fic, "subject", identity["outputs"]["clientId"])
    assert main(["review", "--plan", str(write(tmp_path, plan)), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(v["policy"], v["urn"]) for v in report["violations"]] == [
        ("certless-app-fic-trusts-user-assigned-identity", fic["urn"])
    ]


def test_a_passing_plan_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--plan", str(write(tmp_path, good_plan("test")))]) == 0
    out = capsys.readouterr().out
    assert f"PASSED: policy pack certless@0.1.0 on stack 'test': {len(ALL_POLICIES)} policies" in out
    assert "0 mandatory and 0 advisory violation(s)" in out
    assert "pack config: none (policy defaults)" in out


def test_a_mandatory_violation_prints_the_table_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = good_plan()
    set_prop(find(plan, "orders-fic"), "subject", IDS["orders"][1])
    set_prop(find(plan, "orders-web", "WebApp"), "httpsOnly", False)
    assert main(["review", "--plan", str(write(tmp_path, plan))]) == 1
    out = capsys.readouterr().out
    assert "Policy violations - stack prod" in out
    assert "certless-app-fic-trusts-user-assigned-identity" in out and "mandatory" in out
    assert "certless-app-service-hardening" in out and "advisory" in out
    assert "orders-fic" in out
    assert "FAILED" in out and "1 mandatory and 1 advisory violation(s)" in out


def test_advisory_violations_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = good_plan()
    set_prop(find(plan, "orders-web", "WebApp"), "siteConfig.ftpsState", "AllAllowed")
    assert main(["review", "--plan", str(write(tmp_path, plan)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {
        "resources": len(plan["resources"]),
        "policies": len(ALL_POLICIES),
        "mandatory": 0,
        "advisory": 1,
        "passed": True,
    }
    assert report["violations"][0]["policy"] == "certless-app-service-hardening"
    assert report["violations"][0]["resourceType"] == "azure-native:web:WebApp"


def test_the_stack_config_file_is_picked_by_stack_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = good_plan("dev")
    cert_type = "azuread:index/applicationCertificate:ApplicationCertificate"
    plan["resources"].append(
        {"urn": f"urn:pulumi:dev::certless::{cert_type}::legacy", "type": cert_type, "name": "legacy"}
    )
    assert main(["review", "--plan", str(write(tmp_path, plan)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(v["policy"], v["enforcement"]) for v in report["violations"]] == [
        ("certless-no-client-certificates", "advisory")
    ]
    config = write(tmp_path, {"certless-no-client-certificates": "mandatory"}, "strict.json")
    assert main(["review", "--plan", str(write(tmp_path, plan)), "--config", str(config)]) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist; create it with `./dev plan"),
        ("{not json", "is not JSON (line 1, column 2"),
        (json.dumps({"schema": "certless.plan/v0", "resources": []}), "has schema 'certless.plan/v0'"),
    ],
)
def test_bad_plan_files_give_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    path = tmp_path / "plan.json" if content is None else write(tmp_path, content)
    assert main(["review", "--plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"certless-nope": "mandatory"}, "unknown policy 'certless-nope'; expected one of:"),
        (
            {"certless-fic-limits": {"maxPerParnet": 5}},
            "certless-fic-limits: unknown property 'maxPerParnet'",
        ),
        (
            {"certless-fic-limits": {"maxPerParent": 30}},
            "certless-fic-limits.maxPerParent: 30 is greater than",
        ),
        ({"certless-fic-audience": "strict"}, "enforcement level 'strict'; expected one of: advisory"),
        ({"certless-fic-audience": {"cloud": "Mars"}}, "certless-fic-audience.cloud: 'Mars' is not one of"),
        ("[1, 2]", "expected a JSON object of policy names, got list"),
        ("{oops", "is not JSON (line 1, column 2"),
    ],
)
def test_bad_pack_config_gives_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: Any, expected: str
) -> None:
    config_path = write(tmp_path, config, "config.json")
    plan_path = write(tmp_path, good_plan())
    assert main(["review", "--plan", str(plan_path), "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1


def test_an_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert "error: the offline plan for stack 'nope' failed: " in err
    assert err.count("\n") == 1


def test_the_us_government_stack_plans_and_reviews_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = Path(__file__).resolve().parents[1] / "e2e" / "stacks" / "Pulumi.usgov.yaml"
    plan = tmp_path / "usgov.json"
    assert main(["plan", "--config-file", str(stack_file), "--json", str(plan), "--quiet"]) == 0
    doc = json.loads(plan.read_text())
    assert doc["outputs"]["cloud"] == "AzureUSGovernment"
    capsys.readouterr()
    assert main(["review", "--plan", str(plan), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["stack"], report["violations"]) == ("usgov", [])


def test_a_container_app_with_a_private_registry_plans_and_reviews_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = (
        Path(__file__).resolve().parents[1] / "ops" / "fixtures" / "stacks" / "Pulumi.privateacr.yaml"
    )
    plan = tmp_path / "privateacr.json"
    assert main(["plan", "--config-file", str(stack_file), "--json", str(plan), "--quiet"]) == 0
    doc = json.loads(plan.read_text())
    (app,) = [r for r in doc["resources"] if r["type"] == "azure-native:app:ContainerApp"]
    assert app["inputs"]["configuration"]["registries"][0]["server"] == "certlessacr.azurecr.io"
    assert any(
        r["type"] == "azure-native:authorization:RoleAssignment"
        and r["inputs"]["roleDefinitionId"].endswith("/7f951dda-4ed3-4680-a7ca-43fe172d538d")
        for r in doc["resources"]
    )
    capsys.readouterr()
    assert main(["review", "--plan", str(plan), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["stack"], report["violations"]) == ("privateacr", [])
