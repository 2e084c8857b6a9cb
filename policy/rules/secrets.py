"""Which settings hold a literal secret: shared by config validation and the policy pack.

A certificateless app needs none, so a literal key, password, signature or private key in an app
setting or environment variable is a mistake (use the managed identity, or a Key Vault reference).
Reasons never repeat the value.
"""

from __future__ import annotations

import re
from typing import Final

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

# detect-secrets' token-format plugins (no entropy or keyword plugins: GUIDs, image digests and
# resource IDs are high-entropy yet public, and names are judged below).
_TOKEN_DETECTORS: Final[tuple[RegexBasedDetector, ...]] = (
    ArtifactoryDetector(),
    AWSKeyDetector(),
    AzureStorageKeyDetector(),
    BasicAuthDetector(),
    DiscordBotTokenDetector(),
    GitHubTokenDetector(),
    GitLabTokenDetector(),
    JwtTokenDetector(),
    MailchimpDetector(),
    NpmDetector(),
    OpenAIDetector(),
    PrivateKeyDetector(),
    PypiTokenDetector(),
    SendGridDetector(),
    SlackDetector(),
    StripeDetector(),
    TwilioKeyDetector(),
)
# Microsoft formats detect-secrets lacks: an Entra client secret carries "Q~" after 3 characters and a digit.
_ENTRA_CLIENT_SECRET: Final = re.compile(
    r"(^|[^A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}($|[^A-Za-z0-9_~.-])"
)


def token_kind(value: str) -> str | None:
    """The kind of credential token found in a value (never the token), or None."""
    if _ENTRA_CLIENT_SECRET.search(value):
        return "Entra client secret"
    for detector in _TOKEN_DETECTORS:
        for found in detector.analyze_string(value):
            if isinstance(detector, JwtTokenDetector) and not JwtTokenDetector.is_formally_valid(found):
                continue
            return detector.secret_type
    return None


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
    kind = token_kind(value)
    if kind is not None:
        return f"its value is a credential ({kind})"
    normalized = normalized_setting_name(name)
    if not _benign(name) and _SECRET_NAME_RE.search(normalized):
        return "its name says it holds a secret and its value is a literal"
    if normalized.endswith("__sourcetype") and value.lower() in _STORED_CREDENTIAL_SOURCES:
        return f"it selects a stored credential (SourceType {value}) instead of a managed identity"
    return None
