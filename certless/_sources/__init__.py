"""Credential sources, one class per AzureAd SourceType certless supports."""

from __future__ import annotations

from typing import Any

from certless._sources.base import AssertionSource, Source, SourceContext
from certless.errors import CredentialUnavailableError
from certless.settings import CredentialDescription


class UnsupportedSource(Source):
    """A SourceType only .NET can load (certificate stores, custom providers): always skipped, so the
    same settings still work for a .NET app and a Python app."""

    def load(self) -> None:
        raise CredentialUnavailableError(
            f"{self.label}: SourceType {self.description.source_type} is not supported by certless "
            "(Microsoft.Identity.Web on .NET only).",
            fix="Add a source certless supports: SignedAssertionFromManagedIdentity, "
            "SignedAssertionFilePath, KeyVault, Path, Base64Encoded or ClientSecret.",
        )

    def client_credential(self) -> Any:
        self.load()


def build_source(description: CredentialDescription, ctx: SourceContext) -> Source:
    from certless._sources.certificate import Base64EncodedSource, KeyVaultSource, PathSource
    from certless._sources.managed_identity import ManagedIdentitySource
    from certless._sources.secret import ClientSecretSource
    from certless._sources.token_file import SignedAssertionFilePathSource

    kinds: dict[str, type[Source]] = {
        "SignedAssertionFromManagedIdentity": ManagedIdentitySource,
        "SignedAssertionFilePath": SignedAssertionFilePathSource,
        "KeyVault": KeyVaultSource,
        "Path": PathSource,
        "Base64Encoded": Base64EncodedSource,
        "ClientSecret": ClientSecretSource,
    }
    return kinds.get(description.source_type, UnsupportedSource)(description, ctx)


__all__ = ["AssertionSource", "Source", "SourceContext", "UnsupportedSource", "build_source"]
