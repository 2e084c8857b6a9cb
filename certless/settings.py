"""The ``AzureAd`` settings, read the way .NET's configuration reads them.

Sources, later ones winning: ``appsettings.json``, ``appsettings.{Environment}.json`` (Environment from
``ASPNETCORE_ENVIRONMENT`` or ``DOTNET_ENVIRONMENT``, default ``Production``), then environment
variables in .NET's form (``AzureAd__ClientCredentials__0__SourceType``). Keys are case-insensitive.
The same settings therefore serve a .NET app using Microsoft.Identity.Web and a Python app using certless.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from certless import _jsonc
from certless._clouds import (
    CUSTOM,
    Cloud,
    cloud_for_host,
    is_ciam_host,
    key_vault_audience,
    known_entra_hosts,
)
from certless._urls import AmbiguousUrlError, split_strict
from certless.errors import CertlessError, SettingsError

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
log = logging.getLogger("certless")
_warned: set[str] = set()


def warn_once(message: str, *args: object) -> None:
    """Log a deliberate difference from Microsoft.Identity.Web once per process, not per credential."""
    text = message % args if args else message
    if text not in _warned:
        _warned.add(text)
        log.warning("%s", text)


def said_elsewhere(text: str) -> None:
    """``text`` was shown another way (``doctor`` prints it): don't log it again."""
    _warned.add(text)


# MSAL's region names (lower-case letters, digits, hyphens); "TryAutoDetect" is MSAL.NET's auto-detection.
_REGION = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
AUTO_DETECT_REGION = "TryAutoDetect"
_META_TENANTS = frozenset({"common", "organizations"})  # IdWeb replaces these with AppHomeTenantId
_NON_TENANTS = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
ALLOWED_TENANTS_VAR = "AZURE_ADDITIONALLY_ALLOWED_TENANTS"
# .NET's JSON configuration reader stops at System.Text.Json's default depth.
_MAX_JSON_DEPTH = 64
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
_ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


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
    # Microsoft.Identity.Web's token-acquisition options, with the same meaning.
    azure_region: str | None = None  # a region name, or AUTO_DETECT_REGION
    client_capabilities: tuple[str, ...] = ()  # e.g. ("cp1",): announced on every token request
    send_x5c: bool | None = None  # None: not set
    user_assigned_managed_identity_client_id: str | None = None  # legacy; Key Vault's identity
    # Tenants besides tenant_id that get_token(tenant_id=...) may ask for; "*" allows any.
    additionally_allowed_tenants: tuple[str, ...] = ()
    # TenantId was "organizations" (with AppHomeTenantId): any tenant may be asked unless the list is set.
    configured_for_organizations: bool = False
    # Host-wide single flight (off unless set): see certless/_host_cache.py and docs/runtime.md.
    token_cache_directory: str | None = None
    token_cache_lock_timeout: float = 30.0

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
        environment = _environment_name(env)
        overlay = base.with_name(f"{base.stem}.{environment}{base.suffix}")
        if overlay.is_file():
            _flatten_into(flat, _read_json(overlay), "")
    for name, value in env.items():
        key = name.replace("__", ":")
        if key.lower().startswith(section.lower() + ":"):
            flat[key.lower()] = (key, value)
    prefix = section.lower() + ":"
    if not any(key.startswith(prefix) for key in flat):
        where = str(base) if base else f"{Path('appsettings.json').absolute()} (no such file)"
        raise NoSettingsError(section, where)
    loaded = settings_from_flat(flat, section)
    # azure-identity's variable (.NET and JavaScript read it; semicolon-separated), added to the setting.
    from_env = env.get(ALLOWED_TENANTS_VAR)
    if from_env:
        extra = _tenant_list(ALLOWED_TENANTS_VAR, re.split(r"[;,\s]+", from_env))
        merged = tuple(dict.fromkeys(loaded.additionally_allowed_tenants + extra))
        loaded = replace(loaded, additionally_allowed_tenants=merged)
    return loaded


class NoSettingsError(SettingsError):
    """Not one setting of the section anywhere: the process is not running as the app (yet)."""

    def __init__(self, section: str, where: str) -> None:
        self.key, self.value = section, None
        self.expected = f"{section}__* environment variables or an {section} section in {where}"
        CertlessError.__init__(
            self,
            f"no {section} settings: no {section}__* environment variables and no {section} section in "
            f"{where}",
            fix="on Azure the compute sets them (the program declares them); on a laptop run in the shell "
            "where the eval line of ./dev emulate ran, or pass --settings",
        )


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


def _environment_name(env: Mapping[str, str]) -> str:
    """The environment whose ``appsettings.<name>.json`` overlays the base file: a plain name only, since
    it becomes part of a file name (``../x`` would read a file elsewhere)."""
    for var in ("ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"):
        name = env.get(var)
        if name:
            if not _ENVIRONMENT_NAME.match(name):
                raise SettingsError(
                    var, name[:80], "a plain environment name such as Production, Staging or Development"
                )
            return name
    return "Production"


def _read_json(path: Path) -> Any:
    try:
        document = _parse_json(path)
    except RecursionError:
        document = None  # nested deeper than the parser's stack: reported below like any deep file
        depth = _MAX_JSON_DEPTH + 1
    else:
        depth = _json_depth(document)
    if depth > _MAX_JSON_DEPTH:
        raise SettingsError(
            "path",
            str(path),
            f"JSON nested at most {_MAX_JSON_DEPTH} levels deep, as .NET's configuration reader allows",
        )
    return document


def _json_depth(node: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), without recursion: the document may be hostile."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > _MAX_JSON_DEPTH:
                break
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _parse_json(path: Path) -> Any:
    try:
        # .NET's reader skips // and /* */ comments and allows trailing commas: so does this one.
        return _jsonc.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("path", str(path), f"a readable JSON file ({exc.__class__.__name__})") from None
    except _jsonc.DuplicateKeyError as exc:
        raise SettingsError(
            "path", str(path), f"JSON naming each key once ({exc.key!r} twice; .NET refuses such a file too)"
        ) from None
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "path", str(path), f"valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _flatten_into(flat: dict[str, tuple[str, str]], node: Any, prefix: str) -> None:
    """Flatten JSON the way .NET's JSON configuration provider does: ``A:B:0:C`` keys.

    A ``null`` (or an empty object) is kept as an empty value, as .NET keeps it: in an overlay it
    clears the value the base file set."""
    if isinstance(node, dict) and node:
        for k, v in node.items():
            _flatten_into(flat, v, f"{prefix}:{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _flatten_into(flat, v, f"{prefix}:{i}")
    elif node is None or isinstance(node, dict):
        if prefix:
            flat[prefix.lower()] = (prefix, "")
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
                if not _is_ascii_number(head):
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
    if authority is not None and (instance_raw is not None or tenant_raw is not None):
        # Microsoft.Identity.Web's MergedOptions: Instance/TenantId win and Authority is ignored, with a
        # warning. Its words, so that one search finds the .NET app's and the Python app's logs.
        warn_once(
            "Authority '%s' is being ignored because Instance '%s' and/or TenantId '%s' are already "
            "configured (as Microsoft.Identity.Web does). To use Authority, remove Instance and TenantId "
            "from the configuration.",
            authority,
            instance_raw or "",
            tenant_raw or "",
        )
        authority, authority_ignored = None, True
    else:
        authority_ignored = False
    if authority is not None:
        instance, tenant_id = _split_authority(s.key("Authority"), authority)
    else:
        instance = instance_raw or "https://login.microsoftonline.com/"
        tenant_id = tenant_raw or ""
    instance = _check_instance(s.key("Authority" if authority else "Instance"), instance, extra_hosts)
    instance_host = urlsplit(instance).hostname or ""
    if not tenant_id and is_ciam_host(instance_host):
        tenant_id = _ciam_tenant(instance_host)
    if not tenant_id and authority_ignored:
        raise SettingsError(
            s.key("TenantId"),
            None,
            "the tenant ID: with Instance set, Authority is ignored (as in Microsoft.Identity.Web), "
            "so TenantId is needed too; or remove Instance to use Authority alone",
        )
    tenant_key = s.key("Authority" if authority else "TenantId")
    home = s.get("AppHomeTenantId")
    # azure-identity lets a credential configured for "organizations" ask any tenant unless a list is set.
    organizations = tenant_id.lower() == "organizations"
    if tenant_id.lower() in _META_TENANTS and home is not None:
        # A multi-tenant web app's app-only tokens come from its home tenant (IdWeb's ResolveTenant).
        tenant_id, tenant_key = home, s.key("AppHomeTenantId")
    _check_tenant(tenant_key, tenant_id)
    host = urlsplit(instance).hostname or ""
    cloud = cloud_for_host(host) or CUSTOM

    retry_raw = s.get("FicPropagationRetrySeconds")
    fic_retry = 0.0
    if retry_raw is not None:
        # ASCII digits only, as .NET's invariant parsing: Python's float() also reads '٣' and '1_0'.
        fic_retry = float(retry_raw) if _ASCII_DECIMAL.fullmatch(retry_raw.strip()) else -1.0
        if not 0 <= fic_retry <= 900:
            raise SettingsError(
                s.key("FicPropagationRetrySeconds"), retry_raw, "a number of seconds from 0 (off) to 900"
            )

    lock_raw = s.get("TokenCacheLockTimeoutSeconds")
    lock_timeout = 30.0
    if lock_raw is not None:
        try:
            lock_timeout = float(lock_raw)
        except ValueError:
            lock_timeout = -1.0
        if not 1 <= lock_timeout <= 300:
            raise SettingsError(
                s.key("TokenCacheLockTimeoutSeconds"), lock_raw, "a number of seconds from 1 to 300"
            )

    credentials = _credentials(s, cloud)
    allowed_tenants = _tenant_list(
        s.key("AdditionallyAllowedTenants"), _list_setting(s, "AdditionallyAllowedTenants")
    )
    return Settings(
        **_token_acquisition_options(s, cloud),
        client_id=client_id,
        tenant_id=tenant_id,
        instance=instance,
        cloud=cloud,
        credentials=credentials,
        extra_authority_hosts=extra_hosts,
        ca_bundle=ca_bundle,
        fic_propagation_retry_seconds=fic_retry,
        section=section,
        additionally_allowed_tenants=allowed_tenants,
        configured_for_organizations=organizations,
        token_cache_directory=s.get("TokenCacheDirectory"),
        token_cache_lock_timeout=lock_timeout,
    )


def _token_acquisition_options(s: _Section, cloud: Cloud) -> dict[str, Any]:
    """AzureRegion, ClientCapabilities, SendX5C and the legacy UserAssignedManagedIdentityClientId."""
    region = s.get("AzureRegion")
    if region is not None and region.lower() == AUTO_DETECT_REGION.lower():
        region = AUTO_DETECT_REGION
    elif region is not None:
        if not _REGION.match(region.lower()):
            raise SettingsError(
                s.key("AzureRegion"), region, f"an Azure region name such as westus2, or {AUTO_DETECT_REGION}"
            )
        region = region.lower()
    if region is not None and cloud is CUSTOM:
        # MSAL would send the request to "<region>.<host>": meaningless for an explicitly allowed host.
        warn_once(
            "AzureRegion %s is ignored: the authority %s is not a Microsoft Entra host",
            region,
            s.get("Instance") or s.get("Authority"),
        )
        region = None

    if s.get("ClientCapabilities") is not None:
        raise SettingsError(
            s.key("ClientCapabilities"),
            s.get("ClientCapabilities"),
            'an array, e.g. "ClientCapabilities": ["cp1"] or AzureAd__ClientCapabilities__0=cp1',
        )
    capabilities = tuple(
        value
        for i in s.indexes("ClientCapabilities")
        if (value := s.get(f"ClientCapabilities:{i}")) is not None
    )

    send_x5c_raw = s.get("SendX5C")
    if send_x5c_raw is not None and send_x5c_raw.lower() not in {"true", "false"}:
        raise SettingsError(s.key("SendX5C"), send_x5c_raw, "true or false")

    legacy_mi = s.get("UserAssignedManagedIdentityClientId")
    if legacy_mi is not None and not _GUID.match(legacy_mi):
        raise SettingsError(
            s.key("UserAssignedManagedIdentityClientId"),
            legacy_mi,
            "the user-assigned managed identity's client ID (a GUID)",
        )
    return {
        "azure_region": region,
        "client_capabilities": capabilities,
        "send_x5c": None if send_x5c_raw is None else send_x5c_raw.lower() == "true",
        "user_assigned_managed_identity_client_id": legacy_mi,
    }


def _list_setting(s: _Section, name: str) -> list[str]:
    """A list setting: an array (``Name:0``, ``Name:1``) or one value separated by ',', ';' or spaces."""
    raw: list[str] = []
    single = s.get(name)
    if single is not None:
        raw.extend(re.split(r"[,;\s]+", single))
    for i in s.indexes(name):
        value = s.get(f"{name}:{i}")
        if value:
            raw.append(value)
    return raw


def _tenant_list(key: str, raw: list[str]) -> tuple[str, ...]:
    tenants: list[str] = []
    for item in filter(None, (r.strip() for r in raw)):
        if item != "*" and not (_GUID.match(item) or _DOMAIN.match(item)):
            raise SettingsError(key, item, "tenant IDs (GUIDs) or domains, or * for any tenant")
        tenants.append(item)
    return tuple(dict.fromkeys(tenants))


def _extra_hosts(s: _Section) -> tuple[str, ...]:
    raw = _list_setting(s, "ExtraAuthorityHosts")
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
    if not segments and is_ciam_host(parts.hostname or ""):
        segments = [_ciam_tenant(parts.hostname or "")]
    if parts.scheme != "https" or not parts.netloc or len(segments) != 1:
        raise SettingsError(
            key, authority, "https://<login host>/<tenant ID>, e.g. https://login.microsoftonline.com/<GUID>"
        )
    return f"https://{parts.netloc}/", segments[0]


def _ciam_tenant(host: str) -> str:
    # An External ID host names its tenant: contoso.ciamlogin.com is contoso.onmicrosoft.com, as in MSAL.
    return f"{host.split('.', 1)[0]}.onmicrosoft.com"


def _check_tenant(key: str, tenant: str) -> None:
    if tenant.lower() in _NON_TENANTS:
        raise SettingsError(
            key,
            tenant,
            "your tenant's ID or domain: app-only tokens need a specific tenant, not 'common' (a "
            "multi-tenant app keeps TenantId and sets AppHomeTenantId to its home tenant)",
        )
    if not (_GUID.match(tenant) or _DOMAIN.match(tenant)):
        raise SettingsError(
            key, tenant or None, "the tenant ID (a GUID) or a verified domain such as contoso.com"
        )


# -------------------------------------------------------------------------------------------- credentials


def _credentials(s: _Section, cloud: Cloud) -> tuple[CredentialDescription, ...]:
    entries: list[CredentialDescription] = []
    indexes = s.indexes("ClientCredentials")
    for position, i in enumerate(indexes):
        entries.append(_credential(s.child(f"ClientCredentials:{i}"), position, cloud))
    if not entries:
        # Microsoft.Identity.Web's legacy properties, in its order (MergedOptions'
        # ComputeFromLegacyClientCredentials): managed identity, certificates, then the secret.
        legacy_mi = s.child("ClientCredentialsUsingManagedIdentity")
        enabled = legacy_mi.get("IsEnabled")
        if enabled is not None and enabled.lower() not in {"true", "false"}:
            raise SettingsError(legacy_mi.key("IsEnabled"), enabled, "true or false")
        if (enabled or "").lower() == "true":
            mi_id = legacy_mi.get("ManagedIdentityClientId")
            if mi_id is not None and not _GUID.match(mi_id):
                raise SettingsError(
                    legacy_mi.key("ManagedIdentityClientId"),
                    mi_id,
                    "the user-assigned managed identity's client ID (a GUID)",
                )
            entries.append(
                CredentialDescription(
                    index=0,
                    source_type="SignedAssertionFromManagedIdentity",
                    managed_identity_client_id=mi_id,
                )
            )
        for i in s.indexes("ClientCertificates"):
            entries.append(_credential(s.child(f"ClientCertificates:{i}"), len(entries), cloud))
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


def _credential(c: _Section, position: int, cloud: Cloud) -> CredentialDescription:
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
    _check_credential(c, desc, cloud)
    return desc


def _source_type(key: str, raw: str | None) -> str:
    if raw is None:
        raise SettingsError(key, None, f"one of {', '.join(SUPPORTED_SOURCE_TYPES)}")
    if _is_ascii_number(raw):
        for name, number in SOURCE_TYPES.items():
            if number == int(raw):
                return name
    # .NET's configuration binder parses enums ignoring case (Enum.Parse(..., ignoreCase: true)).
    for name in SOURCE_TYPES:
        if name.lower() == raw.lower():
            return name
    raise SettingsError(key, raw, f"one of {', '.join(SUPPORTED_SOURCE_TYPES)}")


def _check_credential(c: _Section, d: CredentialDescription, cloud: Cloud) -> None:
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
    if d.token_exchange_url is not None and not _is_audience_uri(d.token_exchange_url):
        raise SettingsError(
            c.key("TokenExchangeUrl"),
            d.token_exchange_url,
            "an audience URI such as api://AzureADTokenExchange (an audience, not a login host)",
        )
    if d.source_type == "KeyVault":
        need("KeyVaultUrl", d.key_vault_url, "the vault URL, e.g. https://myvault.vault.azure.net")
        need("KeyVaultCertificateName", d.key_vault_certificate_name, "the certificate's name in the vault")
        _check_key_vault_url(c.key("KeyVaultUrl"), d.key_vault_url or "", cloud)
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


def _check_key_vault_url(key: str, url: str, cloud: Cloud) -> None:
    """A vault token goes only to a Key Vault or Managed HSM of the configured cloud: a typo or hostile
    host must not receive one."""
    parts = _strict(key, url)
    expected = (
        f"the vault's URL, https://<name>.<suffix> with a Key Vault or Managed HSM suffix of the configured "
        f"cloud ({cloud.name}: {', '.join(cloud.key_vault_suffixes)}) and nothing after the host"
    )
    if parts.scheme != "https" or parts.port not in (None, 443):
        raise SettingsError(key, url, expected)
    if parts.path.strip("/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        raise SettingsError(key, url, expected)
    if key_vault_audience(parts.hostname or "", cloud) is None:
        raise SettingsError(key, url, expected)


def _is_audience_uri(value: str) -> bool:
    # An audience is not connected to, but it is read as a URL (scheme://host/...): one reading only.
    try:
        parts = split_strict(value)
    except AmbiguousUrlError:
        return False
    if parts.scheme.lower() == "http" and cloud_for_host(parts.hostname or "") is not None:
        return False  # an http:// login host is an authority in the wrong setting, never an FIC audience
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*$", parts.scheme))


def _is_ascii_number(text: str) -> bool:
    # str.isdigit() also accepts '²' and other scripts' digits, which int() or .NET refuse: 0-9 only.
    return text.isascii() and text.isdigit()
