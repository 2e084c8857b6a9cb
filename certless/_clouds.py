"""Microsoft Entra hosts per cloud, and the token-exchange audience each cloud's FICs use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    token_exchange_audience: str
    hosts: tuple[str, ...]  # the first is the canonical login host


PUBLIC = Cloud(
    "AzurePublic",
    "api://AzureADTokenExchange",
    ("login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net"),
)
US_GOVERNMENT = Cloud(
    "AzureUSGovernment",
    "api://AzureADTokenExchangeUSGov",
    ("login.microsoftonline.us", "login.usgovcloudapi.net"),
)
CHINA = Cloud(
    "AzureChina",
    "api://AzureADTokenExchangeChina",
    ("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
)
CLOUDS = (PUBLIC, US_GOVERNMENT, CHINA)
# An explicitly allowed extra authority (the local emulator) behaves like the public cloud unless
# TokenExchangeUrl says otherwise.
CUSTOM = Cloud("Custom", PUBLIC.token_exchange_audience, ())


def cloud_for_host(host: str) -> Cloud | None:
    host = host.lower().rstrip(".")
    for cloud in CLOUDS:
        if host in cloud.hosts:
            return cloud
    return None


def known_entra_hosts() -> list[str]:
    return [h for cloud in CLOUDS for h in cloud.hosts]
