"""A vault token goes only to a Key Vault or Managed HSM of the configured cloud, after its challenge.

Settings refuse any other KeyVaultUrl host; at run time the first request carries no token, and the
token follows only when the vault's 401 challenge names the resource of that vault's DNS suffix.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from certless import credential_from_settings, settings_from_mapping
from certless._clouds import CHINA, CUSTOM, PUBLIC, US_GOVERNMENT, Cloud, key_vault_audience
from certless._sources.certificate import challenge_resource
from certless.errors import (
    CredentialUnavailableError,
    InsecureEndpointError,
    NoCredentialError,
    SettingsError,
)
from emulator import CertificateCredential, Emulator
from emulator.entra.certificates import self_signed_certificate

from .support import IDS, STORAGE, TENANT, FakeVault

HostFn = Callable[..., dict[str, str]]
CLIENT = "11111111-2222-3333-4444-555555555555"

VAULT_HOSTS = [
    (PUBLIC, "myvault.vault.azure.net", "https://vault.azure.net"),
    (PUBLIC, "my-hsm.managedhsm.azure.net", "https://managedhsm.azure.net"),
    (US_GOVERNMENT, "myvault.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net"),
    (US_GOVERNMENT, "my-hsm.managedhsm.usgovcloudapi.net", "https://managedhsm.usgovcloudapi.net"),
    (CHINA, "myvault.vault.azure.cn", "https://vault.azure.cn"),
    (CHINA, "my-hsm.managedhsm.azure.cn", "https://managedhsm.azure.cn"),
    (CUSTOM, "myvault.vault.azure.net", "https://vault.azure.net"),  # an emulator authority: public vaults
    (PUBLIC, "MyVault.Vault.Azure.Net", "https://vault.azure.net"),
]
INSTANCE = {
    PUBLIC.name: "https://login.microsoftonline.com/",
    US_GOVERNMENT.name: "https://login.microsoftonline.us/",
    CHINA.name: "https://login.chinacloudapi.cn/",
}


def _settings(cloud: Cloud, url: str) -> object:
    return settings_from_mapping(
        {
            "Instance": INSTANCE[cloud.name],
            "TenantId": TENANT,
            "ClientId": CLIENT,
            "ClientCredentials": [
                {"SourceType": "KeyVault", "KeyVaultUrl": url, "KeyVaultCertificateName": "app-cert"}
            ],
        }
    )


@pytest.mark.parametrize(("cloud", "host", "audience"), VAULT_HOSTS)
def test_each_vault_suffix_of_the_cloud_has_its_own_audience(cloud: Cloud, host: str, audience: str) -> None:
    assert key_vault_audience(host, cloud) == audience
    if cloud is not CUSTOM:
        _settings(cloud, f"https://{host}")  # accepted
        _settings(cloud, f"https://{host}/")


WRONG_VAULTS = [
    (PUBLIC, "https://myvault.vault.usgovcloudapi.net"),  # another cloud's vault
    (PUBLIC, "https://myvault.vault.azure.cn"),
    (US_GOVERNMENT, "https://myvault.vault.azure.net"),
    (CHINA, "https://my-hsm.managedhsm.azure.net"),
    (PUBLIC, "https://myvault.vault.microsoftazure.de"),  # a retired cloud
    (PUBLIC, "https://myvault.vault.azure.net.evil.example"),
    (PUBLIC, "https://myvaultvault.azure.net"),
    (PUBLIC, "https://evilvault.azure.net"),
    (PUBLIC, "https://vault.azure.net"),  # no vault name
    (PUBLIC, "https://a.b.vault.azure.net"),
    (PUBLIC, "https://-x.vault.azure.net"),
    (PUBLIC, "https://myvault.azure.net"),
    (PUBLIC, "https://myvault.vault.azure.com"),
    (PUBLIC, "https://myvault.managedhsm.azure.net.evil.example"),
    (PUBLIC, "https://myvault.vaultcore.azure.net"),
    (PUBLIC, "https://127.0.0.1"),
    (PUBLIC, "https://localhost"),
    (PUBLIC, "https://[::1]"),
    (PUBLIC, "http://myvault.vault.azure.net"),
    (PUBLIC, "https://myvault.vault.azure.net:8443"),
    (PUBLIC, "https://myvault.vault.azure.net/secrets"),
    (PUBLIC, "https://myvault.vault.azure.net?x=1"),
    (PUBLIC, "https://myvault.vault.azure.net#x"),
    (PUBLIC, "https://evil\\@myvault.vault.azure.net"),
    (PUBLIC, "https://evil@myvault.vault.azure.net"),
    (PUBLIC, "https://myvault.vault.azure.net."),
    (PUBLIC, "https://myv%61ult.vault.azure.net"),
    (PUBLIC, "https://myvault\u3002vault.azure.net"),
]


@pytest.mark.parametrize(("cloud", "url"), WRONG_VAULTS)
def test_a_key_vault_url_outside_the_clouds_vault_suffixes_is_a_settings_error(
    cloud: Cloud, url: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(cloud, url)
    assert caught.value.key == "AzureAd:ClientCredentials:0:KeyVaultUrl"


@pytest.mark.parametrize(
    ("header", "resource"),
    [
        (
            'Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"',
            "https://vault.azure.net",
        ),
        (
            'Bearer authorization_uri="https://login.windows.net/t", scope="https://vault.azure.net/.default"',
            "https://vault.azure.net",
        ),
        ('bearer resource="https://managedhsm.azure.net"', "https://managedhsm.azure.net"),
        ('Basic realm="x"', None),
        ("", None),
        ('Bearer authorization="https://login.microsoftonline.com/t"', None),
    ],
)
def test_the_challenge_resource_is_read_as_azure_keyvault_reads_it(header: str, resource: str | None) -> None:
    assert challenge_resource(header) == resource


# ---------------------------------------------------------------------------------------------- at run time


@pytest.fixture(scope="module")
def vault_pfx(emu: Emulator) -> bytes:
    key, cert = self_signed_certificate("certless-vault-test", days=30)
    app = emu.records.app(IDS.app)
    assert app is not None
    app.certificates.append(CertificateCredential.from_pem(cert.public_bytes(serialization.Encoding.PEM)))
    return _pfx(key, cert)


def _pfx(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    return pkcs12.serialize_key_and_certificates(b"app", key, cert, None, serialization.NoEncryption())


def _vault_host(host: HostFn, vault: FakeVault) -> None:
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl=vault.vault,
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="app-cert",
        AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity,
    )


def test_the_first_vault_request_carries_no_token_and_the_token_follows_the_challenge(
    emulator: Emulator, host: HostFn, vault_pfx: bytes
) -> None:
    vault = FakeVault(vault_pfx)
    _vault_host(host, vault)
    with credential_from_settings(transport=vault) as credential:
        assert credential.get_token(STORAGE).token
    assert vault.requests == 2  # the challenge, then the request with the token
    assert emulator.counters["appservice"] >= 1  # the vault token came from the identity endpoint
    assert [a.rstrip("/") for a in vault.audiences] == ["https://vault.azure.net"]


def test_a_certificate_imported_as_pem_is_read_by_its_content_type(
    emulator: Emulator, host: HostFn, vault_pfx: bytes
) -> None:
    """Key Vault keeps a PEM import as text (contentType application/x-pem-file), and openssl's export
    puts 'Bag Attributes' lines before the first BEGIN: the content type, not the first line, says PEM."""
    key, cert, _ = pkcs12.load_key_and_certificates(vault_pfx, None)
    assert key is not None and cert is not None
    pem = (
        "Bag Attributes\n    friendlyName: app\n"
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        + "Bag Attributes\n    friendlyName: app\n"
        + cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    vault = FakeVault(vault_pfx, pem=pem)
    _vault_host(host, vault)
    with credential_from_settings(transport=vault) as credential:
        assert credential.get_token(STORAGE).token


@pytest.mark.parametrize("spelling", ["{vault}/", "{vault}//"])
def test_a_key_vault_url_with_a_trailing_slash_reads_the_same_secret(
    emulator: Emulator, host: HostFn, vault_pfx: bytes, spelling: str
) -> None:
    # The portal shows the vault URI with a trailing slash; pasted as is, it is the same vault.
    vault = FakeVault(vault_pfx)
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="KeyVault",
        AzureAd__ClientCredentials__0__KeyVaultUrl=spelling.format(vault=vault.vault),
        AzureAd__ClientCredentials__0__KeyVaultCertificateName="app-cert",
        AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity,
    )
    with credential_from_settings(transport=vault) as credential:
        assert credential.get_token(STORAGE).token
    assert vault.requests == 2


HOSTILE_CHALLENGES = [
    (401, 'Bearer authorization="https://login.microsoftonline.com/x", resource="https://evil.example"'),
    (401, 'Bearer resource="https://azure.net"'),  # a suffix of the host, but not the vault resource
    (401, 'Bearer resource="https://managedhsm.azure.net"'),  # another service's resource
    (401, 'Bearer resource="https://storage.azure.com"'),
    (401, 'Bearer scope="https://graph.microsoft.com/.default"'),
    (401, 'Bearer resource="https://certless-test.vault.azure.net.evil.example"'),
    (401, 'Bearer resource="https://vault.azure.net.evil.example"'),
    (401, 'Bearer resource="not a url"'),
    (401, 'Basic realm="vault"'),
    (401, ""),
    (200, ""),
    (403, 'Bearer resource="https://vault.azure.net"'),
    (404, ""),
]


@pytest.mark.parametrize(("status", "challenge"), HOSTILE_CHALLENGES)
def test_no_vault_token_is_sent_unless_the_challenge_names_the_vaults_resource(
    emulator: Emulator, host: HostFn, vault_pfx: bytes, status: int, challenge: str
) -> None:
    vault = FakeVault(vault_pfx)
    vault.challenge, vault.challenge_status = challenge, status
    _vault_host(host, vault)
    with credential_from_settings(transport=vault) as credential, pytest.raises(NoCredentialError) as caught:
        credential.get_token(STORAGE)
    assert vault.audiences == []  # no token of any kind reached the vault host
    assert vault.requests == 1
    error = caught.value.failures[0].error
    assert isinstance(error, (InsecureEndpointError, CredentialUnavailableError))
    assert "no token was sent" in str(error) or "no vault token was sent" in str(error)
    assert emulator.counters["appservice"] == 0  # not even fetched from the identity endpoint


_PIECES = st.sampled_from(
    [
        *("myvault", ".", "vault", "azure", "net", "managedhsm", "usgovcloudapi", "cn", "evil", "-", "\\"),
        *("@", ":", "443", "/", "%2e", "?", "#", "x", "[", "]", " ", "\u3002", "vault.azure.net"),
    ]
)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_an_accepted_key_vault_url_is_a_vault_of_the_cloud_for_the_http_client_too(authority: str) -> None:
    url = f"https://{authority}"
    try:
        _settings(PUBLIC, url)
    except SettingsError:
        return
    host = (parse_url(url).host or "").lower()  # where requests would connect
    name, _, suffix = host.partition(".")
    assert suffix in PUBLIC.key_vault_suffixes and name and "." not in name
