"""certless: certificateless Microsoft Entra tokens from the AzureAd settings.

``import certless`` is cheap: the credential, azure-core and msal load on first use.

    from certless import credential_from_settings
    credential = credential_from_settings()          # appsettings.json + AzureAd__* env vars
    BlobServiceClient(url, credential=credential)    # any Azure SDK client
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "CertlessCredential": "certless.credential",
    "credential_from_settings": "certless.credential",
    "clear_process_caches": "certless.credential",
    "client_credential": "certless.credential",
    "OnBehalfOfCredential": "certless.obo",
    "Settings": "certless.settings",
    "CredentialDescription": "certless.settings",
    "load_settings": "certless.settings",
    "settings_from_mapping": "certless.settings",
    "CertlessError": "certless.errors",
    "SettingsError": "certless.errors",
    "CredentialUnavailableError": "certless.errors",
    "IdentityEndpointError": "certless.errors",
    "InsecureEndpointError": "certless.errors",
    "NoCredentialError": "certless.errors",
    "TenantNotAllowedError": "certless.errors",
    "TokenRequestError": "certless.errors",
}

if TYPE_CHECKING:
    from certless.credential import (
        CertlessCredential,
        clear_process_caches,
        client_credential,
        credential_from_settings,
    )
    from certless.errors import (
        CertlessError,
        CredentialUnavailableError,
        IdentityEndpointError,
        InsecureEndpointError,
        NoCredentialError,
        SettingsError,
        TenantNotAllowedError,
        TokenRequestError,
    )
    from certless.obo import OnBehalfOfCredential
    from certless.settings import CredentialDescription, Settings, load_settings, settings_from_mapping


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'certless' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CertlessCredential",
    "CertlessError",
    "CredentialDescription",
    "CredentialUnavailableError",
    "IdentityEndpointError",
    "InsecureEndpointError",
    "NoCredentialError",
    "OnBehalfOfCredential",
    "Settings",
    "SettingsError",
    "TenantNotAllowedError",
    "TokenRequestError",
    "clear_process_caches",
    "client_credential",
    "credential_from_settings",
    "load_settings",
    "settings_from_mapping",
]
