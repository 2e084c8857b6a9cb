# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""Small helpers shared by the emulator tests (plain HTTP calls and token inspection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import requests

from emulator import Emulator

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PLAN = Path(__file__).parent / "fixture_plan.json"


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def post_token(emu: Emulator, tenant: str, **form: str) -> requests.Response:
    return requests.post(
        f"{emu.entra_url}/{tenant}/oauth2/v2.0/token", data=form, verify=emu.ca_bundle_path, timeout=10
    )


def exchange(emu: Emulator, tenant: str, client_id: str, assertion: str, scope: str) -> requests.Response:
    return post_token(
        emu,
        tenant,
        grant_type="client_credentials",
        client_id=client_id,
        client_assertion_type=JWT_BEARER,
        client_assertion=assertion,
        scope=scope,
    )


def imds(emu: Emulator, base: str | None = None, headers: dict[str, str] | None = None, **query: str):
    params = {"api-version": "2018-02-01", "resource": "api://AzureADTokenExchange", **query}
    return requests.get(
        f"{base or emu.imds_url}/metadata/identity/oauth2/token",
        params=params,
        headers={"Metadata": "true"} if headers is None else headers,
        timeout=10,
    )


def appservice(emu: Emulator, header: str | None, **query: str) -> requests.Response:
    params = {"api-version": "2019-08-01", "resource": "api://AzureADTokenExchange", **query}
    headers = {"X-IDENTITY-HEADER": header} if header is not None else {}
    return requests.get(emu.identity_endpoint, params=params, headers=headers, timeout=10)


def aadsts(response: requests.Response) -> int:
    body = response.json()
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }, body
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    assert "\r\nTrace ID: " in body["error_description"]
    assert "\r\nCorrelation ID: " in body["error_description"]
    assert "\r\nTimestamp: " in body["error_description"]
    return int(body["error_codes"][0])
