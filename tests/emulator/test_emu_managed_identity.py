# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""IMDS and the App Service / Container Apps identity endpoint: wire shapes, selectors, defaults, limits."""

from __future__ import annotations

import concurrent.futures

import msal
import pytest
import requests
from emu_helpers import PLAN, appservice, claims, imds

from emulator import Emulator, IdentityLimits, Records
from emulator.managed_identity.limits import Limiter

EXCHANGE = "api://AzureADTokenExchange"


def test_imds_response_shape_uses_string_numbers(emu, records):
    w = records.workload("orders")
    resp = imds(emu, client_id=w.identity_client_id, resource="https://storage.azure.com/")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
    }
    assert all(isinstance(body[k], str) for k in ("expires_in", "expires_on", "ext_expires_in", "not_before"))
    assert body["client_id"] == w.identity_client_id
    assert body["resource"] == "https://storage.azure.com/"
    c = claims(body["access_token"])
    assert int(body["expires_on"]) == c["exp"]
    # A storage token for an identity: v1 issuer, audience exactly as requested (what Azurite accepts).
    assert c["iss"] == f"https://sts.windows.net/{w.tenant_id}/"
    assert c["aud"] == "https://storage.azure.com/"
    assert c["appid"] == w.identity_client_id
    assert c["oid"] == records.identity(w.identity_client_id).principal_id


def test_imds_requires_the_metadata_header(emu, records):
    resp = imds(emu, headers={}, client_id=records.workload("orders").identity_client_id)
    assert resp.status_code == 400
    assert resp.json() == {
        "error": "bad_request_102",
        "error_description": "Required metadata header not specified",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"api-version": ""}, "api-version"),
        ({"api-version": "2017-01-01"}, "api-version"),
        ({"resource": ""}, "Required audience parameter not specified"),
    ],
)
def test_imds_rejects_bad_queries(emu, query, expected):
    resp = imds(emu, **query)
    assert resp.status_code == 400
    assert expected in resp.json()["error_description"]


def test_imds_selectors(emu, records):
    ident = records.identity(records.workload("billing").identity_client_id)
    for selector, value in (
        ("client_id", ident.client_id),
        ("object_id", ident.principal_id),
        ("msi_res_id", ident.resource_id),
    ):
        resp = imds(emu, **{selector: value})
        assert resp.status_code == 200, resp.text
        assert claims(resp.json()["access_token"])["oid"] == ident.principal_id


def test_imds_default_identity_rules(emu, records):
    orders = records.workload("orders")
    host = emu.host_imds_url("orders")
    # Only one user-assigned identity attached: it is the default.
    only = imds(emu, base=host)
    assert only.status_code == 200
    assert only.json()["client_id"] == orders.identity_client_id
    # Attach a second one: without a selector IMDS can no longer choose.
    emu.attach_identity("orders", records.workload("billing").identity_client_id)
    ambiguous = imds(emu, base=host)
    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"] == "invalid_request"
    assert ambiguous.json()["error_description"].startswith("Multiple user assigned identities exist")
    # An identity that is not attached to this host is not found.
    missing = imds(emu, base=host, client_id=records.workload("reports").identity_client_id)
    assert missing.json() == {"error": "invalid_request", "error_description": "Identity not found"}
    # The system-assigned one wins when present.
    emu.attach_identity("orders", records.workload("legacy").identity_client_id)
    assert imds(emu, base=host).json()["client_id"] == records.workload("legacy").identity_client_id


def test_msal_system_assigned_request_on_a_vm_with_several_identities_fails_clearly(
    monkeypatch, emu, records
):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.host_imds_url("orders"))
    emu.attach_identity("orders", records.workload("billing").identity_client_id)
    mi = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=requests.Session())
    result = mi.acquire_token_for_client(resource=EXCHANGE)
    assert result["error"] == "invalid_request"
    assert "Multiple user assigned identities exist" in result["error_description"]


def test_appservice_response_shape(emu, records):
    w = records.workload("orders")
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    resp = appservice(emu, header, client_id=w.identity_client_id)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert "expires_in" not in body
    assert body["expires_on"] == str(claims(body["access_token"])["exp"])


def test_appservice_header_and_selectors(emu, records):
    w = records.workload("orders")
    ident = records.identity(w.identity_client_id)
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    assert appservice(emu, None).json()["statusCode"] == 400
    wrong = appservice(emu, "not-the-header", client_id=w.identity_client_id)
    assert (wrong.status_code, wrong.json()["statusCode"]) == (401, 401)
    for selector, value in (
        ("client_id", ident.client_id),
        ("principal_id", ident.principal_id),
        ("object_id", ident.principal_id),
        ("mi_res_id", ident.resource_id),
    ):
        assert appservice(emu, header, **{selector: value}).status_code == 200, selector
    # Another workload's identity is not attached to this app.
    other = appservice(emu, header, client_id=records.workload("billing").identity_client_id)
    assert other.status_code == 400
    # No selector and no system-assigned identity: App Service does not guess a user-assigned one.
    assert appservice(emu, header).status_code == 400
    assert appservice(emu, header, **{"api-version": "2017-09-01"}).status_code == 400


def test_each_host_sees_only_its_own_identity(emu, records):
    billing_header = emu.host_env("containerapp", "billing")["IDENTITY_HEADER"]
    orders_header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    assert billing_header != orders_header
    billing = records.workload("billing").identity_client_id
    assert appservice(emu, billing_header, client_id=billing).status_code == 200
    assert appservice(emu, orders_header, client_id=billing).status_code == 400


def test_token_exchange_token_for_a_system_assigned_identity(emu, records):
    w = records.workload("legacy")
    header = emu.host_env("appservice", "legacy")["IDENTITY_HEADER"]
    body = appservice(emu, header).json()
    c = claims(body["access_token"])
    assert c["sub"] == records.identity(w.identity_client_id).principal_id
    assert body["client_id"] == w.identity_client_id


def _burst(url: str, n: int, **kw) -> list[requests.Response]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: requests.get(url, timeout=30, **kw), range(n)))


def test_identity_endpoint_allows_5_concurrent_requests(emu, records):
    emu.faults.latency("imds", 0.5)
    w = records.workload("orders")
    url = f"{emu.imds_url}/metadata/identity/oauth2/token"
    params = {"api-version": "2018-02-01", "resource": EXCHANGE, "client_id": w.identity_client_id}
    responses = _burst(url, 10, params=params, headers={"Metadata": "true"})
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 5
    assert statuses.count(429) == 5
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.headers["Retry-After"] == "1"
    assert sum(1 for e in emu.requests if e.get("limited")) == 5


def test_identity_endpoint_allows_20_requests_per_second(emu, records):
    w = records.workload("orders")
    frozen = [1000.0]
    emu._services.limiter.now = lambda: frozen[0]  # every request lands in the same instant
    statuses = [imds(emu, client_id=w.identity_client_id).status_code for _ in range(22)]
    assert statuses == [200] * 20 + [429, 429]
    # App Service counts separately, per host.
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    assert appservice(emu, header, client_id=w.identity_client_id).status_code == 200
    frozen[0] += 1.0  # a second later the window has moved on
    assert imds(emu, client_id=w.identity_client_id).status_code == 200


def test_limiter_window_and_concurrency():
    now = [0.0]
    limiter = Limiter(IdentityLimits(requests_per_second=20, concurrent=5), now=lambda: now[0])
    for _ in range(5):
        assert limiter.try_enter("imds:a")
    assert not limiter.try_enter("imds:a")  # sixth concurrent
    assert limiter.try_enter("imds:b")  # another host has its own budget
    for _ in range(5):
        limiter.leave("imds:a")
    for _ in range(15):
        assert limiter.try_enter("imds:a")
        limiter.leave("imds:a")
    assert not limiter.try_enter("imds:a")  # 21st within the second
    now[0] = 0.999
    assert not limiter.try_enter("imds:a")
    now[0] = 1.0
    assert limiter.try_enter("imds:a")


def test_limits_can_be_disabled_for_benchmarks(monkeypatch):
    records = Records.from_plan(PLAN)
    with Emulator(records, identity_limits=None) as emu:
        w = records.workload("orders")
        statuses = {imds(emu, client_id=w.identity_client_id).status_code for _ in range(30)}
        assert statuses == {200}


def test_custom_limits(monkeypatch):
    records = Records.from_plan(PLAN)
    with Emulator(records, identity_limits=IdentityLimits(requests_per_second=3, concurrent=5)) as emu:
        w = records.workload("orders")
        emu._services.limiter.now = lambda: 5.0
        statuses = [imds(emu, client_id=w.identity_client_id).status_code for _ in range(4)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3] == 429


def test_unknown_paths_answer_in_each_services_shape(emu):
    r = requests.get(f"{emu.imds_url}/metadata/instance", headers={"Metadata": "true"}, timeout=5)
    assert r.status_code == 404
    assert set(r.json()) == {"error", "error_description"}
    r = requests.get(emu.identity_endpoint.replace("/msi/token", "/nope"), timeout=5)
    assert r.status_code == 404
    assert r.json()["statusCode"] == 404
    r = requests.get(f"{emu.entra_url}/some/where/else", verify=emu.ca_bundle_path, timeout=5)
    assert r.status_code == 404
    assert r.json()["error_description"].startswith("AADSTS")
    r = requests.get(
        f"{emu.entra_url}/{emu.records.tenants[0]}/oauth2/v2.0/token", verify=emu.ca_bundle_path, timeout=5
    )
    assert r.status_code == 405
    assert "only accepts POST" in r.json()["error_description"]


@pytest.mark.parametrize("value", ["True", "TRUE", "1", "yes", "false", ""])
def test_imds_metadata_header_must_be_exactly_true(emu, records, value):
    w = records.workload("orders")
    params = {"api-version": "2018-02-01", "resource": EXCHANGE, "client_id": w.identity_client_id}
    url = f"{emu.imds_url}/metadata/identity/oauth2/token"
    r = requests.get(url, params=params, headers={"Metadata": value}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request_102"
    ok = requests.get(url, params=params, headers={"Metadata": "true"}, timeout=10)
    assert ok.status_code == 200
