"""`python -m certless_ops plan` as a user runs it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from certless_ops.__main__ import main
from certless_ops.plan.writer import dumps

from .support import MINI, run_cli


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert "never awaited" not in stderr and "never retrieved" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_fresh_process_writes_the_same_bytes(tmp_path: Path, mini_plan: dict[str, Any]) -> None:
    target = tmp_path / "plan.json"
    # Another hash seed than this process: set and dict iteration order must not leak into the plan.
    result = run_cli(
        "--project-dir", str(MINI), "--stack", "test", "--json", str(target), env={"PYTHONHASHSEED": "7"}
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == dumps(mini_plan)
    # The tree went to stdout and names the wiring.
    assert "= principalId of identity `orders-id`" in result.stdout


def test_program_validation_error_exits_2_with_its_message() -> None:
    result = run_cli("--project-dir", str(MINI), "--stack", "bad")
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "workload 'orders': kind 'lambda' is not supported; expected appservice or aks" in line


def test_cluster_without_oidc_issuer_is_reported_by_the_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "nooidc"]) == 2
    assert "cluster 'aks-nooidc-1' has the OIDC issuer disabled" in _one_error_line(capsys.readouterr().err)


def test_unknown_stack_names_the_file_and_the_stacks_found() -> None:
    result = run_cli("--project-dir", str(MINI), "--stack", "nope")
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "Pulumi.nope.yaml" in line
    assert "stacks found: bad, consumer, nooidc, secure, test" in line


def test_encrypted_config_value_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "secure"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "'mini:dbPassword'" in line and "secure:" in line and "cannot be decrypted offline" in line
    assert "AAAABBBBCCCC" not in line


def test_missing_stack_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI)]) == 2
    assert "expected --stack NAME" in _one_error_line(capsys.readouterr().err)


def test_project_dir_without_pulumi_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(tmp_path), "--stack", "dev"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(tmp_path) in line and "no Pulumi.yaml" in line


def test_config_file_outside_the_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "Pulumi.elsewhere.yaml"
    cfg.write_text((MINI / "Pulumi.test.yaml").read_text().replace("rg-mini", "rg-elsewhere"))
    out = tmp_path / "plan.json"
    code = main(
        ["plan", "--project-dir", str(MINI), "--config-file", str(cfg), "--json", str(out), "--quiet"]
    )
    assert code == 0
    plan = json.loads(out.read_text())
    assert plan["stack"] == "elsewhere"
    assert plan["config"]["mini:resourceGroup"] == "rg-elsewhere"
    assert capsys.readouterr().out == ""


def test_json_to_stdout_stays_parseable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "test", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["schema"] == "certless.plan/v1"
    assert "orders-id" in captured.err  # the tree went to stderr


def test_stack_reference_without_outputs_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "consumer"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "StackReference" in line and "--stack-outputs org/mini/shared=FILE" in line


def test_stack_outputs_from_a_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared.json"
    assert (
        main(["plan", "--project-dir", str(MINI), "--stack", "test", "--json", str(shared), "--quiet"]) == 0
    )
    out = tmp_path / "consumer.json"
    args = ["--stack-outputs", f"shared={shared}", "--json", str(out), "--quiet"]
    assert main(["plan", "--project-dir", str(MINI), "--stack", "consumer", *args]) == 0
    shared_plan, consumer = json.loads(shared.read_text()), json.loads(out.read_text())
    assert consumer["outputs"]["sharedIdentityClientId"] == shared_plan["outputs"]["identityClientId"]


def test_stack_reference_to_a_missing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared.json"
    shared.write_text('{"somethingElse": 1}')
    args = ["--stack-outputs", f"shared={shared}"]
    assert main(["plan", "--project-dir", str(MINI), "--stack", "consumer", *args]) == 2
    assert "missing key 'identityClientId'" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("no-equals-sign", "expected STACK=FILE"), ("s=/does/not/exist.json", "does not exist")],
)
def test_bad_stack_outputs_option(spec: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "consumer", "--stack-outputs", spec]) == 2
    assert expected in _one_error_line(capsys.readouterr().err)


def test_traceback_option_shows_where_the_program_failed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(MINI), "--stack", "bad", "--traceback"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "__main__.py" in err
    assert err.rstrip().splitlines()[-1].startswith("error: the program failed: workload 'orders'")
