"""``certless:cloud`` against the providers' own cloud settings and the region.

``certless:cloud`` only shapes what certless writes (FIC issuer and audience, the AzureAd settings).
Which ARM and Graph endpoints a real ``pulumi up`` calls is decided by the providers' own config,
``azure-native:environment`` and ``azuread:environment``, which default to the public cloud. A sovereign
stack whose providers stay public would deploy nothing where it should, so the three must agree, and the
location must be a region of that cloud. Checked before any resource, like every other config rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackconfig.errors import ConfigError
from stackconfig.rules import shown

CLOUD_KEY = "certless:cloud"
LOCATION_KEY = "azure-native:location"
AZURE_NATIVE_ENV = "azure-native:environment"
AZUREAD_ENV = "azuread:environment"

PUBLIC, US_GOVERNMENT, CHINA = "AzurePublic", "AzureUSGovernment", "AzureChina"

# pulumi-azure-native provider/pkg/azure/cloud/cloud.go FromName, compared in lower case. Any other name
# silently falls back to the public cloud, so an unknown name is refused here rather than obeyed there.
AZURE_NATIVE_NAMES: dict[str, str] = {
    "": PUBLIC,
    "public": PUBLIC,
    "azurecloud": PUBLIC,
    "china": CHINA,
    "azurechinacloud": CHINA,
    "usgov": US_GOVERNMENT,
    "usgovernment": US_GOVERNMENT,
    "azureusgovernment": US_GOVERNMENT,
    "azureusgovernmentcloud": US_GOVERNMENT,
    "usgovernmentl4": US_GOVERNMENT,
}
# pulumi-azuread's documented values: global (also public), usgovernmentl4 (also usgovernment),
# usgovernmentl5 (also dod: the DoD Graph endpoint, same login host) and china.
AZUREAD_NAMES: dict[str, str] = {
    "global": PUBLIC,
    "public": PUBLIC,
    "usgovernmentl4": US_GOVERNMENT,
    "usgovernment": US_GOVERNMENT,
    "usgovernmentl5": US_GOVERNMENT,
    "dod": US_GOVERNMENT,
    "china": CHINA,
}
# What to write for each cloud (the first name the providers document).
SUGGESTED = {
    PUBLIC: "public",
    US_GOVERNMENT: "usgovernment",
    CHINA: "china",
}

US_GOVERNMENT_REGIONS = ("usgovvirginia", "usgovarizona", "usgovtexas", "usdodcentral", "usdodeast")
CHINA_REGIONS = ("chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3")
REGIONS = {US_GOVERNMENT: US_GOVERNMENT_REGIONS, CHINA: CHINA_REGIONS}


def cloud_of_location(location: str) -> str:
    """The cloud a region belongs to; sovereign regions are named usgov*, usdod* and china*."""
    if location.startswith(("usgov", "usdod")):
        return US_GOVERNMENT
    if location.startswith("china"):
        return CHINA
    return PUBLIC


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def check_cloud_environment(raw: Mapping[str, Any], cloud: str, location: str) -> None:
    """Refuse a cloud, location and provider environments that do not name the same Azure cloud."""
    env_native = _text(raw.get(AZURE_NATIVE_ENV))
    env_ad = _text(raw.get(AZUREAD_ENV))

    def context(env_key: str, env: str | None) -> str:
        shown_env = "unset (public)" if not env else shown(env)
        return f"{CLOUD_KEY} is {cloud!r}, {LOCATION_KEY} is {location!r}, {env_key} is {shown_env}"

    region_cloud = cloud_of_location(location)
    regions = REGIONS.get(cloud)
    if region_cloud != cloud or (regions is not None and location not in regions):
        expected = (
            f"a region of {cloud}: {', '.join(regions)}"
            if regions is not None
            else f"a public-cloud region (a {region_cloud} region needs {CLOUD_KEY}: {region_cloud})"
        )
        raise ConfigError(
            f"config {LOCATION_KEY}: got {shown(location)} but {context(AZURE_NATIVE_ENV, env_native)};"
            f" expected {expected}"
        )

    # A provider whose metadataHost is set takes its endpoints from there and ignores `environment`.
    if raw.get("azure-native:metadataHost") is None:
        _check_provider(
            AZURE_NATIVE_ENV, env_native, AZURE_NATIVE_NAMES, cloud, context(AZURE_NATIVE_ENV, env_native)
        )
    if raw.get("azuread:metadataHost") is None:
        _check_provider(AZUREAD_ENV, env_ad, AZUREAD_NAMES, cloud, context(AZUREAD_ENV, env_ad))


def _check_provider(key: str, value: str | None, names: Mapping[str, str], cloud: str, context: str) -> None:
    want = f"{key}: {SUGGESTED[cloud]}"
    if value is None or value == "":
        if cloud != PUBLIC:
            # Not read from ARM_ENVIRONMENT: the stack file, not the runner's shell, decides the cloud.
            raise ConfigError(
                f"config {key}: missing but {context}; expected {want} in the stack file, or the provider"
                " calls the public cloud's endpoints"
            )
        return
    found = names.get(value.lower())
    if found is None:
        raise ConfigError(
            f"config {key}: got {shown(value)} but {context}; expected one of"
            f" {', '.join(n for n in names if n)} ({want} for {cloud})"
        )
    if found != cloud:
        raise ConfigError(
            f"config {key}: got {shown(value)} (the {found} cloud) but {context}; expected {want}, or"
            f" {CLOUD_KEY}: {found} with a region of that cloud"
        )
