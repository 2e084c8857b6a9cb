"""The Entra of each Azure cloud, as the emulator serves it: issuers, the token-exchange audience and the
first-party resources a managed identity may ask a token for.

A plan names its cloud (``outputs.cloud``); its FICs carry that cloud's issuer and audience, so the
emulator must issue tokens the same cloud's Entra would, or nothing would match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.errors import RecordsError

# The "AAD Token Exchange Endpoint" application of the public cloud; Entra puts its app ID in `aud` of
# tokens for the token-exchange audience and treats the URI and the GUID as one audience.
PUBLIC_TOKEN_EXCHANGE_APP_ID = "fb60f99c-7a34-4190-8149-302f77469936"
_STORAGE = "e406a681-f3d4-42a8-90b6-c2b029497af1"
_ARM = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
_VAULT = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
_GRAPH = "00000003-0000-0000-c000-000000000000"
_SQL = "022907d3-0f1b-48f7-badc-1ba6abab6d66"
_EVENTS = "80369ed6-5f11-4dd9-bef3-692475845e77"


@dataclass(frozen=True)
class EntraCloud:
    name: str
    login_host: str
    token_exchange_audience: str
    token_exchange_app_id: str | None
    """The GUID Entra stamps in `aud` for the exchange audience; None: the URI itself is stamped."""
    sts_host: str
    """Host of the v1 issuer (``https://<host>/<tenant>/``) that first-party resources see."""
    storage_suffix: str
    graph_host: str
    cloud_instance_name: str
    first_party: dict[str, str] = field(default_factory=dict)
    """Resource URI (no trailing '/') -> the resource app's ID, as every tenant of the cloud has them."""

    def v2_issuer(self, tenant_id: str) -> str:
        return f"https://{self.login_host}/{tenant_id}/v2.0"

    def v1_issuer(self, tenant_id: str) -> str:
        return f"https://{self.sts_host}/{tenant_id}/"

    @property
    def exchange_audiences(self) -> frozenset[str]:
        """The audience as FICs write it and as tokens carry it (one audience to Entra)."""
        names = {self.token_exchange_audience}
        if self.token_exchange_app_id is not None:
            names.add(self.token_exchange_app_id)
        return frozenset(names)

    def storage_hosts(self) -> tuple[str, ...]:
        return tuple(f".{service}.{self.storage_suffix}" for service in ("blob", "queue", "dfs", "table"))


PUBLIC = EntraCloud(
    name="AzurePublic",
    login_host="login.microsoftonline.com",
    token_exchange_audience="api://AzureADTokenExchange",
    token_exchange_app_id=PUBLIC_TOKEN_EXCHANGE_APP_ID,
    sts_host="sts.windows.net",
    storage_suffix="core.windows.net",
    graph_host="graph.microsoft.com",
    cloud_instance_name="microsoftonline.com",
    first_party={
        "https://storage.azure.com": _STORAGE,
        "https://management.azure.com": _ARM,
        "https://management.core.windows.net": _ARM,
        "https://vault.azure.net": _VAULT,
        "https://graph.microsoft.com": _GRAPH,
        "https://database.windows.net": _SQL,
        "https://servicebus.azure.net": _EVENTS,
        "https://eventhubs.azure.net": _EVENTS,
        "https://cognitiveservices.azure.com": "7d312290-28c8-473c-a0ed-8e53749b6d6d",
        "https://ossrdbms-aad.database.windows.net": "123cd850-d9df-40bd-94d5-c9f07b7fa203",
    },
)
# Sovereign clouds: the storage resource URI is the same in every cloud; ARM, Key Vault, Graph and SQL
# have the cloud's own hosts. The v1 issuer host follows what Azure Storage (and Azurite) accept.
US_GOVERNMENT = EntraCloud(
    name="AzureUSGovernment",
    login_host="login.microsoftonline.us",
    token_exchange_audience="api://AzureADTokenExchangeUSGov",
    token_exchange_app_id=None,
    sts_host="sts.windows.net",
    storage_suffix="core.usgovcloudapi.net",
    graph_host="graph.microsoft.us",
    cloud_instance_name="microsoftonline.us",
    first_party={
        "https://storage.azure.com": _STORAGE,
        "https://management.usgovcloudapi.net": _ARM,
        "https://management.core.usgovcloudapi.net": _ARM,
        "https://vault.usgovcloudapi.net": _VAULT,
        "https://graph.microsoft.us": _GRAPH,
        "https://dod-graph.microsoft.us": _GRAPH,
        "https://database.usgovcloudapi.net": _SQL,
        "https://servicebus.azure.net": _EVENTS,
        "https://eventhubs.azure.net": _EVENTS,
    },
)
CHINA = EntraCloud(
    name="AzureChina",
    login_host="login.partner.microsoftonline.cn",
    token_exchange_audience="api://AzureADTokenExchangeChina",
    token_exchange_app_id=None,
    sts_host="sts.chinacloudapi.cn",
    storage_suffix="core.chinacloudapi.cn",
    graph_host="microsoftgraph.chinacloudapi.cn",
    cloud_instance_name="partner.microsoftonline.cn",
    first_party={
        "https://storage.azure.com": _STORAGE,
        "https://management.chinacloudapi.cn": _ARM,
        "https://management.core.chinacloudapi.cn": _ARM,
        "https://vault.azure.cn": _VAULT,
        "https://microsoftgraph.chinacloudapi.cn": _GRAPH,
        "https://database.chinacloudapi.cn": _SQL,
        "https://servicebus.azure.net": _EVENTS,
        "https://eventhubs.azure.net": _EVENTS,
    },
)
CLOUDS: dict[str, EntraCloud] = {c.name: c for c in (PUBLIC, US_GOVERNMENT, CHINA)}


def cloud_named(name: str, where: str = "cloud") -> EntraCloud:
    found = CLOUDS.get(name)
    if found is None:
        raise RecordsError(where, repr(name), "one of " + ", ".join(CLOUDS))
    return found
