"""`./dev`: help is a success, an unknown command is a usage error that says what exists."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("flag", ["help", "-h", "--help"])
def test_help_exits_zero_and_lists_the_commands(flag: str) -> None:
    done = subprocess.run([str(ROOT / "dev"), flag], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "./dev test" in done.stdout


def test_unknown_command_is_a_usage_error_in_one_line() -> None:
    done = subprocess.run([str(ROOT / "dev"), "tset"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("./dev: unknown command 'tset'; expected one of: setup, check, test, ")
    for command in ("plan", "review", "duplicate", "bluegreen-check", "demo"):
        assert f" {command}," in line or f" {command} (" in line


def test_every_ops_command_runs_through_dev_and_its_help_exits_zero() -> None:
    listed = subprocess.run(
        [str(ROOT / "dev"), "--help"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    commands = listed.removeprefix("# certless-ops commands: ").split()
    assert {"plan", "review", "duplicate", "bluegreen-check", "demo"} <= set(commands)
    for command in commands:
        done = subprocess.run(
            [str(ROOT / "dev"), command, "--help"], capture_output=True, text=True, check=False
        )
        assert (command, done.returncode) == (command, 0), done.stderr
        assert done.stdout.startswith(f"usage: certless-ops {command}")
