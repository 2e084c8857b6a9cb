"""Every command line of the project keeps the same habits, run as a user runs it (real processes).

The table is every entry point: `certless` and its subcommands, `certless-ops` and each command it
discovers in certless_ops/commands/ (a new command is covered as soon as it lands), `python -m emulator`
and its subcommands, `./dev`. Each row: --help exits 0 with the usage on stdout; a usage mistake exits 2
with one line naming it; output into a closed pipe ends without a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from certless_ops.__main__ import _command_modules

from .support import into_a_closed_pipe

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OPS = [str(BIN / "certless-ops")]
CERTLESS = [str(BIN / "certless")]
EMULATOR = [sys.executable, "-m", "emulator"]
DEV = [str(ROOT / "dev")]

OPS_COMMANDS = [name.replace("_", "-") for name in _command_modules()]

# (row id, argv, the prog its usage line names)
ENTRY_POINTS: list[tuple[str, list[str], str]] = [
    ("certless", CERTLESS, "certless"),
    ("certless token", [*CERTLESS, "token"], "certless token"),
    ("certless doctor", [*CERTLESS, "doctor"], "certless doctor"),
    ("certless-ops", OPS, "certless-ops"),
    *[(f"certless-ops {c}", [*OPS, c], f"certless-ops {c}") for c in OPS_COMMANDS],
    ("emulator", EMULATOR, "python -m emulator"),
    ("emulator env", [*EMULATOR, "env"], "python -m emulator env"),
    ("emulator user-token", [*EMULATOR, "user-token"], "python -m emulator user-token"),
    ("./dev", DEV, "./dev"),
    *[(f"./dev {c}", [*DEV, c], f"certless-ops {c}") for c in OPS_COMMANDS],
]
IDS = [row[0] for row in ENTRY_POINTS]


# No host or settings variables of the machine running the tests: every row sees the same.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd", "AZURE_", "IDENTITY_"))}


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120, env=ENV)


def test_the_table_has_every_ops_command_certless_ops_lists() -> None:
    listed = run([*OPS, "--help"]).stdout
    commands = [line.split()[0] for line in listed.split("commands:\n")[1].split("\n\n")[0].splitlines()]
    assert commands == OPS_COMMANDS
    assert {"plan", "review", "duplicate", "bluegreen-check", "demo"} <= set(commands)


@pytest.mark.parametrize(("name", "argv", "prog"), ENTRY_POINTS, ids=IDS)
def test_help_exits_0_with_the_usage_on_stdout(name: str, argv: list[str], prog: str) -> None:
    done = run([*argv, "--help"])
    assert (done.returncode, done.stderr) == (0, "")
    if name == "./dev":  # its own help: the header of the script, then the ops commands
        assert done.stdout.startswith("# One entry point"), done.stdout[:200]
    else:
        assert done.stdout.startswith(f"usage: {prog}"), done.stdout[:200]


@pytest.mark.parametrize(("name", "argv", "prog"), ENTRY_POINTS, ids=IDS)
def test_an_unknown_option_is_exit_2_in_one_line_naming_it(name: str, argv: list[str], prog: str) -> None:
    done = run([*argv, "--no-such-option"])
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "--no-such-option" in line or "required" in line, line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [CERTLESS, OPS, [*OPS, "no-such-command"], [*DEV, "no-such-command"]],
    ids=["certless", "certless-ops", "certless-ops unknown", "./dev unknown"],
)
def test_a_missing_or_unknown_command_is_exit_2_with_no_traceback(argv: list[str]) -> None:
    done = run(argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    if argv[-1] == "no-such-command":
        (line,) = done.stderr.strip().splitlines()
        assert "unknown command 'no-such-command'; expected one of: " in line


@pytest.mark.parametrize(
    "argv",
    [[*CERTLESS, "token"], [*CERTLESS, "doctor"], *[[*OPS, c] for c in OPS_COMMANDS]],
    ids=["certless token", "certless doctor", *(f"certless-ops {c}" for c in OPS_COMMANDS)],
)
def test_every_command_offers_json_the_same_way(argv: list[str]) -> None:
    usage = run([*argv, "--help"]).stdout
    assert "--json [FILE]" in usage
    assert "to stdout without FILE" in " ".join(usage.split())


@pytest.mark.parametrize(("name", "argv", "prog"), ENTRY_POINTS, ids=IDS)
def test_help_into_a_closed_pipe_ends_quietly(name: str, argv: list[str], prog: str) -> None:
    done = into_a_closed_pipe([*argv, "--help"], ENV, cwd=ROOT)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
