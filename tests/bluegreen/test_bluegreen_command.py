"""bluegreen-check as a user runs it on plan files: the table, the exit status, the usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from certless_ops.__main__ import main
from certless_ops.bluegreen.stackfile import encrypted_entries

from . import planbuilder as pb


def write(tmp_path: Path, name: str, plan: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(plan))
    return str(path)


def test_sound_plans_print_a_passing_table_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blue = write(tmp_path, "blue.json", pb.owner_plan())
    green = write(tmp_path, "green.json", pb.colour_plan())
    assert main(["bluegreen-check", "--plan-blue", blue, "--plan-green", green]) == 0
    out = capsys.readouterr().out
    assert "blue-green checks: prod (blue) -> prod-green (green)" in out
    assert out.count("PASS") == 9
    assert "all 9 checks passed" in out


def test_a_failing_check_prints_its_findings_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one finding per line, unwrapped
    blue = write(tmp_path, "blue.json", pb.owner_plan(protect=False))
    green = write(tmp_path, "green.json", pb.colour_plan())
    assert main(["bluegreen-check", "--plan-blue", blue, "--plan-green", green]) == 1
    out = capsys.readouterr().out
    assert "2 of 9 checks failed: destroy-blue, shared-protected" in out
    assert "is neither protect nor retain_on_delete" in out


def test_json_goes_to_a_file_when_one_is_named(tmp_path: Path) -> None:
    blue = write(tmp_path, "blue.json", pb.owner_plan())
    green = write(tmp_path, "green.json", pb.colour_plan())
    report = tmp_path / "report.json"
    assert main(["bluegreen-check", "--plan-blue", blue, "--plan-green", green, "--json", str(report)]) == 0
    document = json.loads(report.read_text())
    assert document["passed"] is True
    assert [c["id"] for c in document["checks"]][:3] == ["shared-layer", "physical-names", "fic-unique"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan-blue", "BLUE"], "error: no green stack given; expected --green STACK or --plan-green FILE"),
        (
            ["--blue", "prod", "--plan-blue", "BLUE", "--plan-green", "GREEN"],
            "error: --blue 'prod' and --plan-blue 'BLUE' both given; expected one of them",
        ),
        (
            ["--plan-blue", "BLUE", "--plan-green", "BLUE"],
            "error: blue and green are the same stack 'prod'; expected two colours",
        ),
        (
            ["--plan-blue", "BLUE", "--plan-green", "missing.json"],
            "error: plan file 'missing.json' does not exist; create it with "
            "`./dev plan --stack NAME --json FILE`",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "BLUE").write_text(json.dumps(pb.owner_plan()))
    (tmp_path / "GREEN").write_text(json.dumps(pb.colour_plan()))
    assert main(["bluegreen-check", *args]) == 2
    assert capsys.readouterr().err.strip() == message


def test_only_pulumi_secure_values_count_as_encrypted() -> None:
    document = {
        "config": {
            "certless:a": {"secure": "v1:AAAA"},
            "certless:b": {"secure": True, "port": 443},  # an ordinary object with a key named secure
            "certless:c": [{"x": {"secure": "v1:BBBB"}}],
        }
    }
    assert encrypted_entries(document) == ["certless:a", "certless:c[0].x"]
