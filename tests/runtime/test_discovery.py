"""OIDC discovery: only a usable document is cached for the process, and a broken one is described as
what it is (a bad answer, retried on the next call), never blamed on the TenantId setting."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from certless import credential_from_settings
from certless._http import RequestsTransport, Response
from certless.errors import TokenRequestError
from emulator import Emulator
from emulator.faults import MALFORMED_BODIES

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]


@pytest.mark.parametrize("variant", list(MALFORMED_BODIES))
def test_a_malformed_discovery_answer_is_not_cached_and_names_the_problem(
    emulator: Emulator, host: HostFn, clock: FakeClock, variant: str
) -> None:
    host("appservice", "web")
    emulator.faults.script("entra-discovery", [f"malformed={variant}"])
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(TokenRequestError) as info:
            credential.get_token(STORAGE)
        text = str(info.value)
        assert "TenantId" not in text and "OIDC discovery document" in text
        assert info.value.transient
        # The next call asks again (nothing broken was cached) and works.
        assert credential.get_token(STORAGE).token
    assert emulator.counters["entra-discovery"] == 2


class _Rewriting:
    """The emulator, except that the discovery document is edited on the way back."""

    def __init__(self, edit: Callable[[dict[str, Any]], object]) -> None:
        self.real = RequestsTransport()
        self.edit = edit

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | str | None,
        headers: Mapping[str, str],
        timeout: float,
        verify: str | bool,
    ) -> Response:
        response = self.real.request(
            method, url, params=params, data=data, headers=headers, timeout=timeout, verify=verify
        )
        if url.endswith("/.well-known/openid-configuration") and response.status_code == 200:
            document = json.loads(response.text)
            return Response(200, json.dumps(self.edit(document)), response.headers)
        return response

    def close(self) -> None:
        self.real.close()


def _set(field: str, value: object) -> Callable[[dict[str, Any]], object]:
    def edit(document: dict[str, Any]) -> object:
        document[field] = value
        return document

    return edit


def _drop(field: str) -> Callable[[dict[str, Any]], object]:
    def edit(document: dict[str, Any]) -> object:
        document.pop(field)
        return document

    return edit


def _plain_http(field: str) -> Callable[[dict[str, Any]], object]:
    def edit(document: dict[str, Any]) -> object:
        document[field] = document[field].replace("https://", "http://", 1)
        return document

    return edit


BROKEN = {
    "no token_endpoint": (_drop("token_endpoint"), "token_endpoint"),
    "no authorization_endpoint": (_drop("authorization_endpoint"), "authorization_endpoint"),
    "no issuer": (_drop("issuer"), "issuer"),
    "token_endpoint over http": (_plain_http("token_endpoint"), "token_endpoint"),
    "token_endpoint elsewhere": (
        _set("token_endpoint", "https://collector.example/t/token"),
        "token_endpoint",
    ),
    "token_endpoint with userinfo": (
        _set("token_endpoint", "https://evil\\@login.microsoftonline.com/t/token"),
        "token_endpoint",
    ),
    "authorization_endpoint elsewhere": (
        _set("authorization_endpoint", "https://collector.example/authorize"),
        "authorization_endpoint",
    ),
    "issuer not a URL": (_set("issuer", "login.microsoftonline.com"), "issuer"),
    "issuer a number": (_set("issuer", 7), "issuer"),
    "token_endpoint a list": (
        _set("token_endpoint", ["https://login.microsoftonline.com/t"]),
        "token_endpoint",
    ),
    "a JSON string": (lambda _doc: "openid-configuration", "JSON object"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_discovery_document_with_a_bad_field_is_refused_by_name_and_not_cached(
    emulator: Emulator, host: HostFn, clock: FakeClock, case: str
) -> None:
    edit, named = BROKEN[case]
    host("appservice", "web")
    with (
        credential_from_settings(clock=clock, transport=_Rewriting(edit)) as credential,
        pytest.raises(TokenRequestError) as info,
    ):
        credential.get_token(STORAGE)
    text = str(info.value)
    assert named in text and "TenantId" not in text
    assert emulator.counters["entra-token"] == 0  # no assertion went anywhere
    with credential_from_settings(clock=clock) as credential:  # nothing cached: the real one is used
        assert credential.get_token(STORAGE).token
    assert emulator.counters["entra-discovery"] == 2


@pytest.mark.parametrize("status", ["503", "500", "429"])
def test_a_failing_discovery_endpoint_is_a_transient_error_not_a_tenant_error(
    emulator: Emulator, host: HostFn, clock: FakeClock, status: str
) -> None:
    host("appservice", "web")
    emulator.faults.script("entra-discovery", [status] * 10)
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(TokenRequestError) as info:
            credential.get_token(STORAGE)
        assert info.value.transient and "TenantId" not in str(info.value)
        emulator.faults.clear()
        assert credential.get_token(STORAGE).token


def test_an_unknown_tenant_still_points_at_the_tenant_setting(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    unknown = "0b6c7a10-0000-4e55-9a21-5c0d9e8b1a99"
    host("appservice", "web", AzureAd__TenantId=unknown)
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    assert "TenantId" in str(info.value)
    # The summary says Entra refused the authority, naming it, and quotes the first line of the refusal.
    summary = info.value.summary
    assert summary.startswith("Microsoft Entra rejected the authority ") and unknown in summary, summary
    assert "\n" not in summary and len(summary.split(unknown, 1)[1]) > 3, summary
