"""The Azurite harness: HTTPS with our CA, OAuth basic enforced, clean stop, one-line install hints.

The token checks pin down what Azurite 3.35.0 accepts in ``--oauth basic`` mode, which is the contract
the emulator's Storage access tokens must meet (a v1.0 token: ``https://sts.windows.net/{tid}/``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import jwt
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.storage.blob import BlobServiceClient

from certless_ops.azurite import Azurite, AzuriteMissing, locate_azurite

from .conftest import require_azurite

pytestmark = pytest.mark.e2e

TENANT = "8d1e4a35-5f51-4f7e-9a53-1d3f0b6f2c11"


class _StaticJwt:
    """A TokenCredential with a JWT signed by a throwaway HMAC key: Azurite's basic mode skips signatures."""

    def __init__(self, **claims: object) -> None:
        now = int(time.time())
        self.claims = {"iat": now, "nbf": now - 5, "exp": now + 3600, **claims}

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        token = jwt.encode(self.claims, "not-a-real-key-only-for-azurite-basic", algorithm="HS256")
        return AccessToken(token, int(self.claims["exp"]))  # type: ignore[call-overload]


def _roundtrip(azurite: Azurite, credential: object, *, verify: str | bool | None = None) -> bytes:
    client = BlobServiceClient(
        account_url=azurite.account_url,
        credential=credential,  # type: ignore[arg-type]
        connection_verify=str(azurite.ca_pem) if verify is None else verify,
        retry_total=0,
    )
    container = client.create_container(f"harness-{uuid.uuid4().hex[:12]}")
    container.upload_blob("hello.txt", b"hello from the harness")
    return bytes(container.download_blob("hello.txt").readall())


def test_v1_storage_token_over_https_round_trips_a_blob(azurite: Azurite) -> None:
    cred = _StaticJwt(iss=f"https://sts.windows.net/{TENANT}/", aud="https://storage.azure.com")
    assert _roundtrip(azurite, cred) == b"hello from the harness"


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        # Entra's v2.0 issuer: Azurite only knows the v1.0 STS issuers, as Storage tokens are v1.0.
        ({"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "aud": "https://storage.azure.com"},
         "Invalid token issuer."),
        # The token-exchange audience is for assertions, never for calling Storage.
        ({"iss": f"https://sts.windows.net/{TENANT}/", "aud": "api://AzureADTokenExchange"},
         "Invalid token audience."),
        ({"iss": f"https://sts.windows.net/{TENANT}/", "aud": "https://storage.azure.com",
          "nbf": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
         "Lifetime validation failed. The token is expired."),
    ],
    ids=["v2-issuer", "exchange-audience", "expired"],
)  # fmt: skip
def test_azurite_rejects_tokens_storage_would_reject(
    azurite: Azurite, claims: dict[str, object], detail: str
) -> None:
    with pytest.raises(ClientAuthenticationError) as info:
        _roundtrip(azurite, _StaticJwt(**claims))
    assert detail in str(info.value)


def test_client_without_our_ca_refuses_azurite_certificate(azurite: Azurite) -> None:
    cred = _StaticJwt(iss=f"https://sts.windows.net/{TENANT}/", aud="https://storage.azure.com")
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        _roundtrip(azurite, cred, verify=True)


def test_stop_ends_the_process_and_removes_its_files() -> None:
    require_azurite()
    server = Azurite().start()
    pid, workdir = server.pid, server.workdir
    assert pid is not None and workdir is not None and workdir.is_dir()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not workdir.exists()


def test_missing_node_says_what_to_install(monkeypatch: pytest.MonkeyPatch, e2e_workdir: Path) -> None:
    monkeypatch.setenv("PATH", str(e2e_workdir))  # a folder without node
    with pytest.raises(AzuriteMissing) as info:
        locate_azurite()
    message = str(info.value)
    assert "\n" not in message
    assert "Node.js is not installed" in message and "apt-get install nodejs npm" in message


def test_missing_azurite_says_to_run_setup(e2e_workdir: Path) -> None:
    require_azurite()  # needs node itself, to get past the Node.js check
    with pytest.raises(AzuriteMissing) as info:
        locate_azurite(e2e_workdir)
    message = str(info.value)
    assert "\n" not in message
    assert "Azurite is not installed" in message and "./dev setup" in message and "npm ci" in message


@pytest.mark.parametrize(("ci", "outcome"), [("true", "Failed"), ("", "Skipped")])
def test_missing_azurite_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, e2e_workdir: Path, ci: str, outcome: str
) -> None:
    from . import conftest

    def missing() -> None:
        locate_azurite(e2e_workdir)  # no node_modules there

    monkeypatch.setattr(conftest, "locate_azurite", missing)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as info:
        conftest.require_azurite()
    assert type(info.value).__name__ == outcome
    assert str(info.value).startswith(("Azurite is not installed", "Node.js"))
