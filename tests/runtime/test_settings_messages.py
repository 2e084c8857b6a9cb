"""Every refusal of the AzureAd settings reader, word for word: the key, the value (capped) and what was
expected, as the user reads it. A test that only looks for a fragment misses a reworded message."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from certless.errors import SettingsError
from certless.settings import load_settings, settings_from_mapping

TENANT = "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01"
CLIENT = "11111111-2222-3333-4444-555555555555"
MI_SOURCE = "SignedAssertionFromManagedIdentity"
C0 = "AzureAd__ClientCredentials__0__"
BASE = {"AzureAd__TenantId": TENANT, "AzureAd__ClientId": CLIENT, C0 + "SourceType": MI_SOURCE}
NO_CREDENTIALS = {"AzureAd__TenantId": TENANT, "AzureAd__ClientId": CLIENT}
KV = {C0 + "SourceType": "KeyVault", C0 + "KeyVaultCertificateName": "cert"}
ENTRA_HOSTS = (
    "login.microsoftonline.com, login.microsoft.com, login.windows.net, sts.windows.net, "
    "login.microsoftonline.us, login.usgovcloudapi.net, login.chinacloudapi.cn, "
    "login.partner.microsoftonline.cn, <tenant>.ciamlogin.com"
)
SOURCES = (
    "SignedAssertionFromManagedIdentity, SignedAssertionFilePath, KeyVault, Path, Base64Encoded, ClientSecret"
)


def _refusal(run: Callable[[], object]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        run()
    return caught.value


REFUSALS = [
    pytest.param(
        {"AzureAd__TenantId": f"{TENANT}", C0 + "SourceType": MI_SOURCE},
        "AzureAd:ClientId",
        (
            "AzureAd setting AzureAd:ClientId=(not set) is invalid: expected the app registration's "
            "client ID (a GUID)"
        ),
        id="client-id-missing",
    ),
    pytest.param(
        {**BASE, "AzureAd__ClientId": "my-app"},
        "AzureAd:ClientId",
        (
            "AzureAd setting AzureAd:ClientId='my-app' is invalid: expected the app registration's "
            "client ID (a GUID)"
        ),
        id="client-id-not-a-guid",
    ),
    pytest.param(
        {**BASE, "AzureAd__ClientId": "x" * 200},
        "AzureAd:ClientId",
        "AzureAd setting AzureAd:ClientId='"
        + "x" * 78
        + "… (200 characters) is invalid: expected the app registration's client ID (a GUID)",
        id="client-id-capped",
    ),
    pytest.param(
        {**BASE, "AzureAd__CaBundle": "/nonexistent/ca.pem"},
        "AzureAd:CaBundle",
        (
            "AzureAd setting AzureAd:CaBundle='/nonexistent/ca.pem' is invalid: expected the path of "
            "an existing PEM file of CA certificates"
        ),
        id="ca-bundle-not-a-file",
    ),
    pytest.param(
        {**BASE, "AzureAd__ExtraAuthorityHosts": "127.0.0.1:8443"},
        "AzureAd:CaBundle",
        (
            "AzureAd setting AzureAd:CaBundle=(not set) is invalid: expected the PEM file of the CA "
            "trusted for the hosts in ExtraAuthorityHosts (both must be set)"
        ),
        id="extra-hosts-without-ca-bundle",
    ),
    pytest.param(
        {**BASE, "AzureAd__ExtraAuthorityHosts": "https://127.0.0.1:8443"},
        "AzureAd:ExtraAuthorityHosts",
        (
            "AzureAd setting AzureAd:ExtraAuthorityHosts='https://127.0.0.1:8443' is invalid: "
            "expected host names like 127.0.0.1:8443 (no scheme)"
        ),
        id="extra-host-with-scheme",
    ),
    pytest.param(
        {**BASE, "AzureAd__ExtraAuthorityHosts__0": "local_host"},
        "AzureAd:ExtraAuthorityHosts",
        (
            "AzureAd setting AzureAd:ExtraAuthorityHosts='local_host' is invalid: expected host "
            "names like 127.0.0.1:8443 (no scheme)"
        ),
        id="extra-host-with-bad-char",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Instance": "https://login.microsoftonline.com/",
            "AzureAd__Authority": f"https://login.microsoftonline.com/{TENANT}",
        },
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId=(not set) is invalid: expected the tenant ID: with "
            "Instance set, Authority is ignored (as in Microsoft.Identity.Web), so TenantId is "
            "needed too; or remove Instance to use Authority alone"
        ),
        id="tenant-needed-when-authority-ignored",
    ),
    pytest.param(
        {**BASE, "AzureAd__TenantId": "common"},
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId='common' is invalid: expected your tenant's ID or "
            "domain: app-only tokens need a specific tenant, not 'common' (a multi-tenant app keeps "
            "TenantId and sets AppHomeTenantId to its home tenant)"
        ),
        id="tenant-common",
    ),
    pytest.param(
        {**BASE, "AzureAd__TenantId": "consumers"},
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId='consumers' is invalid: expected your tenant's ID or "
            "domain: app-only tokens need a specific tenant, not 'common' (a multi-tenant app keeps "
            "TenantId and sets AppHomeTenantId to its home tenant)"
        ),
        id="tenant-consumers",
    ),
    pytest.param(
        {**BASE, "AzureAd__TenantId": "organizations"},
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId='organizations' is invalid: expected your tenant's ID "
            "or domain: app-only tokens need a specific tenant, not 'common' (a multi-tenant app "
            "keeps TenantId and sets AppHomeTenantId to its home tenant)"
        ),
        id="tenant-organizations-without-home",
    ),
    pytest.param(
        {**BASE, "AzureAd__TenantId": "not a tenant"},
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId='not a tenant' is invalid: expected the tenant ID (a "
            "GUID) or a verified domain such as contoso.com"
        ),
        id="tenant-not-guid-or-domain",
    ),
    pytest.param(
        {"AzureAd__ClientId": f"{CLIENT}", C0 + "SourceType": MI_SOURCE},
        "AzureAd:TenantId",
        (
            "AzureAd setting AzureAd:TenantId=(not set) is invalid: expected the tenant ID (a GUID) "
            "or a verified domain such as contoso.com"
        ),
        id="tenant-missing",
    ),
    pytest.param(
        {**BASE, "AzureAd__TenantId": "organizations", "AzureAd__AppHomeTenantId": "home!"},
        "AzureAd:AppHomeTenantId",
        (
            "AzureAd setting AzureAd:AppHomeTenantId='home!' is invalid: expected the tenant ID (a "
            "GUID) or a verified domain such as contoso.com"
        ),
        id="app-home-tenant-bad",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Authority": "https://login.microsoftonline.com/common",
        },
        "AzureAd:Authority",
        (
            "AzureAd setting AzureAd:Authority='common' is invalid: expected your tenant's ID or "
            "domain: app-only tokens need a specific tenant, not 'common' (a multi-tenant app keeps "
            "TenantId and sets AppHomeTenantId to its home tenant)"
        ),
        id="authority-tenant-common",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Authority": "https://login.microsoftonline.com/",
        },
        "AzureAd:Authority",
        (
            "AzureAd setting AzureAd:Authority='https://login.microsoftonline.com/' is invalid: "
            "expected https://<login host>/<tenant ID>, e.g. https://login.microsoftonline.com/<GUID>"
        ),
        id="authority-without-tenant",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Authority": f"http://login.microsoftonline.com/{TENANT}",
        },
        "AzureAd:Authority",
        (
            f"AzureAd setting AzureAd:Authority='http://login.microsoftonline.com/{TENANT}' is "
            "invalid: expected https://<login host>/<tenant ID>, e.g. "
            "https://login.microsoftonline.com/<GUID>"
        ),
        id="authority-http",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Authority": f"https://evil.example.com/{TENANT}",
        },
        "AzureAd:Authority",
        (
            "AzureAd setting AzureAd:Authority='https://evil.example.com/' is invalid: expected a "
            "Microsoft Entra host (login.microsoftonline.com, login.microsoft.com, "
            "login.windows.net, sts.windows.net, login.microsoftonline.us, login.usgovcloudapi.net, "
            "login.chinacloudapi.cn, login.partner.microsoftonline.cn, <tenant>.ciamlogin.com) or a "
            "host listed in AzureAd:ExtraAuthorityHosts (for a local emulator)"
        ),
        id="authority-unknown-host",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "http://login.microsoftonline.com/"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='http://login.microsoftonline.com/' is invalid: "
            "expected an https:// URL such as https://login.microsoftonline.com/"
        ),
        id="instance-http",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "https://login.microsoftonline.com/tenant"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='https://login.microsoftonline.com/tenant' is invalid: "
            "expected the login host only, e.g. https://login.microsoftonline.com/"
        ),
        id="instance-with-path",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "https://login.microsoftonline.com/?x=1"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='https://login.microsoftonline.com/?x=1' is invalid: "
            "expected the login host only, e.g. https://login.microsoftonline.com/"
        ),
        id="instance-with-query",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "https://login.microsoftonline.com/#x"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='https://login.microsoftonline.com/#x' is invalid: "
            "expected the login host only, e.g. https://login.microsoftonline.com/"
        ),
        id="instance-with-fragment",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "https://evil.example.com/"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='https://evil.example.com/' is invalid: expected a "
            "Microsoft Entra host (login.microsoftonline.com, login.microsoft.com, "
            "login.windows.net, sts.windows.net, login.microsoftonline.us, login.usgovcloudapi.net, "
            "login.chinacloudapi.cn, login.partner.microsoftonline.cn, <tenant>.ciamlogin.com) or a "
            "host listed in AzureAd:ExtraAuthorityHosts (for a local emulator)"
        ),
        id="instance-unknown-host",
    ),
    pytest.param(
        {**BASE, "AzureAd__Instance": "https://evil\\@login.microsoftonline.com/"},
        "AzureAd:Instance",
        (
            "AzureAd setting AzureAd:Instance='https://evil\\\\@login.microsoftonline.com/' is "
            "invalid: expected a URL with one unambiguous host (this one has a backslash)"
        ),
        id="instance-ambiguous",
    ),
    pytest.param(
        {**BASE, "AzureAd__FicPropagationRetrySeconds": "-1"},
        "AzureAd:FicPropagationRetrySeconds",
        (
            "AzureAd setting AzureAd:FicPropagationRetrySeconds='-1' is invalid: expected a number "
            "of seconds from 0 (off) to 900"
        ),
        id="fic-retry-negative",
    ),
    pytest.param(
        {**BASE, "AzureAd__FicPropagationRetrySeconds": "900.5"},
        "AzureAd:FicPropagationRetrySeconds",
        (
            "AzureAd setting AzureAd:FicPropagationRetrySeconds='900.5' is invalid: expected a "
            "number of seconds from 0 (off) to 900"
        ),
        id="fic-retry-above-900",
    ),
    pytest.param(
        {**BASE, "AzureAd__FicPropagationRetrySeconds": "ten"},
        "AzureAd:FicPropagationRetrySeconds",
        (
            "AzureAd setting AzureAd:FicPropagationRetrySeconds='ten' is invalid: expected a number "
            "of seconds from 0 (off) to 900"
        ),
        id="fic-retry-not-a-number",
    ),
    pytest.param(
        {**BASE, "AzureAd__TokenCacheLockTimeoutSeconds": "0.5"},
        "AzureAd:TokenCacheLockTimeoutSeconds",
        (
            "AzureAd setting AzureAd:TokenCacheLockTimeoutSeconds='0.5' is invalid: expected a "
            "number of seconds from 1 to 300"
        ),
        id="lock-timeout-below-1",
    ),
    pytest.param(
        {**BASE, "AzureAd__TokenCacheLockTimeoutSeconds": "301"},
        "AzureAd:TokenCacheLockTimeoutSeconds",
        (
            "AzureAd setting AzureAd:TokenCacheLockTimeoutSeconds='301' is invalid: expected a "
            "number of seconds from 1 to 300"
        ),
        id="lock-timeout-above-300",
    ),
    pytest.param(
        {**BASE, "AzureAd__TokenCacheLockTimeoutSeconds": "soon"},
        "AzureAd:TokenCacheLockTimeoutSeconds",
        (
            "AzureAd setting AzureAd:TokenCacheLockTimeoutSeconds='soon' is invalid: expected a "
            "number of seconds from 1 to 300"
        ),
        id="lock-timeout-not-a-number",
    ),
    pytest.param(
        {**BASE, "AzureAd__AzureRegion": "West US 2"},
        "AzureAd:AzureRegion",
        (
            "AzureAd setting AzureAd:AzureRegion='West US 2' is invalid: expected an Azure region "
            "name such as westus2, or TryAutoDetect"
        ),
        id="region-bad",
    ),
    pytest.param(
        {**BASE, "AzureAd__ClientCapabilities": "cp1"},
        "AzureAd:ClientCapabilities",
        (
            "AzureAd setting AzureAd:ClientCapabilities='cp1' is invalid: expected an array, e.g. "
            '"ClientCapabilities": ["cp1"] or AzureAd__ClientCapabilities__0=cp1'
        ),
        id="client-capabilities-scalar",
    ),
    pytest.param(
        {**BASE, "AzureAd__SendX5C": "yes"},
        "AzureAd:SendX5C",
        "AzureAd setting AzureAd:SendX5C='yes' is invalid: expected true or false",
        id="send-x5c-bad",
    ),
    pytest.param(
        {**BASE, "AzureAd__UserAssignedManagedIdentityClientId": "my-identity"},
        "AzureAd:UserAssignedManagedIdentityClientId",
        (
            "AzureAd setting AzureAd:UserAssignedManagedIdentityClientId='my-identity' is invalid: "
            "expected the user-assigned managed identity's client ID (a GUID)"
        ),
        id="legacy-user-assigned-mi-bad",
    ),
    pytest.param(
        {**BASE, "AzureAd__AdditionallyAllowedTenants": f"{TENANT};bad tenant!"},
        "AzureAd:AdditionallyAllowedTenants",
        (
            "AzureAd setting AzureAd:AdditionallyAllowedTenants='bad' is invalid: expected tenant "
            "IDs (GUIDs) or domains, or * for any tenant"
        ),
        id="allowed-tenant-bad",
    ),
    pytest.param(
        {**BASE, "AZURE_ADDITIONALLY_ALLOWED_TENANTS": "contoso.com;nope"},
        "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
        (
            "Setting AZURE_ADDITIONALLY_ALLOWED_TENANTS='nope' is invalid: expected tenant IDs "
            "(GUIDs) or domains, or * for any tenant"
        ),
        id="allowed-tenants-variable-bad",
    ),
    pytest.param(
        {**BASE, "AzureAd__ClientCredentials__first__SourceType": MI_SOURCE},
        "AzureAd:ClientCredentials",
        (
            "AzureAd setting AzureAd:ClientCredentials='first' is invalid: expected an array: keys "
            "0, 1, 2, ..."
        ),
        id="array-index-not-a-number",
    ),
    pytest.param(
        {**NO_CREDENTIALS},
        "AzureAd:ClientCredentials",
        (
            "AzureAd setting AzureAd:ClientCredentials=(not set) is invalid: expected at least one "
            "credential, e.g. "
            "AzureAd__ClientCredentials__0__SourceType=SignedAssertionFromManagedIdentity"
        ),
        id="no-credentials",
    ),
    pytest.param(
        {**NO_CREDENTIALS, "AzureAd__ClientCredentialsUsingManagedIdentity__IsEnabled": "on"},
        "AzureAd:ClientCredentialsUsingManagedIdentity:IsEnabled",
        (
            "AzureAd setting AzureAd:ClientCredentialsUsingManagedIdentity:IsEnabled='on' is "
            "invalid: expected true or false"
        ),
        id="legacy-is-enabled-bad",
    ),
    pytest.param(
        {
            **NO_CREDENTIALS,
            "AzureAd__ClientCredentialsUsingManagedIdentity__IsEnabled": "True",
            "AzureAd__ClientCredentialsUsingManagedIdentity__ManagedIdentityClientId": "mine",
        },
        "AzureAd:ClientCredentialsUsingManagedIdentity:ManagedIdentityClientId",
        (
            "AzureAd setting "
            "AzureAd:ClientCredentialsUsingManagedIdentity:ManagedIdentityClientId='mine' is "
            "invalid: expected the user-assigned managed identity's client ID (a GUID)"
        ),
        id="legacy-mi-client-id-bad",
    ),
    pytest.param(
        {**NO_CREDENTIALS, "AzureAd__ClientCertificates__0__SourceType": "Path"},
        "AzureAd:ClientCertificates:0:CertificateDiskPath",
        (
            "AzureAd setting AzureAd:ClientCertificates:0:CertificateDiskPath=(not set) is invalid: "
            "expected the path of a PEM or PFX file (required when SourceType is Path)"
        ),
        id="legacy-certificate-without-path",
    ),
    pytest.param(
        {**BASE, C0 + "Skip": "1"},
        "AzureAd:ClientCredentials:0:Skip",
        "AzureAd setting AzureAd:ClientCredentials:0:Skip='1' is invalid: expected true or false",
        id="skip-bad",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "", C0 + "Skip": "true"},
        "AzureAd:ClientCredentials:0:SourceType",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:SourceType=(not set) is invalid: expected "
            "one of SignedAssertionFromManagedIdentity, SignedAssertionFilePath, KeyVault, Path, "
            "Base64Encoded, ClientSecret"
        ),
        id="source-type-missing",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "Magic"},
        "AzureAd:ClientCredentials:0:SourceType",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:SourceType='Magic' is invalid: expected one "
            "of SignedAssertionFromManagedIdentity, SignedAssertionFilePath, KeyVault, Path, "
            "Base64Encoded, ClientSecret"
        ),
        id="source-type-unknown",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "14"},
        "AzureAd:ClientCredentials:0:SourceType",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:SourceType='14' is invalid: expected one of "
            "SignedAssertionFromManagedIdentity, SignedAssertionFilePath, KeyVault, Path, "
            "Base64Encoded, ClientSecret"
        ),
        id="source-type-number-out-of-range",
    ),
    pytest.param(
        {**BASE, C0 + "ManagedIdentityClientId": "mine"},
        "AzureAd:ClientCredentials:0:ManagedIdentityClientId",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:ManagedIdentityClientId='mine' is invalid: "
            "expected the user-assigned managed identity's client ID (a GUID)"
        ),
        id="managed-identity-client-id-bad",
    ),
    pytest.param(
        {**BASE, C0 + "TokenExchangeUrl": "http://login.microsoftonline.com/"},
        "AzureAd:ClientCredentials:0:TokenExchangeUrl",
        (
            "AzureAd setting "
            "AzureAd:ClientCredentials:0:TokenExchangeUrl='http://login.microsoftonline.com/' is "
            "invalid: expected an audience URI such as api://AzureADTokenExchange (an audience, not "
            "a login host)"
        ),
        id="token-exchange-url-http-login-host",
    ),
    pytest.param(
        {**BASE, C0 + "TokenExchangeUrl": "AzureADTokenExchange"},
        "AzureAd:ClientCredentials:0:TokenExchangeUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:TokenExchangeUrl='AzureADTokenExchange' is "
            "invalid: expected an audience URI such as api://AzureADTokenExchange (an audience, not "
            "a login host)"
        ),
        id="token-exchange-url-no-scheme",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "KeyVault"},
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultUrl=(not set) is invalid: expected "
            "the vault URL, e.g. https://myvault.vault.azure.net (required when SourceType is "
            "KeyVault)"
        ),
        id="key-vault-url-missing",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "KeyVault", C0 + "KeyVaultUrl": "https://v.vault.azure.net"},
        "AzureAd:ClientCredentials:0:KeyVaultCertificateName",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultCertificateName=(not set) is "
            "invalid: expected the certificate's name in the vault (required when SourceType is "
            "KeyVault)"
        ),
        id="key-vault-certificate-name-missing",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "http://v.vault.azure.net",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultUrl='http://v.vault.azure.net' is "
            "invalid: expected the vault's URL, https://<name>.<suffix> with a Key Vault or Managed "
            "HSM suffix of the configured cloud (AzurePublic: vault.azure.net, managedhsm.azure.net) "
            "and nothing after the host"
        ),
        id="key-vault-url-http",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "https://v.vault.azure.net:8443",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting "
            "AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.azure.net:8443' is invalid: "
            "expected the vault's URL, https://<name>.<suffix> with a Key Vault or Managed HSM "
            "suffix of the configured cloud (AzurePublic: vault.azure.net, managedhsm.azure.net) and "
            "nothing after the host"
        ),
        id="key-vault-url-port",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "https://v.vault.azure.net/secrets",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting "
            "AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.azure.net/secrets' is invalid: "
            "expected the vault's URL, https://<name>.<suffix> with a Key Vault or Managed HSM "
            "suffix of the configured cloud (AzurePublic: vault.azure.net, managedhsm.azure.net) and "
            "nothing after the host"
        ),
        id="key-vault-url-path",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "https://v.vault.azure.net?",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.azure.net?' is "
            "invalid: expected the vault's URL, https://<name>.<suffix> with a Key Vault or Managed "
            "HSM suffix of the configured cloud (AzurePublic: vault.azure.net, managedhsm.azure.net) "
            "and nothing after the host"
        ),
        id="key-vault-url-trailing-query",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "https://v.vault.example.com",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.example.com' "
            "is invalid: expected the vault's URL, https://<name>.<suffix> with a Key Vault or "
            "Managed HSM suffix of the configured cloud (AzurePublic: vault.azure.net, "
            "managedhsm.azure.net) and nothing after the host"
        ),
        id="key-vault-url-other-host",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            "AzureAd__Instance": "https://login.microsoftonline.us/",
            C0 + "KeyVaultUrl": "https://v.vault.azure.net",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.azure.net' is "
            "invalid: expected the vault's URL, https://<name>.<suffix> with a Key Vault or Managed "
            "HSM suffix of the configured cloud (AzureUSGovernment: vault.usgovcloudapi.net, "
            "managedhsm.usgovcloudapi.net) and nothing after the host"
        ),
        id="key-vault-url-other-cloud",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "Path"},
        "AzureAd:ClientCredentials:0:CertificateDiskPath",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:CertificateDiskPath=(not set) is invalid: "
            "expected the path of a PEM or PFX file (required when SourceType is Path)"
        ),
        id="path-without-disk-path",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "Base64Encoded"},
        "AzureAd:ClientCredentials:0:Base64EncodedValue",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:Base64EncodedValue=(not set) is invalid: "
            "expected the base64 of a PFX (or PEM) certificate with its key (required when "
            "SourceType is Base64Encoded)"
        ),
        id="base64-without-value",
    ),
    pytest.param(
        {**BASE, C0 + "SourceType": "ClientSecret"},
        "AzureAd:ClientCredentials:0:ClientSecret",
        (
            "AzureAd setting AzureAd:ClientCredentials:0:ClientSecret=(not set) is invalid: expected "
            "the app registration's client secret (required when SourceType is ClientSecret)"
        ),
        id="client-secret-without-secret",
    ),
    pytest.param(
        {
            **BASE,
            C0 + "SourceType": "KeyVault",
            C0 + "KeyVaultCertificateName": "cert",
            C0 + "KeyVaultUrl": "https://v.vault.azure.net@evil.example.com",
        },
        "AzureAd:ClientCredentials:0:KeyVaultUrl",
        (
            "AzureAd setting "
            "AzureAd:ClientCredentials:0:KeyVaultUrl='https://v.vault.azure.net@evil.example.com' is "
            "invalid: expected a URL with one unambiguous host (this one has user information before "
            "the host ('@'))"
        ),
        id="key-vault-url-ambiguous",
    ),
    pytest.param(
        {
            "AzureAd__ClientId": f"{CLIENT}",
            C0 + "SourceType": MI_SOURCE,
            "AzureAd__Authority": f"https://a\\@login.microsoftonline.com/{TENANT}",
        },
        "AzureAd:Authority",
        (
            f"AzureAd setting AzureAd:Authority='https://a\\\\@login.microsoftonline.com/{TENANT}' is "
            "invalid: expected a URL with one unambiguous host (this one has a backslash)"
        ),
        id="authority-ambiguous",
    ),
]


@pytest.mark.parametrize(("env", "key", "message"), REFUSALS)
def test_a_bad_setting_is_refused_with_its_key_value_and_expectation(
    env: dict[str, str], key: str, message: str
) -> None:
    error = _refusal(lambda: load_settings(environ=env))
    assert str(error) == message
    assert error.key == key


# ---------------------------------------------------------------------------------------- the files

GOOD_FILE = json.dumps(
    {"AzureAd": {"TenantId": TENANT, "ClientId": CLIENT, "ClientCredentials": [{"SourceType": MI_SOURCE}]}}
)
NO_SETTINGS_FIX = (
    "\nFix: on Azure the compute sets them (the program declares them); on a laptop run in the shell where "
    "the eval line of ./dev emulate ran, or pass --settings"
)
FILE_REFUSALS = [
    pytest.param(
        {},
        {},
        "path",
        "Setting path='{dir}' is invalid: expected an existing appsettings.json file or a folder holding one",
        id="a-folder-without-appsettings",
    ),
    pytest.param(
        {"appsettings.json": '{"Logging": {}}'},
        {},
        "AzureAd",
        "no AzureAd settings: no AzureAd__* environment variables and no AzureAd section in "
        "{dir}/appsettings.json" + NO_SETTINGS_FIX,
        id="no-section-in-the-file",
    ),
    pytest.param(
        {"appsettings.json": b'{"AzureAd": "\xff"}'},
        {},
        "path",
        "Setting path='{dir}/appsettings.json' is invalid: expected a readable JSON file "
        "(UnicodeDecodeError)",
        id="not-utf-8",
    ),
    pytest.param(
        {"appsettings.json": '{"AzureAd": {"ClientId": "a", "clientId": "b"}}'},
        {},
        "path",
        "Setting path='{dir}/appsettings.json' is invalid: expected JSON naming each key once ('clientId' "
        "twice; .NET refuses such a file too)",
        id="a-key-twice",
    ),
    pytest.param(
        {"appsettings.json": '{"AzureAd": {\n  "ClientId": }'},
        {},
        "path",
        "Setting path='{dir}/appsettings.json' is invalid: expected valid JSON (line 2, column 15: Expecting "
        "value)",
        id="invalid-json",
    ),
    pytest.param(
        {"appsettings.json": GOOD_FILE, "appsettings.Production.json": "[" * 65 + "]" * 65},
        {},
        "path",
        "Setting path='{dir}/appsettings.Production.json' is invalid: expected JSON nested at most 64 levels "
        "deep, as .NET's configuration reader allows",
        id="overlay-too-deep",
    ),
    pytest.param(
        {"appsettings.json": GOOD_FILE},
        {"ASPNETCORE_ENVIRONMENT": "../x"},
        "ASPNETCORE_ENVIRONMENT",
        "Setting ASPNETCORE_ENVIRONMENT='../x' is invalid: expected a plain environment name such as "
        "Production, Staging or Development",
        id="aspnetcore-environment-not-a-name",
    ),
    pytest.param(
        {"appsettings.json": GOOD_FILE},
        {"DOTNET_ENVIRONMENT": "a/b"},
        "DOTNET_ENVIRONMENT",
        "Setting DOTNET_ENVIRONMENT='a/b' is invalid: expected a plain environment name such as Production, "
        "Staging or Development",
        id="dotnet-environment-not-a-name",
    ),
    pytest.param(
        {"appsettings.json": GOOD_FILE},
        {"ASPNETCORE_ENVIRONMENT": "/" + "e" * 99},
        "ASPNETCORE_ENVIRONMENT",
        "Setting ASPNETCORE_ENVIRONMENT='/" + "e" * 77 + "… (80 characters) is invalid: expected a plain "
        "environment name such as Production, Staging or Development",
        id="environment-name-capped",
    ),
]


@pytest.mark.parametrize(("files", "env", "key", "message"), FILE_REFUSALS)
def test_a_bad_settings_file_or_environment_name_is_refused_naming_it(
    tmp_path: Path, files: dict[str, str | bytes], env: dict[str, str], key: str, message: str
) -> None:
    for name, content in files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content, encoding="utf-8")
    error = _refusal(lambda: load_settings(tmp_path, environ=env))
    assert str(error) == message.replace("{dir}", str(tmp_path))
    assert error.key == key


def test_no_settings_anywhere_names_the_missing_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = _refusal(lambda: load_settings(environ={"Unrelated": "1"}))
    assert str(error) == (
        "no AzureAd settings: no AzureAd__* environment variables and no AzureAd section in "
        f"{tmp_path}/appsettings.json (no such file)" + NO_SETTINGS_FIX
    )
    assert error.key == "AzureAd"


def test_no_settings_of_another_section_names_that_section(tmp_path: Path) -> None:
    (tmp_path / "appsettings.json").write_text(GOOD_FILE, encoding="utf-8")
    error = _refusal(lambda: load_settings(tmp_path, "Entra", environ=dict(BASE)))
    assert str(error) == (
        "no Entra settings: no Entra__* environment variables and no Entra section in "
        f"{tmp_path}/appsettings.json" + NO_SETTINGS_FIX
    )
    assert error.key == "Entra"


# ---------------------------------------------------------------- what an accepted setting means

ID = "66666666-7777-8888-9999-000000000000"
OTHER_TENANT = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings' warnings are logged once per process: each test starts as a new process."""
    from certless import settings

    monkeypatch.setattr(settings, "_warned", set())


def test_optional_settings_left_unset_take_their_defaults() -> None:
    loaded = load_settings(environ=BASE)
    assert loaded.instance == "https://login.microsoftonline.com/"
    assert loaded.authority == f"https://login.microsoftonline.com/{TENANT}"
    assert loaded.fic_propagation_retry_seconds == 0.0
    assert loaded.token_cache_lock_timeout == 30.0
    assert loaded.token_cache_directory is None
    assert loaded.send_x5c is None
    assert loaded.azure_region is None
    assert loaded.client_capabilities == ()
    assert loaded.additionally_allowed_tenants == ()
    assert loaded.configured_for_organizations is False
    assert loaded.credentials[0].skip is False


@pytest.mark.parametrize(
    ("name", "value", "attribute", "read"),
    [
        ("FicPropagationRetrySeconds", "0", "fic_propagation_retry_seconds", 0.0),
        ("FicPropagationRetrySeconds", "900", "fic_propagation_retry_seconds", 900.0),
        ("FicPropagationRetrySeconds", " 2.5 ", "fic_propagation_retry_seconds", 2.5),
        ("TokenCacheLockTimeoutSeconds", "1", "token_cache_lock_timeout", 1.0),
        ("TokenCacheLockTimeoutSeconds", "300", "token_cache_lock_timeout", 300.0),
        ("TokenCacheDirectory", "/var/cache/certless", "token_cache_directory", "/var/cache/certless"),
        ("SendX5C", "TRUE", "send_x5c", True),
        ("SendX5C", "false", "send_x5c", False),
        ("AzureRegion", "tryautodetect", "azure_region", "TryAutoDetect"),
        ("AzureRegion", "WestUS2", "azure_region", "westus2"),
        ("ClientCapabilities__0", "cp1", "client_capabilities", ("cp1",)),
        ("UserAssignedManagedIdentityClientId", ID, "user_assigned_managed_identity_client_id", ID),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_an_optional_setting_is_read_as_given(name: str, value: str, attribute: str, read: object) -> None:
    loaded = load_settings(environ={**BASE, f"AzureAd__{name}": value})
    assert getattr(loaded, attribute) == read


@pytest.mark.parametrize(("value", "skip"), [("True", True), ("false", False)])
def test_a_credential_is_skipped_only_when_skip_is_true(value: str, skip: bool) -> None:
    loaded = load_settings(environ={**BASE, C0 + "Skip": value})
    assert loaded.credentials[0].skip is skip


def test_a_region_on_a_host_outside_entra_is_ignored_with_a_warning(
    tmp_path: Path, certless_logs: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    env = {
        **BASE,
        "AzureAd__Instance": "https://127.0.0.1:8443/",
        "AzureAd__ExtraAuthorityHosts": "127.0.0.1:8443",
        "AzureAd__CaBundle": str(ca),
        "AzureAd__AzureRegion": "westus2",
    }
    assert load_settings(environ=env).azure_region is None
    assert [r.getMessage() for r in certless_logs.records if r.levelno >= logging.WARNING] == [
        "AzureRegion westus2 is ignored: the authority https://127.0.0.1:8443/ is not a Microsoft Entra host"
    ]


def test_authority_beside_instance_is_ignored_with_identity_webs_warning(
    certless_logs: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    authority = f"https://login.chinacloudapi.cn/{OTHER_TENANT}"
    loaded = load_settings(environ={**BASE, "AzureAd__Authority": authority})
    assert loaded.authority == f"https://login.microsoftonline.com/{TENANT}"
    assert [r.getMessage() for r in certless_logs.records if r.levelno >= logging.WARNING] == [
        f"Authority '{authority}' is being ignored because Instance '' and/or TenantId '{TENANT}' are "
        "already configured (as Microsoft.Identity.Web does). To use Authority, remove Instance and "
        "TenantId from the configuration."
    ]


def test_legacy_credentials_are_tried_managed_identity_then_certificates_then_the_secret() -> None:
    env = {
        **NO_CREDENTIALS,
        "AzureAd__ClientSecret": "s3cret",
        "AzureAd__ClientCertificates__0__SourceType": "Path",
        "AzureAd__ClientCertificates__0__CertificateDiskPath": "/certs/app.pem",
        "AzureAd__ClientCredentialsUsingManagedIdentity__IsEnabled": "TRUE",
        "AzureAd__ClientCredentialsUsingManagedIdentity__ManagedIdentityClientId": ID,
    }
    sources = load_settings(environ=env).credentials
    assert [c.label for c in sources] == [
        f"#0 SignedAssertionFromManagedIdentity ({ID})",
        "#1 Path (/certs/app.pem)",
        "#2 ClientSecret",
    ]
    assert sources[2].client_secret == "s3cret"


def test_legacy_managed_identity_is_used_only_when_enabled_is_true() -> None:
    env = {
        **NO_CREDENTIALS,
        "AzureAd__ClientSecret": "s3cret",
        "AzureAd__ClientCredentialsUsingManagedIdentity__IsEnabled": "false",
    }
    assert [c.label for c in load_settings(environ=env).credentials] == ["#0 ClientSecret"]


def test_client_credentials_replace_the_legacy_properties() -> None:
    env = {**BASE, "AzureAd__ClientSecret": "s3cret", "AzureAd__ClientCertificates__0__SourceType": "Path"}
    assert [c.label for c in load_settings(environ=env).credentials] == [
        "#0 SignedAssertionFromManagedIdentity (system-assigned)"
    ]


def _overlays(folder: Path, *names: str) -> None:
    (folder / "appsettings.json").write_text(GOOD_FILE, encoding="utf-8")
    for index, name in enumerate(names):
        overlay = {"AzureAd": {"ClientCredentials": [{"ManagedIdentityClientId": f"{index}" * 8 + ID[8:]}]}}
        (folder / f"appsettings.{name}.json").write_text(json.dumps(overlay), encoding="utf-8")


def test_the_production_overlay_is_read_when_no_environment_is_named(tmp_path: Path) -> None:
    _overlays(tmp_path, "Production", "Development")
    assert load_settings(tmp_path, environ={}).credentials[0].managed_identity_client_id == "0" * 8 + ID[8:]


def test_aspnetcore_environment_wins_over_dotnet_environment(tmp_path: Path) -> None:
    _overlays(tmp_path, "Staging", "Development")
    env = {"ASPNETCORE_ENVIRONMENT": "Staging", "DOTNET_ENVIRONMENT": "Development"}
    assert load_settings(tmp_path, environ=env).credentials[0].managed_identity_client_id == "0" * 8 + ID[8:]
    env = {"DOTNET_ENVIRONMENT": "Development"}
    assert load_settings(tmp_path, environ=env).credentials[0].managed_identity_client_id == "1" * 8 + ID[8:]


def test_environment_variables_win_over_the_files(tmp_path: Path) -> None:
    (tmp_path / "appsettings.json").write_text(GOOD_FILE, encoding="utf-8")
    loaded = load_settings(tmp_path, environ={"AZUREAD__TENANTID": OTHER_TENANT})
    assert loaded.tenant_id == OTHER_TENANT


def test_the_allowed_tenants_variable_adds_to_the_setting_once_each() -> None:
    env = {
        **BASE,
        "AzureAd__AdditionallyAllowedTenants__0": OTHER_TENANT,
        "AZURE_ADDITIONALLY_ALLOWED_TENANTS": f"contoso.com;{OTHER_TENANT}, *",
    }
    assert load_settings(environ=env).additionally_allowed_tenants == (OTHER_TENANT, "contoso.com", "*")


@pytest.mark.parametrize(
    ("values", "authority", "organizations"),
    [
        (
            {"Authority": f"https://login.microsoftonline.us/{OTHER_TENANT}/v2.0"},
            f"https://login.microsoftonline.us/{OTHER_TENANT}",
            False,
        ),
        (
            {"Instance": "https://contoso.ciamlogin.com/"},
            "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
            False,
        ),
        (
            {"TenantId": "organizations", "AppHomeTenantId": OTHER_TENANT},
            f"https://login.microsoftonline.com/{OTHER_TENANT}",
            True,
        ),
        (
            {"TenantId": "common", "AppHomeTenantId": "contoso.com"},
            "https://login.microsoftonline.com/contoso.com",
            False,
        ),
    ],
    ids=["authority-v2.0", "ciam-host-names-its-tenant", "organizations-home-tenant", "common-home-tenant"],
)
def test_the_authority_is_the_instance_and_the_tenant_tokens_come_from(
    values: dict[str, str], authority: str, organizations: bool
) -> None:
    section = {"ClientId": CLIENT, "ClientCredentials": [{"SourceType": MI_SOURCE}], **values}
    loaded = settings_from_mapping(section)
    assert loaded.authority == authority
    assert loaded.configured_for_organizations is organizations
