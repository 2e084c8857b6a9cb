"""A Function App's host storage, end to end: the plan's AzureWebJobsStorage__* settings, read as the
Functions host reads them, through azure-identity's ManagedIdentityCredential against the emulator's
App Service identity endpoint, to Azurite. No connection string and no key exist anywhere."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from certless_ops.azurite import ACCOUNT
from certless_ops.demo import chain
from certless_ops.storage_rbac import StorageRbac, host_storage_account

from .support import Chain, storage_rbac

pytestmark = pytest.mark.e2e

PROBE = Path(__file__).with_name("functions_host_probe.py")


def _probe(
    c: Chain, workload: str, host_storage: dict[str, str], blob_uri: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = chain.base_env()
    env.update(c.emulator.host_env("appservice", workload))
    env.update(host_storage)
    env["CERTLESS_PROBE_BLOB_URI_OVERRIDE"] = blob_uri or c.azurite.account_url
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


@contextmanager
def _host_account_rbac(c: Chain, plan: dict[str, Any], binding: str) -> Iterator[StorageRbac]:
    """Azure's RBAC check for the host's storage account, from ``plan``'s role assignments."""
    account = host_storage_account(c.plan.doc, binding)
    assert account is not None, "the plan grants the host no storage roles"
    assert account.endswith(
        "/"
        + c.plan.workload(binding)["hostStorageEnv"]["AzureWebJobsStorage__blobServiceUri"]
        .removeprefix("https://")
        .split(".")[0]
    )
    rbac = storage_rbac(plan, c.emulator, c.azurite)
    rbac = dataclasses.replace(rbac, account_id=account)
    with rbac.start():
        yield rbac


def test_the_host_reaches_its_storage_only_through_its_own_role_assignments(chains: dict[str, Chain]) -> None:
    c = chains["prod"]
    w = c.plan.workload("orders-jobs")
    with _host_account_rbac(c, c.plan.doc, "orders-jobs") as rbac:
        run = _probe(c, "orders-jobs", w["hostStorageEnv"], rbac.account_url(ACCOUNT))
        assert run.returncode == 0, run.stdout + run.stderr
        allowed = {d.role for d in rbac.decisions if d.allowed}
        assert allowed == {"Storage Blob Data Owner"}, rbac.decisions
        assert {d.oid for d in rbac.decisions} == {w["identityPrincipalId"]}
    # Without the host grants (the plan as if the binding declared none), Storage refuses the host as
    # Azure would: 403 AuthorizationPermissionMismatch on its first container call.
    ungranted = copy.deepcopy(c.plan.doc)
    host = {r["urn"] for r in ungranted["resources"] if r["name"].startswith("orders-jobs-host-")}
    ungranted["resources"] = [
        r for r in ungranted["resources"] if r["urn"] not in host and r.get("parent") not in host
    ]
    with _host_account_rbac(c, ungranted, "orders-jobs") as rbac:
        run = _probe(c, "orders-jobs", w["hostStorageEnv"], rbac.account_url(ACCOUNT))
        assert run.returncode != 0
        assert "AuthorizationPermissionMismatch" in run.stdout + run.stderr
        assert rbac.decisions and not any(d.allowed for d in rbac.decisions)
