"""The Entra login hosts certless sends an assertion to: every real one accepted, look-alikes refused."""

from __future__ import annotations

import pytest

from certless import settings_from_mapping
from certless._engine import Apps
from certless._http import Clock, RequestsTransport
from certless.errors import InsecureEndpointError, SettingsError
from certless.settings import Settings

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
CREDENTIALS = [{"SourceType": "SignedAssertionFromManagedIdentity"}]

REAL_HOSTS = [
    ("login.microsoftonline.com", "AzurePublic"),
    ("login.microsoft.com", "AzurePublic"),
    ("login.windows.net", "AzurePublic"),
    ("sts.windows.net", "AzurePublic"),
    ("login.microsoftonline.us", "AzureUSGovernment"),
    ("login.usgovcloudapi.net", "AzureUSGovernment"),
    ("login.partner.microsoftonline.cn", "AzureChina"),
    ("login.chinacloudapi.cn", "AzureChina"),
    ("contoso.ciamlogin.com", "AzurePublic"),
    ("fabrikam-retail.ciamlogin.com", "AzurePublic"),
    ("CONTOSO.CiamLogin.com", "AzurePublic"),
    ("00000000-1111-2222-3333-444444444444.ciamlogin.com", "AzurePublic"),
]
LOOK_ALIKES = [
    "evilciamlogin.com",
    "ciamlogin.com",
    "ciamlogin.com.evil.net",
    "contoso.ciamlogin.com.evil.net",
    "a.b.ciamlogin.com",
    "contoso.ciamlogin.co",
    "contoso.ciamlogin.com.",
    "-contoso.ciamlogin.com",
    "contoso-.ciamlogin.com",
    "contoso_x.ciamlogin.com",
    "contoso.ciamlogin.comx",
    "contosociamlogin.com",
    "contoso.ciam-login.com",
    "login.microsoftonline.com.evil.net",
    "evillogin.microsoftonline.com",
    "login.microsoftonline.cn",
    "login.partner.microsoftonline.cn.evil",
    "chinacloudapi.cn",
    "x.login.chinacloudapi.cn",
]


def _load(**section: object) -> Settings:
    return settings_from_mapping({"ClientId": CLIENT, "ClientCredentials": CREDENTIALS, **section})


@pytest.mark.parametrize(("host", "cloud"), REAL_HOSTS)
def test_each_real_entra_host_is_accepted_as_instance_and_authority(host: str, cloud: str) -> None:
    by_instance = _load(Instance=f"https://{host}/", TenantId=TENANT)
    by_authority = _load(Authority=f"https://{host}/{TENANT}/v2.0")
    for loaded in (by_instance, by_authority):
        assert loaded.authority == f"https://{host.lower()}/{TENANT}"
        assert loaded.cloud.name == cloud
        Apps(loaded, RequestsTransport(), Clock()).check_authority(loaded.authority)  # no raise


@pytest.mark.parametrize("host", LOOK_ALIKES)
def test_look_alike_hosts_are_refused_as_instance_and_authority(host: str) -> None:
    with pytest.raises(SettingsError) as by_instance:
        _load(Instance=f"https://{host}/", TenantId=TENANT)
    assert by_instance.value.key == "AzureAd:Instance"
    with pytest.raises(SettingsError) as by_authority:
        _load(Authority=f"https://{host}/{TENANT}")
    assert by_authority.value.key == "AzureAd:Authority"


@pytest.mark.parametrize("host", LOOK_ALIKES)
def test_look_alike_hosts_never_receive_an_assertion_at_runtime(host: str) -> None:
    apps = Apps(_load(TenantId=TENANT), RequestsTransport(), Clock())
    with pytest.raises(InsecureEndpointError):
        apps.check_authority(f"https://{host}/{TENANT}", "AZURE_AUTHORITY_HOST")


def test_an_external_id_host_alone_names_its_tenant_as_msal_reads_it() -> None:
    assert _load(Authority="https://contoso.ciamlogin.com/").tenant_id == "contoso.onmicrosoft.com"
    assert _load(Instance="https://contoso.ciamlogin.com/").tenant_id == "contoso.onmicrosoft.com"
    assert _load(Instance="https://contoso.ciamlogin.com/", TenantId=TENANT).tenant_id == TENANT


def test_an_external_id_host_is_not_accepted_for_another_cloud() -> None:
    us_gov = _load(Instance="https://login.microsoftonline.us/", TenantId=TENANT)
    with pytest.raises(InsecureEndpointError):
        Apps(us_gov, RequestsTransport(), Clock()).check_authority(f"https://contoso.ciamlogin.com/{TENANT}")
