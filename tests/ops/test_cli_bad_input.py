"""Every command, given a missing file, a bad stack name or an unknown format: one line, exit 2, no traceback.

Each case runs the command as a user does, in a fresh process (`.venv/bin/certless-ops ...`,
`python -m certless ...`, `python -m emulator ...`), from a folder that is not the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPS = str(ROOT / ".venv" / "bin" / "certless-ops")
MISSING = "/nonexistent/certless-missing.json"
MISSING_YAML = "/nonexistent/Pulumi.gone.yaml"

# (command line, what the one line must name)
CASES: dict[str, tuple[list[str], str]] = {
    # a missing file
    "plan --config-file": ([OPS, "plan", "--config-file", MISSING_YAML], MISSING_YAML),
    "plan --stack-outputs": ([OPS, "plan", "--stack", "dev", "--stack-outputs", f"a={MISSING}"], MISSING),
    "review --plan": ([OPS, "review", "--plan", MISSING], MISSING),
    "review --config": ([OPS, "review", "--plan", MISSING, "--config", MISSING], MISSING),
    "duplicate --owner-plan": (
        [OPS, "duplicate", "--from", "prod", "--color", "green", "--owner-plan", MISSING],
        MISSING,
    ),
    "bluegreen-check --plan-blue": (
        [OPS, "bluegreen-check", "--plan-blue", MISSING, "--green", "x"],
        MISSING,
    ),
    "demo --plan": ([OPS, "demo", "--plan", MISSING], MISSING),
    "config-schema --check --path": ([OPS, "config-schema", "--check", "--path", MISSING], MISSING),
    "needs-kubelogin --config-file": (
        [OPS, "needs-kubelogin", "--stack", "dev", "--config-file", MISSING_YAML],
        MISSING_YAML,
    ),
    "lint-workflows PATH": ([OPS, "lint-workflows", "/nonexistent/ci.yml"], "/nonexistent/ci.yml"),
    "plan --json into a missing folder": (
        [OPS, "plan", "--stack", "dev", "--json", "/nonexistent/dir/plan.json"],
        "/nonexistent/dir",
    ),
    "emulator --plan": ([sys.executable, "-m", "emulator", "--plan", MISSING], MISSING),
    "certless token --settings": (
        [sys.executable, "-m", "certless", "--settings", MISSING, "token", "--scope", "x/.default"],
        MISSING,
    ),
    "certless doctor --settings": (
        [sys.executable, "-m", "certless", "--settings", MISSING, "doctor"],
        MISSING,
    ),
    # a bad stack name
    "plan --stack": ([OPS, "plan", "--stack", "nosuch"], "nosuch"),
    "review --stack": ([OPS, "review", "--stack", "nosuch"], "nosuch"),
    "duplicate --from": ([OPS, "duplicate", "--from", "nosuch", "--color", "green"], "nosuch"),
    "bluegreen-check --blue": ([OPS, "bluegreen-check", "--blue", "nosuch", "--green", "prod"], "nosuch"),
    "demo --stack": ([OPS, "demo", "--stack", "nosuch"], "nosuch"),
    "needs-kubelogin --stack": ([OPS, "needs-kubelogin", "--stack", "nosuch"], "nosuch"),
    "plan --stack with a path in it": ([OPS, "plan", "--stack", "../etc/passwd"], "../etc/passwd"),
    # an unknown format
    "plan --format": ([OPS, "plan", "--stack", "dev", "--format", "pdf"], "pdf"),
    "review --format": ([OPS, "review", "--stack", "dev", "--format", "pdf"], "pdf"),
    "unknown command": ([OPS, "plna"], "plna"),
    "unknown option": ([OPS, "plan", "--stakc", "dev"], "--stakc"),
}


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("elsewhere")


@pytest.mark.parametrize("case", list(CASES))
def test_a_user_mistake_is_one_line_exit_2_no_traceback(case: str, elsewhere: Path) -> None:
    argv, named = CASES[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd", "IDENTITY_", "AZURE_"))}
    env["PYTHONPATH"] = str(
        ROOT
    )  # python -m emulator / certless from another folder, as ./dev would run them
    done = subprocess.run(
        argv, cwd=elsewhere, capture_output=True, text=True, check=False, env=env, timeout=180
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1, lines
    assert named in lines[0], lines[0]
    assert done.stdout == ""
