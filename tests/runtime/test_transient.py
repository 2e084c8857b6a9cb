"""A transient identity-endpoint fault never outlives itself; only a configuration fault skips a source
for good. Every transient fault kind the emulator can inject is covered, not only 503."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable

import pytest

from certless import _http, credential_from_settings
from certless._chain import FIRST_BACKOFF, MAX_BACKOFF
from certless.errors import NoCredentialError
from emulator import Emulator

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]
SECRET = "dev-only-secret-value"
QUICK = dataclasses.replace(_http.IDENTITY_POLICY, timeout=0.3, max_retries=1, total_budget=5.0)
TRANSIENT = ["500", "502", "503", "504", "429", "410", "timeout=2s", "reset", "malformed"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_at_start_up_is_retried_with_backoff_not_forever(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [fault] * 10)
    with credential_from_settings(clock=clock, identity_policy=QUICK) as credential:
        with pytest.raises(NoCredentialError):
            credential.get_token(STORAGE)
        calls = emulator.counters["imds"]
        with pytest.raises(NoCredentialError) as info:  # within the backoff: no new request
            credential.get_token(STORAGE)
        assert emulator.counters["imds"] == calls
        assert "retrying in" in str(info.value)
        emulator.faults.clear()
        clock.advance(FIRST_BACKOFF + 1)
        assert credential.get_token(STORAGE).token  # the endpoint answers again: the source works
        assert emulator.counters["entra-token"] == 1


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_does_not_leave_the_app_on_a_fallback(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str
) -> None:
    host(
        "vm",
        "web",
        AzureAd__ClientCredentials__1__SourceType="ClientSecret",
        AzureAd__ClientCredentials__1__ClientSecret=SECRET,
    )
    emulator.faults.script("imds", [fault] * 10)
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
