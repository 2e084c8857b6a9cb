"""AzureAd settings: files, environment overlay, env vars in .NET form, validation messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certless.errors import SettingsError
from certless.settings import load_settings

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
CLIENT = "11111111-2222-3333-4444-555555555555"
MI = "66666666-7777-8888-9999-000000000000"


def write(folder: Path, name: str, doc: dict[str, object]) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def base(**extra: object) -> dict[str, object]:
    section: dict[str, object] = {
        "Instance": "https://login.microsoftonline.com/",
        "TenantId": TENANT,
        "ClientId": CLIENT,
        "ClientCredentials": [{"SourceType": "SignedAssertionFromManagedIdentity"}],
    }
    section.update(extra)
    return {"AzureAd": section}


def test_file_then_environment_overlay_then_env_vars_with_case_insensitive_keys(tmp_path: Path) -> None:
    write(tmp_path, "appsettings.json", base())
    write(
        tmp_path,
        "appsettings.Staging.json",
        {"azuread": {"clientcredentials": [{"managedidentityclientid": MI}]}},
    )
    env = {
        "ASPNETCORE_ENVIRONMENT": "Staging",
        "AZUREAD__CLIENTCREDENTIALS__1__SOURCETYPE": "SignedAssertionFilePath",
        "AzureAd__ClientCredentials__1__SignedAssertionFileDiskPath": "/var/run/token",
    }
    settings = load_settings(tmp_path, environ=env)
    first, second = settings.credentials
    assert first.source_type == "SignedAssertionFromManagedIdentity"
    assert first.managed_identity_client_id == MI  # from the overlay, merged by index like .NET
    assert second.source_type == "SignedAssertionFilePath"
    assert second.signed_assertion_file_disk_path == "/var/run/token"
    assert settings.authority == f"https://login.microsoftonline.com/{TENANT}"


def test_env_vars_alone_are_enough() -> None:
    env = {
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": CLIENT,
        "AzureAd__ClientCredentials__0__SourceType": "7",  # the numeric enum value, as .NET accepts
    }
    settings = load_settings(environ=env)
    assert settings.credentials[0].source_type == "SignedAssertionFromManagedIdentity"
    assert settings.instance == "https://login.microsoftonline.com/"


@pytest.mark.parametrize(
    ("instance", "audience"),
    [
        ("https://login.microsoftonline.com/", "api://AzureADTokenExchange"),
        ("https://login.microsoftonline.us/", "api://AzureADTokenExchangeUSGov"),
        ("https://login.partner.microsoftonline.cn/", "api://AzureADTokenExchangeChina"),
        ("https://login.chinacloudapi.cn/", "api://AzureADTokenExchangeChina"),
    ],
)
def test_the_instance_selects_the_token_exchange_audience(
    tmp_path: Path, instance: str, audience: str
) -> None:
    write(tmp_path, "appsettings.json", base(Instance=instance))
    assert load_settings(tmp_path, environ={}).cloud.token_exchange_audience == audience


def test_authority_is_split_into_instance_and_tenant(tmp_path: Path) -> None:
    doc = base()
    section = doc["AzureAd"]
    assert isinstance(section, dict)
    del section["Instance"], section["TenantId"]
    section["Authority"] = f"https://login.microsoftonline.us/{TENANT}/v2.0"
    write(tmp_path, "appsettings.json", doc)
    settings = load_settings(tmp_path, environ={})
    assert settings.authority == f"https://login.microsoftonline.us/{TENANT}"
    assert settings.cloud.name == "AzureUSGovernment"


def _error(tmp_path: Path, doc: dict[str, object], env: dict[str, str] | None = None) -> SettingsError:
    write(tmp_path, "appsettings.json", doc)
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ=env or {})
    return info.value


def test_an_unknown_authority_host_is_refused_unless_explicitly_allowed(tmp_path: Path) -> None:
    error = _error(tmp_path, base(Instance="https://login.evil.example/"))
    assert error.key == "AzureAd:Instance" and "'https://login.evil.example/'" in str(error)
    assert "ExtraAuthorityHosts" in error.expected
    # An extra host is allowed only together with the CA bundle that vouches for it.
    error = _error(tmp_path, base(Instance="https://127.0.0.1:8443/", ExtraAuthorityHosts="127.0.0.1:8443"))
    assert error.key == "AzureAd:CaBundle" and "ExtraAuthorityHosts" in error.expected
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    write(
        tmp_path,
        "appsettings.json",
        base(Instance="https://127.0.0.1:8443/", ExtraAuthorityHosts="127.0.0.1:8443", CaBundle=str(ca)),
    )
    assert load_settings(tmp_path, environ={}).instance == "https://127.0.0.1:8443/"


def test_http_authority_is_refused(tmp_path: Path) -> None:
    error = _error(tmp_path, base(Instance="http://login.microsoftonline.com/"))
    assert "https://" in error.expected


@pytest.mark.parametrize(
    ("change", "key", "expected_words"),
    [
        ({"ClientId": "not-a-guid"}, "AzureAd:ClientId", "GUID"),
        ({"TenantId": "common"}, "AzureAd:TenantId", "not 'common'"),
        ({"ClientCredentials": []}, "AzureAd:ClientCredentials", "at least one"),
        (
            {"ClientCredentials": [{"SourceType": "Path"}]},
            "AzureAd:ClientCredentials:0:CertificateDiskPath",
            "PEM or PFX",
        ),
        (
            {
                "ClientCredentials": [
                    {"SourceType": "SignedAssertionFromManagedIdentity", "ManagedIdentityClientId": "x"}
                ]
            },
            "AzureAd:ClientCredentials:0:ManagedIdentityClientId",
            "client ID",
        ),
        ({"FicPropagationRetrySeconds": "soon"}, "AzureAd:FicPropagationRetrySeconds", "seconds"),
        ({"CaBundle": "/nonexistent/ca.pem"}, "AzureAd:CaBundle", "existing PEM"),
    ],
)
def test_every_validation_error_names_the_key_the_value_and_what_is_expected(
    tmp_path: Path, change: dict[str, object], key: str, expected_words: str
) -> None:
    error = _error(tmp_path, base(**change))
    assert error.key == key
    assert key in str(error)
    assert expected_words in str(error)


def test_secret_values_never_appear_in_errors_or_reprs(tmp_path: Path) -> None:
    secret = "super-secret-value-0123456789"
    doc = base(ClientCredentials=[{"SourceType": "ClientSecret", "ClientSecret": secret}])
    write(tmp_path, "appsettings.json", doc)
    settings = load_settings(tmp_path, environ={})
    assert secret not in repr(settings)
    error = _error(
        tmp_path,
        base(ClientId="bad", ClientCredentials=[{"SourceType": "ClientSecret", "ClientSecret": secret}]),
    )
    assert secret not in str(error)


def test_legacy_top_level_client_secret_becomes_a_credential(tmp_path: Path) -> None:
    doc = base(ClientSecret="s3cret-for-dev")
    section = doc["AzureAd"]
    assert isinstance(section, dict)
    del section["ClientCredentials"]
    write(tmp_path, "appsettings.json", doc)
    (only,) = load_settings(tmp_path, environ={}).credentials
    assert only.source_type == "ClientSecret"


def test_invalid_json_names_the_file_and_position(tmp_path: Path) -> None:
    (tmp_path / "appsettings.json").write_text('{"AzureAd": {', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ={})
    assert str(tmp_path / "appsettings.json") in str(info.value)
    assert "line 1" in str(info.value)


def test_missing_settings_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path / "nope.json", environ={})
    assert "nope.json" in str(info.value)


@pytest.mark.parametrize("where", ["missing.json", "folder"])
def test_a_settings_path_that_holds_no_appsettings_file_is_named(tmp_path: Path, where: str) -> None:
    (tmp_path / "folder").mkdir()
    path = tmp_path / where
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"Setting path='{path}' is invalid: expected an existing appsettings.json file or a folder "
        "holding one"
    )


def test_clear_process_caches_also_forgets_the_web_apis_validator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After the app moves to another tenant (and the caches are cleared), a web API checks tokens
    against the new settings, not the ones its validator was built with."""
    from certless import clear_process_caches
    from certless.web import default_validator

    monkeypatch.chdir(tmp_path)  # no appsettings.json here: the variables are the settings
    first, second = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01", "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
    monkeypatch.setenv("AzureAd__ClientId", "daef0427-1a12-5c94-a8d3-0d285891fb7e")
    monkeypatch.setenv("AzureAd__TenantId", first)
    monkeypatch.setenv("AzureAd__ClientCredentials__0__SourceType", "SignedAssertionFromManagedIdentity")
    clear_process_caches()
    try:
        assert default_validator().settings.tenant_id == first
        monkeypatch.setenv("AzureAd__TenantId", second)
        assert default_validator().settings.tenant_id == first, "built once per process"
        clear_process_caches()
        assert default_validator().settings.tenant_id == second
    finally:
        clear_process_caches()
