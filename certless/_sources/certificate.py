"""Certificate sources: Path (PEM or PFX file), Base64Encoded (PFX or PEM) and KeyVault.

MSAL 1.39 takes ``{"private_key": PEM, "public_certificate": PEM}`` and derives the SHA-256
thumbprint from the certificate itself (PS256 assertions with ``x5t#S256``); its ``thumbprint`` key is
the legacy SHA-1 form, which certless does not use.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from certless._clouds import key_vault_audience
from certless._http import ENTRA_POLICY, HttpClient, Response, TransportError, parse_retry_after
from certless._sources.base import Source, SourceContext, log
from certless._sources.managed_identity import ManagedIdentitySource
from certless.errors import TRANSIENT_STATUSES, CredentialUnavailableError, InsecureEndpointError
from certless.settings import CredentialDescription, Settings

KEY_VAULT_API_VERSION = "7.4"


@dataclass(frozen=True)
class LoadedCertificate:
    private_key_pem: str
    certificate_pem: str
    sha256_thumbprint: str
    subject: str
    not_after: datetime.datetime

    def __repr__(self) -> str:  # never the key
        return f"LoadedCertificate(subject={self.subject!r}, sha256={self.sha256_thumbprint[:16]}…)"


def parse_certificate(data: bytes, password: str | None, what: str, clock_now: float) -> LoadedCertificate:
    """PEM (key + certificate) or PKCS#12, checked to be within its validity period."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    pwd = password.encode("utf-8") if password else None
    key: Any
    cert: Any
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
            key = serialization.load_pem_private_key(data, password=pwd)
        else:
            key, cert, _extra = pkcs12.load_key_and_certificates(data, pwd)
    except (ValueError, TypeError) as exc:
        wrong_password = "password" in str(exc).lower() or "decrypt" in str(exc).lower()
        raise CredentialUnavailableError(
            f"{what} is not a usable certificate: "
            + (
                "the CertificatePassword does not open it"
                if wrong_password
                else f"{exc.__class__.__name__}: {str(exc)[:120]}"
            ),
            fix="Provide a PFX (PKCS#12) or PEM holding both the private key and the certificate, with the "
            "right CertificatePassword.",
        ) from None
    if key is None or cert is None:
        raise CredentialUnavailableError(
            f"{what} holds no {'private key' if key is None else 'certificate'}.",
            fix="Export the certificate together with its private key.",
        )
    now = datetime.datetime.fromtimestamp(clock_now, tz=datetime.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CredentialUnavailableError(
            f"{what} is outside its validity period ({cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}).",
            fix="Renew the certificate and register the new one on the app registration.",
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return LoadedCertificate(
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        sha256_thumbprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


class CertificateSource(Source):
    def __init__(self, description: CredentialDescription, ctx: SourceContext) -> None:
        super().__init__(description, ctx)
        self.certificate: LoadedCertificate | None = None

    def _read(self) -> bytes:
        raise NotImplementedError

    def load(self) -> None:
        self.certificate = parse_certificate(
            self._read(), self.description.certificate_password, self.label, self.ctx.clock.time()
        )
        log.info(
            "%s: using certificate %s (SHA-256 %s)",
            self.label,
            self.certificate.subject,
            self.certificate.sha256_thumbprint,
        )

    @property
    def key(self) -> str:
        thumb = self.certificate.sha256_thumbprint if self.certificate else "unloaded"
        return f"certificate:{thumb}"

    def client_credential(self) -> Any:
        if self.certificate is None:
            self.load()
        assert self.certificate is not None
        return {
            "private_key": self.certificate.private_key_pem,
            "public_certificate": self.certificate.certificate_pem,
        }

    def invalidate(self) -> None:
        # Re-read on the next use: the file or vault may hold a renewed certificate by now.
        self.load()


class PathSource(CertificateSource):
    def _read(self) -> bytes:
        path = self.description.certificate_disk_path or ""
        try:
            with open(os.path.expanduser(path), "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise CredentialUnavailableError(
                f"{self.label}: cannot read {path!r} ({exc.strerror or exc.__class__.__name__}).",
                fix="Check CertificateDiskPath and the file's permissions.",
            ) from None


class Base64EncodedSource(CertificateSource):
    def _read(self) -> bytes:
        try:
            # .NET's Convert.FromBase64String skips spaces, tabs and line breaks anywhere: wrapped
            # (e.g. `base64` with its 76-column lines) or indented values work for both.
            value = re.sub(r"[ \t\r\n]", "", self.description.base64_encoded_value or "")
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise CredentialUnavailableError(
                f"{self.label}: Base64EncodedValue is not valid base64.",
                fix="Encode the PFX file's bytes with base64 (line breaks and spaces are ignored).",
            ) from None


class KeyVaultSource(CertificateSource):
    """The certificate (with its key) read from Key Vault's secrets API with the managed identity.

    As the azure-keyvault clients do, the first request carries no token: the vault answers 401 with a
    ``WWW-Authenticate`` challenge naming its resource, and the token is sent only when that resource is
    the audience of this vault's DNS suffix (settings already limit the host to the cloud's vault suffixes).
    """

    def _read(self) -> bytes:
        d = self.description
        vault = (d.key_vault_url or "").rstrip("/")
        host = urlsplit(vault).hostname or ""
        audience = key_vault_audience(host, self.ctx.settings.cloud)
        if audience is None:  # settings refuse such a URL; this guards descriptions built in code
            raise InsecureEndpointError(
                f"{self.label}: refusing to send a vault token to {host!r}: not a Key Vault or Managed HSM "
                f"host of the configured cloud ({self.ctx.settings.cloud.name}).",
                fix="Set KeyVaultUrl to the vault's URL, e.g. https://<name>.vault.azure.net.",
            )
        http = HttpClient(
            self.ctx.entra_transport, policy=ENTRA_POLICY, clock=self.ctx.clock, name="Key Vault"
        )
        url = f"{vault}/secrets/{quote(d.key_vault_certificate_name or '', safe='')}"
        params = {"api-version": KEY_VAULT_API_VERSION}
        challenge = self._get(http, url, params, {"Accept": "application/json"})
        self._verify_challenge(challenge, url, audience)
        mi_desc = CredentialDescription(
            index=d.index,
            source_type="SignedAssertionFromManagedIdentity",
            managed_identity_client_id=key_vault_identity(d, self.ctx.settings),
            token_exchange_url=audience,
        )
        # The managed identity's token for Key Vault itself (not for the exchange audience).
        token = ManagedIdentitySource(mi_desc, self.ctx).assertion()
        response = self._get(
            http, url, params, {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        if response.status_code != 200:
            hint = {
                401: "the vault did not accept the managed identity's token (is the vault in the identity's "
                "tenant?)",
                403: "grant the managed identity 'Key Vault Secrets User' (or a get-secret access policy)",
                404: "no certificate of that name: check KeyVaultCertificateName",
            }.get(response.status_code, "see the vault's diagnostics")
            raise CredentialUnavailableError(
                f"{self.label}: Key Vault answered {response.status_code} for {url}.",
                fix=hint[0].upper() + hint[1:] + ".",
            )
        try:
            body = json.loads(response.text)
            value = str(body["value"])
        except (ValueError, KeyError, TypeError):
            raise CredentialUnavailableError(
                f"{self.label}: Key Vault's answer has no secret value."
            ) from None
        if "pem" in str(body.get("contentType", "")).lower() or value.lstrip().startswith("-----BEGIN"):
            return value.encode("utf-8")
        try:
            return base64.b64decode(value)
        except (binascii.Error, ValueError):
            raise CredentialUnavailableError(
                f"{self.label}: Key Vault's PKCS#12 value is not base64."
            ) from None

    def _get(self, http: HttpClient, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """One request to the vault; a busy vault (or a dropped connection) is a transient failure."""
        try:
            response = http.get(url, params=params, headers=headers)
        except TransportError as exc:
            raise CredentialUnavailableError(
                f"{self.label}: Key Vault {urlsplit(url).netloc} did not answer ({exc}).",
                # A dropped or slow connection passes; no such host or an untrusted certificate does not.
                transient=exc.retryable and not exc.connect,
            ) from None
        if response.status_code in TRANSIENT_STATUSES:
            raise CredentialUnavailableError(
                f"{self.label}: Key Vault answered {response.status_code} for {url}.",
                fix="Key Vault is busy or throttling; certless tries again later.",
                transient=True,
                retry_after=parse_retry_after(response.headers, self.ctx.clock.time()),
            )
        return response

    def _verify_challenge(self, response: Response, url: str, audience: str) -> None:
        """Key Vault's 401 challenge must name this vault's resource before any token is sent."""
        host = (urlsplit(url).hostname or "").lower()
        header = next((v for k, v in response.headers.items() if k.lower() == "www-authenticate"), "")
        resource = challenge_resource(header) if response.status_code == 401 else None
        if resource is None:
            raise CredentialUnavailableError(
                f"{self.label}: {host} answered {response.status_code} without a Key Vault authentication "
                "challenge (401 with WWW-Authenticate: Bearer ... resource=...), so no token was sent.",
                fix="Check KeyVaultUrl: it must be the vault's own URL (a proxy or another service answers "
                "there).",
            )
        resource_host = (urlsplit(resource).hostname or "").lower()
        # azure-keyvault's rule (the vault host ends with the resource's host), and this suffix's audience.
        if not resource_host or not host.endswith("." + resource_host) or resource.rstrip("/") != audience:
            raise InsecureEndpointError(
                f"{self.label}: {host} asked for a token for {resource[:100]!r}, not for {audience}: "
                "no vault token was sent.",
                fix="Check KeyVaultUrl. A Key Vault asks for its cloud's vault resource; anything else "
                "is not the vault you configured.",
            )


def key_vault_identity(d: CredentialDescription, settings: Settings) -> str | None:
    """The identity that reads the vault, in Microsoft.Identity.Web's order: the source's
    ManagedIdentityClientId, then the legacy AzureAd:UserAssignedManagedIdentityClientId, then
    AZURE_CLIENT_ID; none of them: the system-assigned identity."""
    return (
        d.managed_identity_client_id
        or settings.user_assigned_managed_identity_client_id
        or os.environ.get("AZURE_CLIENT_ID")
        or None
    )


_CHALLENGE_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"]*)"')


def challenge_resource(header: str) -> str | None:
    """The resource a ``Bearer`` challenge asks for: ``resource=...``, or ``scope=...`` without its
    ``/.default`` (as azure-keyvault reads it); None when the header is no Bearer challenge."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    params = {k.lower(): v.strip() for k, v in _CHALLENGE_PARAM.findall(rest)}
    scope = params.get("scope", "")
    resource = scope.removesuffix("/.default") if scope else params.get("resource", "")
    return resource or None
