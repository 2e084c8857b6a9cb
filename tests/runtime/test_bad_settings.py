"""A bad setting is a SettingsError naming its key, never a traceback (ValueError, RecursionError, ...).

SettingsError is an azure-core ClientAuthenticationError, so Azure SDK callers that catch that see it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certless import credential_from_settings
from certless.errors import IdentityEndpointError, NoCredentialError, SettingsError
from certless.settings import load_settings
from emulator import Emulator

from .support import IDS, STORAGE, FakeClock

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
CLIENT = "11111111-2222-3333-4444-555555555555"
BASE_ENV = {
    "AzureAd__TenantId": TENANT,
    "AzureAd__ClientId": CLIENT,
    "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
}
# Characters str.isdigit() calls digits but int() or .NET's binder do not read as 0-9.
UNICODE_DIGITS = [
    "²",
    "³",
    "¹",
    "\u0661",
    "\u0663",
    "\u096b",
    "\uff11",
    "\uff10",
    "\U0001d7d8",
    "\u2474",
    "0²",
    "1\u0661",
]


def _refused(env: dict[str, str], key: str) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={**BASE_ENV, **env})
    assert isinstance(caught.value, ClientAuthenticationError)
    assert caught.value.key.lower() == key.lower(), caught.value
    return caught.value


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_a_source_type_made_of_unicode_digits_is_a_settings_error(digit: str) -> None:
    error = _refused(
        {"AzureAd__ClientCredentials__0__SourceType": digit}, "AzureAd:ClientCredentials:0:SourceType"
    )
    assert "SignedAssertionFromManagedIdentity" in error.expected


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize("array", ["ClientCredentials", "ClientCertificates", "ExtraAuthorityHosts"])
def test_an_array_index_made_of_unicode_digits_is_a_settings_error(digit: str, array: str) -> None:
    env = {k: v for k, v in BASE_ENV.items() if array != "ClientCertificates" or "ClientCredentials" not in k}
    env[f"AzureAd__{array}__{digit}__SourceType"] = "Path"
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert caught.value.key == f"AzureAd:{array}"
    assert "0, 1, 2" in caught.value.expected


URL_KEYS = [
    "AzureAd__Instance",
    "AzureAd__Authority",
    "AzureAd__ClientCredentials__0__KeyVaultUrl",
    "AzureAd__ClientCredentials__0__TokenExchangeUrl",
]
BRACKETED = [
    "https://[",
    "https://[login.microsoftonline.com/",
    "https://[::1",
    "https://a]b/",
    "https://[x]/",
]


@pytest.mark.parametrize("value", BRACKETED)
@pytest.mark.parametrize("name", URL_KEYS)
def test_a_bracket_in_a_url_setting_is_a_settings_error(name: str, value: str) -> None:
    env = {name: value}
    if name == "AzureAd__Authority":
        env["AzureAd__Authority"] = f"{value}/{TENANT}"
    if "KeyVault" in name:
        env["AzureAd__ClientCredentials__0__SourceType"] = "KeyVault"
        env["AzureAd__ClientCredentials__0__KeyVaultCertificateName"] = "cert"
    base = {k: v for k, v in BASE_ENV.items() if name != "AzureAd__Authority" or k != "AzureAd__TenantId"}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={**base, **env})
    expected_key = name.replace("__", ":")
    assert caught.value.key.lower() == expected_key.lower() or (
        name == "AzureAd__Authority" and caught.value.key == "AzureAd:Authority"
    ), caught.value


# ------------------------------------------------------------------------------------- environment name


def _write_settings(folder: Path) -> Path:
    path = folder / "appsettings.json"
    section = {
        "TenantId": TENANT,
        "ClientId": CLIENT,
        "ClientCredentials": [{"SourceType": "SignedAssertionFromManagedIdentity"}],
    }
    path.write_text(json.dumps({"AzureAd": section}))
    return path


@pytest.mark.parametrize(
    "name",
    ["../x", "..", "a/b", "..\\x", "/etc/passwd", ".hidden", "x\x00y", "Staging ", "-x", "Prod/../Dev"],
)
@pytest.mark.parametrize("variable", ["ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"])
def test_an_environment_name_that_is_not_a_plain_name_is_a_settings_error(
    tmp_path: Path, variable: str, name: str
) -> None:
    _write_settings(tmp_path)
    (tmp_path.parent / "x.json").write_text("{}")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={**BASE_ENV, variable: name})
    assert caught.value.key == variable
    assert "environment name" in caught.value.expected
    assert str(caught.value).startswith(f"Setting {variable}=")


@pytest.mark.parametrize("name", ["Production", "Staging", "Development", "dev-eu_2", "Prod.West"])
def test_plain_environment_names_select_their_overlay(tmp_path: Path, name: str) -> None:
    _write_settings(tmp_path)
    overlay = {"AzureAd": {"ClientCredentials": [{"ManagedIdentityClientId": IDS.identity}]}}
    (tmp_path / f"appsettings.{name}.json").write_text(json.dumps(overlay))
    loaded = load_settings(tmp_path, environ={"ASPNETCORE_ENVIRONMENT": name})
    assert loaded.credentials[0].managed_identity_client_id == IDS.identity


# ------------------------------------------------------------------------------------------- deep JSON


def _nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


@pytest.mark.parametrize(
    "text",
    [
        _nested(100_000),
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"AzureAd": {"Extra": ' + _nested(5_000) + "}}",
        '{"AzureAd": {"Extra": ' + _nested(64) + "}}",  # 66 levels: past .NET's 64
    ],
    ids=["100k-arrays", "100k-objects", "5k-under-a-key", "66-levels"],
)
@pytest.mark.parametrize("file", ["appsettings.json", "appsettings.Production.json"])
def test_json_nested_too_deep_is_a_settings_error_naming_the_file(
    tmp_path: Path, file: str, text: str
) -> None:
    _write_settings(tmp_path)
    (tmp_path / file).write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={})
    assert caught.value.key == "path"
    assert caught.value.value == str(tmp_path / file)
    assert "64 levels" in caught.value.expected


def test_json_as_deep_as_dotnet_allows_still_loads(tmp_path: Path) -> None:
    doc = json.loads(_write_settings(tmp_path).read_text())
    doc["Unrelated"] = json.loads(_nested(63))  # 64 levels with the top-level object
    (tmp_path / "appsettings.json").write_text(json.dumps(doc))
    assert load_settings(tmp_path, environ={}).client_id == CLIENT


# ---------------------------------------------------------------------------------- whole class, by property

SETTING_KEYS = [
    "Instance",
    "TenantId",
    "Authority",
    "ClientId",
    "ExtraAuthorityHosts",
    "ExtraAuthorityHosts__0",
    "CaBundle",
    "FicPropagationRetrySeconds",
    "ClientSecret",
    "ClientCredentials__0__SourceType",
    "ClientCredentials__0__Skip",
    "ClientCredentials__0__ManagedIdentityClientId",
    "ClientCredentials__0__TokenExchangeUrl",
    "ClientCredentials__0__KeyVaultUrl",
    "ClientCredentials__0__KeyVaultCertificateName",
    "ClientCredentials__0__CertificateDiskPath",
    "ClientCredentials__0__SignedAssertionFileDiskPath",
    "ClientCredentials__0__Base64EncodedValue",
    "ClientCredentials__1__SourceType",
    "ClientCertificates__0__SourceType",
]
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="[]@\\%:/.?#²\u0661\uff150123456789 \t\x00\r\nhtps", max_size=40),
    st.sampled_from(
        [
            "https://[",
            "https://login.microsoftonline.com:²/",
            "https://login.microsoftonline.com:99999/",
            "1e400",
            "nan",
            "-inf",
            "²",
            "KeyVault",
            "https://evil\\@login.microsoftonline.com/",
        ]
    ),
)
INDEX_NAMES = st.one_of(
    st.sampled_from(["²", "\u0661", "\uff11", "-1", "x", "0x1", " 0"]), st.text(min_size=1, max_size=3)
)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(SETTING_KEYS), HOSTILE), min_size=1, max_size=4), INDEX_NAMES)
def test_any_bad_setting_value_is_a_settings_error_naming_an_azuread_key(
    pairs: list[tuple[str, str]], index: str
) -> None:
    env = dict(BASE_ENV)
    env.update({f"AzureAd__{key}": value for key, value in pairs})
    env[f"AzureAd__ClientCredentials__{index}__Skip"] = "true"
    try:
        load_settings(environ=env)
    except SettingsError as exc:
        assert exc.key.startswith("AzureAd:")
        assert isinstance(exc, ClientAuthenticationError)


# -------------------------------------------------------------------------- a 401 on the identity header


def test_a_401_on_the_identity_header_says_the_header_is_wrong_not_assign_the_identity(
    emulator: Emulator, host: Callable[..., dict[str, str]], clock: FakeClock
) -> None:
    host("appservice", "web", IDENTITY_HEADER="0123456789abcdef0123456789abcdef")
    with credential_from_settings(clock=clock) as credential, pytest.raises(NoCredentialError) as caught:
        credential.get_token(STORAGE)
    error = caught.value.failures[0].error
    assert isinstance(error, IdentityEndpointError) and error.status == 401
    assert "IDENTITY_HEADER" in (error.fix or "") and "restart" in (error.fix or "")
    assert "Assign" not in (error.fix or "") and "assigned to this compute" not in (error.fix or "")
    assert "0123456789abcdef" not in str(caught.value)  # the header value is a secret
