"""ClientSecret: for local development only; a warning is logged every time it is loaded."""

from __future__ import annotations

import hashlib
from typing import Any

from certless._sources.base import Source, log


class ClientSecretSource(Source):
    def load(self) -> None:
        log.warning(
            "%s: using a client secret. Secrets leak and expire; use it for local development only and "
            "prefer SignedAssertionFromManagedIdentity on Azure.",
            self.label,
        )

    @property
    def key(self) -> str:
        # Like Microsoft.Identity.Web's Id: a hash, so a rotated secret gets a new MSAL app.
        digest = hashlib.sha256((self.description.client_secret or "").encode("utf-8")).hexdigest()[:12]
        return f"client-secret:{digest}"

    def client_credential(self) -> Any:
        return self.description.client_secret
