# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Malformed or unexpected requests get the service's own error shape, never a 500 or a stack trace."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from emu_helpers import JWT_BEARER, aadsts

STORAGE_SCOPE = "https://storage.azure.com/.default"


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def entra_post(emu, tenant, **kwargs) -> requests.Response:
    return requests.post(
        f"{emu.entra_url}/{tenant}/oauth2/v2.0/token", verify=emu.ca_bundle_path, timeout=10, **kwargs
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"grant_type": "client_credentials"}},
        {"data": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"data": "grant_type=client_credentials&client_id=&scope="},
        {"data": {"grant_type": "client_credentials", "client_id": "x" * 5000, "scope": STORAGE_SCOPE}},
        {"data": "x" * (2 * 1024 * 1024), "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ],
    ids=["json-body", "binary-form", "empty-values", "huge-client-id", "oversized-body"],
)
def test_token_endpoint_shapes_every_bad_request(emu, tenant, kwargs):
    resp = entra_post(emu, tenant, **kwargs)
    assert 400 <= resp.status_code < 500, resp.text
    aadsts(resp)
    assert "Traceback" not in resp.text


@pytest.mark.parametrize(
    "assertion",
    [
        _b64({"alg": "RS256"}) + "." + _b64(["not", "an", "object"]) + ".c2ln",
        _b64({"alg": "RS256"}) + "." + _b64({"iss": 1, "sub": 2}) + ".c2ln",
        _b64({"alg": "none"}) + "." + _b64({"iss": "https://evil.example/", "sub": "x", "aud": "y"}) + ".",
        _b64({"alg": "RS256"})
        + "."
        + _b64({"iss": "https://login.microsoftonline.com/{tid}/v2.0", "sub": "x", "exp": "tomorrow"})
        + ".c2ln",
        "a.b.c.d",
        "." * 3,
    ],
    ids=[
        "claims-not-object",
        "iss-not-string",
        "alg-none-unknown-issuer",
        "exp-not-number",
        "four-parts",
        "dots",
    ],
)
def test_hostile_assertions_are_rejected_in_shape(emu, records, tenant, assertion):
    w = records.workload("orders")
    resp = entra_post(
        emu,
        tenant,
        data={
            "grant_type": "client_credentials",
            "client_id": w.app_client_id,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion.replace("{tid}", tenant),
            "scope": STORAGE_SCOPE,
        },
    )
    assert resp.status_code in (400, 401), resp.text
    assert aadsts(resp) in (50027, 700027, 70021)


def test_alg_none_forgery_of_an_entra_issued_token_is_rejected(emu, records, tenant):
    w = records.workload("orders")
    genuine = emu.issue_identity_token(w.identity_client_id)
    _header, payload, _sig = genuine.split(".")
    forged = _b64({"alg": "none", "typ": "JWT"}) + "." + payload + "."
    resp = entra_post(
        emu,
        tenant,
        data={
            "grant_type": "client_credentials",
            "client_id": w.app_client_id,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": forged,
            "scope": STORAGE_SCOPE,
        },
    )
    assert (resp.status_code, aadsts(resp)) == (401, 700027)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/%ff%fe/v2.0/.well-known/openid-configuration"),
        ("PUT", "/{tid}/oauth2/v2.0/token"),
        ("DELETE", "/{tid}/discovery/v2.0/keys"),
        ("PUT", "/{tid}/oauth2/v2.0/authorize"),  # served for GET: the sign-in page
    ],
)
def test_entra_unknown_paths_and_methods(emu, tenant, method, path):
    resp = requests.request(
        method, emu.entra_url + path.format(tid=tenant), verify=emu.ca_bundle_path, timeout=10
    )
    assert resp.status_code in (400, 404, 405)
    aadsts(resp)


@pytest.mark.parametrize(
    "params",
    [
        {"api-version": "2018-02-01", "resource": "api://AzureADTokenExchange", "client_id": "not-a-guid"},
        {"api-version": "yesterday", "resource": "x"},
        {
            "api-version": "2018-02-01",
            "resource": "api://AzureADTokenExchange",
            "client_id": "a",
            "object_id": "b",
        },
        {"api-version": "2018-02-01", "resource": "https://unknown.example"},
    ],
)
def test_imds_bad_queries(emu, params):
    resp = requests.get(
        f"{emu.imds_url}/metadata/identity/oauth2/token",
        params=params,
        headers={"Metadata": "true"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert set(resp.json()) == {"error", "error_description"}


def test_imds_unknown_host_prefix_and_post(emu):
    resp = requests.get(
        f"{emu.imds_url}/hosts/nobody/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": "x"},
        headers={"Metadata": "true"},
        timeout=10,
    )
    assert resp.status_code == 404
    assert set(resp.json()) == {"error", "error_description"}
    posted = requests.post(
        f"{emu.imds_url}/metadata/identity/oauth2/token", headers={"Metadata": "true"}, timeout=10
    )
    assert posted.status_code == 405
    assert set(posted.json()) == {"error", "error_description"}


def test_appservice_unknown_resource_is_shaped(emu, records):
    header = emu.host_env("appservice", "orders")["IDENTITY_HEADER"]
    resp = requests.get(
        emu.identity_endpoint,
        params={
            "api-version": "2019-08-01",
            "resource": "https://unknown.example",
            "client_id": records.workload("orders").identity_client_id,
        },
        headers={"X-IDENTITY-HEADER": header},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["statusCode"] == 400
    assert "AADSTS500011" in resp.json()["message"]


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("where", ["header", "claims"])
def test_a_deeply_nested_assertion_is_a_shaped_400_and_no_internal_error(emu, records, tenant, where):
    deep = base64.urlsafe_b64encode(_nested(100_000).encode()).rstrip(b"=").decode()
    header = deep if where == "header" else _b64({"alg": "RS256"})
    claims = deep if where == "claims" else _b64({"iss": "x", "sub": "y"})
    resp = entra_post(
        emu,
        tenant,
        data={
            "grant_type": "client_credentials",
            "client_id": records.workload("orders").app_client_id,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": f"{header}.{claims}.c2ln",
            "scope": STORAGE_SCOPE,
        },
    )
    assert resp.status_code in (400, 401), resp.text
    aadsts(resp)
    assert emu.internal_errors == []


def _raw(port: int, payload: bytes, tls: bool = False, ca: str | None = None) -> bytes:
    """Send bytes that no HTTP client would, and read the answer until the server closes."""
    import socket
    import ssl

    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        sock = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname="127.0.0.1")
    with sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if _complete(b"".join(chunks)):
                break
    return b"".join(chunks)


def _complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if sep and line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


PROTOCOL_ERRORS = {
    "bad-request-line": b"GARBAGE\r\n\r\n",
    "bad-version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "bad-header": b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    "long-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
    "bad-content-length": b"POST /t/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "bad-chunk": b"POST /t/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


def _body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"application/json" in head.lower(), head
    return status, json.loads(body)


@pytest.mark.parametrize("payload", PROTOCOL_ERRORS.values(), ids=PROTOCOL_ERRORS.keys())
def test_protocol_errors_get_each_service_s_error_shape_without_a_traceback(emu, payload, caplog):
    with caplog.at_level("DEBUG"):
        status, entra = _body(_raw(emu._port(0), payload, tls=True, ca=emu.ca_bundle_path))
        imds_status, imds = _body(_raw(emu._port(1), payload))
        app_status, appservice = _body(_raw(emu._port(2), payload))
    assert 400 <= status < 500 and 400 <= imds_status < 500 and 400 <= app_status < 500
    assert set(entra) >= {"error", "error_description", "error_codes", "trace_id", "correlation_id"}
    assert entra["error_description"].startswith(f"AADSTS{entra['error_codes'][0]}: ")
    assert set(imds) == {"error", "error_description"}
    assert set(appservice) == {"statusCode", "message"} and appservice["statusCode"] == app_status
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # The emulator still answers.
    assert requests.get(f"{emu.entra_url}/common/discovery/instance", verify=emu.ca_bundle_path, timeout=10)


def test_a_body_that_never_arrives_is_answered_not_held(emu, tenant):
    import time

    started = time.monotonic()
    answer = _raw(
        emu._port(0),
        f"POST /{tenant}/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=".encode(),
        tls=True,
        ca=emu.ca_bundle_path,
    )
    assert time.monotonic() - started < 9  # answered before the client's 10-s timeout
    status, body = _body(answer)
    assert status == 408 or 400 <= status < 500
    assert "error_codes" in body
