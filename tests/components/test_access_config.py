"""Workload access and apiPermissions: one built-in role table, each mistake one line before any resource."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from main_runner import shipped

from policy.rules import roles
from stackconfig import ConfigError, load

SUB = "00000000-0000-0000-0000-0000000000aa"
ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stcertless"
)


def with_access(access: Any = None, api: Any = None) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    workload = cfg["certless:workloads"]["orders-api"]
    if access is not None:
        workload["access"] = access
    if api is not None:
        workload["apiPermissions"] = api
    return cfg


def test_a_built_in_role_name_resolves_to_its_fixed_definition_id() -> None:
    cfg = load(with_access([{"role": "Storage Blob Data Contributor", "scope": ACCOUNT}]), (), "prod")
    (grant,) = cfg.workloads["orders-api"].access
    assert grant.role_guid == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert grant.role_definition_id == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    )
    assert grant.scope == ACCOUNT


@pytest.mark.parametrize(
    "given",
    [
        "B24988AC-6180-42A0-AB88-20F7382DD24C",
        "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
    ],
)
def test_a_role_definition_id_is_accepted_as_guid_or_full_id(given: str) -> None:
    cfg = load(with_access([{"roleDefinitionId": given, "scope": ACCOUNT}]), (), "prod")
    (grant,) = cfg.workloads["orders-api"].access
    assert (grant.role_guid, grant.role_name) == ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor")


def test_the_table_covers_every_data_service_the_issue_names() -> None:
    for name in (
        "Storage Blob Data Reader",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
        "Key Vault Secrets User",
        "Key Vault Certificate User",
        "Key Vault Crypto User",
        "AcrPull",
        "Azure Service Bus Data Sender",
        "Azure Event Hubs Data Receiver",
        "App Configuration Data Reader",
    ):
        assert roles.definition_guid(roles.ROLES[name].guid) == roles.ROLES[name].guid
    assert len(roles.BY_GUID) == len(roles.ROLES), "two roles share a GUID"


BAD = [
    (
        [{"role": "Storage Blob Data Contributer", "scope": ACCOUNT}],
        None,
        ["access[0].role", "'Storage Blob Data Contributer'", "did you mean Storage Blob Data Contributor"],
    ),
    (
        [{"role": "Storage Blob Data Contributor", "scope": "stcertless"}],
        None,
        ["access[0].scope", "'stcertless'", "ARM resource ID"],
    ),
    (
        [{"role": "Storage Blob Data Contributor", "scope": "/subscriptions/not-a-guid"}],
        None,
        ["access[0].scope", "ARM resource ID"],
    ),
    ([{"roleDefinitionId": "contributor", "scope": ACCOUNT}], None, ["access[0].roleDefinitionId", "GUID"]),
    (
        [{"role": "Reader", "roleDefinitionId": roles.ROLES["Reader"].guid, "scope": ACCOUNT}],
        None,
        ["access[0]", "exactly one of role and roleDefinitionId"],
    ),
    (
        [
            {"role": "AcrPull", "scope": ACCOUNT},
            {"role": "AcrPull", "scope": ACCOUNT.upper().replace("SUBSCRIPTIONS", "subscriptions")},
        ],
        None,
        ["access[1]", "duplicate grant"],
    ),
    (None, [{"api": "payments", "appRoles": ["x"]}], ["apiPermissions[0].api", "'payments'", "graph"]),
    (None, [{"api": "graph", "appRoles": []}], ["apiPermissions[0].appRoles", "non-empty list"]),
    (
        None,
        [{"api": "graph", "appRoles": ["User.Read.All"]}, {"api": "graph", "appRoles": ["User.Read.All"]}],
        ["apiPermissions[1].appRoles", "duplicate grant"],
    ),
]


@pytest.mark.parametrize(("access", "api", "fragments"), BAD)
def test_each_access_mistake_is_one_line_naming_key_value_and_expectation(
    access: Any, api: Any, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(with_access(access, api), (), "prod")
    message = str(caught.value)
    assert "\n" not in message
    assert "certless:workloads.orders-api." in message
    for fragment in fragments:
        assert fragment in message, message
