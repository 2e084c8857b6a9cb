"""The one table of Azure built-in roles certless grants: name -> fixed definition GUID and data actions.

Imported by the program (config validation, AccessGrant) and by the policy pack (least-privilege review).
GUIDs and data actions come from Microsoft's built-in roles reference (azure-docs
``articles/role-based-access-control/built-in-roles/{general,storage,security,containers,integration,analytics}.md``);
built-in role GUIDs are the same in every tenant and cloud.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltInRole:
    name: str
    guid: str
    data_actions: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    identity_side: bool = False
    """Used by the hosting platform with the workload's managed identity (image pull), not by the app."""


_BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_QUEUE = "Microsoft.Storage/storageAccounts/queueServices/queues/messages"
_TABLE = "Microsoft.Storage/storageAccounts/tableServices/tables/entities"
_KV = "Microsoft.KeyVault/vaults"
_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"

_ROLES = (
    BuiltInRole("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", actions=("*",)),
    BuiltInRole("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", actions=("*",)),
    BuiltInRole("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", actions=("*/read",)),
    BuiltInRole(
        "Storage Blob Data Reader",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        (f"{_BLOB}/read",),
        (f"{_CONTAINERS}/read", _DELEGATION_KEY),
    ),
    BuiltInRole(
        "Storage Blob Data Contributor",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        (f"{_BLOB}/delete", f"{_BLOB}/read", f"{_BLOB}/write", f"{_BLOB}/move/action", f"{_BLOB}/add/action"),
        (f"{_CONTAINERS}/delete", f"{_CONTAINERS}/read", f"{_CONTAINERS}/write", _DELEGATION_KEY),
    ),
    BuiltInRole(
        "Storage Blob Data Owner",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        (f"{_BLOB}/*",),
        (f"{_CONTAINERS}/*", _DELEGATION_KEY),
    ),
    BuiltInRole("Storage Queue Data Reader", "19e7f393-937e-4f77-808e-94535e297925", (f"{_QUEUE}/read",)),
    BuiltInRole(
        "Storage Queue Data Contributor",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        (f"{_QUEUE}/delete", f"{_QUEUE}/read", f"{_QUEUE}/write", f"{_QUEUE}/process/action"),
    ),
    BuiltInRole(
        "Storage Queue Data Message Sender",
        "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
        (f"{_QUEUE}/add/action",),
    ),
    BuiltInRole(
        "Storage Queue Data Message Processor",
        "8a0f0c08-91a1-4084-bc3d-661d67233fed",
        (f"{_QUEUE}/read", f"{_QUEUE}/process/action"),
    ),
    BuiltInRole("Storage Table Data Reader", "76199698-9eea-4c19-bc75-cec21354c6b6", (f"{_TABLE}/read",)),
    BuiltInRole(
        "Storage Table Data Contributor",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        (
            f"{_TABLE}/read",
            f"{_TABLE}/write",
            f"{_TABLE}/delete",
            f"{_TABLE}/add/action",
            f"{_TABLE}/update/action",
        ),
    ),
    BuiltInRole(
        "Key Vault Secrets User",
        "4633458b-17de-408a-b874-0445c86b69e6",
        (f"{_KV}/secrets/getSecret/action", f"{_KV}/secrets/readMetadata/action"),
    ),
    BuiltInRole(
        "Key Vault Reader",
        "21090545-7ca7-4776-b22c-e363652d74d2",
        (f"{_KV}/*/read", f"{_KV}/secrets/readMetadata/action"),
    ),
    BuiltInRole("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", (f"{_KV}/secrets/*",)),
    BuiltInRole(
        "Key Vault Certificate User",
        "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
        (
            f"{_KV}/certificates/read",
            f"{_KV}/secrets/getSecret/action",
            f"{_KV}/secrets/readMetadata/action",
            f"{_KV}/keys/read",
        ),
    ),
    BuiltInRole(
        "Key Vault Certificates Officer", "a4417e6f-fecd-4de8-b567-7b0420556985", (f"{_KV}/certificates/*",)
    ),
    BuiltInRole(
        "Key Vault Crypto User",
        "12338af0-0e69-4776-bea7-57ae8d297424",
        tuple(
            f"{_KV}/keys/{op}"
            for op in (
                "read",
                "update/action",
                "backup/action",
                "encrypt/action",
                "decrypt/action",
                "wrap/action",
                "unwrap/action",
                "sign/action",
                "verify/action",
            )
        ),
    ),
    BuiltInRole("Key Vault Crypto Officer", "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", (f"{_KV}/keys/*",)),
    BuiltInRole(
        "AcrPull",
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        actions=("Microsoft.ContainerRegistry/registries/pull/read",),
        identity_side=True,
    ),
    BuiltInRole(
        "Azure Service Bus Data Sender",
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
        ("Microsoft.ServiceBus/*/send/action",),
    ),
    BuiltInRole(
        "Azure Service Bus Data Receiver",
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
        ("Microsoft.ServiceBus/*/receive/action",),
    ),
    BuiltInRole(
        "Azure Service Bus Data Owner", "090c5cfd-751d-490a-894a-3ce6f1109419", ("Microsoft.ServiceBus/*",)
    ),
    BuiltInRole(
        "Azure Event Hubs Data Sender",
        "2b629674-e913-4c01-ae53-ef4638d8f975",
        ("Microsoft.EventHub/*/send/action",),
    ),
    BuiltInRole(
        "Azure Event Hubs Data Receiver",
        "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
        ("Microsoft.EventHub/*/receive/action",),
    ),
    BuiltInRole(
        "Azure Event Hubs Data Owner", "f526a384-b230-433a-b45c-95f59c4a2dec", ("Microsoft.EventHub/*",)
    ),
    BuiltInRole(
        "App Configuration Data Reader",
        "516239f1-63e1-4d78-a4de-a74fb236a071",
        ("Microsoft.AppConfiguration/configurationStores/*/read",),
    ),
    BuiltInRole(
        "App Configuration Data Owner",
        "5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b",
        (
            "Microsoft.AppConfiguration/configurationStores/*/read",
            "Microsoft.AppConfiguration/configurationStores/*/write",
            "Microsoft.AppConfiguration/configurationStores/*/delete",
            "Microsoft.AppConfiguration/configurationStores/*/action",
        ),
    ),
)

ROLES: dict[str, BuiltInRole] = {role.name: role for role in _ROLES}
BY_GUID: dict[str, BuiltInRole] = {role.guid: role for role in _ROLES}
BROAD_ROLES = frozenset({"Owner", "Contributor"})

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DEFINITION_ID = re.compile(
    r"^(/subscriptions/[0-9a-fA-F-]{36})?/providers/Microsoft\.Authorization/roleDefinitions/"
    r"(?P<guid>[0-9a-fA-F-]{36})$",
    re.IGNORECASE,
)


def close_matches(name: str) -> list[str]:
    """Role names near ``name``; case-insensitive, so 'storage blob data reader' finds the real one."""
    lowered = {n.lower(): n for n in ROLES}
    return [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)]


def definition_guid(value: str) -> str | None:
    """The GUID of a role definition given as a bare GUID or a full roleDefinitions ID; None if neither."""
    if _GUID.match(value):
        return value.lower()
    found = _DEFINITION_ID.match(value)
    return found.group("guid").lower() if found and _GUID.match(found.group("guid")) else None


def definition_id(subscription_id: str, guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
