"""``review --preview``: the pack run on a preview plan as ``pulumi preview`` runs it.

The engine sends unknown values to the pack as pulumi_policy's unknown sentinel; a rule that reads one
is skipped for that resource (the library answers "can't run policy ... during preview"), which the
review lists under ``skippedInPreview`` instead of passing it or reporting it as a violation.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy
from rich.console import Console

from certless_ops.__main__ import main
from certless_ops.review import review_plan
from certless_ops.review.report import print_json, print_table
from policy.rules import ALL_POLICIES

REPO = Path(__file__).resolve().parents[2]
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def _plan_files(folder: Path, runs: dict[str, list[str]]) -> dict[str, Path]:
    """`plan ... --json` for each name, in parallel processes, as a user runs them."""
    paths = {name: folder / f"{name}.json" for name in runs}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "certless_ops", "plan", *args, "--json", str(paths[name]), "--quiet"],
            cwd=REPO,
            stderr=subprocess.PIPE,
        )
        for name, args in runs.items()
    }
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {err.decode()}"
    return paths


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _plan_files(
        tmp_path_factory.mktemp("preview-plans"),
        {
            "dev-preview": ["--stack", "dev", "--preview"],
            "prod-preview": ["--stack", "prod", "--preview"],
            "dev": ["--stack", "dev"],
        },
    )


def _review(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["review", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_review_cleanly_in_preview(
    stack: str, shipped: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _review(["--plan", str(shipped[f"{stack}-preview"]), "--preview"], capsys)
    assert code == 0
    assert report["preview"] is True and report["violations"] == []
    assert report["summary"]["passed"] is True
    assert isinstance(report["skippedInPreview"], list)


def _reads_the_subject(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == APP_FIC and args.props["subject"] != "expected":
        report("subject is not the expected one", None)


READS_SUBJECT = ResourceValidationPolicy(
    name="test-reads-subject",
    description="reads a FIC's subject straight from the props",
    validate=_reads_the_subject,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def test_a_rule_reading_an_unknown_is_skipped_not_passed_nor_a_violation(shipped: dict[str, Path]) -> None:
    preview = json.loads(shipped["dev-preview"].read_text(encoding="utf-8"))
    fics = [r for r in preview["resources"] if r["type"] == APP_FIC]
    assert fics and all(f["inputs"]["subject"] == "[unknown]" for f in fics)
    review = review_plan(preview, policies=[READS_SUBJECT])
    assert review.violations == []
    assert sorted((s.policy, s.urn) for s in review.skipped) == sorted(
        ("test-reads-subject", f["urn"]) for f in fics
    )
    assert all(".subject" in s.reason and "known during preview" in s.reason for s in review.skipped)
    # The same rule on the plan, where the subject is known, reports: it was not waved through.
    normal = review_plan(json.loads(shipped["dev"].read_text(encoding="utf-8")), policies=[READS_SUBJECT])
    assert [v.urn for v in normal.violations] == [f["urn"] for f in fics] and normal.skipped == []


def test_the_report_says_how_many_rules_were_skipped_on_how_many_resources(shipped: dict[str, Path]) -> None:
    preview = json.loads(shipped["dev-preview"].read_text(encoding="utf-8"))
    fics = [r for r in preview["resources"] if r["type"] == APP_FIC]
    review = review_plan(preview, policies=[*ALL_POLICIES, READS_SUBJECT])
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


@pytest.mark.parametrize(
    ("plan", "flag", "expected"),
    [
        ("dev", ["--preview"], "is not a preview plan"),
        ("dev-preview", [], "is a preview plan"),
    ],
)
def test_the_wrong_kind_of_plan_is_one_line_and_exit_2(
    plan: str, flag: list[str], expected: str, shipped: dict[str, Path]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "certless_ops", "review", "--plan", str(shipped[plan]), *flag],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
