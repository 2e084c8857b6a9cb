"""Which settings hold a literal secret: shared by config validation and the policy pack.

A certificateless app needs none, so a literal key, password, signature or private key in an app
setting or environment variable is a mistake (use the managed identity, or a Key Vault reference).
Reasons never repeat the value.
"""

from __future__ import annotations

import re
from typing import Final

_SECRET_NAME_RE: Final = re.compile(
    r"(secret|password|passwd|pwd|apikey|api_key|accountkey|account_key|accesskey|access_key|"
    r"sharedaccesskey|privatekey|private_key|connectionstring|connection_string|sas_?token|"
    r"base64encodedvalue|certificatepassword|(^|_)key$)",
)
_SECRET_VALUE_RE: Final = re.compile(
    r"(accountkey=|sharedaccesskey=|sharedaccesssignature=|(^|;)\s*(password|pwd)\s*=\s*[^;\s]|"
    r"[?&]sig=[^&]+|-----begin [a-z ]*private key-----)",
    re.IGNORECASE,
)
_KEY_VAULT_REFERENCE: Final = re.compile(r"^\s*@microsoft\.keyvault\(", re.IGNORECASE)
# Settings whose names contain a secret-ish word but hold no secret.
_BENIGN_NAMES: Final = frozenset(
    {
        "azuread__clientcredentials__{n}__keyvaulturl",
        "azuread__clientcredentials__{n}__keyvaultcertificatename",
        "azuread__clientcredentials__{n}__sourcetype",
    }
)
_STORED_CREDENTIAL_SOURCES: Final = frozenset({"clientsecret", "base64encoded", "path", "storename"})

KEY_VAULT_ADVICE: Final = (
    "Use the managed identity, or a Key Vault reference (@Microsoft.KeyVault(...), secretRef with "
    "keyVaultUrl, or a secretKeyRef) instead."
)


def normalized_setting_name(name: str) -> str:
    """``AzureAd:ClientCredentials:0:SourceType`` and ``AzureAd__ClientCredentials__0__SourceType``
    name the same .NET configuration key; compare them in one form."""
    return name.replace(":", "__").lower()


def _benign(name: str) -> bool:
    generic = re.sub(r"__\d+__", "__{n}__", normalized_setting_name(name))
    return generic in _BENIGN_NAMES or generic.endswith(
        ("keyvaulturl", "keyvaultname", "keyvaultreferenceidentity")
    )


def secret_reason(name: str, value: object) -> str | None:
    """Why a literal setting looks like a secret, or None. Never includes the value itself."""
    if not isinstance(value, str) or not value.strip() or _KEY_VAULT_REFERENCE.match(value):
        return None  # not a literal (secretRef/valueFrom), unknown, empty, or a Key Vault reference
    if _SECRET_VALUE_RE.search(value):
        return "its value carries a key, password or signature"
    normalized = normalized_setting_name(name)
    if not _benign(name) and _SECRET_NAME_RE.search(normalized):
        return "its name says it holds a secret and its value is a literal"
    if normalized.endswith("__sourcetype") and value.lower() in _STORED_CREDENTIAL_SOURCES:
        return f"it selects a stored credential (SourceType {value}) instead of a managed identity"
    return None
