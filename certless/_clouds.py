"""Microsoft Entra hosts per cloud, and the token-exchange audience each cloud's FICs use."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    token_exchange_audience: str
    hosts: tuple[str, ...]  # the first is the canonical login host
    # DNS suffixes of Key Vault and Managed HSM (<name>.<suffix>); each one's token audience is https://<suffix>.
    key_vault_suffixes: tuple[str, ...] = ()


PUBLIC = Cloud(
    "AzurePublic",
    "api://AzureADTokenExchange",
    ("login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net"),
    ("vault.azure.net", "managedhsm.azure.net"),
)
US_GOVERNMENT = Cloud(
    "AzureUSGovernment",
    "api://AzureADTokenExchangeUSGov",
    ("login.microsoftonline.us", "login.usgovcloudapi.net"),
    ("vault.usgovcloudapi.net", "managedhsm.usgovcloudapi.net"),
)
CHINA = Cloud(
    "AzureChina",
    "api://AzureADTokenExchangeChina",
    ("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
    ("vault.azure.cn", "managedhsm.azure.cn"),
)
CLOUDS = (PUBLIC, US_GOVERNMENT, CHINA)
# An explicitly allowed extra authority (the local emulator) behaves like the public cloud unless
# TokenExchangeUrl says otherwise.
CUSTOM = Cloud("Custom", PUBLIC.token_exchange_audience, (), PUBLIC.key_vault_suffixes)


# Entra External ID (customer tenants): one login host per tenant, <tenant subdomain>.ciamlogin.com, in the
# public cloud. One DNS label before the suffix: evilciamlogin.com or ciamlogin.com.evil.net are not it.
CIAM_SUFFIX = ".ciamlogin.com"
# Key Vault names: 3-24 letters, digits and dashes (Managed HSM: the same alphabet); one DNS label.
_VAULT_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CIAM_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\.ciamlogin\.com$")


def cloud_for_host(host: str) -> Cloud | None:
    host = host.lower()
    for cloud in CLOUDS:
        if host in cloud.hosts:
            return cloud
    if _CIAM_HOST.match(host):
        return PUBLIC
    return None


def is_ciam_host(host: str) -> bool:
    return bool(_CIAM_HOST.match(host.lower()))


def key_vault_audience(host: str, cloud: Cloud) -> str | None:
    """The token audience for a vault host of ``cloud`` (``<name>.vault.azure.net``: https://vault.azure.net),
    or None when the host is no Key Vault or Managed HSM of that cloud: no vault token goes there."""
    name, _, suffix = host.lower().partition(".")
    if suffix in cloud.key_vault_suffixes and _VAULT_NAME.match(name):
        return f"https://{suffix}"
    return None


def known_entra_hosts() -> list[str]:
    return [h for cloud in CLOUDS for h in cloud.hosts] + [f"<tenant>{CIAM_SUFFIX}"]
