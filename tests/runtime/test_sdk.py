"""Azure SDK clients accept the credential: azure-core's protocols and its bearer-token policies."""

from __future__ import annotations

from collections.abc import Callable

from azure.core.credentials import SupportsTokenInfo, TokenCredential
from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, BearerTokenCredentialPolicy
from azure.core.rest import HttpRequest

from certless import aio, credential_from_settings
from emulator import Emulator

from .support import STORAGE

HostFn = Callable[..., dict[str, str]]


def _request() -> PipelineRequest[HttpRequest]:
    return PipelineRequest(HttpRequest("GET", "https://acct.blob.core.windows.net/c"), PipelineContext(None))


def test_the_credential_satisfies_azure_cores_protocols(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        assert isinstance(credential, TokenCredential)
        assert isinstance(credential, SupportsTokenInfo)
    async_credential = aio.credential_from_settings()
    assert isinstance(async_credential, AsyncTokenCredential)
    assert isinstance(async_credential, AsyncSupportsTokenInfo)


def test_bearer_token_policy_sends_our_token(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        policy = BearerTokenCredentialPolicy(credential, STORAGE)
        first, second = _request(), _request()
        policy.on_request(first)
        policy.on_request(second)
        expected = credential.get_token(STORAGE).token
    assert first.http_request.headers["Authorization"] == f"Bearer {expected}"
    assert second.http_request.headers["Authorization"] == f"Bearer {expected}"
    assert emulator.counters["entra-token"] == 1


async def test_async_bearer_token_policy_sends_our_token(emulator: Emulator, host: HostFn) -> None:
    host("vm", "web")
    async with aio.credential_from_settings() as credential:
        policy = AsyncBearerTokenCredentialPolicy(credential, STORAGE)
        request = _request()
        await policy.on_request(request)
        expected = (await credential.get_token(STORAGE)).token
    assert request.http_request.headers["Authorization"] == f"Bearer {expected}"
