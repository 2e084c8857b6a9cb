"""CAE claims challenges: a get_token with claims goes to Entra (never the cache), its token replaces
the cached one for that scope, and the claims reach the managed-identity leg too (its caches are
bypassed, and on AKS the identity's own token request carries them), as Microsoft.Identity.Web does."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

import pytest
from azure.core.credentials import AccessTokenInfo

from certless import aio, credential_from_settings
from certless._http import RequestsTransport, Response
from emulator import Emulator

from .support import IDS, STORAGE

HostFn = Callable[..., dict[str, str]]
CLAIMS = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1700000000"}}})
HOSTS = {"vm": ("web", "imds"), "appservice": ("web", "appservice"), "aks-via-identity": ("reports", "")}


class _Recording:
    """The real transport, recording each token POST's form (never printed)."""

    def __init__(self) -> None:
        self.real = RequestsTransport()
        self.posts: list[dict[str, list[str]]] = []

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
        if method == "POST" and url.endswith("/oauth2/v2.0/token"):
            form = data if isinstance(data, Mapping) else parse_qs(str(data))
            self.posts.append({k: v if isinstance(v, list) else [v] for k, v in form.items()})
        return self.real.request(
            method, url, params=params, data=data, headers=headers, timeout=timeout, verify=verify
        )

    def close(self) -> None:
        self.real.close()


def _identity_requests(emulator: Emulator, endpoint: str) -> int:
    return emulator.counters[endpoint] if endpoint else 0


@pytest.mark.parametrize("kind", list(HOSTS))
@pytest.mark.parametrize("api", ["get_token", "get_token_info"])
def test_a_claims_request_bypasses_the_cache_and_replaces_the_cached_token(
    emulator: Emulator, host: HostFn, kind: str, api: str
) -> None:
    workload, endpoint = HOSTS[kind]
    host(kind, workload)

    def get(credential: Any, claims: str | None = None) -> str:
        if api == "get_token":
            return str(credential.get_token(STORAGE, claims=claims).token)
        info = credential.get_token_info(STORAGE, options={"claims": claims} if claims else None)
        assert isinstance(info, AccessTokenInfo)
        return str(info.token)

    transport = _Recording()
    with credential_from_settings(transport=transport) as credential:
        revoked = get(credential)
        token_requests = emulator.counters["entra-token"]
        identity_requests = _identity_requests(emulator, endpoint)
        fresh = get(credential, CLAIMS)
        assert fresh != revoked
        # Entra was asked, with the claims, on every hop
        assert emulator.counters["entra-token"] > token_requests
        assert all(post.get("claims") for post in transport.posts[-(2 if not endpoint else 1) :])
        if endpoint:  # the MI token was fetched again (certless's and MSAL's MI caches bypassed)
            assert _identity_requests(emulator, endpoint) == identity_requests + 1
        else:  # AKS via identity: the identity's own token request carried the claims
            identity_posts = [p for p in transport.posts if p.get("client_id") == [IDS.aks_identity]]
            assert identity_posts[-1].get("claims")
        # every later caller without claims gets the new token, from the cache
        settled = emulator.counters["entra-token"]
        assert get(credential) == fresh
        assert get(credential) == fresh
        assert emulator.counters["entra-token"] == settled


def test_the_same_claims_twice_ask_entra_twice(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        credential.get_token(STORAGE)
        first = credential.get_token(STORAGE, claims=CLAIMS).token
        second = credential.get_token(STORAGE, claims=CLAIMS).token
    assert first != second and emulator.counters["entra-token"] == 3


async def test_async_claims_request_replaces_the_cached_token(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    async with aio.credential_from_settings() as credential:
        revoked = (await credential.get_token(STORAGE)).token
        fresh = (await credential.get_token(STORAGE, claims=CLAIMS)).token
        assert fresh != revoked
        assert (await credential.get_token(STORAGE)).token == fresh


def test_on_behalf_of_claims_request_replaces_the_cached_token(emulator: Emulator, host: HostFn) -> None:
    from certless import OnBehalfOfCredential

    from .support import IDS as ids

    host("appservice", "web")
    user_token = emulator.user_token("alice", ids.app_direct, f"api://{ids.app}/access_as_user")
    credential = OnBehalfOfCredential(user_token)
    downstream = "https://storage.azure.com/user_impersonation"
    revoked = credential.get_token(downstream).token
    fresh = credential.get_token(downstream, claims=CLAIMS).token
    assert fresh != revoked
    assert OnBehalfOfCredential(user_token).get_token(downstream).token == fresh
    assert emulator.counters["entra-token"] == 2
