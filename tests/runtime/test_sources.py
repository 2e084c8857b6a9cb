"""Credential sources in order (fallback, skip, reset), certificates, Key Vault and the security rules."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from certless import _jwt, credential_from_settings
from certless._http import Response
from certless.errors import (
    CredentialUnavailableError,
    InsecureEndpointError,
    NoCredentialError,
    SettingsError,
    TokenRequestError,
)
from emulator import CertificateCredential, Emulator
from emulator.entra.certificates import self_signed_certificate

from .support import IDS, STORAGE, FakeClock, FakeVault

HostFn = Callable[..., dict[str, str]]
SECRET = "dev-only-secret-value"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------ ordering


def test_first_source_that_loads_wins_and_a_failed_one_is_skipped_from_then_on(
    emulator: Emulator,
    host: HostFn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host(
        "vm",
        "web",
        AzureAd__ClientCredentials__1__SourceType="ClientSecret",
        AzureAd__ClientCredentials__1__ClientSecret=SECRET,
    )
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{_closed_port()}")
    with credential_from_settings(clock=clock) as credential:
        credential.get_token(STORAGE)
        sleeps_after_first = len(clock.sleeps)
        credential.get_token("https://vault.azure.net/.default")
        assert credential.selected_source is not None
        assert credential.selected_source.description.source_type == "ClientSecret"
        assert len(clock.sleeps) == sleeps_after_first  # the dead identity endpoint was not tried again

        # After a reset every source is tried again in order: now the identity endpoint works.
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.host_imds_url("web"))
        with caplog.at_level("INFO", logger="certless"):
            credential.reset_sources()
        # The log shows when the choice was forgotten (why a later request tries the first source again).
        assert [r.getMessage() for r in caplog.records if "reset" in r.getMessage()] == [
            "Credential sources reset"
        ]
        credential.get_token(STORAGE)
        assert credential.selected_source.description.source_type == "SignedAssertionFromManagedIdentity"


def test_when_every_source_fails_one_error_lists_each_and_why(
    emulator: Emulator,
    host: HostFn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    certless_logs: pytest.LogCaptureFixture,
) -> None:
    host(
        "vm",
        "web",
        AzureAd__ClientCredentials__1__SourceType="SignedAssertionFilePath",
        AzureAd__ClientCredentials__1__SignedAssertionFileDiskPath="/nonexistent/token",
        AzureAd__ClientCredentials__2__SourceType="StoreWithThumbprint",
        AzureAd__ClientCredentials__3__SourceType="ClientSecret",
        AzureAd__ClientCredentials__3__ClientSecret=SECRET,
        AzureAd__ClientCredentials__3__Skip="true",
    )
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{_closed_port()}")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    text = str(info.value)
    reasons = [f.reason for f in info.value.failures]
    # The log says which endpoint had no connection, and when certless stopped trying it.
    (gave_up,) = [r.getMessage() for r in certless_logs.records if "no connection" in r.getMessage()]
    assert gave_up == (
        "managed identity endpoint: no connection (ConnectionError: Connection refused); giving up after 2"
        " attempts"
    )
    assert [f.source.split()[0] for f in info.value.failures] == ["#0", "#1", "#2", "#3"]
    assert "did not answer" in reasons[0]
    assert "/nonexistent/token" in reasons[1]
    # Each line names its source once (the reason does not start with the label again).
    assert not any(f.reason.startswith(f.source) for f in info.value.failures), reasons
    assert "not supported by certless" in reasons[2]
    assert "Fix: Add a source certless supports: SignedAssertionFromManagedIdentity," in reasons[2]
    assert "Skip is true" in reasons[3]
    assert SECRET not in text
    assert "IDW10109" in text


# -------------------------------------------------------------------------------------------- security


def test_identity_endpoint_off_loopback_is_refused_before_any_request(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("appservice", "web")
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://10.255.255.1/msi/token")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    error = info.value.failures[0].error
    assert isinstance(error, InsecureEndpointError)
    assert "IDENTITY_ENDPOINT='http://10.255.255.1/msi/token'" in str(error)
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254", "http://[::1]:40342", "http://localhost:8081/msi/token"]
)
def test_loopback_and_link_local_identity_endpoints_are_accepted(url: str) -> None:
    from certless._sources.managed_identity import check_identity_endpoint

    check_identity_endpoint("IDENTITY_ENDPOINT", url)


@pytest.mark.parametrize(
    "authority_host",
    [
        "https://login.evil.example/",
        # a real Entra host, but of another cloud than the one the settings configure
        "https://login.chinacloudapi.cn/",
    ],
)
def test_aks_authority_host_must_be_an_entra_host_of_the_cloud_or_explicitly_allowed(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, authority_host: str
) -> None:
    host("aks-via-identity", "reports")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", authority_host)
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    assert isinstance(info.value.failures[0].error, InsecureEndpointError)
    assert emulator.counters["entra-token"] == 0


def test_no_token_assertion_or_identity_header_appears_in_logs_reprs_or_errors(
    emulator: Emulator, host: HostFn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # MSAL's and urllib3's loggers included
    env = host("appservice", "web")
    with credential_from_settings() as credential:
        token = credential.get_token(STORAGE)
        info = credential.get_token_info("https://vault.azure.net/.default")
        source = credential.selected_source
        assert source is not None
        assertion = source.assertion()  # type: ignore[attr-defined]
        shown = " ".join([caplog.text, repr(token), repr(info), repr(credential), repr(source.description)])
    for value in (token.token, info.token, assertion, env["IDENTITY_HEADER"]):
        assert value not in shown
        assert value[-40:] not in shown


# ---------------------------------------------------------------------------------------- certificates


def _certificate(days: int = 30) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return self_signed_certificate("certless-test", days=days)


@pytest.fixture(scope="module")
def app_certificate(emu: Emulator) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key, cert = _certificate()
    app = emu.records.app(IDS.app)
    assert app is not None
    app.certificates.append(CertificateCredential.from_pem(cert.public_bytes(serialization.Encoding.PEM)))
    return key, cert


def _pfx(key: rsa.RSAPrivateKey, cert: x509.Certificate, password: str | None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"app", key, cert, None, encryption)


def _pem(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("form", "password"), [("pem", None), ("pfx", None), ("pfx", "pfx-password-1")])
def test_certificate_from_a_path(
    emulator: Emulator,
    host: HostFn,
    tmp_path: Path,
    app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate],
    form: str,
    password: str | None,
) -> None:
    key, cert = app_certificate
    path = tmp_path / f"app.{form}"
    path.write_bytes(_pem(key, cert) if form == "pem" else _pfx(key, cert, password))
    extra = {"AzureAd__ClientCredentials__0__CertificatePassword": password} if password else {}
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Path",
        AzureAd__ClientCredentials__0__CertificateDiskPath=str(path),
        **extra,
    )
    with credential_from_settings() as credential:
        token = credential.get_token(STORAGE)
    assert _jwt.claims(token.token).get("appid", _jwt.claims(token.token).get("azp")) == IDS.app
    assert emulator.counters["appservice"] == 0


def test_wrong_pfx_password_is_a_clear_load_failure(host: HostFn, tmp_path: Path, emulator: Emulator) -> None:
    key, cert = _certificate()
    path = tmp_path / "app.pfx"
    path.write_bytes(_pfx(key, cert, "right-password"))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Path",
        AzureAd__ClientCredentials__0__CertificateDiskPath=str(path),
        AzureAd__ClientCredentials__0__CertificatePassword="wrong-password",
    )
    with credential_from_settings() as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    assert "CertificatePassword does not open it" in str(info.value)
    assert "wrong-password" not in str(info.value)


def test_expired_certificate_is_skipped_with_its_validity_period(
    host: HostFn, tmp_path: Path, emulator: Emulator
) -> None:
    key, cert = _certificate(days=-0)  # valid until "now": expired a moment later
    path = tmp_path / "old.pem"
    path.write_bytes(_pem(key, cert))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Path",
        AzureAd__ClientCredentials__0__CertificateDiskPath=str(path),
    )
    clock = FakeClock()
    clock.advance(3600)
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as info:
        credential.get_token(STORAGE)
    assert "outside its validity period" in str(info.value)


def test_certificate_from_base64(
    emulator: Emulator, host: HostFn, app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    value = base64.b64encode(_pfx(*app_certificate, None)).decode()
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Base64Encoded",
        AzureAd__ClientCredentials__0__Base64EncodedValue=value,
    )
    with credential_from_settings() as credential:
        assert credential.get_token(STORAGE).token


def test_certificate_not_registered_on_the_app_is_refused_by_entra(
    emulator: Emulator, host: HostFn, tmp_path: Path
) -> None:
    path = tmp_path / "stranger.pem"
    path.write_bytes(_pem(*_certificate()))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Path",
        AzureAd__ClientCredentials__0__CertificateDiskPath=str(path),
    )
    with credential_from_settings() as credential, pytest.raises(TokenRequestError) as info:
        credential.get_token(STORAGE)
    assert info.value.aadsts is not None


def test_certificate_from_key_vault_with_the_managed_identity(
    emulator: Emulator, host: HostFn, app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    vault = FakeVault(_pfx(*app_certificate, None))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl=FakeVault.VAULT,
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="app-cert",
        AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity,
    )
    with credential_from_settings(transport=vault) as credential:
        assert credential.get_token(STORAGE).token
    assert [a.rstrip("/") for a in vault.audiences] == ["https://vault.azure.net"]


def test_missing_key_vault_certificate_falls_through_with_the_reason(
    emulator: Emulator, host: HostFn, app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    vault = FakeVault(_pfx(*app_certificate, None))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl=FakeVault.VAULT,
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="missing",
        AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity,
        AzureAd__ClientCredentials__1__SourceType="SignedAssertionFromManagedIdentity",
        AzureAd__ClientCredentials__1__ManagedIdentityClientId=IDS.identity,
    )
    with credential_from_settings(transport=vault) as credential:
        assert credential.get_token(STORAGE).token
        assert credential.selected_source is not None
        assert credential.selected_source.description.index == 1


def test_403_unreachable_from_the_identity_endpoint_means_no_azure_host(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    class Docker:
        def request(self, method: str, url: str, **kw: object) -> Response:
            return Response(403, "connecting to 169.254.169.254:80: connect: network is unreachable")

        def close(self) -> None:
            pass

    host("vm", "web")
    with (
        credential_from_settings(clock=clock, transport=Docker()) as credential,
        pytest.raises(NoCredentialError) as info,
    ):
        credential.get_token(STORAGE)
    error = info.value.failures[0].error
    assert isinstance(error, CredentialUnavailableError)
    assert "fallback" in (error.fix or "")


def test_a_rotated_token_file_is_read_again(emulator: Emulator, host: HostFn) -> None:
    env = host("aks-direct", "ingest")
    with credential_from_settings() as credential:
        credential.get_token(STORAGE)
        source = credential.selected_source
        assert source is not None
        before = _jwt.fingerprint(source.assertion())  # type: ignore[attr-defined]
        # kubelet's rotation: a new token replaces the file
        emulator.project_service_account_token(
            "aks-prod", "ingest", "ingest-sa", env["AZURE_FEDERATED_TOKEN_FILE"]
        )
        after = _jwt.fingerprint(source.assertion())  # type: ignore[attr-defined]
        assert credential.get_token("https://vault.azure.net/.default").token
    assert before != after


def test_an_emulator_without_its_ca_bundle_is_refused_before_any_request(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("appservice", "web")
    monkeypatch.delenv("AzureAd__CaBundle")
    with pytest.raises(SettingsError) as info:
        credential_from_settings(clock=clock)
    assert info.value.key == "AzureAd:CaBundle" and "ExtraAuthorityHosts" in info.value.expected
    assert emulator.counters["entra-discovery"] == 0 and emulator.counters["appservice"] == 0
