"""Identity-endpoint and Entra faults (reference section 5), against the emulator.

Retry sleeps go through a fake clock, so the 70-second IMDS behaviour runs in milliseconds.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable

import pytest

from certless import _http, credential_from_settings
from certless.errors import (
    CertlessError,
    CredentialUnavailableError,
    IdentityEndpointError,
    NoCredentialError,
    TokenRequestError,
)
from emulator import Emulator

from .support import IDS, ISSUER, STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]


def _source_error(exc: NoCredentialError) -> CertlessError:
    assert len(exc.failures) == 1
    error = exc.failures[0].error
    assert isinstance(error, CertlessError)
    return error


def _says_the_endpoint_answered_400(error: CertlessError, endpoint: str) -> None:
    # The summary names the endpoint and quotes what it said, before the fix.
    assert endpoint and error.summary.startswith(f"The managed identity endpoint {endpoint}"), error.summary
    assert " answered 400: " in error.summary and len(error.summary.split(" answered 400: ", 1)[1]) > 3


# ------------------------------------------------------------------------------------- identity endpoint


@pytest.mark.parametrize("kind", ["vm", "appservice"])
def test_transient_statuses_are_retried_until_the_endpoint_answers(
    emulator: Emulator, host: HostFn, clock: FakeClock, kind: str
) -> None:
    endpoint = "imds" if kind == "vm" else "appservice"
    host(kind, "web")
    emulator.faults.script(endpoint, [404, 410, "429:retry-after=3", 500, 503])
    with credential_from_settings(clock=clock) as credential:
        credential.get_token(STORAGE)
    assert emulator.counters[endpoint] == 6
    assert len(clock.sleeps) == 5
    assert clock.sleeps[3] >= 3  # Retry-After honoured after the 429
    assert emulator.counters["entra-token"] == 1


def test_410_is_retried_for_at_least_70_seconds(emulator: Emulator, host: HostFn, clock: FakeClock) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [410] * 5)
    with credential_from_settings(clock=clock) as credential:
        credential.get_token(STORAGE)
    assert emulator.counters["imds"] == 6

    emulator.faults.script("imds", [410] * 30)
    clock.sleeps.clear()
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError):
        credential.get_token(STORAGE)
    assert 70 <= sum(clock.sleeps) <= _http.IDENTITY_POLICY.total_budget


def test_persistent_5xx_gives_up_within_a_bounded_time_with_a_clear_error(
    emulator: Emulator, host: HostFn, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [500] * 50)
    caplog.set_level("INFO", logger="certless")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    # The log says when and why retrying stopped: how many attempts, over how long, the last failure.
    gave_up = [r.getMessage() for r in caplog.records if "giving up after" in r.msg]
    assert len(gave_up) == 1, gave_up
    assert re.search(
        rf"giving up after {emulator.counters['imds']} attempts in \d+\.\d s \(.*500", gave_up[0]
    )
    error = _source_error(info.value)
    assert isinstance(error, IdentityEndpointError)
    assert error.status == 500
    assert sum(clock.sleeps) <= _http.IDENTITY_POLICY.total_budget
    assert 2 <= emulator.counters["imds"] <= 12
    assert "answered 500 after" in str(info.value)
    assert emulator.counters["entra-token"] == 0


@pytest.mark.parametrize("fault", ["timeout=3s", "reset"])
def test_timeouts_and_resets_are_retried(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    quick = dataclasses.replace(_http.IDENTITY_POLICY, timeout=0.3)
    host("vm", "web")
    emulator.faults.script("imds", [fault])
    with credential_from_settings(clock=clock, identity_policy=quick) as credential:
        assert credential.get_token(STORAGE).token
    assert len(clock.sleeps) == 1
    assert emulator.counters["entra-token"] == 1


def test_malformed_answer_is_reported_not_crashed_on(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", ["malformed"])
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    assert "not JSON" in str(info.value)


def test_identity_not_assigned_to_the_host_names_the_identity_and_the_fix(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web", AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.other_identity)
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    error = _source_error(info.value)
    assert isinstance(error, IdentityEndpointError) and error.status == 400
    _says_the_endpoint_answered_400(error, emulator.imds_url)
    assert IDS.other_identity in (error.fix or "")
    assert "ManagedIdentityClientId" in (error.fix or "")
    assert clock.sleeps == []  # a 400 is not transient: no retries


def test_several_identities_and_none_chosen_says_set_managed_identity_client_id(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("vm", "web")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_url)  # the VM with every identity
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    error = _source_error(info.value)
    _says_the_endpoint_answered_400(error, emulator.imds_url)
    assert "Several identities" in (error.fix or "") and "ManagedIdentityClientId" in (error.fix or "")


@pytest.mark.parametrize("kind", ["appservice", "containerapp"])
def test_user_assigned_only_and_none_chosen_says_set_managed_identity_client_id(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # An App Service / Container Apps host with only a user-assigned identity: asking for the
    # system-assigned one (no ManagedIdentityClientId) fails; the fix is to name the identity.
    host(kind, "web")
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    error = _source_error(info.value)
    assert isinstance(error, IdentityEndpointError) and error.status == 400
    _says_the_endpoint_answered_400(error, error.endpoint or "")
    fix = error.fix or ""
    assert "set ManagedIdentityClientId" in fix and "client ID" in fix, fix


def test_no_identity_endpoint_at_all_says_configure_a_fallback(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    host("vm", "web")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{closed_port}")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    error = _source_error(info.value)
    assert isinstance(error, CredentialUnavailableError)
    assert "fallback" in (error.fix or "")
    assert len(clock.sleeps) == 1  # nothing listens: one quick retry, not the 100-s transient budget


def test_transient_token_endpoint_failures_are_retried(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    emulator.faults.script("entra-token", ["503", "429:retry-after=2"])
    with credential_from_settings(clock=clock) as credential:
        assert credential.get_token(STORAGE).token
    assert emulator.counters["entra-token"] == 3
    assert clock.sleeps[1] >= 2


# ---------------------------------------------------------------------------------------------- Entra


def test_expired_assertion_is_retried_once_then_explained(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("aks-direct", "ingest")
    emulator.clock_skew(2 * 3600)  # Entra's clock is two hours ahead: the token file looks expired to it
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    error = info.value
    assert error.aadsts == 700024
    assert "clock" in (error.fix or "")
    assert error.trace_id and error.correlation_id
    assert emulator.counters["entra-token"] == 2  # the one retry with a freshly read assertion


def test_a_not_yet_valid_assertion_is_replaced_by_a_fresh_one_once(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    with credential_from_settings(clock=clock) as credential:
        credential.get_token(STORAGE)  # the identity token (the assertion) is now cached
        emulator.clock_skew(-2 * 3600)  # Entra's clock moves back: that assertion is "not yet valid"
        token = credential.get_token("https://vault.azure.net/.default")
    assert token.token
    statuses = [r.get("status") for r in emulator.requests if r.get("endpoint") == "entra-token"]
    assert statuses == [200, 401, 200]  # AADSTS700024, then one retry with a new identity token
    assert emulator.counters["appservice"] == 2


def test_fic_mismatch_shows_the_assertion_issuer_subject_and_audience(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "lonely")
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    error = info.value
    assert error.aadsts == 70021
    assert IDS.other_principal in (error.fix or "")  # the subject the FIC must carry
    assert ISSUER in (error.fix or "")
    assert "api://AzureADTokenExchange" in (error.fix or "")
    assert "principal (object) ID" in (error.fix or "")
    assert str(error.correlation_id) in str(error)


def test_fic_propagation_is_retried_when_opted_in_with_fresh_requests(
    emulator: Emulator, host: HostFn
) -> None:
    clock = FakeClock(scale=0.3)  # Entra's propagation delay runs on real time: sleep 30 % of each wait
    emulator.faults.fic_propagation(1.0)
    emulator.add_federated_credential(
        IDS.app_unfederated, name="new", issuer=ISSUER, subject=IDS.other_principal
    )
    host("appservice", "lonely", AzureAd__FicPropagationRetrySeconds="60")
    with credential_from_settings(clock=clock) as credential:
        assert credential.get_token(STORAGE).token
    # The first request saw AADSTS70021; the retry reached Entra (not MSAL's 60-second cache of the 400).
    assert emulator.counters["entra-token"] == 2
    assert clock.sleeps == [5.0]


def test_fic_propagation_is_not_retried_unless_opted_in(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    emulator.faults.fic_propagation(600)
    emulator.add_federated_credential(
        IDS.app_unfederated, name="new", issuer=ISSUER, subject=IDS.other_principal
    )
    host("appservice", "lonely")
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    assert info.value.aadsts == 70021
    assert "FicPropagationRetrySeconds" in (info.value.fix or "")
    assert emulator.counters["entra-token"] == 1


def test_unknown_client_id_is_700016_with_client_and_tenant_in_the_fix(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    unknown = "00000000-1111-2222-3333-444444444444"
    host("appservice", "web", AzureAd__ClientId=unknown)
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    assert info.value.aadsts == 700016
    assert unknown in (info.value.fix or "") and IDS.tenant in (info.value.fix or "")


def test_wrong_client_secret_is_7000215_and_the_secret_is_never_shown(
    emulator: Emulator, host: HostFn, clock: FakeClock, certless_logs: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-secret-value-123456789"
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="ClientSecret",
        AzureAd__ClientCredentials__0__ClientSecret=secret,
    )
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    assert info.value.aadsts == 7000215
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in certless_logs.text
    assert any("client secret" in r.getMessage() and r.levelname == "WARNING" for r in certless_logs.records)


def test_right_client_secret_works_for_local_development(
    emulator: Emulator, host: HostFn, clock: FakeClock, certless_logs: pytest.LogCaptureFixture
) -> None:
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="ClientSecret",
        AzureAd__ClientCredentials__0__ClientSecret="dev-only-secret-value",
    )
    with credential_from_settings(clock=clock) as credential:
        assert credential.get_token(STORAGE).token
    assert emulator.counters["appservice"] == 0
    # Every load warns, naming the source, what to use instead, and never the secret.
    warnings = [r.getMessage() for r in certless_logs.records if r.levelname == "WARNING"]
    assert warnings == [
        "#0 ClientSecret: using a client secret. Secrets leak and expire; use it for local development "
        "only and prefer SignedAssertionFromManagedIdentity on Azure."
    ]


def test_a_scope_without_default_is_explained(emulator: Emulator, host: HostFn, clock: FakeClock) -> None:
    host("appservice", "web")
    with credential_from_settings(clock=clock) as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token("https://storage.azure.com")
    assert info.value.aadsts == 1002012
    assert "/.default" in (info.value.fix or "")
