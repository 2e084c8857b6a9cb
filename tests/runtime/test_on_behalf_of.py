"""OnBehalfOfCredential: a web API trades its caller's user token for a downstream token, proving the
app with the certificateless chain, through MSAL's on-behalf-of grant against the emulated Entra."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import jwt
import msal
import pytest
from azure.core.credentials import TokenCredential
from azure.core.credentials_async import AsyncTokenCredential

from certless import (
    CertlessCredential,
    CertlessError,
    OnBehalfOfCredential,
    TokenRequestError,
    _engine,
    aio,
    load_settings,
)
from certless import obo as obo_module
from emulator import Emulator

from .support import IDS, STORAGE, TENANT, FakeClock

HostFn = Callable[..., dict[str, str]]
CLIENT = IDS.app_direct  # the web app the user signed in to; it calls the API (IDS.app)
API_SCOPE = f"api://{IDS.app}/access_as_user"
DOWNSTREAM = "https://storage.azure.com/user_impersonation"


@pytest.fixture(autouse=True)
def _fresh_brokers() -> None:
    obo_module.forget_brokers()


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_downstream_token_is_for_the_same_user_and_the_app_proves_itself_with_its_identity(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    credential = OnBehalfOfCredential(user_token)
    assert isinstance(credential, TokenCredential)
    token = credential.get_token(DOWNSTREAM)
    claims = _claims(token.token)
    incoming = _claims(user_token)
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["oid"] == incoming["oid"] and claims["scp"] == "user_impersonation"
    assert claims["appid"] == IDS.app  # issued to the API, acting for the user
    exchange = [e for e in emulator.requests if e["endpoint"] == "entra-token"]
    assert [(e.get("grant"), e["credential"], e["status"]) for e in exchange] == [
        ("on_behalf_of", "federated", 200)
    ]
    assert [e["endpoint"] for e in emulator.requests].count("appservice") == 1  # the identity's assertion


def test_a_tenant_not_allowed_is_refused_before_the_exchange(emulator: Emulator, host: HostFn) -> None:
    """As for app-only tokens: tenant_id moves the exchange only to the configured or an allowed tenant."""
    from certless.errors import TenantNotAllowedError

    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    other = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
    credential = OnBehalfOfCredential(user_token)
    with pytest.raises(TenantNotAllowedError) as caught:
        credential.get_token(DOWNSTREAM, tenant_id=other)
    assert other in str(caught.value) and TENANT in str(caught.value)
    assert [e for e in emulator.requests if e["endpoint"] == "entra-token"] == []
    # The configured tenant, named, is the default one.
    assert _claims(credential.get_token(DOWNSTREAM, tenant_id=TENANT).token)["tid"] == TENANT


def test_cached_per_user_and_scope_and_shared_across_credentials(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    alice = emulator.user_token("alice", CLIENT, API_SCOPE)
    bob = emulator.user_token("bob", CLIENT, API_SCOPE)
    first = OnBehalfOfCredential(alice).get_token(DOWNSTREAM).token
    again = OnBehalfOfCredential(alice).get_token(DOWNSTREAM).token  # a new request, same user
    other = OnBehalfOfCredential(bob).get_token(DOWNSTREAM).token
    assert first == again and first != other
    assert _claims(other)["name"] == "bob"
    assert emulator.counters["entra-token"] == 2


def test_concurrent_requests_for_one_user_and_scope_make_one_token_request(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    barrier = threading.Barrier(50)
    tokens: list[str] = []

    def call() -> None:
        barrier.wait()
        tokens.append(OnBehalfOfCredential(user_token).get_token(DOWNSTREAM).token)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and len(tokens) == 50
    assert emulator.counters["entra-token"] == 1


def test_a_token_for_another_api_is_refused_as_entra_refuses_it(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    for_other_api = emulator.user_token("alice", CLIENT, f"api://{IDS.app_unfederated}/access_as_user")
    with pytest.raises(TokenRequestError) as caught:
        OnBehalfOfCredential(for_other_api).get_token(DOWNSTREAM)
    assert caught.value.aadsts == 500131
    assert "not a user token for this API" in str(caught.value)
    # Entra's trace and correlation IDs survive the rewording: a support case needs them.
    assert caught.value.trace_id and caught.value.correlation_id
    assert for_other_api not in str(caught.value)


def test_an_app_only_token_cannot_be_exchanged(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    with load_settings_cred() as app_only:
        token = app_only.get_token(f"api://{IDS.app}/.default").token
    with pytest.raises(TokenRequestError) as caught:
        OnBehalfOfCredential(token).get_token(DOWNSTREAM)
    assert caught.value.aadsts in (50013, 500131)
    assert token not in str(caught.value)


class EntraRefusesTheExchange:
    """The real transport, except that Entra answers the on-behalf-of request with ``body`` (HTTP 400,
    as it does for a user under Conditional Access or without consent, or ``status``)."""

    def __init__(self, body: dict[str, object], status: int = 400, retry_after: str | None = None) -> None:
        from certless._http import RequestsTransport

        self.real = RequestsTransport()
        self.body = body
        self.status = status
        self.retry_after = retry_after
        self.refused = 0

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        from certless._http import Response

        data = kwargs.get("data")
        if isinstance(data, dict) and data.get("requested_token_use") == "on_behalf_of":
            self.refused += 1
            headers = {"Content-Type": "application/json"}
            if self.retry_after is not None:
                headers["Retry-After"] = self.retry_after
            return Response(self.status, json.dumps(self.body), headers)
        return self.real.request(method, url, **kwargs)

    def close(self) -> None:
        self.real.close()


def _entra_error(error: str, code: int, text: str, **extra: object) -> dict[str, object]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: 0b6a4c1e-1111-4c2b-9d2e-0a0b0c0d0e0f "
        "Correlation ID: 5d5c3b2a-2222-4e1f-8a9b-1a2b3c4d5e6f Timestamp: 2026-12-04 02:00:00Z",
        "error_codes": [code],
        "timestamp": "2026-12-04 02:00:00Z",
        "trace_id": "0b6a4c1e-1111-4c2b-9d2e-0a0b0c0d0e0f",
        "correlation_id": "5d5c3b2a-2222-4e1f-8a9b-1a2b3c4d5e6f",
        **extra,
    }


@pytest.mark.parametrize(
    ("body", "fix"),
    [
        (
            _entra_error(
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new "
                "location, you must use multi-factor authentication to access 'storage'.",
                suberror="basic_action",
                claims='{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}',
            ),
            "The user must sign in again (Conditional Access or MFA): return 401 with the claims challenge",
        ),
        (
            _entra_error(
                "invalid_grant",
                65001,
                "The user or administrator has not consented to use the application with ID 'x' named 'api'.",
                suberror="consent_required",
            ),
            "The user (or an admin) has not consented to this API calling the downstream API for them",
        ),
    ],
    ids=["mfa", "consent"],
)
def test_an_exchange_entra_refuses_for_the_user_says_what_the_api_must_do(
    emulator: Emulator, host: HostFn, body: dict[str, object], fix: str
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    transport = EntraRefusesTheExchange(body)
    with pytest.raises(TokenRequestError) as caught:
        OnBehalfOfCredential(user_token, transport=transport).get_token(DOWNSTREAM)
    assert transport.refused == 1, "a refusal for the user is final: not retried"
    error = caught.value
    assert error.aadsts == body["error_codes"][0]  # type: ignore[index]
    assert (error.fix or "").startswith(fix)
    assert error.trace_id == body["trace_id"] and error.correlation_id == body["correlation_id"]
    assert user_token not in str(error)


def test_an_exchange_entra_fails_with_a_5xx_keeps_its_code_and_ids_and_is_transient(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    body = _entra_error("temporarily_unavailable", 50196, "The server is busy.")
    transport = EntraRefusesTheExchange(body, status=503, retry_after="120")
    with pytest.raises(TokenRequestError) as caught:
        OnBehalfOfCredential(user_token, transport=transport).get_token(DOWNSTREAM)
    error = caught.value
    assert error.summary.startswith(
        "Microsoft Entra's token endpoint answered HTTP 503 (AADSTS50196, temporarily_unavailable): "
    )
    assert error.aadsts == 50196 and error.oauth_error == "temporarily_unavailable"
    assert error.trace_id == body["trace_id"] and error.correlation_id == body["correlation_id"]
    assert error.transient is True and error.retry_after == 120.0
    assert user_token not in str(error)


def test_an_exchange_without_a_scope_is_a_clear_error_before_any_request(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    with pytest.raises(CertlessError) as caught:
        OnBehalfOfCredential(user_token).get_token()
    assert str(caught.value).startswith("get_token needs at least one scope, got ()")
    assert "user_impersonation" in (caught.value.fix or "")
    assert [e for e in emulator.requests if e["endpoint"] == "entra-token"] == []


def load_settings_cred() -> CertlessCredential:
    return CertlessCredential(load_settings())


@pytest.mark.parametrize(
    ("assertion", "expected", "fix"),
    [
        ("", "needs the user's access token", "Pass the bearer token from the incoming request's"),
        (None, "needs the user's access token", "Pass the bearer token from the incoming request's"),
        ("Bearer a.b.c", "Authorization header value", "Strip the 'Bearer ' prefix: pass only the token."),
        ("not-a-jwt", "not a JWT", "Pass the access token the client sent to this API."),
        (" a.b.c", "not a JWT", "Pass the access token the client sent to this API."),
    ],
)
def test_a_missing_or_malformed_user_assertion_is_a_clear_error(
    assertion: object, expected: str, fix: str
) -> None:
    with pytest.raises(CertlessError, match=expected) as caught:
        OnBehalfOfCredential(assertion)  # type: ignore[arg-type]
    assert (caught.value.fix or "").startswith(fix)


def test_repr_never_shows_the_user_token(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    credential = OnBehalfOfCredential(user_token)
    token = credential.get_token(DOWNSTREAM)
    for text in (repr(credential), repr(token)):
        assert user_token not in text and token.token not in text
        assert user_token.split(".")[1][:20] not in text


def test_the_cache_stays_bounded(emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch) -> None:
    host("appservice", "web")
    monkeypatch.setattr(obo_module, "MAX_CACHED_TOKENS", 3)
    users = [emulator.user_token(f"user{i}", CLIENT, API_SCOPE) for i in range(6)]
    for user in users:
        OnBehalfOfCredential(user).get_token(DOWNSTREAM)
    broker = obo_module._broker_for(None, {})
    assert len(broker.cache.entries) == 3
    # The newest stay cached: asking again for the last user makes no request.
    before = emulator.counters["entra-token"]
    OnBehalfOfCredential(users[-1]).get_token(DOWNSTREAM)
    assert emulator.counters["entra-token"] == before
    # Nor do the users' tokens pile up in MSAL's own cache behind certless's bounded one (a web API
    # serving many users would grow without limit): the on-behalf-of app's MSAL cache stores none.
    obo_apps = [app for key, app in _engine._apps.items() if key[-1] is False]
    assert obo_apps
    for app in obo_apps:
        assert list(app.msal.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)) == []
        assert list(app.msal.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)) == []


async def test_async_twin_shares_one_request_and_a_cancelled_caller_is_its_own(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    credential = aio.OnBehalfOfCredential(user_token)
    assert isinstance(credential, AsyncTokenCredential)
    impatient = asyncio.ensure_future(credential.get_token(DOWNSTREAM))
    waiters = [aio.OnBehalfOfCredential(user_token).get_token(DOWNSTREAM) for _ in range(20)]
    await asyncio.sleep(0)
    impatient.cancel()
    tokens = await asyncio.gather(*waiters)
    assert len({t.token for t in tokens}) == 1
    assert emulator.counters["entra-token"] == 1
    assert _claims(tokens[0].token)["tid"] == TENANT
    assert STORAGE  # the app-only scope is untouched by OBO


def test_a_due_obo_token_is_renewed_through_the_spawn_it_was_given(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    """As for app-only tokens (tests/runtime/test_refresh.py): a custom clock and spawn reach the OBO
    cache, so a token near expiry is served at once and renewed by the caller's spawn, not a thread."""
    from .test_refresh import Deferred

    host("appservice", "web")
    user_token = emulator.user_token("alice", CLIENT, API_SCOPE)
    spawn = Deferred()
    credential = OnBehalfOfCredential(user_token, load_settings(), clock=clock, spawn=spawn)
    first = credential.get_token(DOWNSTREAM)
    clock.advance(first.expires_on - clock.time() - 200)
    assert credential.get_token(DOWNSTREAM) == first  # served at once, the renewal queued
    assert len(spawn.jobs) == 1
    spawn.run_all()
    second = credential.get_token(DOWNSTREAM)
    assert second.token != first.token
    grants = [e.get("grant") for e in emulator.requests if e["endpoint"] == "entra-token"]
    assert grants.count("on_behalf_of") == 2
