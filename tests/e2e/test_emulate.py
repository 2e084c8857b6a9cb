"""`./dev emulate` as a developer uses it: one command prints one line; `eval` of that line in a shell
makes any process there the workload on its compute, reaching the emulator and Azurite; `--stop` leaves
nothing behind. Real processes throughout, found afterwards by an environment marker they inherit.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certless_ops.demo.chain import REPO_ROOT
from certless_ops.emulate.shell import eval_line, shown

from .conftest import require_azurite
from .support import JWT, processes_with_env

pytestmark = pytest.mark.e2e

FIXTURE_PLAN = REPO_ROOT / "tests" / "emulator" / "fixture_plan.json"
BLOB_WRITE = """
import os, certless
from azure.storage.blob import BlobServiceClient
credential = certless.credential_from_settings()
service = BlobServiceClient(os.environ["STORAGE_URL"], credential=credential)
container = service.get_container_client("laptop")
container.create_container()
container.upload_blob("hello.txt", b"from my laptop")
print(container.download_blob("hello.txt").readall().decode())
"""


@dataclass
class Laptop:
    marker: str
    runtime_dir: Path
    env: dict[str, str]
    home: Path

    def emulate(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "certless_ops", "emulate", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def shell(self, line: str, script: str, shell: str = "bash") -> subprocess.CompletedProcess[str]:
        """``script`` after ``eval "$line"`` in a fresh shell, in another folder, with a bare environment."""
        bare = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(self.home), "LINE": line}
        key, value = self.marker.split("=", 1)
        bare[key] = value
        return subprocess.run(
            [shell, "-c", f'eval "$LINE"\n{script}'],
            cwd=self.home,
            env=bare,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def state_file(self) -> Path:
        return self.runtime_dir / "certless-emulator.json"

    def leftovers(self) -> tuple[list[int], list[str]]:
        return processes_with_env(self.marker), sorted(p.name for p in self.runtime_dir.iterdir())


@pytest.fixture
def laptop(e2e_workdir: Path) -> Iterator[Laptop]:
    marker = f"CERTLESS_TEST_EMULATE={uuid.uuid4().hex}"
    runtime_dir = e2e_workdir / f"xdg-{uuid.uuid4().hex[:8]}"
    runtime_dir.mkdir(mode=0o700)
    home = e2e_workdir / f"home-{uuid.uuid4().hex[:8]}"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd__", "AZURE_", "IDENTITY_"))}
    key, value = marker.split("=", 1)
    env.update({key: value, "XDG_RUNTIME_DIR": str(runtime_dir)})
    machine = Laptop(marker, runtime_dir, env, home)
    yield machine
    machine.emulate("--stop", timeout=60)  # whatever a failed test left running


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    return line


def _error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line


def test_one_command_then_a_token_and_a_blob_in_my_own_shell(laptop: Laptop) -> None:
    require_azurite()
    started = time.monotonic()
    first = laptop.emulate("--stack", "dev", "--azurite")  # dev has one workload: the default
    took = time.monotonic() - started
    line = _one_line(first)
    state = json.loads(laptop.state_file.read_text())
    header = state["env"]["orders-web"]["appservice"]["IDENTITY_HEADER"]
    # The header is in the eval line (the app needs it) and nowhere else a person or a log sees.
    assert f"IDENTITY_HEADER={header}" in line
    log = (laptop.runtime_dir / "certless-emulator.d" / "emulator.log").read_text()
    assert header not in first.stderr and header not in log and not JWT.search(first.stderr + log)
    assert "workload 'orders-web' on appservice" in first.stderr and "./dev emulate --stop" in first.stderr

    token = laptop.shell(line, "python -m certless token --scope https://storage.azure.com/.default")
    assert token.returncode == 0, token.stderr
    assert "aud        https://storage.azure.com" in token.stdout and not JWT.search(token.stdout)
    # The line exports no storage URL: the user copies Azurite's from the report into the app's setting.
    assert "CERTLESS_STORAGE_ACCOUNT_URL=" not in line
    (url,) = re.findall(r"Azurite blob \(Azure RBAC in front\): (\S+)", first.stderr)
    blob = laptop.shell(line, f"STORAGE_URL={url} python -c '{BLOB_WRITE}'")
    assert (blob.returncode, blob.stdout.strip()) == (0, "from my laptop"), blob.stderr
    # One CA bundle for both: every CA variable names the same file, and the emulator's env command
    # finds this emulator from another folder, defaulting to the plan's only workload.
    cas = laptop.shell(line, 'echo "$REQUESTS_CA_BUNDLE $SSL_CERT_FILE $AzureAd__CaBundle"').stdout.split()
    assert len(set(cas)) == 1 and Path(cas[0]).is_file()
    env_cmd = laptop.shell(
        "true", f"XDG_RUNTIME_DIR={laptop.runtime_dir} python -m emulator env --host appservice"
    )
    assert env_cmd.returncode == 0 and "export IDENTITY_ENDPOINT=" in env_cmd.stdout, env_cmd.stderr

    again = laptop.emulate("--azurite")
    assert _one_line(again) == line and "already running" in again.stderr
    other = _error(laptop.emulate("--stack", "dev"))
    assert other.startswith("error: the emulator is already running for stack 'dev' with Azurite (pid ")

    stopped = laptop.emulate("--stop")
    assert stopped.returncode == 0 and stopped.stderr.startswith("stopped the emulator (pid "), stopped.stderr
    assert laptop.leftovers() == ([], [])
    assert "no emulator running" in laptop.emulate("--stop").stderr
    print(f"./dev emulate --stack dev --azurite printed its line after {took:.1f} s")


def test_each_host_kind_gets_its_own_variables_and_no_other(laptop: Laptop) -> None:
    line = _one_line(laptop.emulate("--plan", str(FIXTURE_PLAN), "--workload", "reports"))
    assert "AZURE_FEDERATED_TOKEN_FILE=" in line and "IDENTITY_HEADER" not in line.split(";", 1)[1]
    token_file = laptop.shell(
        line, 'test -s "$AZURE_FEDERATED_TOKEN_FILE" && echo "${IDENTITY_ENDPOINT-unset}"'
    )
    assert token_file.stdout.strip() == "unset", token_file.stderr
    # A shell that held another workload's host variables loses them when it switches.
    appservice = _one_line(laptop.emulate("--plan", str(FIXTURE_PLAN), "--workload", "orders"))
    switched = laptop.shell(
        f"{appservice}; {line}", 'echo "${IDENTITY_HEADER-unset} ${IDENTITY_ENDPOINT-unset}"'
    )
    assert switched.stdout.strip() == "unset unset"
    for shell in ("bash", "dash"):
        done = laptop.shell(
            appservice, "python -m certless token --scope https://vault.azure.net/.default", shell=shell
        )
        assert done.returncode == 0, (shell, done.stderr)
    assert laptop.emulate("--stop").returncode == 0
    assert laptop.leftovers() == ([], [])


def test_two_shells_starting_at_once_share_one_emulator(laptop: Laptop) -> None:
    command = [
        sys.executable,
        "-m",
        "certless_ops",
        "emulate",
        "--plan",
        str(FIXTURE_PLAN),
        "--workload",
        "orders",
    ]
    starts = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, env=laptop.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    lines = [p.communicate(timeout=120)[0] for p in starts]
    assert [p.returncode for p in starts] == [0, 0]
    assert lines[0] == lines[1] and lines[0].count("\n") == 1
    assert len(processes_with_env(laptop.marker)) == 1  # one emulator
    assert laptop.emulate("--stop").returncode == 0
    assert laptop.leftovers() == ([], [])


def test_bad_input_is_one_line_and_starts_nothing(laptop: Laptop, tmp_path: Path) -> None:
    plan = str(FIXTURE_PLAN)
    workloads = "orders, billing, reports, ingest, legacy"
    assert _error(laptop.emulate("--plan", plan, "--workload", "nope")) == (
        f"error: --workload 'nope': expected one of the plan's workloads: {workloads}"
    )
    assert _error(laptop.emulate("--plan", plan)) == (
        f"error: no --workload given; expected one of the plan's workloads: {workloads}"
    )
    assert _error(laptop.emulate("--stack", "nope", "--workload", "api")) == (
        "error: --stack 'nope': no Pulumi.nope.yaml; expected one of: dev, prod"
    )
    missing = tmp_path / "missing.json"
    assert _error(laptop.emulate("--plan", str(missing))).startswith(
        f"error: plan file '{missing}' does not exist"
    )
    assert _error(laptop.emulate("--stop", "--workload", "api")) == (
        "error: --stop with --workload; expected --stop alone"
    )
    assert laptop.leftovers() == ([], [])


def test_an_emulator_killed_hard_leaves_nothing_after_the_next_stop(laptop: Laptop) -> None:
    require_azurite()
    _one_line(laptop.emulate("--plan", str(FIXTURE_PLAN), "--workload", "orders", "--azurite"))
    state = json.loads(laptop.state_file.read_text())
    os.kill(state["pid"], signal.SIGKILL)  # no chance to stop Azurite, which runs in its own session
    deadline = time.monotonic() + 10
    while state["pid"] in processes_with_env(laptop.marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with_env(laptop.marker), "Azurite should still be running"
    done = laptop.emulate("--stop")
    assert "a leftover Azurite" in done.stderr, done.stderr
    assert laptop.leftovers() == ([], [])


def test_the_eval_line_survives_any_value_and_the_report_hides_the_header(tmp_path: Path) -> None:
    tricky = 'it\'s $(touch pwned) `x` "q" \\ ; #'
    line = eval_line({"AzureAd__ClientId": tricky, "IDENTITY_HEADER": "h3ad3r"})
    done = subprocess.run(
        ["bash", "-c", 'eval "$LINE"; printf "%s|%s" "$AzureAd__ClientId" "$IDENTITY_HEADER"'],
        env={"PATH": "/usr/bin:/bin", "LINE": line},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout == f"{tricky}|h3ad3r" and not (tmp_path / "pwned").exists()
    assert "\n" not in line
    assert "h3ad3r" not in json.dumps(shown({"IDENTITY_HEADER": "h3ad3r"}))
