# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""The emulator seeded from the real program's offline plan: every workload gets its token with exactly
the AzureAd settings the plan exports, on the host kind it is deployed to."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest
import requests
from emu_helpers import claims

from emulator import Emulator, Records

ROOT = Path(__file__).resolve().parents[2]
EXCHANGE = "api://AzureADTokenExchange"


@pytest.fixture(scope="module")
def real_plan(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "prod.json"
    result = subprocess.run(
        [sys.executable, "-m", "certless_ops", "plan", "--stack", "prod", "--json", str(path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"certless_ops plan failed:\n{result.stderr[-2000:]}")
    return path


@pytest.fixture
def real_emu(real_plan, monkeypatch) -> Iterator[Emulator]:
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    with Emulator(Records.from_plan(real_plan)) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
        yield emu
        assert emu.internal_errors == []


def _hosts(kind: str, aks_mode: str | None) -> list[str]:
    if kind == "aks":
        return [f"aks-{aks_mode}"]
    # A Function App runs on App Service's sandbox and gets its identity endpoint.
    return ["appservice" if kind == "functionapp" else kind, "vm"]


def _identity_assertion(env: dict[str, str]) -> str:
    """What the runtime's first credential source produces on that host."""
    if (
        "AZURE_FEDERATED_TOKEN_FILE" in env
        and env["AzureAd__ClientCredentials__0__SourceType"] != "SignedAssertionFilePath"
    ):
        sa_token = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
        identity = msal.ConfidentialClientApplication(
            env["AZURE_CLIENT_ID"],
            authority=env["AzureAd__Instance"] + env["AzureAd__TenantId"],
            client_credential={"client_assertion": lambda: sa_token},
            instance_discovery=False,
        )
        result = identity.acquire_token_for_client([f"{EXCHANGE}/.default"])
    elif "AZURE_FEDERATED_TOKEN_FILE" in env:
        return Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    else:
        client_id = env.get("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
        identity_choice = (
            msal.UserAssignedManagedIdentity(client_id=client_id)
            if client_id
            else msal.SystemAssignedManagedIdentity()
        )
        mi = msal.ManagedIdentityClient(identity_choice, http_client=requests.Session())
        result = mi.acquire_token_for_client(resource=EXCHANGE)
    assert "access_token" in result, result
    return result["access_token"]


def test_every_workload_of_the_real_plan_gets_its_token(real_emu, monkeypatch):
    checked = []
    for workload in real_emu.records.workloads:
        for host in _hosts(workload.kind, workload.aks_mode):
            env = real_emu.host_env(host, workload.name)
            for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
                monkeypatch.delenv(key, raising=False)
                if key in env:
                    monkeypatch.setenv(key, env[key])
            assertion = _identity_assertion(env)
            app = msal.ConfidentialClientApplication(
                env["AzureAd__ClientId"],
                authority=env["AzureAd__Instance"] + env["AzureAd__TenantId"],
                client_credential={"client_assertion": lambda a=assertion: a},
                instance_discovery=False,
            )
            result = app.acquire_token_for_client(["https://storage.azure.com/.default"])
            assert "access_token" in result, (workload.name, host, result)
            token = claims(result["access_token"])
            assert token["appid"] == env["AzureAd__ClientId"] == workload.app_client_id
            assert token["iss"] == f"https://sts.windows.net/{workload.tenant_id}/"
            checked.append((workload.name, host))
    assert checked, "the real plan has no workloads"
    assert {k for k, _ in checked} == {w.name for w in real_emu.records.workloads}
