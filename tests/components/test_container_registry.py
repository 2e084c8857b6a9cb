"""A Container App pulling a private image: the registry in ``configuration.registries`` with the
user-assigned identity, that identity's AcrPull on the registry (one per identity and registry), and the
app created only once the role exists. Bad registry settings stop the program before any resource."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped

from stackconfig import ConfigError, load

SUB = "11111111-2222-4333-8444-555555555555"
ACR_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/ordersacr"
)
ACR = "ordersacr.azurecr.io"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CONTAINER_APP = "azure-native:app:ContainerApp"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


def private(cfg: dict[str, Any] | None = None, workload: str = "orders-api", **fields: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg or shipped("prod"))
    block = cfg["certless:workloads"][workload]["containerApp"]
    block.update({"image": f"{ACR}/orders-api:1.4.2", "registry": ACR, "registryResourceId": ACR_ID})
    for key, value in fields.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    return cfg


def test_the_registry_is_loaded_with_its_resource_id() -> None:
    spec = load(private(), set(), "prod").workloads["orders-api"].container_app
    assert spec is not None
    assert (spec.registry, spec.registry_resource_id) == (ACR, ACR_ID)


BAD = [
    # (changes to containerApp, the key named, fragments of the one message)
    ({"registryResourceId": None}, "containerApp.registryResourceId", ["missing", "AcrPull"]),
    ({"registry": None}, "containerApp.registry", ["missing", "login server"]),
    (
        {"registry": "OrdersAcr.azurecr.io"},
        "containerApp.registry",
        ["'OrdersAcr.azurecr.io'", "login server"],
    ),
    ({"registry": "ordersacr.azurecr.io:443"}, "containerApp.registry", ["ordersacr.azurecr.io:443"]),
    ({"registry": "docker.io"}, "containerApp.registry", ["'docker.io'", ".azurecr.io"]),
    ({"registry": "acr.azurecr.io"}, "containerApp.registry", ["'acr.azurecr.io'", "5-50"]),
    ({"registry": "https://ordersacr.azurecr.io"}, "containerApp.registry", ["https://"]),
    (
        {
            "registryResourceId": "/subscriptions/x/resourceGroups/rg/providers/"
            "Microsoft.ContainerRegistry/registries/a"
        },
        "containerApp.registryResourceId",
        ["container registry resource ID"],
    ),
    (
        {"registryResourceId": ACR_ID.replace("ordersacr", "otheracr")},
        "containerApp.registryResourceId",
        ["otheracr", "registry 'ordersacr'"],
    ),
    (
        {
            "registryResourceId": ACR_ID.replace(
                "Microsoft.ContainerRegistry/registries", "Microsoft.Storage/x"
            )
        },
        "containerApp.registryResourceId",
        ["Microsoft.ContainerRegistry/registries/<name>"],
    ),
    (
        {"image": "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"},
        "containerApp.image",
        ["mcr.microsoft.com", f"an image from {ACR}"],
    ),
    ({"image": "ordersacr.azurecr.io.evil.example/app:1"}, "containerApp.image", [f"an image from {ACR}"]),
]


@pytest.mark.parametrize(("changes", "key", "fragments"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_registry_settings_give_one_clear_message(
    changes: dict[str, Any], key: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        load(private(**changes), set(), "prod")
    message = str(err.value)
    assert message.startswith(f"config certless:workloads.orders-api.{key}"), message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message


def test_the_registry_suffix_must_be_the_clouds() -> None:
    cfg = private()
    cfg.update(
        {
            "certless:cloud": "AzureUSGovernment",
            "azure-native:location": "usgovvirginia",
            "azure-native:environment": "usgovernment",
            "azuread:environment": "usgovernment",
        }
    )
    with pytest.raises(
        ConfigError, match=r"containerApp\.registry: got 'ordersacr\.azurecr\.io', expected .*\.azurecr\.us"
    ):
        load(cfg, set(), "prod")
    gov = private(cfg, image="ordersacr.azurecr.us/orders-api:1", registry="ordersacr.azurecr.us")
    assert load(gov, set(), "prod").workloads["orders-api"].container_app.registry == "ordersacr.azurecr.us"  # type: ignore[union-attr]


def test_a_system_assigned_app_cannot_pull_privately() -> None:
    cfg = private()
    w = cfg["certless:workloads"]["orders-api"]
    w["identityType"] = "SystemAssigned"
    del w["identity"]
    with pytest.raises(
        ConfigError,
        match=r"orders-api\.identityType: got 'SystemAssigned', expected UserAssigned for a private registry",
    ):
        load(cfg, set(), "prod")


@pytest.fixture(scope="module")
def pulled() -> tuple[Recorder, dict[str, Any]]:
    cfg = private()
    # A second container app with the same identity and registry: still one role assignment.
    second = copy.deepcopy(cfg["certless:workloads"]["orders-api"])
    second.pop("access", None)  # the app's grants are declared once, by orders-api
    second["containerApp"]["name"] = "orders-admin"
    second["containerApp"].pop("environmentName", None)
    second["containerApp"]["environmentName"] = "cae-certless-admin"
    cfg["certless:workloads"]["orders-admin"] = second
    return run_main("prod", cfg)


def test_the_app_pulls_as_its_user_assigned_identity(pulled: tuple[Recorder, dict[str, Any]]) -> None:
    rec, out = pulled
    identity_id = out["workloads"]["orders-api"]["identityResourceId"]
    assert identity_id.endswith("/userAssignedIdentities/id-certless-shared-prod")
    app = rec.one(CONTAINER_APP, "orders-api")
    assert app.inputs["configuration"]["registries"] == [{"server": ACR, "identity": identity_id}]


def test_the_identity_gets_acr_pull_on_the_registry_once(pulled: tuple[Recorder, dict[str, Any]]) -> None:
    rec, _ = pulled
    uami = rec.one(UAMI)
    (grant,) = [r for r in rec.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == ACR_ID]
    # One, shared by both apps: Azure refuses a second assignment of the same role, principal and scope.
    assert grant.inputs["scope"] == ACR_ID
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"
    )
    assert grant.inputs["principalId"] == uami.outputs["principalId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert len(grant.inputs["roleAssignmentName"]) == 36  # a GUID derived from scope, role and principal
    for name in ("orders-api", "orders-admin"):
        app = rec.one(CONTAINER_APP, name)
        assert grant.urn in app.dependencies, name  # the first revision pulls only once the role exists


def test_apps_without_a_registry_get_no_registry_and_no_role() -> None:
    rec, _ = run_main("prod", shipped("prod"))
    assert rec.of_type(ROLE_ASSIGNMENT)  # the Function App's host storage roles
    assert all(ACR_PULL not in r.inputs["roleDefinitionId"] for r in rec.of_type(ROLE_ASSIGNMENT))
    assert rec.one(CONTAINER_APP).inputs["configuration"].get("registries") is None


def test_an_access_entry_repeating_the_registrys_acr_pull_is_refused() -> None:
    cfg = private()
    cfg["certless:workloads"]["orders-api"]["access"] = [{"role": "AcrPull", "scope": ACR_ID}]
    with pytest.raises(ConfigError, match=r"orders-api\.access\[0\]: .*already in containerApp\.registry"):
        load(cfg, set(), "prod")


def test_a_colour_stack_leaves_the_shared_identitys_acr_pull_to_the_owner() -> None:
    owner = private()
    owner_rec, owner_out = run_main("prod", owner)
    green = copy.deepcopy(owner)
    for key in ("certless:identities", "certless:apps"):
        green.pop(key)
    green["certless:identityOwner"] = {"stack": "org/certless/prod"}
    green["certless:color"] = "green"
    green["certless:workloads"] = {"orders-api": green["certless:workloads"]["orders-api"]}
    rec, _ = run_main("prod-green", green, stack_outputs={"sharedIdentity": owner_out["sharedIdentity"]})
    assert [r for r in rec.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == ACR_ID] == []
    app = rec.one(CONTAINER_APP)
    assert app.inputs["configuration"]["registries"][0]["server"] == ACR
    assert any("AcrPull" in w and "owns the identity layer" in w for w in rec.warnings)
    assert [r for r in owner_rec.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == ACR_ID]
