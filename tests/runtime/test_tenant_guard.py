"""get_token(tenant_id=...) is honoured only for the configured tenant and AdditionallyAllowedTenants.

Azure SDK clients pass the tenant a service's challenge names; without this guard any challenge could
move the app's token requests (and its assertion) to a tenant nobody chose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
from azure.core.exceptions import ClientAuthenticationError
from hypothesis import given, settings
from hypothesis import strategies as st

from certless import CertlessCredential, aio, credential_from_settings, settings_from_mapping
from certless._http import RequestsTransport, Response
from certless._tenants import resolve_tenant
from certless.errors import SettingsError, TenantNotAllowedError
from certless.settings import load_settings
from emulator import Emulator

from .support import STORAGE, TENANT

HostFn = Callable[..., dict[str, str]]
OTHER = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
THIRD = "9e8d7c6b-5a49-4837-a261-504f3e2d1c0b"


class Recording:
    """The real transport, remembering every URL asked for."""

    def __init__(self) -> None:
        self.real = RequestsTransport()
        self.urls: list[str] = []

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
        self.urls.append(url)
        return self.real.request(
            method, url, params=params, data=data, headers=headers, timeout=timeout, verify=verify
        )

    def close(self) -> None:
        self.real.close()

    def asked(self, tenant: str) -> bool:
        return any(f"/{tenant.lower()}/" in url.lower() for url in self.urls)


NOT_ALLOWED = [OTHER, THIRD, "contoso.onmicrosoft.com", "common", "organizations", "consumers", "adfs"]


@pytest.mark.parametrize("tenant", NOT_ALLOWED)
@pytest.mark.parametrize("allowed", [None, "11111111-0000-4000-8000-000000000000"])
def test_a_tenant_not_allowed_is_refused_before_any_request(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch, tenant: str, allowed: str | None
) -> None:
    host("appservice", "web")
    if allowed:
        monkeypatch.setenv("AzureAd__AdditionallyAllowedTenants__0", allowed)
    transport = Recording()
    with credential_from_settings(transport=transport) as credential:
        with pytest.raises(TenantNotAllowedError) as caught:
            credential.get_token(STORAGE, tenant_id=tenant)
        with pytest.raises(TenantNotAllowedError):
            credential.get_token_info(STORAGE, options={"tenant_id": tenant})
    error = caught.value
    assert isinstance(error, ClientAuthenticationError)
    assert tenant in str(error) and TENANT in str(error)
    assert "AdditionallyAllowedTenants" in (error.fix or "") and "'*'" in (error.fix or "")
    assert not transport.asked(tenant)
    assert transport.urls == []  # not even the identity endpoint: nothing to do for a refused tenant


@pytest.mark.parametrize("spelled", [TENANT, TENANT.upper()])
def test_the_configured_tenant_passed_explicitly_is_the_same_as_none(
    emulator: Emulator, host: HostFn, spelled: str
) -> None:
    host("appservice", "web")
    with credential_from_settings() as credential:
        default = credential.get_token(STORAGE)
        explicit = credential.get_token(STORAGE, tenant_id=spelled)
    assert explicit.token == default.token  # one MSAL app, one cached token


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("AzureAd__AdditionallyAllowedTenants__0", OTHER),
        ("AzureAd__AdditionallyAllowedTenants__1", OTHER),
        ("AzureAd__AdditionallyAllowedTenants", f"{THIRD};{OTHER}"),
        ("AzureAd__AdditionallyAllowedTenants", OTHER.upper()),
        ("AzureAd__AdditionallyAllowedTenants__0", "*"),
        ("AZURE_ADDITIONALLY_ALLOWED_TENANTS", f"{THIRD};{OTHER}"),
        ("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "*"),
    ],
)
def test_an_allowed_tenant_is_asked_for_its_own_token(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch, setting: str, value: str
) -> None:
    host("appservice", "web")
    monkeypatch.setenv(setting, value)
    if setting.endswith("__1"):
        monkeypatch.setenv("AzureAd__AdditionallyAllowedTenants__0", THIRD)
    transport = Recording()
    with credential_from_settings(transport=transport) as credential:
        try:
            credential.get_token(STORAGE, tenant_id=OTHER)
        except TenantNotAllowedError:
            pytest.fail("an allowed tenant was refused")
        except ClientAuthenticationError:
            pass  # the emulator knows no such tenant; what matters is where the request went
    assert transport.asked(OTHER)


def test_the_disable_switch_keeps_every_request_on_the_configured_tenant(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("appservice", "web")
    monkeypatch.setenv("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "1")
    transport = Recording()
    with credential_from_settings(transport=transport) as credential:
        assert credential.get_token(STORAGE, tenant_id=OTHER).token
    assert not transport.asked(OTHER) and transport.asked(TENANT)


def test_the_async_credential_refuses_the_same_tenants(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")

    async def main() -> None:
        async with aio.CertlessCredential(load_settings()) as credential:
            with pytest.raises(TenantNotAllowedError):
                await credential.get_token(STORAGE, tenant_id=OTHER)
            with pytest.raises(TenantNotAllowedError):
                await credential.get_token_info(STORAGE, options={"tenant_id": OTHER})
            assert (await credential.get_token(STORAGE, tenant_id=TENANT)).token

    asyncio.run(main())


@pytest.mark.parametrize("value", ["not a tenant", "common!", "https://login.microsoftonline.com/x", "*x"])
@pytest.mark.parametrize(
    "setting", ["AzureAd__AdditionallyAllowedTenants__0", "AZURE_ADDITIONALLY_ALLOWED_TENANTS"]
)
def test_an_allowed_tenants_entry_that_is_no_tenant_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str
) -> None:
    env = {
        "AzureAd__TenantId": TENANT,
        "AzureAd__ClientId": "11111111-2222-3333-4444-555555555555",
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        setting: value,
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert caught.value.key in ("AzureAd:AdditionallyAllowedTenants", "AZURE_ADDITIONALLY_ALLOWED_TENANTS")


_TENANTS = st.sampled_from(
    [TENANT, TENANT.upper(), OTHER, THIRD, "contoso.com", "CONTOSO.COM", "*", "fabrikam.com"]
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.one_of(st.none(), _TENANTS), st.lists(_TENANTS, max_size=3))
def test_a_tenant_is_used_only_when_it_is_the_configured_one_or_allowed(
    requested: str | None, allowed: list[str]
) -> None:
    permitted = {t.lower() for t in allowed}
    try:
        used = resolve_tenant(TENANT, requested, tuple(allowed), environ={})
    except TenantNotAllowedError as exc:
        assert requested is not None and requested.lower() != TENANT.lower()
        assert "*" not in permitted and requested.lower() not in permitted
        assert exc.tenant_id == requested
        return
    if requested is None or requested.lower() == TENANT.lower():
        assert used == TENANT
    else:
        assert used == requested and ("*" in permitted or requested.lower() in permitted)


@pytest.mark.parametrize(
    ("tenant_setting", "allowed", "honoured"),
    [
        ("organizations", (), True),  # azure-identity: "organizations" with no list may ask any tenant
        ("Organizations", (), True),
        ("organizations", (THIRD,), False),  # a list, once set, is the only way
        ("common", (), False),  # azure-identity makes that exception for "organizations" only
        (TENANT, (), False),
    ],
)
def test_a_multi_tenant_app_configured_for_organizations_may_ask_any_tenant_as_in_azure_identity(
    tenant_setting: str, allowed: tuple[str, ...], honoured: bool
) -> None:
    section = {
        "TenantId": tenant_setting,
        "AppHomeTenantId": TENANT,
        "ClientId": "11111111-2222-3333-4444-555555555555",
        "ClientCredentials": [{"SourceType": "SignedAssertionFromManagedIdentity"}],
        "AdditionallyAllowedTenants": list(allowed),
    }
    loaded = settings_from_mapping(section)
    assert loaded.tenant_id == TENANT
    credential = CertlessCredential(loaded)
    if honoured:
        assert credential._tenant(OTHER) == OTHER
    else:
        with pytest.raises(TenantNotAllowedError):
            credential._tenant(OTHER)
    assert credential._tenant(None) == TENANT
