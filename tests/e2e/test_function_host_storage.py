"""A Function App's host storage, end to end: the plan's AzureWebJobsStorage__* settings, read as the
Functions host reads them, through azure-identity's ManagedIdentityCredential against the emulator's
App Service identity endpoint, to Azurite. No connection string and no key exist anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from certless_ops.demo import chain

from .support import Chain

pytestmark = pytest.mark.e2e

PROBE = Path(__file__).with_name("functions_host_probe.py")


def _probe(c: Chain, workload: str, host_storage: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = chain.base_env()
    env.update(c.emulator.host_env("appservice", workload))
    env.update(host_storage)
    env["CERTLESS_PROBE_BLOB_URI_OVERRIDE"] = c.azurite.account_url
    env["CERTLESS_PROBE_CA"] = str(c.azurite.ca_pem)
    return subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_host_storage_settings_reach_storage_with_the_identity(chains: dict[str, Chain]) -> None:
    c = chains["prod"]
    w = c.plan.workload("orders-jobs")
    host_storage = w["hostStorageEnv"]
    assert host_storage["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host_storage["AzureWebJobsStorage__clientId"] == w["identityClientId"]
    mark = len(c.emulator.requests)
    run = _probe(c, "orders-jobs", host_storage)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["read_back"] == "lease"
    hops = [
        (e["endpoint"], e.get("client_id") or e.get("identity") or "")
        for e in c.log_since(mark)
        if e["endpoint"] != "entra-discovery"
    ]
    # The host's own token: the identity's, straight from the identity endpoint, no app exchange.
    assert hops == [("appservice", w["identityClientId"])]


def test_a_client_id_of_another_identity_gets_no_token(chains: dict[str, Chain]) -> None:
    c = chains["prod"]
    w = c.plan.workload("orders-jobs")
    wrong = {**w["hostStorageEnv"], "AzureWebJobsStorage__clientId": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"}
    run = _probe(c, "orders-jobs", wrong)
    assert run.returncode != 0
    assert "ManagedIdentityCredential" in run.stderr
