# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Fault injection per endpoint, the request log and counters, clock skew and token lifetimes."""

from __future__ import annotations

import threading

import msal
import pytest
import requests
from azure.identity import ManagedIdentityCredential
from emu_helpers import aadsts, appservice, claims, exchange, imds

from emulator import Emulator, Fault, FaultPlan, RecordsError

EXCHANGE = "api://AzureADTokenExchange"


def test_scripted_statuses_then_normal_service(emu, records):
    emu.faults.script("imds", [429, 503, "ok"])
    w = records.workload("orders")
    first, second, third, fourth = (imds(emu, client_id=w.identity_client_id) for _ in range(4))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert second.status_code == 503
    assert third.status_code == 200
    assert fourth.status_code == 200
    assert [e.get("fault") for e in emu.requests] == ["429", "503", None, None]
    assert emu.counters["imds"] == 4


@pytest.mark.parametrize("status", [404, 410, 500])
def test_status_faults_keep_the_service_shape(emu, records, status):
    emu.faults.script("appservice", [status])
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    resp = appservice(emu, header, client_id=records.workload("orders").identity_client_id)
    assert resp.status_code == status
    assert resp.json()["statusCode"] == status


def test_entra_throttling_fault_has_entra_shape_and_retry_after(emu, records):
    emu.faults.script("entra-token", ["429:retry-after=7"])
    w = records.workload("orders")
    resp = exchange(
        emu, w.tenant_id, w.app_client_id, emu.issue_identity_token(w.identity_client_id), ".default"
    )
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    aadsts(resp)


def test_azure_identity_retries_imds_through_scripted_throttling(monkeypatch, emu, records):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.host_imds_url("orders"))
    emu.faults.script("imds", ["429:retry-after=0", "ok"])
    w = records.workload("orders")
    token = ManagedIdentityCredential(client_id=w.identity_client_id).get_token(f"{EXCHANGE}/.default")
    assert claims(token.token)["azp"] == w.identity_client_id
    assert [e["status"] for e in emu.requests] == [429, 200]


def test_timeout_holds_the_connection_past_the_client_timeout(emu, records):
    emu.faults.script("imds", ["timeout=5s"])
    w = records.workload("orders")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{emu.imds_url}/metadata/identity/oauth2/token",
            params={"api-version": "2018-02-01", "resource": EXCHANGE, "client_id": w.identity_client_id},
            headers={"Metadata": "true"},
            timeout=0.3,
        )
    assert imds(emu, client_id=w.identity_client_id).status_code == 200


def test_connection_reset(emu, records):
    emu.faults.script("imds", ["reset"])
    with pytest.raises(requests.exceptions.ConnectionError):
        imds(emu, client_id=records.workload("orders").identity_client_id)


def test_malformed_json_breaks_msal_parsing_without_crashing_the_emulator(monkeypatch, emu, records):
    emu.faults.script("imds", ["malformed"])
    w = records.workload("orders")
    resp = imds(emu, client_id=w.identity_client_id)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.host_imds_url("orders"))
    emu.faults.script("imds", ["malformed"])
    mi = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=w.identity_client_id), http_client=requests.Session()
    )
    with pytest.raises(ValueError):
        mi.acquire_token_for_client(resource=EXCHANGE)


def test_latency_is_applied_and_logged(emu, records):
    emu.faults.latency("imds", 0.05)
    resp = imds(emu, client_id=records.workload("orders").identity_client_id)
    assert resp.status_code == 200
    assert resp.elapsed.total_seconds() >= 0.05


def test_short_lived_tokens_per_endpoint(emu, records):
    emu.faults.token_lifetime("imds", 120)
    w = records.workload("orders")
    body = imds(emu, client_id=w.identity_client_id).json()
    assert body["expires_in"] == "120"
    c = claims(body["access_token"])
    assert c["exp"] - c["iat"] == 120
    # Other endpoints keep their lifetime.
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    app_body = appservice(emu, header, client_id=w.identity_client_id).json()
    c2 = claims(app_body["access_token"])
    assert c2["exp"] - c2["iat"] == 86399


def test_clock_skew_shifts_issued_tokens(emu, records):
    w = records.workload("orders")
    before = claims(emu.issue_identity_token(w.identity_client_id))["iat"]
    emu.clock_skew(3600)
    after = claims(emu.issue_identity_token(w.identity_client_id))["iat"]
    assert after - before >= 3600


def test_identity_endpoints_hand_out_a_cached_token_until_5_minutes_before_expiry(emu, records):
    w = records.workload("orders")
    first = imds(emu, client_id=w.identity_client_id).json()
    emu.clock_skew(3600)
    again = imds(emu, client_id=w.identity_client_id).json()
    assert again["access_token"] == first["access_token"]  # a refresh cannot be forced
    assert int(again["expires_in"]) <= 86399 - 3600
    assert again["expires_on"] == first["expires_on"]
    # Another resource, or the App Service endpoint, has its own token.
    storage = imds(emu, client_id=w.identity_client_id, resource="https://storage.azure.com").json()
    assert storage["access_token"] != first["access_token"]
    emu.clock_skew(86399 - 299)  # inside the last 5 minutes: the backend renews it
    renewed = imds(emu, client_id=w.identity_client_id).json()
    assert renewed["access_token"] != first["access_token"]
    assert renewed["expires_in"] == "86399"


def test_token_cache_can_be_switched_off(records, monkeypatch):
    with Emulator(records, cache_identity_tokens=False) as emu:
        w = records.workload("orders")
        one = imds(emu, client_id=w.identity_client_id).json()["access_token"]
        two = imds(emu, client_id=w.identity_client_id).json()["access_token"]
        assert one != two


def test_request_log_has_no_token_values(emu, records):
    w = records.workload("orders")
    token = imds(emu, client_id=w.identity_client_id).json()["access_token"]
    resp = exchange(emu, w.tenant_id, w.app_client_id, token, "https://storage.azure.com/.default")
    access = resp.json()["access_token"]
    log_text = repr(emu.requests)
    for secret in (token, access, emu.identity_header):
        assert secret not in log_text
        assert secret.split(".")[-1] not in log_text
    assert {e["endpoint"] for e in emu.requests} == {"imds", "entra-token"}
    assert emu.requests[-1]["client_id"] == w.app_client_id
    assert emu.requests[-1]["status"] == 200


def test_fault_specs_are_validated():
    plan = FaultPlan()
    with pytest.raises(RecordsError, match="fault step: got 418"):
        plan.script("imds", [418])
    with pytest.raises(RecordsError, match="endpoint: got 'imdz'"):
        plan.script("imdz", [429])
    with pytest.raises(RecordsError, match="--fault"):
        plan.apply_cli(["imds"], [], [])
    with pytest.raises(RecordsError, match="duration"):
        plan.apply_cli([], ["entra-token=fast"], [])
    plan.apply_cli(["imds=429,429,200"], ["entra-token=20ms"], ["imds=2m"])
    assert plan.pending("imds") == 3
    assert plan.latency_for("entra-token") == pytest.approx(0.02)
    assert plan.lifetime_for("imds") == 120
    assert Fault.parse("timeout=1.5s") == Fault("timeout", hold_seconds=1.5)


def test_stop_releases_held_connections_and_restart_works(records, monkeypatch):
    emu = Emulator(records).start()
    emu.faults.script("imds", ["timeout=60s"])
    outcome: list[str] = []

    def call() -> None:
        try:
            imds(emu, client_id=records.workload("orders").identity_client_id)
            outcome.append("answered")
        except requests.exceptions.RequestException:
            outcome.append("dropped")

    caller = threading.Thread(target=call)
    caller.start()
    while emu.counters["imds"] == 0:
        threading.Event().wait(0.01)
    emu.stop()  # must not wait for the 60 s hold
    caller.join(timeout=10)
    assert outcome == ["dropped"]
    emu.start()
    try:
        assert imds(emu, client_id=records.workload("orders").identity_client_id).status_code == 200
    finally:
        emu.stop()


def test_unreachable_answer_is_what_azure_identity_treats_as_no_imds(monkeypatch, emu, records):
    from azure.identity import CredentialUnavailableError

    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.host_imds_url("orders"))
    emu.faults.script("imds", ["unreachable"])
    resp = imds(emu, client_id=records.workload("orders").identity_client_id)
    assert resp.status_code == 403
    assert "unreachable" in resp.text
    emu.faults.script("imds", ["unreachable"])
    with pytest.raises(CredentialUnavailableError):
        ManagedIdentityCredential(client_id=records.workload("orders").identity_client_id).get_token(
            f"{EXCHANGE}/.default"
        )


def test_on_request_sees_each_log_entry_without_tokens(records):
    seen: list[dict] = []

    def broken_watcher(entry: dict) -> None:
        seen.append(entry)
        raise RuntimeError("watchers may fail")

    with Emulator(records, on_request=broken_watcher) as emu:
        w = records.workload("orders")
        body = imds(emu, client_id=w.identity_client_id).json()
        assert "access_token" in body  # the failing watcher did not break the answer
        assert [e["endpoint"] for e in seen] == ["imds"]
        assert body["access_token"] not in repr(seen)
        assert emu.internal_errors == []
