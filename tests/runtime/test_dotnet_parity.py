"""The same AzureAd settings mean the same to certless as to Microsoft.Identity.Web on .NET; where
certless deliberately differs, it says so once (and ``doctor`` lists it)."""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from certless import CertlessCredential, credential_from_settings
from certless._http import RequestsTransport, Response
from certless._parity import dotnet_differences
from certless.errors import SettingsError
from certless.settings import SOURCE_TYPES, load_settings, settings_from_mapping
from emulator import Emulator

from .support import IDS, STORAGE, TENANT
from .test_cli import run

HostFn = Callable[..., dict[str, str]]
CLIENT = "11111111-2222-3333-4444-555555555555"
MI = "66666666-7777-8888-9999-000000000000"
OTHER_MI = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def section(**extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "Instance": "https://login.microsoftonline.com/",
        "TenantId": TENANT,
        "ClientId": CLIENT,
        "ClientCredentials": [{"SourceType": "SignedAssertionFromManagedIdentity"}],
    }
    values.update(extra)
    return values


def warnings_in(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and text in r.getMessage()]


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # "Once per process": each test is a new process as far as these warnings go.
    from certless import settings

    monkeypatch.setattr(settings, "_warned", set())


# ------------------------------------------------------------------------- 13: reading the settings


@pytest.mark.parametrize("name", sorted(SOURCE_TYPES))
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.swapcase])
def test_source_type_is_read_ignoring_case_like_the_dotnet_binder(
    name: str, spelling: Callable[[str], str]
) -> None:
    credential = {"SourceType": spelling(name), "ClientSecret": "s", "CertificateDiskPath": "/c.pem"}
    credential |= {"KeyVaultUrl": "https://v.vault.azure.net", "KeyVaultCertificateName": "c"}
    credential |= {"Base64EncodedValue": "AAAA"}
    settings = settings_from_mapping(section(ClientCredentials=[credential]))
    assert settings.credentials[0].source_type == name


def test_an_unknown_source_type_is_still_refused_naming_it() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(ClientCredentials=[{"SourceType": "ManagedIdentity"}]))
    assert info.value.key == "AzureAd:ClientCredentials:0:SourceType"
    assert info.value.value == "ManagedIdentity"


JSONC = (
    """\
// appsettings.json of an app that also runs on .NET
{
  /* the app registration
     of the web app */
  "AzureAd": {
    "Instance": "https://login.microsoftonline.com/", // a URL holds '//' inside its string
    "TenantId": "<tenant>",
    "ClientId": "<client>", /* trailing comma next */
    "ClientCredentials": [
      { "SourceType": "SignedAssertionFromManagedIdentity", "ManagedIdentityClientId": "<mi>", },
      { "SourceType": "ClientSecret", "ClientSecret": "a /* not a comment */ // b", },
      // a trailing comma after the last entry, then a comment before the bracket
    ],
  },
}
""".replace("<tenant>", TENANT)
    .replace("<client>", CLIENT)
    .replace("<mi>", MI)
)


def test_appsettings_may_hold_comments_and_trailing_commas_as_dotnet_allows(tmp_path: Path) -> None:
    (tmp_path / "appsettings.json").write_text(JSONC, encoding="utf-8")
    settings = load_settings(tmp_path, environ={})
    assert settings.client_id == CLIENT and settings.tenant_id == TENANT
    assert [d.source_type for d in settings.credentials] == [
        "SignedAssertionFromManagedIdentity",
        "ClientSecret",
    ]
    assert settings.credentials[0].managed_identity_client_id == MI
    assert settings.credentials[1].client_secret == "a /* not a comment */ // b"  # strings are untouched


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{\n  /* two\n  lines */ "AzureAd": {"ClientId": [,]}\n}', 3),  # a lone comma is not trailing
        ('{\n  "AzureAd": {"ClientCredentials": [1,,]}\n}', 2),  # nor is a second one
        ('{\n  // fine\n  "AzureAd": {\n    "ClientId": "x" "TenantId": "y"\n  }\n}', 4),
        ('{ "AzureAd": {} /* never closed\n}', 1),
        ("{ # hash comments are not JSON for .NET either\n}", 1),
    ],
)
def test_what_dotnet_refuses_is_still_refused_at_the_right_line(tmp_path: Path, text: str, line: int) -> None:
    (tmp_path / "appsettings.json").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ={})
    assert info.value.key == "path"
    assert f"line {line}," in info.value.expected


def test_a_setting_given_twice_in_one_file_is_refused_as_dotnet_refuses_it(tmp_path: Path) -> None:
    text = json.dumps({"AzureAd": section()})[:-2] + f', "clientid": "{MI}"}}}}'
    (tmp_path / "appsettings.json").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ={})
    assert info.value.key == "path" and "'clientid' twice" in info.value.expected


def test_one_section_written_twice_merges_as_in_dotnet(tmp_path: Path) -> None:
    text = json.dumps({"AzureAd": section()})[:-1] + ', "azuread": {"FicPropagationRetrySeconds": 30}}'
    (tmp_path / "appsettings.json").write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path, environ={})
    assert settings.client_id == CLIENT and settings.fic_propagation_retry_seconds == 30


@pytest.mark.parametrize("cleared", [None, {}])
def test_null_in_the_overlay_clears_what_the_base_file_set(tmp_path: Path, cleared: object) -> None:
    base = section(FicPropagationRetrySeconds=120)
    base["ClientCredentials"] = [
        {"SourceType": "SignedAssertionFromManagedIdentity", "ManagedIdentityClientId": MI}
    ]
    (tmp_path / "appsettings.json").write_text(json.dumps({"AzureAd": base}), encoding="utf-8")
    overlay = {
        "AzureAd": {
            "FicPropagationRetrySeconds": cleared,
            "ClientCredentials": [{"ManagedIdentityClientId": cleared}],
        }
    }
    (tmp_path / "appsettings.Staging.json").write_text(json.dumps(overlay), encoding="utf-8")
    staging = load_settings(tmp_path, environ={"ASPNETCORE_ENVIRONMENT": "Staging"})
    assert staging.fic_propagation_retry_seconds == 0.0
    assert staging.credentials[0].managed_identity_client_id is None  # the system-assigned identity
    production = load_settings(tmp_path, environ={})
    assert production.credentials[0].managed_identity_client_id == MI


# ---------------------------------------------------------------- 14: Authority with Instance/TenantId


@pytest.mark.parametrize(
    ("extra", "instance", "tenant"),
    [
        (
            {"Instance": "https://login.microsoftonline.us/", "TenantId": TENANT},
            "https://login.microsoftonline.us/",
            TENANT,
        ),
        ({"TenantId": "contoso.com"}, "https://login.microsoftonline.com/", "contoso.com"),
    ],
)
def test_authority_beside_instance_or_tenant_is_ignored_with_the_warning_once(
    caplog: pytest.LogCaptureFixture, extra: dict[str, str], instance: str, tenant: str
) -> None:
    values = section(Authority=f"https://login.chinacloudapi.cn/{TENANT}/v2.0")
    del values["Instance"], values["TenantId"]
    values.update(extra)
    caplog.set_level(logging.WARNING, logger="certless")
    for _ in range(3):
        settings = settings_from_mapping(values)
    assert (settings.instance, settings.tenant_id) == (instance, tenant)
    warned = warnings_in(caplog, "is being ignored because Instance")
    assert len(warned) == 1
    assert "login.chinacloudapi.cn" in warned[0]


def test_authority_beside_instance_alone_needs_tenant_id_and_says_why() -> None:
    values = section(Authority=f"https://login.microsoftonline.com/{TENANT}")
    del values["TenantId"]
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(values)
    assert info.value.key == "AzureAd:TenantId" and "Authority is ignored" in info.value.expected
    # An External ID Instance names its tenant itself.
    values["Instance"] = "https://contoso.ciamlogin.com/"
    assert settings_from_mapping(values).tenant_id == "contoso.onmicrosoft.com"


def test_authority_alone_still_gives_instance_and_tenant() -> None:
    values = section(Authority=f"https://login.microsoftonline.us/{TENANT}/v2.0")
    del values["Instance"], values["TenantId"]
    settings = settings_from_mapping(values)
    assert settings.authority == f"https://login.microsoftonline.us/{TENANT}"


@pytest.mark.parametrize("meta", ["common", "Organizations"])
def test_a_multi_tenant_app_gets_app_tokens_from_its_app_home_tenant(meta: str) -> None:
    settings = settings_from_mapping(section(TenantId=meta, AppHomeTenantId="contoso.com"))
    assert settings.tenant_id == "contoso.com"
    assert settings.authority == "https://login.microsoftonline.com/contoso.com"
    # A real TenantId wins, as in Microsoft.Identity.Web; 'consumers' is never replaced.
    assert settings_from_mapping(section(AppHomeTenantId="contoso.com")).tenant_id == TENANT
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(TenantId="consumers", AppHomeTenantId="contoso.com"))
    assert info.value.key == "AzureAd:TenantId"
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(TenantId=meta, AppHomeTenantId="not a tenant"))
    assert info.value.key == "AzureAd:AppHomeTenantId"
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(TenantId=meta))
    assert "AppHomeTenantId" in info.value.expected


# ------------------------------------------------------ 15: token-acquisition options IdWeb honours


class FakeEntra:
    """Entra on every host (public cloud names): OIDC discovery and the token endpoint. Records requests."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, list[str]]]] = []
        self.gets: list[str] = []

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
        parts = urlsplit(url)
        if method == "GET":
            self.gets.append(url)
            if not url.endswith("/.well-known/openid-configuration"):
                return Response(404, "{}")
            tenant = parts.path.split("/")[1]
            root = f"https://{parts.netloc}/{tenant}"
            doc = {
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
            }
            return Response(200, json.dumps(doc))
        body = parse_qs(data) if isinstance(data, str) else {k: [v] for k, v in (data or {}).items()}
        self.posts.append((url, body))
        return Response(200, json.dumps({"access_token": f"t{len(self.posts)}", "expires_in": 3600}))

    def close(self) -> None:
        pass


def _secret_credential(transport: FakeEntra, **extra: object) -> CertlessCredential:
    values = section(ClientCredentials=[{"SourceType": "ClientSecret", "ClientSecret": "dev-only"}], **extra)
    return CertlessCredential(settings_from_mapping(values), transport=transport)


def test_azure_region_sends_token_requests_to_the_regional_endpoint() -> None:
    entra = FakeEntra()
    with _secret_credential(entra, AzureRegion="WestUS2") as credential:
        credential.get_token(STORAGE)
    assert [urlsplit(url).netloc for url, _ in entra.posts] == ["westus2.login.microsoft.com"]


def test_azure_region_try_auto_detect_uses_msal_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION_NAME", "northeurope")  # what MSAL reads first when detecting
    entra = FakeEntra()
    with _secret_credential(entra, AzureRegion="TryAutoDetect") as credential:
        credential.get_token(STORAGE)
    assert [urlsplit(url).netloc for url, _ in entra.posts] == ["northeurope.login.microsoft.com"]


def test_no_azure_region_means_the_global_endpoint() -> None:
    entra = FakeEntra()
    with _secret_credential(entra) as credential:
        credential.get_token(STORAGE)
    assert [urlsplit(url).netloc for url, _ in entra.posts] == ["login.microsoftonline.com"]


@pytest.mark.parametrize("region", ["west us", "westus2.evil.example", "-x", "a" * 70])
def test_a_region_that_is_not_a_region_name_is_refused(region: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(AzureRegion=region))
    assert info.value.key == "AzureAd:AzureRegion" and "westus2" in info.value.expected


def test_azure_region_is_ignored_with_a_warning_for_an_explicitly_allowed_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    caplog.set_level(logging.WARNING, logger="certless")
    values = section(
        Instance="https://127.0.0.1:8443/",
        ExtraAuthorityHosts="127.0.0.1:8443",
        CaBundle=str(ca),
        AzureRegion="westus2",
    )
    assert settings_from_mapping(values).azure_region is None
    assert len(warnings_in(caplog, "AzureRegion westus2 is ignored")) == 1


def _claims(body: dict[str, list[str]]) -> Any:
    return json.loads(body["claims"][0]) if "claims" in body else None


def test_client_capabilities_are_announced_on_every_token_request() -> None:
    entra = FakeEntra()
    with _secret_credential(entra, ClientCapabilities=["cp1"]) as credential:
        credential.get_token(STORAGE)
        credential.get_token(STORAGE, enable_cae=True)  # already a CAE token: no second request
        credential.get_token("https://vault.azure.net/.default")
    assert [_claims(body) for _, body in entra.posts] == [
        {"access_token": {"xms_cc": {"values": ["cp1"]}}}
    ] * 2


def test_without_client_capabilities_only_cae_requests_announce_cp1() -> None:
    entra = FakeEntra()
    with _secret_credential(entra) as credential:
        credential.get_token(STORAGE)
        credential.get_token(STORAGE, enable_cae=True)
    assert [_claims(body) for _, body in entra.posts] == [
        None,
        {"access_token": {"xms_cc": {"values": ["CP1"]}}},
    ]


def test_client_capabilities_must_be_an_array() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(ClientCapabilities="cp1"))
    assert info.value.key == "AzureAd:ClientCapabilities" and "array" in info.value.expected


def test_send_x5c_false_is_not_applicable_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="certless")
    certificate = {"SourceType": "Path", "CertificateDiskPath": "/app/cert.pfx"}
    values = section(SendX5C="false", ClientCredentials=[certificate])
    for _ in range(2):
        CertlessCredential(settings_from_mapping(values)).close()
    assert len(warnings_in(caplog, "SendX5C=false is not applied")) == 1
    assert not dotnet_differences(
        settings_from_mapping(section(SendX5C="true", ClientCredentials=[certificate]))
    )
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(SendX5C="yes"))
    assert info.value.key == "AzureAd:SendX5C"


class IdentityRecorder:
    """Records which identity the App Service endpoint is asked for, per resource; proxies to the emulator."""

    def __init__(self) -> None:
        self.real = RequestsTransport()
        self.asked: list[tuple[str, str | None]] = []

    def request(self, method: str, url: str, **kw: Any) -> Response:
        params = kw.get("params") or {}
        if "resource" in params:
            self.asked.append((params["resource"], params.get("client_id")))
        if url.startswith("https://certless-test.vault.azure.net"):
            if "Authorization" not in kw.get("headers", {}):  # Key Vault challenges a request without a token
                return Response(401, "{}", {"WWW-Authenticate": 'Bearer resource="https://vault.azure.net"'})
            return Response(403, "{}")
        return self.real.request(method, url, **kw)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(
    ("own", "legacy", "env", "expected"),
    [
        (MI, OTHER_MI, IDS.other_identity, MI),
        (None, OTHER_MI, IDS.other_identity, OTHER_MI),
        (None, None, IDS.other_identity, IDS.other_identity),
        (None, None, None, None),
    ],
)
def test_key_vault_identity_follows_microsoft_identity_web_order(
    emulator: Emulator,
    host: HostFn,
    monkeypatch: pytest.MonkeyPatch,
    own: str | None,
    legacy: str | None,
    env: str | None,
    expected: str | None,
) -> None:
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl="https://certless-test.vault.azure.net",
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="app-cert",
        AzureAd__ClientCredentials__1__SourceType="ClientSecret",
        AzureAd__ClientCredentials__1__ClientSecret="unused",
    )
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")  # the host's default
    if own:
        monkeypatch.setenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId", own)
    if legacy:
        monkeypatch.setenv("AzureAd__UserAssignedManagedIdentityClientId", legacy)
    if env:
        monkeypatch.setenv("AZURE_CLIENT_ID", env)
    recorder = IdentityRecorder()
    with credential_from_settings(transport=recorder) as credential:
        credential._chain.current()
    vault_asks = [who for resource, who in recorder.asked if "vault" in resource]
    assert vault_asks and set(vault_asks) == {expected}


def test_legacy_user_assigned_identity_does_not_choose_the_assertion_identity(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="certless")
    settings = settings_from_mapping(section(UserAssignedManagedIdentityClientId=MI))
    CertlessCredential(settings).close()
    assert settings.credentials[0].managed_identity_client_id is None  # as in .NET: system-assigned
    [warning] = warnings_in(caplog, "UserAssignedManagedIdentityClientId")
    assert "KeyVault sources only" in warning
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(section(UserAssignedManagedIdentityClientId="my-identity"))
    assert info.value.key == "AzureAd:UserAssignedManagedIdentityClientId"


def test_legacy_client_credentials_using_managed_identity_comes_first_as_in_dotnet() -> None:
    values = section(
        ClientCredentials=[],
        ClientCredentialsUsingManagedIdentity={"IsEnabled": True, "ManagedIdentityClientId": MI},
        ClientSecret="dev-only",
    )
    settings = settings_from_mapping(values)
    assert [(d.source_type, d.managed_identity_client_id) for d in settings.credentials] == [
        ("SignedAssertionFromManagedIdentity", MI),
        ("ClientSecret", None),
    ]
    values["ClientCredentialsUsingManagedIdentity"] = {"IsEnabled": False, "ManagedIdentityClientId": MI}
    assert [d.source_type for d in settings_from_mapping(values).credentials] == ["ClientSecret"]
    values["ClientCredentialsUsingManagedIdentity"] = {"IsEnabled": "on"}
    with pytest.raises(SettingsError) as info:
        settings_from_mapping(values)
    assert info.value.key == "AzureAd:ClientCredentialsUsingManagedIdentity:IsEnabled"


def _pfx_base64() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certless-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(
        pkcs12.serialize_key_and_certificates(None, key, cert, None, NoEncryption())
    ).decode()


@pytest.mark.parametrize(
    "reshape",
    [
        lambda v: "\n".join(v[i : i + 76] for i in range(0, len(v), 76)),  # `base64` output
        lambda v: "\r\n".join(v[i : i + 64] for i in range(0, len(v), 64)),  # PEM-style, CRLF
        lambda v: " ".join(v[i : i + 4] for i in range(0, len(v), 4)),
        lambda v: "\t" + v[:10] + " \n\t " + v[10:] + "\n",
    ],
)
def test_base64_encoded_value_ignores_whitespace_like_dotnet(reshape: Callable[[str], str]) -> None:
    from certless._http import Clock
    from certless._sources.base import SourceContext
    from certless._sources.certificate import Base64EncodedSource

    credential = {"SourceType": "Base64Encoded", "Base64EncodedValue": reshape(_pfx_base64())}
    settings = settings_from_mapping(section(ClientCredentials=[credential]))
    source = Base64EncodedSource(settings.credentials[0], SourceContext(settings, Clock(), None, None, None))  # type: ignore[arg-type]
    source.load()
    assert source.certificate is not None and source.certificate.subject == "CN=certless-test"


def test_base64_encoded_value_with_other_characters_is_still_refused() -> None:
    from certless._http import Clock
    from certless._sources.base import SourceContext
    from certless._sources.certificate import Base64EncodedSource
    from certless.errors import CredentialUnavailableError

    value = _pfx_base64()
    credential = {"SourceType": "Base64Encoded", "Base64EncodedValue": value[:20] + "*" + value[20:]}
    settings = settings_from_mapping(section(ClientCredentials=[credential]))
    source = Base64EncodedSource(settings.credentials[0], SourceContext(settings, Clock(), None, None, None))  # type: ignore[arg-type]
    with pytest.raises(CredentialUnavailableError, match="not valid base64"):
        source.load()


# ------------------------------------------------------------ 17: token-exchange audience off public


@pytest.mark.parametrize(
    ("instance", "audience"),
    [
        ("https://login.microsoftonline.us/", "api://AzureADTokenExchangeUSGov"),
        ("https://login.chinacloudapi.cn/", "api://AzureADTokenExchangeChina"),
    ],
)
def test_sovereign_cloud_without_token_exchange_url_says_once_what_a_dotnet_app_needs(
    caplog: pytest.LogCaptureFixture, instance: str, audience: str
) -> None:
    caplog.set_level(logging.WARNING, logger="certless")
    settings = settings_from_mapping(section(Instance=instance))
    for _ in range(2):
        CertlessCredential(settings).close()
    [warning] = warnings_in(caplog, "TokenExchangeUrl")
    assert f"AzureAd:ClientCredentials:0:TokenExchangeUrl={audience}" in warning
    assert "api://AzureADTokenExchange in every cloud" in warning
    # Set (as the program emits it off the public cloud): both agree, nothing to say.
    explicit = [{"SourceType": "SignedAssertionFromManagedIdentity", "TokenExchangeUrl": audience}]
    assert (
        dotnet_differences(settings_from_mapping(section(Instance=instance, ClientCredentials=explicit)))
        == []
    )
    assert dotnet_differences(settings_from_mapping(section())) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_doctor_shows_the_token_exchange_url_a_dotnet_app_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "appsettings.json").write_text(
        json.dumps({"AzureAd": section(Instance="https://login.microsoftonline.us/")}), encoding="utf-8"
    )
    # An App Service host whose identity endpoint is down: doctor reports the settings, then the failure.
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{_closed_port()}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "h")
    code, text = run("--settings", str(tmp_path), "doctor")
    assert code == 1
    [note] = [line for line in text.splitlines() if line.startswith("[note]")]
    assert "TokenExchangeUrl=api://AzureADTokenExchangeUSGov" in note


# ------------------------------------------------------------------- 18: AKS via-identity mode


def test_doctor_on_aks_via_identity_says_dotnet_has_no_equivalent(
    emulator: Emulator, host: HostFn, caplog: pytest.LogCaptureFixture
) -> None:
    host("aks-via-identity", "reports")
    caplog.set_level(logging.WARNING, logger="certless")
    code, text = run("doctor")
    assert code == 0
    notes = [line for line in text.splitlines() if line.startswith("[note]")]
    assert len(notes) == 1
    assert "no equivalent" in notes[0] and "IMDS" in notes[0] and "SignedAssertionFilePath" in notes[0]
    assert warnings_in(caplog, "no equivalent") == []  # printed once, not logged again beside it


def test_doctor_on_aks_direct_mode_has_nothing_to_say(emulator: Emulator, host: HostFn) -> None:
    host("aks-direct", "ingest")
    code, text = run("doctor")
    assert code == 0
    assert "[note]" not in text


def test_via_identity_mode_is_logged_once_at_runtime(
    emulator: Emulator, host: HostFn, caplog: pytest.LogCaptureFixture
) -> None:
    host("aks-via-identity", "reports")
    caplog.set_level(logging.WARNING, logger="certless")
    for _ in range(2):
        with credential_from_settings() as credential:
            assert credential.get_token(STORAGE).token
    assert len(warnings_in(caplog, "Microsoft.Identity.Web has no equivalent")) == 1
    assert not re.search(r"eyJ[\w-]+\.", caplog.text)


def test_the_async_credential_announces_cp1_for_a_cae_request_through_either_method() -> None:
    """azure-core's async clients ask with get_token_info(options={'enable_cae': True}) as often as with
    get_token(enable_cae=True): both are CAE requests, each its own cached token."""
    import asyncio

    from certless import aio

    entra = FakeEntra()
    values = section(ClientCredentials=[{"SourceType": "ClientSecret", "ClientSecret": "dev-only"}])

    cae = {"access_token": {"xms_cc": {"values": ["CP1"]}}}

    async def ask() -> None:
        async with aio.CertlessCredential(settings_from_mapping(values), transport=entra) as credential:
            await credential.get_token_info(STORAGE)
            await credential.get_token_info(STORAGE, options={"enable_cae": True})
            assert [_claims(body) for _, body in entra.posts] == [None, cae]
            await credential.get_token(STORAGE, enable_cae=True)  # the same CAE token: from the cache
            assert len(entra.posts) == 2

    asyncio.run(ask())
