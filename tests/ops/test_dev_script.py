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
    assert done.stderr.strip().splitlines() == [
        "./dev: unknown command 'tset'; expected one of: demo, test, plan, setup, check (./dev --help)"
    ]
