"""The stack's azure-native settings, for an explicit provider targeting another subscription.

An adopted identity in another subscription gets its FICs through a provider for that subscription.

A FIC on a user-assigned identity is addressed by resource group and name only; the subscription is the
provider's. The default provider's is ``azure-native:subscriptionId`` (or the login's), so an identity
adopted from another subscription would have its FICs written next to a same-named identity there, or
fail with 404. Its own subscription is in its resource ID, so an explicit provider targets it.

An explicit provider does not read the stack's ``azure-native:*`` config (only the default provider
does), so the settings the stack gives the default provider (authentication, environment, ...) are
handed to it too, secrets kept secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi

NATIVE = "azure-native:"
_BOOLEAN = frozenset(
    {
        "disable_instance_discovery",
        "disable_pulumi_partner_id",
        "use_default_azure_credential",
        "use_msi",
        "use_oidc",
    }
)
_LIST = frozenset({"auxiliary_tenant_ids"})
# Provider arguments, as the SDK's Provider takes them (its config keys in snake case).
_ARGUMENTS = frozenset(
    {
        "auxiliary_tenant_ids",
        "client_certificate_password",
        "client_certificate_path",
        "client_id",
        "client_secret",
        "disable_instance_discovery",
        "disable_pulumi_partner_id",
        "environment",
        "location",
        "metadata_host",
        "msi_endpoint",
        "oidc_request_token",
        "oidc_request_url",
        "oidc_token",
        "oidc_token_file_path",
        "partner_id",
        "tenant_id",
        "use_default_azure_credential",
        "use_msi",
        "use_oidc",
    }
)


def subscription_of(resource_id: str) -> str:
    return resource_id.split("/")[2].lower()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _value(argument: str, raw: Any) -> Any:
    if argument in _BOOLEAN:
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    if argument in _LIST and isinstance(raw, str):
        return json.loads(raw) if raw.startswith("[") else [raw]
    return raw


def provider_arguments(raw: Mapping[str, Any], secret_keys: Iterable[str]) -> dict[str, Any]:
    """The stack's azure-native settings as Provider arguments (not subscriptionId: that is the point)."""
    secrets = set(secret_keys)
    found: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(NATIVE) or value in (None, ""):
            continue
        argument = _snake(key[len(NATIVE) :])
        if argument not in _ARGUMENTS:
            continue
        found[argument] = pulumi.Output.secret(value) if key in secrets else _value(argument, value)
    return found
