"""Where the same AzureAd settings would make a .NET app (Microsoft.Identity.Web) behave differently.

Each difference is deliberate; the credential logs each once per process and ``doctor`` lists them,
so that nobody learns it from a failing .NET deployment.
"""

from __future__ import annotations

from collections.abc import Mapping

from certless._clouds import PUBLIC
from certless._sources.managed_identity import detect_host
from certless.settings import Settings, warn_once

MI = "SignedAssertionFromManagedIdentity"
DOTNET_TOKEN_EXCHANGE_URL = PUBLIC.token_exchange_audience  # IdWeb's default in every cloud
_CERTIFICATE_SOURCES = frozenset({"Path", "Base64Encoded", "KeyVault"})


def dotnet_differences(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per setting that certless reads differently from Microsoft.Identity.Web here."""
    notes: list[str] = []
    active = [d for d in settings.credentials if not d.skip]
    audience = settings.cloud.token_exchange_audience
    for d in active:
        if d.source_type == MI and d.token_exchange_url is None and audience != DOTNET_TOKEN_EXCHANGE_URL:
            notes.append(
                f"{d.label}: no TokenExchangeUrl, so certless requests this cloud's audience {audience}; "
                f"a .NET app (Microsoft.Identity.Web) with the same settings requests "
                f"{DOTNET_TOKEN_EXCHANGE_URL} in every cloud. Set "
                f"{settings.section}:ClientCredentials:{d.index}:TokenExchangeUrl={audience} so both agree."
            )
    if detect_host(environ) == "aks" and any(d.source_type == MI for d in active):
        notes.append(
            f"AKS workload identity with {MI}: certless exchanges the pod's service-account token for the "
            "user-assigned identity's token (via-identity mode). Microsoft.Identity.Web has no equivalent: "
            "a .NET app with the same settings would call IMDS and get the node's identity. For settings "
            "that serve both, use SignedAssertionFilePath (direct mode: the app registration's FIC trusts "
            "the cluster's issuer and the service account)."
        )
    if settings.send_x5c is False and any(d.source_type in _CERTIFICATE_SOURCES for d in active):
        notes.append(
            "SendX5C=false is not applied: certless (MSAL Python) sends the certificate (x5c) with every "
            "certificate assertion. Entra uses it only for subject name/issuer authentication."
        )
    legacy = settings.user_assigned_managed_identity_client_id
    if legacy is not None:
        unnamed = [d.label for d in active if d.source_type == MI and not d.managed_identity_client_id]
        if unnamed:
            notes.append(
                f"UserAssignedManagedIdentityClientId ({legacy}) chooses the identity of KeyVault sources "
                f"only, as in Microsoft.Identity.Web: {', '.join(unnamed)} use the system-assigned identity "
                "unless they set ManagedIdentityClientId."
            )
        elif not any(d.source_type == "KeyVault" for d in active):
            notes.append(
                f"UserAssignedManagedIdentityClientId ({legacy}) has no effect: it chooses the identity of "
                "KeyVault sources only, and none is configured."
            )
    return notes


def log_dotnet_differences(settings: Settings) -> None:
    for note in dotnet_differences(settings):
        warn_once("%s", note)
