"""The ``AzureAd`` settings, read the way .NET's configuration reads them.

Sources, later ones winning: ``appsettings.json``, ``appsettings.{Environment}.json`` (Environment from
``ASPNETCORE_ENVIRONMENT`` or ``DOTNET_ENVIRONMENT``, default ``Production``), then environment
variables in .NET's form (``AzureAd__ClientCredentials__0__SourceType``). Keys are case-insensitive.
The same settings therefore serve a .NET app using Microsoft.Identity.Web and a Python app using certless.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from certless._clouds import CUSTOM, Cloud, cloud_for_host, known_entra_hosts
from certless._urls import AmbiguousUrlError, split_strict
from certless.errors import SettingsError

# Microsoft.Identity.Abstractions' CredentialSource enum: name -> numeric value (both accepted, as
# .NET's configuration binder accepts both).
SOURCE_TYPES: dict[str, int] = {
    "Certificate": 0,
    "KeyVault": 1,
    "Base64Encoded": 2,
    "Path": 3,
    "StoreWithThumbprint": 4,
    "StoreWithDistinguishedName": 5,
    "ClientSecret": 6,
    "SignedAssertionFromManagedIdentity": 7,
    "SignedAssertionFilePath": 8,
    "SignedAssertionFromVault": 9,
    "AutoDecryptKeys": 10,
    "CustomSignedAssertion": 11,
    "ManagedCertificate": 12,
    "StoreWithSubjectName": 13,
}
SUPPORTED_SOURCE_TYPES = (
    "SignedAssertionFromManagedIdentity",
    "SignedAssertionFilePath",
    "KeyVault",
    "Path",
    "Base64Encoded",
    "ClientSecret",
)
_NON_TENANTS = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")


@dataclass(frozen=True)
class CredentialDescription:
    """One entry of ``AzureAd:ClientCredentials``. Secret fields never appear in its repr."""

    index: int
    source_type: str
    skip: bool = False
    managed_identity_client_id: str | None = None
    token_exchange_url: str | None = None
    signed_assertion_file_disk_path: str | None = None
    key_vault_url: str | None = None
    key_vault_certificate_name: str | None = None
    certificate_disk_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    base64_encoded_value: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """A log-safe name for this source, e.g. ``#0 SignedAssertionFromManagedIdentity``."""
        detail = {
            "SignedAssertionFromManagedIdentity": self.managed_identity_client_id or "system-assigned",
            "SignedAssertionFilePath": self.signed_assertion_file_disk_path or "$AZURE_FEDERATED_TOKEN_FILE",
            "KeyVault": f"{self.key_vault_url}/{self.key_vault_certificate_name}",
            "Path": self.certificate_disk_path,
        }.get(self.source_type)
        return f"#{self.index} {self.source_type}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class Settings:
    """Validated ``AzureAd`` settings."""

    client_id: str
    tenant_id: str
    instance: str  # https://host/ with a trailing slash
    cloud: Cloud
    credentials: tuple[CredentialDescription, ...]
    extra_authority_hosts: tuple[str, ...] = ()
    ca_bundle: str | None = None
    fic_propagation_retry_seconds: float = 0.0
    section: str = "AzureAd"

    @property
    def authority(self) -> str:
        return f"{self.instance}{self.tenant_id}"

    def authority_for(self, tenant_id: str | None) -> str:
        return f"{self.instance}{tenant_id or self.tenant_id}"


# ---------------------------------------------------------------------------------------------- loading


def load_settings(
    path: str | os.PathLike[str] | None = None,
    section: str = "AzureAd",
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read and validate the settings. ``path`` is an ``appsettings.json`` file or its folder.

    With no path, ``./appsettings.json`` is used when it exists; environment variables alone suffice.
    """
    env = os.environ if environ is None else environ
    flat: dict[str, tuple[str, str]] = {}  # lower-cased key -> (key as written, value)
    base = _resolve_appsettings(path)
    if base is not None:
        _flatten_into(flat, _read_json(base), "")
        environment = env.get("ASPNETCORE_ENVIRONMENT") or env.get("DOTNET_ENVIRONMENT") or "Production"
        overlay = base.with_name(f"{base.stem}.{environment}{base.suffix}")
        if overlay.is_file():
            _flatten_into(flat, _read_json(overlay), "")
    for name, value in env.items():
        key = name.replace("__", ":")
        if key.lower().startswith(section.lower() + ":"):
            flat[key.lower()] = (key, value)
    return settings_from_flat(flat, section)


def settings_from_mapping(values: Mapping[str, Any], section: str = "AzureAd") -> Settings:
    """Validate settings given as a nested mapping (the content of the ``AzureAd`` section)."""
    flat: dict[str, tuple[str, str]] = {}
    _flatten_into(flat, {section: dict(values)}, "")
    return settings_from_flat(flat, section)


def _resolve_appsettings(path: str | os.PathLike[str] | None) -> Path | None:
    if path is None:
        default = Path("appsettings.json")
        return default if default.is_file() else None
    p = Path(path)
    if p.is_dir():
        p = p / "appsettings.json"
    if not p.is_file():
        raise SettingsError("path", str(path), "an existing appsettings.json file or a folder holding one")
    return p


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("path", str(path), f"a readable JSON file ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "path", str(path), f"valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _flatten_into(flat: dict[str, tuple[str, str]], node: Any, prefix: str) -> None:
    """Flatten JSON the way .NET's JSON configuration provider does: ``A:B:0:C`` keys."""
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten_into(flat, v, f"{prefix}:{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _flatten_into(flat, v, f"{prefix}:{i}")
    elif node is None:
        return
    else:
        text = ("true" if node else "false") if isinstance(node, bool) else str(node)
        flat[prefix.lower()] = (prefix, text)


# ---------------------------------------------------------------------------------------------- binding


class _Section:
    """Case-insensitive view of the flattened keys under one prefix."""

    def __init__(self, flat: Mapping[str, tuple[str, str]], prefix: str) -> None:
        self.flat = flat
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def get(self, name: str) -> str | None:
        hit = self.flat.get(self.key(name).lower())
        if hit is None:
            return None
        value = hit[1].strip()
        return value or None

    def indexes(self, name: str) -> list[int]:
        start = self.key(name).lower() + ":"
        found: set[int] = set()
        for k in self.flat:
            if k.startswith(start):
                head = k[len(start) :].split(":", 1)[0]
                if not head.isdigit():
                    raise SettingsError(self.key(name), head, "an array: keys 0, 1, 2, ...")
                found.add(int(head))
        return sorted(found)

    def child(self, name: str) -> _Section:
        return _Section(self.flat, self.key(name))


def settings_from_flat(flat: Mapping[str, tuple[str, str]], section: str = "AzureAd") -> Settings:
    s = _Section(flat, section)
    client_id = s.get("ClientId")
    if client_id is None or not _GUID.match(client_id):
        raise SettingsError(s.key("ClientId"), client_id, "the app registration's client ID (a GUID)")

    extra_hosts = _extra_hosts(s)
    ca_bundle = s.get("CaBundle")
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise SettingsError(
            s.key("CaBundle"), ca_bundle, "the path of an existing PEM file of CA certificates"
        )
    if extra_hosts and ca_bundle is None:
        # Both opt-ins together: the extra host, and the CA that vouches for it (the emulator's).
        raise SettingsError(
            s.key("CaBundle"),
            None,
            "the PEM file of the CA trusted for the hosts in ExtraAuthorityHosts (both must be set)",
        )

    authority = s.get("Authority")
    instance_raw, tenant_raw = s.get("Instance"), s.get("TenantId")
    if authority is not None:
        if instance_raw is not None or tenant_raw is not None:
            raise SettingsError(
                s.key("Authority"), authority, "either Authority or Instance + TenantId, not both"
            )
        instance, tenant_id = _split_authority(s.key("Authority"), authority)
    else:
        instance = instance_raw or "https://login.microsoftonline.com/"
        tenant_id = tenant_raw or ""
    instance = _check_instance(s.key("Authority" if authority else "Instance"), instance, extra_hosts)
    _check_tenant(s.key("Authority" if authority else "TenantId"), tenant_id)
    host = urlsplit(instance).hostname or ""
    cloud = cloud_for_host(host) or CUSTOM

    retry_raw = s.get("FicPropagationRetrySeconds")
    fic_retry = 0.0
    if retry_raw is not None:
        try:
            fic_retry = float(retry_raw)
        except ValueError:
            fic_retry = -1.0
        if not 0 <= fic_retry <= 900:
            raise SettingsError(
                s.key("FicPropagationRetrySeconds"), retry_raw, "a number of seconds from 0 (off) to 900"
            )

    credentials = _credentials(s)
    return Settings(
        client_id=client_id,
        tenant_id=tenant_id,
        instance=instance,
        cloud=cloud,
        credentials=credentials,
        extra_authority_hosts=extra_hosts,
        ca_bundle=ca_bundle,
        fic_propagation_retry_seconds=fic_retry,
        section=section,
    )


def _extra_hosts(s: _Section) -> tuple[str, ...]:
    raw: list[str] = []
    single = s.get("ExtraAuthorityHosts")
    if single is not None:
        raw.extend(re.split(r"[,;\s]+", single))
    for i in s.indexes("ExtraAuthorityHosts"):
        value = s.get(f"ExtraAuthorityHosts:{i}")
        if value:
            raw.append(value)
    hosts: list[str] = []
    for item in filter(None, (r.strip().lower() for r in raw)):
        if "/" in item or not re.match(r"^[a-z0-9.\-\[\]:]+$", item):
            raise SettingsError(
                s.key("ExtraAuthorityHosts"), item, "host names like 127.0.0.1:8443 (no scheme)"
            )
        hosts.append(item)
    return tuple(hosts)


def host_allowed(netloc: str, extra_hosts: tuple[str, ...], cloud: Cloud | None = None) -> bool:
    """True when ``netloc`` (host[:port]) is a Microsoft Entra host (of ``cloud``, when given: an
    assertion for one cloud never goes to another's login host) or explicitly allowed."""
    netloc = netloc.lower()
    host = urlsplit(f"//{netloc}").hostname or ""
    if netloc in extra_hosts or host in extra_hosts:
        return True
    host_cloud = cloud_for_host(host)
    return host_cloud is not None and (cloud is None or host_cloud == cloud)


def _strict(key: str, value: str) -> SplitResult:
    try:
        return split_strict(value)
    except AmbiguousUrlError as exc:
        raise SettingsError(
            key, value, f"a URL with one unambiguous host (this one has {exc.reason})"
        ) from None


def _check_instance(key: str, instance: str, extra_hosts: tuple[str, ...]) -> str:
    parts = _strict(key, instance)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError(key, instance, "an https:// URL such as https://login.microsoftonline.com/")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise SettingsError(key, instance, "the login host only, e.g. https://login.microsoftonline.com/")
    if not host_allowed(parts.netloc, extra_hosts):
        raise SettingsError(
            key,
            instance,
            f"a Microsoft Entra host ({', '.join(known_entra_hosts())}) or a host listed in "
            "AzureAd:ExtraAuthorityHosts (for a local emulator)",
        )
    return f"https://{parts.netloc.lower()}/"


def _split_authority(key: str, authority: str) -> tuple[str, str]:
    parts = _strict(key, authority)
    segments = [p for p in parts.path.split("/") if p]
    if segments and segments[-1].lower() == "v2.0":
        segments = segments[:-1]
    if parts.scheme != "https" or not parts.netloc or len(segments) != 1:
        raise SettingsError(
            key, authority, "https://<login host>/<tenant ID>, e.g. https://login.microsoftonline.com/<GUID>"
        )
    return f"https://{parts.netloc}/", segments[0]


def _check_tenant(key: str, tenant: str) -> None:
    if tenant.lower() in _NON_TENANTS:
        raise SettingsError(
            key, tenant, "your tenant's ID or domain: app-only tokens need a specific tenant, not 'common'"
        )
    if not (_GUID.match(tenant) or _DOMAIN.match(tenant)):
        raise SettingsError(
            key, tenant or None, "the tenant ID (a GUID) or a verified domain such as contoso.com"
        )


# -------------------------------------------------------------------------------------------- credentials


def _credentials(s: _Section) -> tuple[CredentialDescription, ...]:
    entries: list[CredentialDescription] = []
    indexes = s.indexes("ClientCredentials")
    for position, i in enumerate(indexes):
        entries.append(_credential(s.child(f"ClientCredentials:{i}"), position))
    if not entries:
        # Microsoft.Identity.Web's legacy properties, in its order: certificates, then the secret.
        for i in s.indexes("ClientCertificates"):
            entries.append(_credential(s.child(f"ClientCertificates:{i}"), len(entries)))
        secret = s.get("ClientSecret")
        if secret is not None:
            entries.append(
                CredentialDescription(index=len(entries), source_type="ClientSecret", client_secret=secret)
            )
    if not entries:
        raise SettingsError(
            s.key("ClientCredentials"),
            None,
            "at least one credential, e.g. AzureAd__ClientCredentials__0__SourceType="
            "SignedAssertionFromManagedIdentity",
        )
    return tuple(entries)


def _credential(c: _Section, position: int) -> CredentialDescription:
    raw_type = c.get("SourceType")
    source_type = _source_type(c.key("SourceType"), raw_type)
    skip_raw = c.get("Skip")
    if skip_raw is not None and skip_raw.lower() not in {"true", "false"}:
        raise SettingsError(c.key("Skip"), skip_raw, "true or false")
    desc = CredentialDescription(
        index=position,
        source_type=source_type,
        skip=(skip_raw or "").lower() == "true",
        managed_identity_client_id=c.get("ManagedIdentityClientId"),
        token_exchange_url=c.get("TokenExchangeUrl"),
        signed_assertion_file_disk_path=c.get("SignedAssertionFileDiskPath"),
        key_vault_url=c.get("KeyVaultUrl"),
        key_vault_certificate_name=c.get("KeyVaultCertificateName"),
        certificate_disk_path=c.get("CertificateDiskPath"),
        certificate_password=c.get("CertificatePassword"),
        base64_encoded_value=c.get("Base64EncodedValue"),
        client_secret=c.get("ClientSecret"),
    )
    _check_credential(c, desc)
    return desc


def _source_type(key: str, raw: str | None) -> str:
    if raw is None:
        raise SettingsError(key, None, f"one of {', '.join(SUPPORTED_SOURCE_TYPES)}")
    if raw.isdigit():
        for name, number in SOURCE_TYPES.items():
            if number == int(raw):
                return name
    if raw in SOURCE_TYPES:
        return raw
    # .NET parses SourceType case-sensitively: keep that, so settings that work here work there too.
    near = [name for name in SOURCE_TYPES if name.lower() == raw.lower()]
    hint = f" (spelled exactly {near[0]!r}: .NET reads SourceType case-sensitively)" if near else ""
    raise SettingsError(key, raw, f"one of {', '.join(SUPPORTED_SOURCE_TYPES)}{hint}")


def _check_credential(c: _Section, d: CredentialDescription) -> None:
    def need(name: str, value: str | None, expected: str) -> None:
        if value is None:
            raise SettingsError(
                c.key(name), None, f"{expected} (required when SourceType is {d.source_type})"
            )

    if d.managed_identity_client_id is not None and not _GUID.match(d.managed_identity_client_id):
        raise SettingsError(
            c.key("ManagedIdentityClientId"),
            d.managed_identity_client_id,
            "the user-assigned managed identity's client ID (a GUID)",
        )
    if d.token_exchange_url is not None and not re.match(
        r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", d.token_exchange_url
    ):
        raise SettingsError(
            c.key("TokenExchangeUrl"),
            d.token_exchange_url,
            "an audience URI such as api://AzureADTokenExchange",
        )
    if d.source_type == "KeyVault":
        need("KeyVaultUrl", d.key_vault_url, "the vault URL, e.g. https://myvault.vault.azure.net")
        need("KeyVaultCertificateName", d.key_vault_certificate_name, "the certificate's name in the vault")
        parts = _strict(c.key("KeyVaultUrl"), d.key_vault_url or "")
        if parts.scheme != "https" or not parts.hostname:
            raise SettingsError(c.key("KeyVaultUrl"), d.key_vault_url, "an https:// vault URL")
        if parts.hostname and _is_ip(parts.hostname) is None and "." not in parts.hostname:
            raise SettingsError(c.key("KeyVaultUrl"), d.key_vault_url, "a fully qualified vault host name")
    elif d.source_type == "Path":
        need("CertificateDiskPath", d.certificate_disk_path, "the path of a PEM or PFX file")
    elif d.source_type == "Base64Encoded":
        need(
            "Base64EncodedValue",
            d.base64_encoded_value,
            "the base64 of a PFX (or PEM) certificate with its key",
        )
    elif d.source_type == "ClientSecret":
        need("ClientSecret", d.client_secret, "the app registration's client secret")


def _is_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
