"""A green test run looks green: tests whose programs fail on purpose leave no asyncio noise behind.

A program that fails under Pulumi's mock engine leaves every output that depended on the failure holding
the same exception; asyncio reports each one ("Future exception was never retrieved", a RunError
traceback) when it is collected. Under pytest's default capture those lines land wherever the garbage
collector happens to run: hidden inside a passing test, or printed after the summary. ``-s`` and no
logging plugin print every one of them at once, whenever it happens, so the subset below shows the noise
whenever it comes back.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .support import REPO

# Programs failing under the mock engine (an apply raising EnvironmentMismatchError, a stack reference
# raising RunError), the offline plan's failures in process and from the CLI, the emulator started and
# stopped, the async credential's cancelled waits.
SUBSET = [
    "tests/components/test_compute_bindings.py::test_cluster_without_oidc_or_workload_identity_gives_a_clear_error",
    "tests/components/test_compute_bindings.py::test_pinned_issuer_must_match_the_cluster",
    "tests/components/test_blue_green_ownership.py::test_a_reference_missing_what_is_needed_names_it",
    "tests/components/test_config_errors.py::test_main_registers_nothing_for_a_bad_config",
    "tests/ops/test_plan_cli.py::test_cluster_without_oidc_issuer_is_reported_by_the_program",
    "tests/ops/test_plan_cli.py::test_stack_reference_without_outputs_is_a_clear_error",
    "tests/emulator/test_emu_cli.py::test_env_errors_are_one_line",
    "tests/runtime/test_aio.py",
]
NOISE = ("never retrieved", "RunError", "Traceback", "Exception ignored", "was never awaited")


def test_a_green_run_prints_no_asyncio_noise() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:logging", "-p", "no:cacheprovider", *SUBSET],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert " passed" in done.stdout, output[-3000:]
    noisy = [line for line in output.splitlines() if any(word in line for word in NOISE)]
    assert not noisy, f"{len(noisy)} noisy lines, first: {noisy[:5]}"
