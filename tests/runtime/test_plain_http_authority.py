"""An ``http://`` URL naming a Microsoft Entra login host is refused before any request leaves the process.

A plain-HTTP authority would put the client assertion (or the AKS service-account token) on the wire in
clear text, e.g. an AKS host with ``AZURE_AUTHORITY_HOST=http://login.microsoftonline.com/``. The whole
class is covered: every cloud's login hosts and an External ID host, in every spelling two URL parsers
might read differently (case, trailing dot, port, userinfo, percent-encoding, backslashes, IPv6
literals), in every setting that names where a token goes or which audience it is for.

The trap: every proxy variable points at a loopback listener, so any request the HTTP client would make
to a login host (requests honours ``HTTP_PROXY`` for Entra calls) or to the listener itself lands there.
The listener never accepts: a connection attempt waits in its backlog, so the count is exact with no
sleep. The control test shows the trap does catch an allowed request.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certless import credential_from_settings, load_settings
from certless.errors import InsecureEndpointError, NoCredentialError, SettingsError

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
CLIENT = "11111111-2222-3333-4444-555555555555"
IDENTITY_CLIENT = "22222222-3333-4444-5555-666666666666"

# Written out, not imported from certless: a host dropped from certless's list must still be refused here.
LOGIN_HOSTS = [
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "sts.windows.net",
    "login.microsoftonline.us",
    "login.usgovcloudapi.net",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
    "contoso.ciamlogin.com",
]

# How the authority part after ``http://`` is spelt; {h} is the login host, {p} the listener's port.
SPELLINGS = [
    "{h}",
    "{upper}",
    "{mixed}",
    "{h}.",
    "{h}:80",
    "{h}:443",
    "{h}:{p}",
    "user@{h}",
    "user:pw@{h}",
    "{h}@127.0.0.1:{p}",
    "{h}:80@127.0.0.1:{p}",
    "127.0.0.1:{p}\\@{h}",
    "{h}\\@127.0.0.1:{p}",
    "127.0.0.1:{p}\\{h}",
    "%{first:02x}{rest}",
    "{h}%2e",
    "{h}%00",
    "[::1]:{p}\\@{h}",
    "{h}@[::1]:{p}",
    "[{h}]",
    "[::ffff:127.0.0.1]:{p}\\@{h}",
]


def _authority(template: str, host: str, port: int) -> str:
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(host))
    spelt = template.format(
        h=host, upper=host.upper(), mixed=mixed, p=port, first=ord(host[0]), rest=host[1:]
    )
    return f"http://{spelt}"


class Trap:
    """A listening socket on 127.0.0.1 that never accepts: the kernel queues each connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0

    def drain(self) -> int:
        """The connection attempts so far (each is closed as it is counted)."""
        while select.select([self.sock], [], [], 0)[0]:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                break
            conn.close()
            self.connections += 1
        return self.connections

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    it = Trap()
    yield it
    it.close()


@pytest.fixture
def trapped(trap: Trap, monkeypatch: pytest.MonkeyPatch) -> Trap:
    """Every proxy variable aims at the trap, and nothing bypasses it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, trap.url)
        monkeypatch.setenv(name.lower(), trap.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    trap.drain()
    trap.connections = 0
    return trap


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


def _secret_env(**settings: str) -> dict[str, str]:
    env = {
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": CLIENT,
        "AzureAd__ClientCredentials__0__SourceType": "ClientSecret",
        "AzureAd__ClientCredentials__0__ClientSecret": "dev-only-secret-value",
    }
    env.update({f"AzureAd__{k}": v for k, v in settings.items()})
    return env


def _aks_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, login_host: str, authority_host: str) -> None:
    for name, value in {
        # The settings name the same cloud, so only the scheme (or the spelling) can make this a refusal.
        "AzureAd__Instance": f"https://{login_host}/",
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": CLIENT,
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        "AZURE_FEDERATED_TOKEN_FILE": _token_file(tmp_path),
        "AZURE_CLIENT_ID": IDENTITY_CLIENT,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_AUTHORITY_HOST": authority_host,
    }.items():
        monkeypatch.setenv(name, value)


CASES = [pytest.param(h, s, id=f"{h}-{s}") for h in LOGIN_HOSTS for s in SPELLINGS]


@pytest.mark.parametrize(("login_host", "spelling"), CASES)
def test_a_plain_http_instance_is_a_settings_error_and_connects_nowhere(
    trapped: Trap, login_host: str, spelling: str
) -> None:
    url = _authority(spelling, login_host, trapped.port) + "/"
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=_secret_env(Instance=url))
    assert caught.value.key == "AzureAd:Instance"
    assert trapped.drain() == 0


@pytest.mark.parametrize(("login_host", "spelling"), CASES)
def test_a_plain_http_authority_is_a_settings_error_and_connects_nowhere(
    trapped: Trap, login_host: str, spelling: str
) -> None:
    url = f"{_authority(spelling, login_host, trapped.port)}/{TENANT}"
    env = _secret_env(Authority=url)
    del env["AzureAd__TenantId"]
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert caught.value.key == "AzureAd:Authority"
    assert trapped.drain() == 0


@pytest.mark.parametrize(("login_host", "spelling"), CASES)
def test_a_plain_http_token_exchange_url_is_a_settings_error_and_connects_nowhere(
    trapped: Trap, login_host: str, spelling: str
) -> None:
    # An http:// login host is an authority put in the audience setting: the identity token it would
    # ask for is one Entra never accepts as an assertion.
    env = {
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": CLIENT,
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        "AzureAd__ClientCredentials__0__TokenExchangeUrl": _authority(spelling, login_host, trapped.port)
        + "/",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert caught.value.key == "AzureAd:ClientCredentials:0:TokenExchangeUrl"
    assert trapped.drain() == 0


@pytest.mark.parametrize(("login_host", "spelling"), CASES)
def test_a_plain_http_azure_authority_host_on_aks_sends_no_token_anywhere(
    trapped: Trap, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, login_host: str, spelling: str
) -> None:
    _aks_env(monkeypatch, tmp_path, login_host, _authority(spelling, login_host, trapped.port) + "/")
    with credential_from_settings() as credential, pytest.raises(NoCredentialError) as caught:
        credential.get_token("https://storage.azure.com/.default")
    assert isinstance(caught.value.failures[0].error, InsecureEndpointError)
    assert "AZURE_AUTHORITY_HOST" in str(caught.value)
    assert trapped.drain() == 0


def test_the_trap_does_catch_an_allowed_aks_token_exchange(
    trapped: Trap, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The control: the same AKS set-up over https goes out through the proxy variables to the trap, so a
    # count of zero above means refused, not merely unrouted.
    _aks_env(monkeypatch, tmp_path, "login.microsoftonline.com", "https://login.microsoftonline.com/")
    seen: list[int] = []

    def close_what_arrives() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not trapped.drain():
            time.sleep(0.01)
        seen.append(trapped.connections)

    watcher = threading.Thread(target=close_what_arrives)
    watcher.start()
    with credential_from_settings() as credential, pytest.raises(NoCredentialError):
        credential.get_token("https://storage.azure.com/.default")
    watcher.join()
    assert seen and seen[0] >= 1
