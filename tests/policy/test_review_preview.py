"""``review --preview``: the pack run on a preview plan as ``pulumi preview`` runs it.

The engine sends a policy pack unknown values as pulumi_policy's unknown sentinel, in Analyze's inputs
and in AnalyzeStack's outputs, and runs AnalyzeStack in a preview too. A rule that reads an unknown is
skipped for that resource: the review lists it under ``skippedInPreview``, never as passed, never as
a violation. Every stack here is planned with ``plan --preview`` and reviewed from the command line,
as a user runs them.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE
from rich.console import Console

from certless_ops.__main__ import main
from certless_ops.review import review_plan
from certless_ops.review.analyzer import analyze_requests, analyze_stack_request
from certless_ops.review.report import print_json, print_markdown, print_table
from policy.rules import ALL_POLICIES

REPO = Path(__file__).resolve().parents[2]
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
WEB_APP = "azure-native:web:WebApp"
TENANT = "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11"


def _prod() -> dict[str, Any]:
    return yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text(encoding="utf-8"))


def _aks_only(credentials: str) -> dict[str, Any]:
    """prod's Entra-integrated AKS workload alone, signing in to the cluster with ``credentials``."""
    doc = _prod()
    workloads = doc["config"]["certless:workloads"]
    worker = workloads["orders-worker"]
    worker["aks"]["credentials"] = credentials
    doc["config"]["certless:workloads"] = {"orders-worker": worker}
    return doc


IDENTITY_OWNER = {
    "config": {
        "azure-native:location": "westeurope",
        "certless:tenantId": TENANT,
        "certless:resourceGroupName": "rg-certless-prod",
        "certless:identities": {"shared": {"name": "id-certless-shared-prod", "protect": True}},
        "certless:apps": {
            "orders": {"displayName": "certless-orders-prod", "protect": True, "trustIdentities": ["shared"]}
        },
    }
}
# name -> (stack name, config file or None for the shipped Pulumi.<stack>.yaml)
STACKS: dict[str, tuple[str, Any]] = {
    "dev": ("dev", None),
    "prod": ("prod", None),
    "identity-owner": ("owner", IDENTITY_OWNER),
    "aks-azurecli": ("aks", _aks_only("azurecli")),
    "containerapp-registry": (
        "acr",
        REPO / "tests" / "ops" / "fixtures" / "stacks" / "Pulumi.privateacr.yaml",
    ),
    "usgov": ("usgov", REPO / "tests" / "e2e" / "stacks" / "Pulumi.usgov.yaml"),
}
EXTRA = {"aks-admin": ("aks", _aks_only("admin"))}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "certless_ops", *args]


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every stack's preview plan (and dev's plan) from `plan --preview --json`, in parallel processes."""
    folder = tmp_path_factory.mktemp("preview-plans")
    commands: dict[str, list[str]] = {}
    for name, (stack, source) in {**STACKS, **EXTRA}.items():
        args = ["plan", "--stack", stack, "--preview", "--quiet", "--json", str(folder / f"{name}.json")]
        config_file = source
        if isinstance(source, dict):
            config_file = folder / f"Pulumi.{name}.yaml"
            config_file.write_text(yaml.safe_dump(source), encoding="utf-8")
        if config_file is not None:
            args += ["--config-file", str(config_file)]
        commands[name] = _cli(*args)
    commands["dev-plan"] = _cli("plan", "--stack", "dev", "--quiet", "--json", str(folder / "dev-plan.json"))
    procs = {n: subprocess.Popen(c, cwd=REPO, stderr=subprocess.PIPE) for n, c in commands.items()}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: {err.decode()}"
    return {name: folder / f"{name}.json" for name in commands}


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # keep rich from wrapping the lines the tests read


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _review(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    """`certless-ops review ... --json`: exit status, the JSON report, the human summary."""
    code = main(["review", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


@pytest.mark.parametrize("name", sorted(STACKS))
def test_each_stack_previews_and_reviews_cleanly_in_preview(
    name: str, plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _load(plans[name])
    assert plan["simulation"]["preview"] is True
    code, report, err = _review(capsys, "--plan", str(plans[name]), "--preview")
    assert code == 0, err
    assert report["preview"] is True
    assert report["violations"] == [], report["violations"]
    assert report["summary"]["passed"] is True and report["summary"]["resources"] == len(plan["resources"])
    assert "Traceback" not in err and "PASSED in preview" in err
    # Whatever was skipped names a rule of the pack and a resource of the plan, and says why.
    urns = {r["urn"] for r in plan["resources"]}
    names = {p.name for p in ALL_POLICIES}
    for skipped in report["skippedInPreview"]:
        assert skipped["policy"] in names and skipped["urn"] in urns
        assert "known" in skipped["reason"]


def test_the_engine_sees_unknowns_as_the_sentinel_in_inputs_and_stack_outputs(plans: dict[str, Path]) -> None:
    preview = _load(plans["dev"])
    fic = next(r for r in preview["resources"] if r["type"] == APP_FIC)
    request = next(r for r in analyze_requests(preview) if r.urn == fic["urn"])
    assert request.properties["subject"] == UNKNOWN_STRING_VALUE
    assert request.properties["issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    stack = {r.urn: r for r in analyze_stack_request(preview).resources}
    identity = next(r for r in preview["resources"] if r["type"] == UAMI)
    # As azure-native previews a create: every output it computes is unknown, not missing.
    assert stack[identity["urn"]].properties["principalId"] == UNKNOWN_STRING_VALUE
    assert "[unknown]" not in json.dumps([dict(r.properties) for r in stack.values()], default=str)


def test_a_pack_rule_that_meets_an_unknown_is_listed_as_skipped_where_the_plan_judges_it(
    plans: dict[str, Path],
) -> None:
    preview, full = _load(plans["dev"]), _load(plans["dev-plan"])
    fic = next(r for r in preview["resources"] if r["type"] == APP_FIC)
    skipped = {(s.policy, s.urn): s for s in review_plan(preview).skipped}
    assert ("certless-fic-subject-format", fic["urn"]) in skipped
    assert "subject" in skipped[("certless-fic-subject-format", fic["urn"])].reason
    assert ("certless-app-fic-trusts-user-assigned-identity", fic["urn"]) in skipped
    # The same FIC, known, with a client ID as subject: the plan's review reports it.
    identity = next(r for r in full["resources"] if r["type"] == UAMI)
    for resource in full["resources"]:
        if resource["type"] == APP_FIC:
            resource["inputs"]["subject"] = resource["outputs"]["subject"] = identity["outputs"]["clientId"]
    judged = review_plan(full)
    assert judged.skipped == [] and judged.preview is False
    assert "certless-app-fic-trusts-user-assigned-identity" in {v.policy for v in judged.violations}


def _reads_the_subject(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Reads straight from the props, as pulumi_policy's own examples do: an unknown raises.
    if args.resource_type == APP_FIC and args.props["subject"] != "expected":
        report("subject is not the expected one", None)


READS_SUBJECT = ResourceValidationPolicy(
    name="test-reads-subject",
    description="reads a FIC's subject straight from the props",
    validate=_reads_the_subject,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def test_a_rule_that_raises_on_an_unknown_is_skipped_not_passed_nor_a_crash(plans: dict[str, Path]) -> None:
    preview = _load(plans["dev"])
    fics = [r for r in preview["resources"] if r["type"] == APP_FIC]
    review = review_plan(preview, policies=[READS_SUBJECT])
    assert review.violations == []
    assert [(s.policy, s.urn) for s in review.skipped] == [("test-reads-subject", f["urn"]) for f in fics]
    assert all(s.reason == "string value at .subject can't be known during preview" for s in review.skipped)
    # On the plan, where the subject is known, the same rule reports: it was not waved through.
    normal = review_plan(_load(plans["dev-plan"]), policies=[READS_SUBJECT])
    assert [v.urn for v in normal.violations] == [f["urn"] for f in fics] and normal.skipped == []


def test_the_report_counts_the_rules_and_resources_skipped(plans: dict[str, Path]) -> None:
    preview = _load(plans["dev"])
    fics = [r for r in preview["resources"] if r["type"] == APP_FIC]
    review = review_plan(preview, policies=[READS_SUBJECT])
    text = io.StringIO()
    print_table(review, Console(file=text, width=250), None)
    expected = f"skipped in preview: 1 rule(s) on {len(fics)} resource(s) read values known only after deploy"
    assert expected in text.getvalue()
    assert "test-reads-subject" in text.getvalue() and "PASSED in preview" in text.getvalue()
    machine = io.StringIO()
    print_json(review, machine)
    document = json.loads(machine.getvalue())
    assert [s["resourceName"] for s in document["skippedInPreview"]] == [f["name"] for f in fics]
    assert document["summary"]["skippedInPreview"] == {"rules": 1, "resources": len(fics)}
    summary = io.StringIO()
    print_markdown(review, preview, summary, None)
    assert f"Reviewed as `pulumi preview` runs the pack; {expected}." in summary.getvalue()
    assert "| `test-reads-subject` |" in summary.getvalue()
    whole = review_plan(preview)
    assert f"{len({s.policy for s in whole.skipped})} rule(s) on " in whole.skipped_summary


def test_a_literal_secret_in_app_settings_is_still_reported_in_preview(
    plans: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = _load(plans["dev"])
    web = next(r for r in preview["resources"] if r["type"] == WEB_APP)
    web["inputs"]["siteConfig"]["appSettings"].append(
        {"name": "AzureAd__ClientSecret", "value": "Xq8Q~s3cr3tV4lu3.abcdefghijklmnopqrstuv"}
    )
    path = tmp_path / "dev-preview.json"
    path.write_text(json.dumps(preview), encoding="utf-8")
    code, report, err = _review(capsys, "--plan", str(path), "--preview")
    assert code == 1, err
    found = [(v["policy"], v["urn"], v["enforcement"]) for v in report["violations"]]
    assert ("certless-no-secrets-in-settings", web["urn"], "mandatory") in found
    assert "s3cr3t" not in err + json.dumps(report)  # never echoed
    # Judged, so not also listed as skipped on that resource.
    assert ("certless-no-secrets-in-settings", web["urn"]) not in {
        (s["policy"], s["urn"]) for s in report["skippedInPreview"]
    }


def test_admin_credentials_on_aks_are_flagged_advisory_in_preview(
    plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, err = _review(capsys, "--plan", str(plans["aks-admin"]), "--preview")
    assert code == 0, err  # advisory only
    found = [v for v in report["violations"] if v["policy"] == "certless-aks-admin-credentials"]
    assert len(found) == 1 and found[0]["enforcement"] == "advisory"
    assert "orders-worker" in found[0]["message"]


@pytest.mark.parametrize(
    ("plan", "flag", "expected"),
    [
        ("dev-plan", ["--preview"], "is not a preview plan"),
        ("dev", [], "is a preview plan"),
    ],
)
def test_the_wrong_kind_of_plan_is_one_line_and_exit_2(
    plan: str, flag: list[str], expected: str, plans: dict[str, Path]
) -> None:
    result = subprocess.run(
        _cli("review", "--plan", str(plans[plan]), *flag),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_program_that_breaks_under_preview_is_one_line_and_exit_2() -> None:
    branchy = REPO / "tests" / "ops" / "fixtures" / "branchy"
    result = subprocess.run(
        _cli("review", "--project-dir", str(branchy), "--stack", "inapply", "--preview"),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: the offline preview plan for stack 'inapply' failed: ")
