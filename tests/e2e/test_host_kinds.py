"""Each host kind, end to end: the plan's app settings + the host's identity environment in a separate
process, certless's credential in the real BlobServiceClient, a blob written to and read from Azurite.

The emulator's request log shows which path each app took, so a test cannot pass through the wrong one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certless_ops.demo import chain

from .support import Chain

pytestmark = pytest.mark.e2e


def _hops(log: list[dict]) -> list[tuple[str, str]]:
    return [
        (e["endpoint"], e.get("client_id") or e.get("identity") or "")
        for e in log
        if e["endpoint"] != "entra-discovery"
    ]


def _round_trip(c: Chain, workload: str, host: str) -> list[dict]:
    mark = len(c.emulator.requests)
    run = chain.run_app(c.env(workload, host))
    assert run.returncode == 0, run.error
    assert run.result is not None
    assert run.result["read_back"] == f"hello from {workload}-{host}, no certificate involved"
    assert run.result["matches"] is True
    return c.log_since(mark)


MANAGED_IDENTITY_CASES = [
    ("dev", "orders-web", "appservice", "appservice"),
    ("prod", "orders-api", "containerapp", "appservice"),  # same identity endpoint protocol
    ("prod", "orders-jobs", "appservice", "appservice"),  # a Function App: App Service's endpoint
    ("e2e", "batch-web", "appservice", "appservice"),
    ("e2e", "audit-api", "containerapp", "appservice"),
    ("usgov", "records-web", "appservice", "appservice"),  # Azure US Government
    ("prod", "orders-batch", "vm", "imds"),  # settings from the VM's cloud-init environment file
    ("dev", "orders-web", "vm", "imds"),  # the workload's user-assigned identity through IMDS
]
AKS_CASES = [("prod", "orders-worker"), ("e2e", "ingest-direct")]


def test_every_planned_workload_runs_on_its_own_host_kind(chains: dict[str, Chain]) -> None:
    """A workload added to a stack without an end-to-end case here fails this test."""
    planned = {(stack, name) for stack, c in chains.items() for name in c.plan.doc["outputs"]["workloads"]}
    covered = {
        (stack, name) for stack, name, host, _ in MANAGED_IDENTITY_CASES if host != "vm" or stack == "prod"
    } | set(AKS_CASES)
    assert planned == covered


@pytest.mark.parametrize(("stack", "workload", "host", "endpoint"), MANAGED_IDENTITY_CASES)
def test_managed_identity_hosts(
    chains: dict[str, Chain], stack: str, workload: str, host: str, endpoint: str
) -> None:
    c = chains[stack]
    w = c.plan.workload(workload)
    log = _round_trip(c, workload, host)
    # One identity token for the workload's own identity, then one exchange for the app.
    assert _hops(log) == [(endpoint, w["identityClientId"]), ("entra-token", w["appClientId"])]
    exchange = next(e for e in log if e["endpoint"] == "entra-token")
    assert exchange["credential"] == "federated" and exchange["status"] == 200
    assert exchange["scope"] == "https://storage.azure.com/.default"


def test_a_us_government_workload_asks_for_its_clouds_audience(chains: dict[str, Chain]) -> None:
    c = chains["usgov"]
    w = c.plan.workload("records-web")
    assert c.emulator.cloud.name == "AzureUSGovernment"
    assert (
        w["azureAdEnv"]["AzureAd__ClientCredentials__0__TokenExchangeUrl"]
        == "api://AzureADTokenExchangeUSGov"
    )
    log = _round_trip(c, "records-web", "appservice")
    identity_request = next(e for e in log if e["endpoint"] == "appservice")
    assert identity_request["resource"] == "api://AzureADTokenExchangeUSGov"
    (fic,) = w["federatedCredentials"]
    assert fic["issuer"] == f"https://login.microsoftonline.us/{w['tenantId']}/v2.0"
    assert fic["audience"] == "api://AzureADTokenExchangeUSGov"


def test_aks_via_identity(chains: dict[str, Chain]) -> None:
    c = chains["prod"]
    w = c.plan.workload("orders-worker")
    assert w["aksMode"] == "via-identity"
    log = _round_trip(c, "orders-worker", "aks-via-identity")
    # The service-account token buys the identity's token (FIC on the identity), which buys the app's.
    assert _hops(log) == [("entra-token", w["identityClientId"]), ("entra-token", w["appClientId"])]
    assert all(
        e["credential"] == "federated" and e["status"] == 200 for e in log if e["endpoint"] == "entra-token"
    )


def test_aks_direct(chains: dict[str, Chain]) -> None:
    c = chains["e2e"]
    w = c.plan.workload("ingest-direct")
    assert w["aksMode"] == "direct"
    assert w["azureAdEnv"]["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFilePath"
    log = _round_trip(c, "ingest-direct", "aks-direct")
    # The projected service-account token is the app's assertion: no managed identity involved.
    assert _hops(log) == [("entra-token", w["appClientId"])]


def test_app_settings_from_the_plans_appsettings_json(chains: dict[str, Chain], e2e_workdir: Path) -> None:
    """The plan's ``appsettingsJson`` output works as the app's appsettings.json, with no AzureAd env vars
    but the emulator's redirection of the login host."""
    c = chains["dev"]
    w = c.plan.workload("orders-web")
    env = c.env("orders-web", "appservice")
    for key in w["azureAdEnv"]:
        if key != "AzureAd__Instance":  # the emulator's login host overrides the file's, as in the env case
            del env[key]
    assert not any(k.startswith(("AzureAd__ClientId", "AzureAd__ClientCredentials")) for k in env)
    content_root = e2e_workdir / "orders-web-content-root"
    content_root.mkdir()
    (content_root / "appsettings.json").write_text(w["appsettingsJson"], encoding="utf-8")
    mark = len(c.emulator.requests)
    run = chain.run_app(env, cwd=content_root)
    assert run.ok, run.error
    assert _hops(c.log_since(mark)) == [
        ("appservice", w["identityClientId"]),
        ("entra-token", w["appClientId"]),
    ]
