"""Real output into a reader that has left (`... | head -1`) ends quietly, the same way on every entry point.

The convention (see certless_ops/__main__.py): no traceback and no BrokenPipeError on stderr, and exit
status 141 (128 + SIGPIPE, what a shell reports for a tool the closed pipe stopped). Everything here runs
as a user runs it: real processes, a real pipe whose read end is closed, a real emulator as token source.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import support

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAN = ROOT / "tests" / "emulator" / "fixture_plan.json"
SIGPIPE_STATUS = 141
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd", "AZURE_", "IDENTITY_", "COLUMNS"))}


def into_a_closed_pipe(
    argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return support.into_a_closed_pipe(argv, env or ENV, cwd=ROOT)


def assert_ended_quietly(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == SIGPIPE_STATUS, (done.returncode, done.stderr[-500:])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], Path, str]]:
    """`python -m emulator --log` serving the fixture plan; yields it, its state file and its IMDS URL."""
    state = tmp_path_factory.mktemp("emu") / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--plan", str(PLAN), "--state", str(state), "--log"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None
    imds = ""
    for line in proc.stdout:
        if line.startswith("IMDS:"):
            imds = line.split()[-1]
        if line.startswith("Press Ctrl-C"):
            break
    else:
        pytest.fail(f"emulator did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield proc, state, imds
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def app_service_env(state: Path) -> dict[str, str]:
    done = subprocess.run(
        [
            *EMULATOR,
            "env",
            "--host",
            "appservice",
            "--workload",
            "orders",
            "--state",
            str(state),
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=ENV,
    )
    return {**ENV, **json.loads(done.stdout)}


EMULATOR = [sys.executable, "-m", "emulator"]
CERTLESS = [str(BIN / "certless")]
OPS = [str(BIN / "certless-ops")]
SCOPE = "https://storage.azure.com/.default"


def test_certless_token_into_a_closed_pipe(served: tuple[subprocess.Popen[str], Path, str]) -> None:
    assert_ended_quietly(
        into_a_closed_pipe([*CERTLESS, "token", "--scope", SCOPE], app_service_env(served[1]))
    )


def test_certless_doctor_into_a_closed_pipe(served: tuple[subprocess.Popen[str], Path, str]) -> None:
    assert_ended_quietly(into_a_closed_pipe([*CERTLESS, "doctor"], app_service_env(served[1])))


def test_emulator_env_into_a_closed_pipe(served: tuple[subprocess.Popen[str], Path, str]) -> None:
    state = served[1]
    assert_ended_quietly(
        into_a_closed_pipe(
            [*EMULATOR, "env", "--host", "appservice", "--workload", "orders", "--state", str(state)]
        )
    )


def test_review_report_into_a_closed_pipe() -> None:
    # The fixture plan has violations (exit 1 when delivered): 141 says the report was not.
    assert_ended_quietly(into_a_closed_pipe([*OPS, "review", "--plan", str(PLAN)]))


def test_plan_tree_into_a_closed_pipe() -> None:
    assert_ended_quietly(into_a_closed_pipe([*OPS, "plan", "--stack", "dev"]))


def test_serving_emulator_whose_log_reader_left_ends_quietly(
    served: tuple[subprocess.Popen[str], Path, str],
) -> None:
    """`python -m emulator --log | head`: the next request line finds the reader gone; the emulator ends."""
    proc, state, imds = served
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves
    with contextlib.suppress(OSError):  # refused without the Metadata header: logged all the same
        urllib.request.urlopen(f"{imds}/metadata/identity/oauth2/token", timeout=10)
    assert proc.wait(timeout=30) == SIGPIPE_STATUS
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert not state.exists()  # it cleaned up as on Ctrl-C
