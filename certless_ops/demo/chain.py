"""The pieces of the local chain shared by the demo and the e2e tests.

write_plan ─► (emulator seeded from it) ─► app_env for one workload on one host kind ─► run_app / run_doctor.
Each app runs as its own process with only the environment its compute would give it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = Path(__file__).with_name("app.py")
# Variables a process on any host has; everything identity-related comes from the plan and the emulator.
_BASE_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
_MARK_PREFIX = "CERTLESS_TEST_"  # lets a test find every process it started, however deep


class ChainError(RuntimeError):
    """A step of the local chain failed in a way that is not the user's mistake."""


def host_kind(workload: Mapping[str, Any]) -> str:
    """The emulator's host kind for a plan workload (``outputs.workloads[name]``)."""
    kind = workload.get("kind")
    if kind == "aks":
        return f"aks-{workload.get('aksMode') or 'via-identity'}"
    if kind in ("appservice", "containerapp"):
        return str(kind)
    if kind == "functionapp":
        return "appservice"  # a Function App gets App Service's identity endpoint
    if kind == "vm":
        return "vm"  # IMDS
    raise ChainError(
        f"plan workload kind {kind!r} has no emulated host; expected appservice, containerapp, functionapp,"
        " vm or aks"
    )


def compute_settings(workload: Mapping[str, Any]) -> dict[str, str]:
    """The AzureAd settings as the compute hands them to the app: a VM's come from its cloud-init
    environment file (parsed back from the document it boots with), every other kind's from app settings."""
    document = workload.get("cloudInit")
    if isinstance(document, str):
        # Imported here: `components` loads the Pulumi SDKs (~5 s), which the other steps never need.
        from components import cloud_init

        return cloud_init.read_environment(document)
    return dict(workload["azureAdEnv"])


def write_plan(
    stack: str,
    dest: Path,
    *,
    config_file: Path | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run ``python -m certless_ops plan`` for ``stack`` into ``dest`` and return the plan document.

    A separate process: the Pulumi mock engine keeps global state, so one stack per process.
    """
    cmd = [sys.executable, "-m", "certless_ops", "plan", "--stack", stack, "--quiet", "--json", str(dest)]
    if config_file is not None:
        cmd += ["--config-file", str(config_file)]
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode == 2:  # the plan command's own one-line user error
        raise UserError(proc.stderr.strip().removeprefix("error: ") or f"plan for stack {stack!r} failed")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ChainError(f"the offline plan for stack {stack!r} failed (exit {proc.returncode}): {last}")
    plan: dict[str, Any] = json.loads(dest.read_text(encoding="utf-8"))
    return plan


def workloads(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(plan.get("outputs", {}).get("workloads", {}))


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _BASE_VARS or k.startswith(_MARK_PREFIX)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def app_env(
    azure_ad_env: Mapping[str, str],
    host_env: Mapping[str, str],
    *,
    account_url: str,
    storage_ca: Path | str,
    label: str,
) -> dict[str, str]:
    """The app's environment: the plan's AzureAd app settings, then what the host injects, then where
    its storage is. Nothing from the parent process leaks in but PATH/HOME/locale."""
    env = base_env()
    env.update(azure_ad_env)
    env.update(host_env)
    env["CERTLESS_APP_ACCOUNT_URL"] = account_url
    env["CERTLESS_APP_STORAGE_CA"] = str(storage_ca)
    env["CERTLESS_APP_NAME"] = label
    return env


@dataclass(frozen=True)
class AppRun:
    """What one app process did: ``result`` is its JSON line on success, ``error`` its one-line diagnosis."""

    returncode: int
    result: dict[str, Any] | None
    error: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.result is not None and bool(self.result.get("matches"))


def run_app(
    env: Mapping[str, str], *, cwd: Path | None = None, trace: Path | None = None, timeout: float = 120.0
) -> AppRun:
    """Run the app; ``cwd`` is its content root (where an appsettings.json would be read from);
    ``trace`` is where it records its HTTP hops (tokens replaced by their claims)."""
    args = [sys.executable, str(APP_SCRIPT)] + (["--trace", str(trace)] if trace else [])
    proc = subprocess.run(
        args,
        env=dict(env),
        cwd=cwd or APP_SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    result: dict[str, Any] | None = None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        result = json.loads(lines[-1])
    return AppRun(proc.returncode, result, proc.stderr.strip(), proc.stderr)


def run_doctor(
    env: Mapping[str, str], *args: str, cwd: Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``python -m certless doctor`` in the app's environment, as an operator would run it on the host."""
    return subprocess.run(
        [sys.executable, "-m", "certless", "doctor", *args],
        env=dict(env),
        cwd=cwd or APP_SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
