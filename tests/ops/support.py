"""Helpers for the offline plan tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan

REPO = Path(__file__).resolve().parents[2]
MINI = Path(__file__).parent / "fixtures" / "mini"


def plan_of(project_dir: Path, stack: str, **kwargs: Any) -> dict[str, Any]:
    return run_plan(load_stack_config(project_dir, stack), **kwargs)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m certless_ops plan ...` in a fresh process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "certless_ops", "plan", *args],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def by_name(plan: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [r for r in plan["resources"] if r["name"] == name]
    assert len(matches) == 1, f"expected one resource named {name!r}, found {len(matches)}"
    return matches[0]


def into_a_closed_pipe(
    argv: list[str], env: dict[str, str], cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with its stdout a pipe whose reader left before the first byte (``| head -c0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            argv,
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
            env=env,
        )
    finally:
        os.close(write_end)
