"""Shared helpers for the rules: unknown-safe property access, resource types, cloud facts, settings.

Under ``pulumi preview`` some property values are unknown; pulumi_policy hands them to the rules as
proxies that raise ``UnknownValueError`` on access. The rules first turn props into plain data in
which an unknown value becomes the ``UNKNOWN`` sentinel, so that a rule can skip what it cannot know
instead of failing the whole policy (the engine reports a raised ``UnknownValueError`` as a
"can't run policy during preview" diagnostic, which hides every other finding of that policy).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import yaml
from pulumi_policy.proxy import _DictProxy, _is_unknown, _ListProxy

from .secrets import normalized_setting_name


class _Unknown:
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value the engine does not know yet (preview). Rules never report on it."""


class PlainDict(dict[str, Any]):
    """Props as a plain dict that notes a rule looking up one of its unknown values (see below).

    ``owner`` is the URN of the resource the props belong to (a stack policy reads many); ``path`` is
    where this dict sits in them. Iterating reads nothing; ``[key]`` and ``get`` do.
    """

    __slots__ = ("owner", "path")

    def __init__(self, values: Mapping[str, Any], owner: str | None, path: tuple[str, ...]) -> None:
        super().__init__(values)
        self.owner = owner
        self.path = path

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if value is UNKNOWN:
            _read_unknown(self.owner, (*self.path, str(key)))
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        return self[key]


def plain(value: Any, owner: str | None = None, _path: tuple[str, ...] = ()) -> Any:
    """Props (possibly pulumi_policy proxies) as plain dicts/lists; unknown values become UNKNOWN.

    ``owner``: the URN of the resource they belong to, when a stack policy reads them.
    """
    if isinstance(value, _DictProxy):
        value = value["__target"]
    elif isinstance(value, _ListProxy):
        value = list(value["__target"])
    if isinstance(value, Mapping):
        return PlainDict({k: plain(v, owner, (*_path, str(k))) for k, v in value.items()}, owner, _path)
    if isinstance(value, list | tuple):
        return [plain(v, owner, (*_path, str(i))) for i, v in enumerate(value)]
    if _is_unknown(value):
        return UNKNOWN
    return value


UnknownRead = tuple[str | None, str]
"""(URN of the resource whose props were read, or None for the one being validated; the path read)."""

_UNKNOWN_READS: ContextVar[list[UnknownRead] | None] = ContextVar("certless_unknown_reads", default=None)


@contextlib.contextmanager
def recording_unknown_reads() -> Iterator[list[UnknownRead]]:
    """Collect, while active, the unknown values a rule looks up in its props (``props[key]``,
    ``props.get``, ``dig``), tests with ``known`` or meets with ``met_unknown``.

    The offline review wraps each rule in it during a preview to list the rules that met a value known
    only after deploy; under the Pulumi CLI nothing records and the helpers behave the same.
    """
    reads: list[UnknownRead] = []
    token = _UNKNOWN_READS.set(reads)
    try:
        yield reads
    finally:
        _UNKNOWN_READS.reset(token)


@contextlib.contextmanager
def not_recording() -> Iterator[None]:
    """Reads made on a rule's behalf but not by its judgement (e.g. building the stack view)."""
    token = _UNKNOWN_READS.set(None)
    try:
        yield
    finally:
        _UNKNOWN_READS.reset(token)


def _read_unknown(owner: str | None, path: Sequence[str]) -> None:
    reads = _UNKNOWN_READS.get()
    if reads is not None:
        reads.append((owner, ".".join(path)))


def _where(value: Any) -> tuple[str | None, tuple[str, ...]]:
    return (value.owner, value.path) if isinstance(value, PlainDict) else (None, ())


def note_unknown(props: Any, what: str) -> None:
    """The rule skips a resource for a value known only after deploy; ``props``: that resource's
    props (``Node.props`` in a stack policy), ``what``: the value, as a path in them."""
    owner, path = _where(props)
    _read_unknown(owner, (*path, what) if what else path)


def met_unknown(value: Any, props: Any = None, what: str = "") -> bool:
    """True when ``value`` is unknown, which the rule then cannot judge (noted as ``note_unknown``).

    For values taken from props beforehand, such as the stack view's.
    """
    if value is UNKNOWN:
        note_unknown(props, what)
        return True
    return False


def dig(value: Any, *path: str | int) -> Any:
    """``value[p0][p1]...``: None when a step is missing, UNKNOWN when a step is unknown."""
    for step in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return None
            value = value[step]  # a PlainDict notes an unknown value
    return value


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False


def known(value: Any) -> bool:
    """True when the value contains no unknown part."""
    if _has_unknown(value):
        owner, path = _where(value)
        _read_unknown(owner, path)
        return False
    return True


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --- Resource types (tokens verified in the installed provider wheels) -------------------------

APP = "azuread:index/application:Application"
APP_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
APP_IDENTIFIER_URI = "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri"
APP_CERTIFICATE = "azuread:index/applicationCertificate:ApplicationCertificate"
SP_PASSWORD = "azuread:index/servicePrincipalPassword:ServicePrincipalPassword"
SP_CERTIFICATE = "azuread:index/servicePrincipalCertificate:ServicePrincipalCertificate"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
APP_FLEX_FIC = (
    "azuread:index/applicationFlexibleFederatedIdentityCredential:"
    "ApplicationFlexibleFederatedIdentityCredential"
)
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
IDENTITY_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
WEB_APP = "azure-native:web:WebApp"
WEB_APP_SLOT = "azure-native:web:WebAppSlot"
WEB_APP_SETTINGS = "azure-native:web:WebAppApplicationSettings"
WEB_APP_CONNECTION_STRINGS = "azure-native:web:WebAppConnectionStrings"
CONTAINER_APP = "azure-native:app:ContainerApp"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_BINDING = "certless:compute:AksWorkloadBinding"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_POD = "kubernetes:core/v1:Pod"
K8S_CRONJOB = "kubernetes:batch/v1:CronJob"
K8S_TEMPLATED = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:batch/v1:Job",
    }
)
FIC_TYPES = frozenset({APP_FIC, APP_FLEX_FIC, IDENTITY_FIC})
WEB_TYPES = frozenset({WEB_APP, WEB_APP_SLOT})
VM = "azure-native:compute:VirtualMachine"
SCALE_SET = "azure-native:compute:VirtualMachineScaleSet"
VM_TYPES = frozenset({VM, SCALE_SET})


K8S_WORKLOADS = frozenset({K8S_POD, K8S_CRONJOB, *K8S_TEMPLATED})
SETTINGS_TYPES = frozenset(
    {
        WEB_APP,
        WEB_APP_SLOT,
        WEB_APP_SETTINGS,
        WEB_APP_CONNECTION_STRINGS,
        CONTAINER_APP,
        *K8S_WORKLOADS,
        *VM_TYPES,
    }
)


def os_profile(resource_type: str, props: dict[str, Any]) -> Any:
    """A VM's osProfile; a scale set keeps it in its virtualMachineProfile."""
    if resource_type == SCALE_SET:
        return dig(props, "virtualMachineProfile", "osProfile")
    return dig(props, "osProfile")


def _custom_data_env(encoded: Any) -> Iterator[Setting]:
    """The environment files cloud-init writes from a VM's custom data (systemd ``KEY="value"`` lines).

    Custom data that is not a cloud-config document yields nothing: the pack judges only what it can read.
    """
    if not isinstance(encoded, str):
        return
    try:
        body = yaml.safe_load(base64.b64decode(encoded, validate=True).decode())
    except (ValueError, yaml.YAMLError):
        return
    files = body.get("write_files") if isinstance(body, dict) else None
    for item in as_list(files):
        path = dig(item, "path")
        if not isinstance(path, str) or not path.endswith(".env"):
            continue
        for line in str(dig(item, "content") or "").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            if len(words) == 1 and "=" in words[0]:
                name, _, value = words[0].partition("=")
                yield Setting(f"customData {path}", name, value)


def pod_template(resource_type: str, props: dict[str, Any]) -> dict[str, Any] | None:
    """The pod (metadata + spec) a Kubernetes workload runs, or None for other types."""
    if resource_type == K8S_POD:
        return {"metadata": dig(props, "metadata"), "spec": dig(props, "spec")}
    if resource_type in K8S_TEMPLATED:
        template = dig(props, "spec", "template")
        return template if isinstance(template, dict) else None
    if resource_type == K8S_CRONJOB:
        template = dig(props, "spec", "jobTemplate", "spec", "template")
        return template if isinstance(template, dict) else None
    return None


# --- Clouds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cloud:
    name: str
    login_hosts: tuple[str, ...]
    token_exchange_audience: str


CLOUDS: Final = {
    "AzurePublic": Cloud("AzurePublic", ("login.microsoftonline.com",), "api://AzureADTokenExchange"),
    "AzureUSGovernment": Cloud(
        "AzureUSGovernment", ("login.microsoftonline.us",), "api://AzureADTokenExchangeUSGov"
    ),
    "AzureChina": Cloud(
        "AzureChina",
        ("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
        "api://AzureADTokenExchangeChina",
    ),
}
CLOUD_ALIASES: Final = {
    "azurepublic": "AzurePublic",
    "azurecloud": "AzurePublic",
    "public": "AzurePublic",
    "azureusgovernment": "AzureUSGovernment",
    "azureusgovernmentcloud": "AzureUSGovernment",
    "usgov": "AzureUSGovernment",
    "azurechina": "AzureChina",
    "azurechinacloud": "AzureChina",
    "china": "AzureChina",
}
CLOUD_SCHEMA: Final = {
    "type": "string",
    "enum": sorted(CLOUDS),
    "description": "The Azure cloud; default: the stack config certless:cloud, else AzurePublic.",
}
ALL_LOGIN_HOSTS: Final = frozenset(h for c in CLOUDS.values() for h in c.login_hosts)

GUID_RE: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Entra's issuer for tokens it issues itself, e.g. a managed identity's token: /{tenant}/v2.0.
ENTRA_ISSUER_RE: Final = re.compile(r"^https://(?P<host>[^/]+)/(?P<tenant>[^/]+)/v2\.0/?$")


STACK_CONFIG_KEYS: Final = ("certless:cloud", "certless:tenantId", "certless:color")
"""The stack config keys the rules read (the offline review passes only these to the pack)."""


@functools.lru_cache(maxsize=4)
def _parse_config(raw: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def stack_config(key: str) -> Any:
    """A value of the stack's own configuration (``certless:<key>``), as the Pulumi CLI passes it.

    The CLI starts a policy pack with the stack config as JSON in ``PULUMI_CONFIG`` (values are
    strings; structured values are JSON text). The offline review sets the same variable.
    """
    name = f"certless:{key}"
    if name not in STACK_CONFIG_KEYS:
        raise KeyError(f"{name} is not in STACK_CONFIG_KEYS; add it there so that the review passes it")
    return _parse_config(os.environ.get("PULUMI_CONFIG") or "{}").get(name)


def current_stack() -> str | None:
    """The stack being analysed: the CLI (and the offline review) set ``PULUMI_STACK``."""
    return os.environ.get("PULUMI_STACK") or None


def resolve_cloud(config: Mapping[str, Any]) -> Cloud:
    """The configured cloud: the policy's ``cloud`` property, else ``certless:cloud``, else public."""
    name = config.get("cloud") or stack_config("cloud") or "AzurePublic"
    canonical = CLOUD_ALIASES.get(str(name).replace(" ", "").lower(), str(name))
    return CLOUDS.get(canonical, CLOUDS["AzurePublic"])


def entra_issuer(cloud: Cloud, tenant: str) -> str:
    return f"https://{cloud.login_hosts[0]}/{tenant}/v2.0"


def is_entra_issuer(issuer: str) -> bool:
    """An issuer on one of Entra's login hosts (any cloud, any tenant, with or without the slash)."""
    match = ENTRA_ISSUER_RE.match(issuer)
    return bool(match and match.group("host").lower() in ALL_LOGIN_HOSTS)


# --- Settings and environment variables --------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A name/value the compute hands to the app: an app setting, env var or connection string."""

    where: str  # e.g. "siteConfig.appSettings", "container 'api' env"
    name: str
    value: Any  # str, None (not a literal, e.g. secretRef/valueFrom) or UNKNOWN


def _name_value_list(items: Any, where: str, value_key: str = "value") -> Iterator[Setting]:
    for item in as_list(items):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            yield Setting(where, item["name"], item.get(value_key))


def settings_of(resource_type: str, props: dict[str, Any]) -> list[Setting]:
    """Every app setting, env var and connection string a compute resource declares.

    An unknown value (one taken from another resource) is no literal; a rule that needs it says so.
    """
    with not_recording():
        return _settings_of(resource_type, props)


def _settings_of(resource_type: str, props: dict[str, Any]) -> list[Setting]:
    found: list[Setting] = []
    if resource_type in WEB_TYPES:
        found += _name_value_list(dig(props, "siteConfig", "appSettings"), "siteConfig.appSettings")
        found += _name_value_list(
            dig(props, "siteConfig", "connectionStrings"), "siteConfig.connectionStrings", "connectionString"
        )
    elif resource_type == WEB_APP_SETTINGS:
        for name, value in as_dict(dig(props, "properties")).items():
            found.append(Setting("properties", name, value))
    elif resource_type == WEB_APP_CONNECTION_STRINGS:
        for name, value in as_dict(dig(props, "properties")).items():
            found.append(
                Setting("properties", name, dig(value, "value") if isinstance(value, dict) else value)
            )
    elif resource_type in VM_TYPES:
        found += _custom_data_env(dig(os_profile(resource_type, props), "customData"))
    elif resource_type == CONTAINER_APP:
        for kind in ("containers", "initContainers"):
            for container in as_list(dig(props, "template", kind)):
                label = f"container '{dig(container, 'name') or '?'}' env"
                found += _name_value_list(dig(container, "env"), label)
    else:
        pod = pod_template(resource_type, props)
        if pod is not None:
            for kind in ("containers", "initContainers"):
                for container in as_list(dig(pod, "spec", kind)):
                    label = f"container '{dig(container, 'name') or '?'}' env"
                    found += _name_value_list(dig(container, "env"), label)
    return found


def client_credentials(settings: Sequence[Setting]) -> dict[str, dict[str, Any]]:
    """``AzureAd__ClientCredentials__<n>__<field>`` settings grouped by index n (fields lower-case)."""
    pattern = re.compile(r"^azuread__clientcredentials__(\d+)__([a-z0-9_]+)$")
    groups: dict[str, dict[str, Any]] = {}
    for setting in settings:
        match = pattern.match(normalized_setting_name(setting.name))
        if match:
            groups.setdefault(match.group(1), {})[match.group(2)] = setting.value
    return groups


def short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]
