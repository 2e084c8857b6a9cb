"""An ambiguous URL never makes a connection: proven with a real listener on loopback.

Each URL below is one that urllib3 (under requests, which certless and MSAL use) would connect to
127.0.0.1:<listener port>, while urlsplit reads another host (or none). A check on urlsplit's reading
would let the HTTP client send the assertion, the vault token or the identity header to the listener.
certless refuses them all, and the listener sees no connection at all.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from urllib3.util import parse_url

from certless import CertlessCredential, credential_from_settings, load_settings
from certless.errors import (
    CertlessError,
    InsecureEndpointError,
    NoCredentialError,
    SettingsError,
)

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
CLIENT = "11111111-2222-3333-4444-555555555555"
SECRET_ENV = {
    "AzureAd__TenantId": TENANT,
    "AzureAd__ClientId": CLIENT,
    "AzureAd__ClientCredentials__0__SourceType": "ClientSecret",
    "AzureAd__ClientCredentials__0__ClientSecret": "dev-only-secret-value",
}
MI_ENV = {
    "AzureAd__TenantId": TENANT,
    "AzureAd__ClientId": CLIENT,
    "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
}


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts (and closes them)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def settle(self) -> int:
        time.sleep(0.1)  # a connection in flight is counted before the assertion
        return self.connections

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    it = Listener()
    yield it
    it.close()


# The host part after the scheme; {p} is the listener's port. urllib3 reads each as 127.0.0.1:{p}.
TO_LISTENER = [
    "127.0.0.1:{p}\\@{host}",
    "127.0.0.1:{p}\\\\@{host}",
    "127.0.0.1:{p}\\x@{host}",
    "127.0.0.1:{p}\\{host}",
    "{host}@127.0.0.1:{p}",
    "{host}:443@127.0.0.1:{p}",
    "user:pw@127.0.0.1:{p}",
]


def _url(scheme: str, template: str, port: int, host: str, path: str = "/") -> str:
    return f"{scheme}://{template.format(p=port, host=host)}{path}"


def _reads_as_listener(url: str, port: int) -> None:
    parsed = parse_url(url)
    assert (parsed.host, parsed.port) == ("127.0.0.1", port), "the case must aim urllib3 at the listener"


@pytest.mark.parametrize("template", TO_LISTENER)
@pytest.mark.parametrize("setting", ["Instance", "Authority"])
def test_an_ambiguous_authority_setting_makes_no_connection(
    listener: Listener, setting: str, template: str
) -> None:
    url = _url("https", template, listener.port, "login.microsoftonline.com")
    _reads_as_listener(url, listener.port)
    env = dict(SECRET_ENV)
    if setting == "Authority":
        del env["AzureAd__TenantId"]
        url += TENANT
    env[f"AzureAd__{setting}"] = url
    with pytest.raises(SettingsError) as caught:
        CertlessCredential(load_settings(environ=env)).get_token("https://storage.azure.com/.default")
    assert caught.value.key == f"AzureAd:{setting}"
    assert listener.settle() == 0


@pytest.mark.parametrize("template", TO_LISTENER)
def test_an_ambiguous_instance_that_bypassed_the_settings_still_makes_no_connection(
    listener: Listener, template: str
) -> None:
    # Defence in depth: settings built in code skip the reader, the engine's check still refuses.
    url = _url("https", template, listener.port, "login.microsoftonline.com")
    _reads_as_listener(url, listener.port)
    settings = replace(load_settings(environ=SECRET_ENV), instance=url)
    with CertlessCredential(settings) as credential, pytest.raises(InsecureEndpointError):
        credential.get_token("https://storage.azure.com/.default")
    assert listener.settle() == 0


@pytest.mark.parametrize("template", TO_LISTENER)
def test_an_ambiguous_key_vault_url_makes_no_connection(listener: Listener, template: str) -> None:
    url = _url("https", template, listener.port, "myvault.vault.azure.net", path="")
    _reads_as_listener(url, listener.port)
    env = {
        **MI_ENV,
        "AzureAd__ClientCredentials__0__SourceType": "KeyVault",
        "AzureAd__ClientCredentials__0__KeyVaultUrl": url,
        "AzureAd__ClientCredentials__0__KeyVaultCertificateName": "app-cert",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert caught.value.key == "AzureAd:ClientCredentials:0:KeyVaultUrl"
    assert listener.settle() == 0


def _token_file(tmp_path: Path) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "https://oidc.example/",
        "sub": "system:serviceaccount:ns:sa",
        "exp": int(time.time()) + 3600,
    }
    path = tmp_path / "token"
    path.write_text(f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln")
    return str(path)


AKS_HOSTS = [
    *TO_LISTENER,
    "127.0.0.1:{p}/{host}",  # unambiguous, but a path after the host names another tenant to MSAL
]


@pytest.mark.parametrize("template", AKS_HOSTS)
def test_an_ambiguous_azure_authority_host_makes_no_connection(
    listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template: str
) -> None:
    url = _url("https", template, listener.port, "login.microsoftonline.com")
    _reads_as_listener(url, listener.port)
    for name, value in {
        **MI_ENV,
        "AZURE_FEDERATED_TOKEN_FILE": _token_file(tmp_path),
        "AZURE_CLIENT_ID": "22222222-3333-4444-5555-666666666666",
        "AZURE_TENANT_ID": TENANT,
        "AZURE_AUTHORITY_HOST": url,
        "AzureAd__ExtraAuthorityHosts": f"127.0.0.1:{listener.port}",  # even the listener's own host:port
        "AzureAd__CaBundle": __file__,
    }.items():
        monkeypatch.setenv(name, value)
    with credential_from_settings() as credential, pytest.raises(NoCredentialError) as caught:
        credential.get_token("https://storage.azure.com/.default")
    assert isinstance(caught.value.failures[0].error, InsecureEndpointError)
    assert "AZURE_AUTHORITY_HOST" in str(caught.value)
    assert listener.settle() == 0


@pytest.mark.parametrize("tenant", ["x/../y", "t?x=1", "t#x", "a@b", "..", "t\\u", ""])
def test_an_azure_tenant_id_that_is_no_tenant_makes_no_connection(
    listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tenant: str
) -> None:
    for name, value in {
        **MI_ENV,
        "AZURE_FEDERATED_TOKEN_FILE": _token_file(tmp_path),
        "AZURE_CLIENT_ID": "22222222-3333-4444-5555-666666666666",
        "AZURE_TENANT_ID": tenant or " ",
        "AZURE_AUTHORITY_HOST": f"https://127.0.0.1:{listener.port}/",
        "AzureAd__Instance": f"https://127.0.0.1:{listener.port}/",
        "AzureAd__ExtraAuthorityHosts": f"127.0.0.1:{listener.port}",
        "AzureAd__CaBundle": __file__,
    }.items():
        monkeypatch.setenv(name, value)
    with credential_from_settings() as credential, pytest.raises(CertlessError) as caught:
        credential.get_token("https://storage.azure.com/.default")
    assert "AZURE_TENANT_ID" in str(caught.value)
    assert listener.settle() == 0


IDENTITY_VARS: dict[str, dict[str, str]] = {
    "IDENTITY_ENDPOINT": {"IDENTITY_HEADER": "h" * 32},
    "MSI_ENDPOINT": {"MSI_SECRET": "s" * 32},
    "IMDS_ENDPOINT": {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/"},
    "AZURE_POD_IDENTITY_AUTHORITY_HOST": {},
}
IDENTITY_TO_LISTENER = [
    "127.0.0.1:{p}\\@{host}",
    "127.0.0.1:{p}\\\\@{host}",
    "127.0.0.1:{p}\\{host}",
    "{host}@127.0.0.1:{p}",
    "x:y@127.0.0.1:{p}",
]


@pytest.mark.parametrize("template", IDENTITY_TO_LISTENER)
@pytest.mark.parametrize("variable", list(IDENTITY_VARS))
def test_an_ambiguous_identity_endpoint_makes_no_connection(
    listener: Listener, monkeypatch: pytest.MonkeyPatch, variable: str, template: str
) -> None:
    url = _url("http", template, listener.port, "169.254.169.254", path="/msi/token")
    _reads_as_listener(url, listener.port)
    for name, value in {**MI_ENV, **IDENTITY_VARS[variable], variable: url}.items():
        monkeypatch.setenv(name, value)
    with credential_from_settings() as credential, pytest.raises(NoCredentialError) as caught:
        credential.get_token("https://storage.azure.com/.default")
    assert isinstance(caught.value.failures[0].error, InsecureEndpointError)
    assert listener.settle() == 0
    assert "h" * 32 not in str(caught.value) and "s" * 32 not in str(caught.value)


def test_the_listener_does_see_a_plain_identity_endpoint_on_it(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: the same set-up with an unambiguous loopback URL does connect, so zero above means refused.
    for name, value in {
        **MI_ENV,
        "IDENTITY_HEADER": "h" * 32,
        "IDENTITY_ENDPOINT": f"http://127.0.0.1:{listener.port}/msi/token",
    }.items():
        monkeypatch.setenv(name, value)
    with credential_from_settings() as credential, pytest.raises(NoCredentialError):
        credential.get_token("https://storage.azure.com/.default")
    assert listener.settle() >= 1
