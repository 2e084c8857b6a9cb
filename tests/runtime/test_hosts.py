"""A token for the app, from each kind of Azure host, through the emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

from certless import _jwt, credential_from_settings
from certless.errors import TokenRequestError
from emulator import Emulator

from .support import IDS, STORAGE

HOSTS = [
    ("appservice", "web", "appservice"),
    ("containerapp", "web", "appservice"),
    ("vm", "web", "imds"),
    ("aks-via-identity", "reports", None),
    ("aks-direct", "ingest", None),
]

HostFn = Callable[..., dict[str, str]]


@pytest.mark.parametrize(("kind", "workload", "identity_endpoint"), HOSTS)
def test_each_host_kind_gets_an_app_token_with_one_request_per_hop(
    emulator: Emulator, host: HostFn, kind: str, workload: str, identity_endpoint: str | None
) -> None:
    host(kind, workload)
    with credential_from_settings() as credential:
        token = credential.get_token(STORAGE)
        again = credential.get_token(STORAGE)

    claims = _jwt.claims(token.token)
    expected_app = IDS.app_direct if workload == "ingest" else IDS.app
    assert claims.get("appid", claims.get("azp")) == expected_app
    assert claims["aud"] in ("https://storage.azure.com", "https://storage.azure.com/")
    assert isinstance(token, AccessToken) and again == token  # the second call is served from the cache
    counters = emulator.counters
    if identity_endpoint:
        assert counters[identity_endpoint] == 1
        assert counters["entra-token"] == 1
    elif kind == "aks-via-identity":
        assert counters["entra-token"] == 2  # service-account token -> identity's token -> app's token
    else:
        assert counters["entra-token"] == 1
    assert counters["entra-discovery"] <= 1


def test_get_token_info_has_the_same_token_shape(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        info = credential.get_token_info(STORAGE)
    assert isinstance(info, AccessTokenInfo)
    assert info.token_type == "Bearer"
    assert info.expires_on > 0
    assert info.token not in repr(info)


def test_assertion_for_the_app_is_the_identity_token_with_the_exchange_audience(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        credential.get_token(STORAGE)
        source = credential.selected_source
        assert source is not None
        claims = source.assertion_claims()
        assert claims is not None
    assert claims["sub"] == IDS.identity_principal
    assert claims["iss"].endswith("/v2.0")
    token_requests = [r for r in emulator.requests if r.get("endpoint") == "appservice"]
    assert token_requests and all(r.get("resource") == "api://AzureADTokenExchange" for r in token_requests)


def test_credentials_from_the_same_settings_share_one_msal_app(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    tokens = set()
    for _ in range(3):
        with credential_from_settings() as credential:
            tokens.add(credential.get_token(STORAGE).token)
    assert len(tokens) == 1  # the second and third credential found the app's token in MSAL's cache
    assert emulator.counters["entra-discovery"] == 1
    assert emulator.counters["entra-token"] == 1


def test_a_shared_msal_app_always_presents_the_asking_credentials_own_assertion(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("vm", "web")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_url)  # every identity attached
    with credential_from_settings() as good:
        assert good.get_token(STORAGE).token
    monkeypatch.setenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId", IDS.other_identity)
    with credential_from_settings() as other, pytest.raises(TokenRequestError) as info:
        other.get_token("https://vault.azure.net/.default")  # same app, other identity: no FIC for it
    assert info.value.aadsts == 70021
    assert IDS.other_principal in (info.value.fix or "")


def test_tokens_for_different_scopes_are_cached_separately(emulator: Emulator, host: HostFn) -> None:
    host("vm", "web")
    with credential_from_settings() as credential:
        storage = credential.get_token(STORAGE)
        vault = credential.get_token("https://vault.azure.net/.default")
        assert credential.get_token(STORAGE) == storage
    assert storage.token != vault.token
    assert emulator.counters["entra-token"] == 2
    assert emulator.counters["imds"] == 1  # one identity token serves both exchanges
