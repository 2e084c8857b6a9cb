"""A transient identity-endpoint fault never outlives itself; only a configuration fault skips a source
for good. Every transient fault kind the emulator can inject is covered, not only 503."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from certless import _http, credential_from_settings
from certless._chain import FIRST_BACKOFF, MAX_BACKOFF
from certless.errors import NoCredentialError
from emulator import CertificateCredential, Emulator
from emulator.faults import MALFORMED_BODIES

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]
SECRET = "dev-only-secret-value"
QUICK = dataclasses.replace(_http.IDENTITY_POLICY, timeout=0.3, max_retries=1, total_budget=5.0)
MALFORMED = [f"malformed={v}" for v in MALFORMED_BODIES]
# IMDS documents 404 (updating), 410 (restarting), 429 and 5xx as "retry"; timeouts and resets are busy
# endpoints; a broken HTTP-200 of any shape is one bad answer, not a verdict on the configuration.
TRANSIENT = ["404", "500", "502", "503", "504", "429", "410", "timeout=2s", "reset", *MALFORMED]
HOSTS = {"vm": "imds", "appservice": "appservice"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", HOSTS)
@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_at_start_up_is_retried_with_backoff_not_forever(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str, kind: str
) -> None:
    host(kind, "web")
    endpoint = HOSTS[kind]
    emulator.faults.script(endpoint, [fault] * 10)
    with credential_from_settings(clock=clock, identity_policy=QUICK) as credential:
        with pytest.raises(NoCredentialError):
            credential.get_token(STORAGE)
        calls = emulator.counters[endpoint]
        with pytest.raises(NoCredentialError) as info:  # within the backoff: no new request
            credential.get_token(STORAGE)
        assert emulator.counters[endpoint] == calls
        assert "retrying in" in str(info.value)
        emulator.faults.clear()
        clock.advance(FIRST_BACKOFF + 1)
        assert credential.get_token(STORAGE).token  # the endpoint answers again: the source works
        assert emulator.counters["entra-token"] == 1


@pytest.mark.parametrize("kind", HOSTS)
@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_does_not_leave_the_app_on_a_fallback(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str, kind: str
) -> None:
    host(
        kind,
        "web",
        AzureAd__ClientCredentials__1__SourceType="ClientSecret",
        AzureAd__ClientCredentials__1__ClientSecret=SECRET,
    )
    emulator.faults.script(HOSTS[kind], [fault] * 10)
    with credential_from_settings(clock=clock, identity_policy=QUICK) as credential:
        credential.get_token(STORAGE)
        assert credential.selected_source is not None
        assert credential.selected_source.description.source_type == "ClientSecret"
        emulator.faults.clear()
        clock.advance(FIRST_BACKOFF + 1)
        credential.get_token("https://vault.azure.net/.default")
        assert credential.selected_source.description.source_type == "SignedAssertionFromManagedIdentity"


def test_backoff_grows_to_five_minutes(emulator: Emulator, host: HostFn, clock: FakeClock) -> None:
    host("vm", "web")
    emulator.faults.script("imds", ["503"] * 200)
    waits = []
    with credential_from_settings(clock=clock, identity_policy=QUICK) as credential:
        for _ in range(8):
            with pytest.raises(NoCredentialError):
                credential.get_token(STORAGE)
            waits.append(round(credential._chain.retry_in(0)))
            clock.advance(MAX_BACKOFF + 1)
    assert waits[0] >= FIRST_BACKOFF - 0.5
    assert waits == sorted(waits)
    assert MAX_BACKOFF * 0.9 <= waits[-1] <= MAX_BACKOFF * 1.1


def test_configuration_faults_make_a_second_get_token_fail_at_once_without_contacting_dead_sources(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("vm", "web", AzureAd__ClientCredentials__1__SourceType="SignedAssertionFilePath")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{_closed_port()}")
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(NoCredentialError):
            credential.get_token(STORAGE)
        sleeps = len(clock.sleeps)
        imds = emulator.counters["imds"]
        clock.advance(MAX_BACKOFF * 10)
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert len(clock.sleeps) == sleeps and emulator.counters["imds"] == imds
        assert "skipped until reset" in str(info.value)


@pytest.mark.parametrize("fault", ["malformed", "malformed=not-a-jwt", "malformed=html", "503"])
def test_a_single_bad_answer_costs_one_failed_call_only(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [fault])  # one bad answer, then the endpoint is healthy
    policy = dataclasses.replace(QUICK, max_retries=0)  # no retry within the call: the bad answer lands
    with credential_from_settings(clock=clock, identity_policy=policy) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert "retrying in" in str(info.value)
        clock.advance(FIRST_BACKOFF + 1)
        assert credential.get_token(STORAGE).token


@pytest.mark.parametrize("status", ["429", "503"])
@pytest.mark.parametrize("kind", HOSTS)
def test_retry_after_is_honoured_across_calls(
    emulator: Emulator, host: HostFn, clock: FakeClock, status: str, kind: str
) -> None:
    host(kind, "web")
    endpoint = HOSTS[kind]
    emulator.faults.script(endpoint, [f"{status}:retry-after=120"] * 3)
    with credential_from_settings(clock=clock, identity_policy=QUICK) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert 115 <= credential._chain.retry_in(0) <= 121, str(info.value)
        calls = emulator.counters[endpoint]
        clock.advance(FIRST_BACKOFF * 2)  # past certless's own backoff, not the server's Retry-After
        with pytest.raises(NoCredentialError):
            credential.get_token(STORAGE)
        assert emulator.counters[endpoint] == calls  # the server asked for 120 s of quiet
        emulator.faults.clear()
        clock.advance(121 - FIRST_BACKOFF * 2)
        assert credential.get_token(STORAGE).token


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT"])
def test_retry_after_as_an_http_date_is_read(value: str) -> None:
    import email.utils

    now = email.utils.parsedate_to_datetime(value).timestamp() - 90
    assert _http.parse_retry_after({"Retry-After": value}, now=now) == pytest.approx(90, abs=1)
    assert _http.parse_retry_after({"retry-after": "7"}) == 7
    assert _http.parse_retry_after({"Retry-After": "soon"}) is None


@pytest.mark.parametrize("fault", ["503", "500", "429", "reset"])
def test_aks_identity_hop_transient_entra_fault_is_retried_not_skipped(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str
) -> None:
    host("aks-via-identity", "reports")
    emulator.faults.script("entra-token", [fault] * 8)  # the first hop: SA token -> identity token
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert "retrying in" in str(info.value) and "skipped until reset" not in str(info.value)
        emulator.faults.clear()
        clock.advance(MAX_BACKOFF + 1)
        assert credential.get_token(STORAGE).token


class _FlakyVault:
    """Key Vault answering a transient fault first (status or dropped connection), then the certificate."""

    def __init__(self, vault: Any, faults: list[int | str]) -> None:
        self.vault = vault
        self.faults = faults

    def request(self, method: str, url: str, **kw: Any) -> _http.Response:
        if url.startswith(self.vault.VAULT) and self.faults:
            fault = self.faults.pop(0)
            if fault == "reset":
                raise _http.TransportError("ConnectionError: Connection reset")
            return _http.Response(
                int(fault), '{"error": {"code": "ServiceUnavailable"}}', {"Retry-After": "1"}
            )
        return self.vault.request(method, url, **kw)

    def close(self) -> None:
        self.vault.close()


@pytest.mark.parametrize("fault", [503, 500, 429, "reset"])
def test_a_transient_key_vault_fault_parks_the_source_instead_of_skipping_it(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: int | str
) -> None:
    from .support import IDS
    from .test_sources import FakeVault, _certificate, _pfx

    key, cert = _certificate()
    app = emulator.records.app(IDS.app)
    assert app is not None
    app.certificates.append(CertificateCredential.from_pem(cert.public_bytes(serialization.Encoding.PEM)))
    vault = _FlakyVault(FakeVault(_pfx(key, cert, None)), [fault] * 8)
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl=FakeVault.VAULT,
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="app-cert",
        AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity,
    )
    with credential_from_settings(transport=vault, clock=clock) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert "retrying in" in str(info.value)
        vault.faults.clear()
        clock.advance(MAX_BACKOFF + 1)
        assert credential.get_token(STORAGE).token


@pytest.mark.parametrize("status", ["429", "503"])
def test_aks_identity_hop_retry_after_is_honoured_across_calls(
    emulator: Emulator, host: HostFn, clock: FakeClock, status: str
) -> None:
    host("aks-via-identity", "reports")
    emulator.faults.script("entra-token", [f"{status}:retry-after=120"] * 4)
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert 115 <= credential._chain.retry_in(0) <= 121, str(info.value)
        calls = emulator.counters["entra-token"]
        clock.advance(FIRST_BACKOFF * 2)
        with pytest.raises(NoCredentialError):
            credential.get_token(STORAGE)
        assert emulator.counters["entra-token"] == calls  # Entra asked for 120 s of quiet
        emulator.faults.clear()
        clock.advance(121 - FIRST_BACKOFF * 2)
        assert credential.get_token(STORAGE).token
