"""Every configuration mistake stops the program with one message: the key, the value, the expectation."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from main_runner import run_main, shipped

from stackconfig import ConfigError, load

GREEN_REF = {"stack": "org/certless/prod"}


def prod(**changes: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    for key, value in changes.items():
        cfg[key] = value
    return cfg


def set_path(cfg: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``certless:workloads.orders-worker.aks.namespace`` style paths; value None deletes."""
    key, *parts = path.split(".")
    node = cfg[key] if parts else cfg
    for part in parts[:-1]:
        node = node[part]
    last = parts[-1] if parts else key
    if value is None:
        del node[last]
    else:
        node[last] = value
    return cfg


CASES = [
    # (path, value, fragments the one message must contain)
    (
        "certless:tenantId",
        "contoso.onmicrosoft.com",
        ["certless:tenantId", "'contoso.onmicrosoft.com'", "GUID"],
    ),
    ("certless:tenantId", None, ["certless:tenantId", "missing required key"]),
    ("azure-native:location", "West Europe", ["azure-native:location", "'West Europe'", "lowercase"]),
    ("azure-native:location", None, ["azure-native:location", "missing"]),
    (
        "certless:cloud",
        "AzureGermany",
        ["certless:cloud", "'AzureGermany'", "AzurePublic, AzureUSGovernment"],
    ),
    ("certless:resourceGroupName", "rg with spaces", ["certless:resourceGroupName", "'rg with spaces'"]),
    ("certless:color", "Green", ["certless:color", "'Green'", "lowercase DNS label"]),
    ("certless:colour", "green", ["certless:colour", "unknown key", "certless:color"]),
    ("certless:workloads", None, ["certless:workloads", "missing required key"]),
    (
        "certless:workloads.orders-api.kind",
        "staticwebapp",
        ["kind", "'staticwebapp'", "appservice, containerapp, aks"],
    ),
    ("certless:workloads.orders-api.identity", "other", ["orders-api.identity", "'other'", "shared"]),
    ("certless:workloads.orders-api.app", "billing", ["orders-api.app", "'billing'", "orders"]),
    ("certless:workloads.orders-api.identity", None, ["orders-api.identity", "missing required field"]),
    ("certless:workloads.orders-api.containerApp.image", "Bad Image", ["containerApp.image", "'Bad Image'"]),
    (
        "certless:workloads.orders-api.containerApp.name",
        "Orders_API",
        ["containerApp.name", "'Orders_API'", "2-32"],
    ),
    ("certless:workloads.orders-api.containerApp.targetPort", 70000, ["targetPort", "70000", "1 to 65535"]),
    ("certless:workloads.orders-api.containerApp.imagee", "x", ["containerApp.imagee", "unknown field"]),
    (
        "certless:workloads.orders-api.containerApp.env",
        {"AzureAd__ClientId": "x"},
        ["AzureAd__ClientId", "AzureAd__"],
    ),
    ("certless:workloads.orders-api.aks", {"clusterName": "c"}, ["aks", "set on a containerapp workload"]),
    (
        "certless:workloads.orders-worker.aks.namespace",
        "Orders",
        ["aks.namespace", "'Orders'", "DNS-1123 label"],
    ),
    ("certless:workloads.orders-worker.aks.namespace", "kube-system", ["aks.namespace", "kube-"]),
    (
        "certless:workloads.orders-worker.aks.serviceAccount",
        "SA!",
        ["aks.serviceAccount", "'SA!'", "DNS-1123"],
    ),
    ("certless:workloads.orders-worker.aks.clusterName", "-bad-", ["aks.clusterName", "'-bad-'"]),
    ("certless:workloads.orders-worker.aks.mode", "pod-identity", ["aks.mode", "via-identity, direct"]),
    ("certless:workloads.orders-worker.aks.issuerUrl", "http://x.example/", ["aks.issuerUrl", "https URL"]),
    (
        "certless:workloads.orders-worker.aks.issuerUrl",
        "https://x.example/?a=1",
        ["aks.issuerUrl", "no query"],
    ),
    ("certless:workloads.orders-worker.aks.image", None, ["aks.image", "missing required field"]),
    ("certless:workloads.orders-worker.aks.replicas", "many", ["aks.replicas", "'many'", "integer"]),
    (
        "certless:workloads.orders-worker.identityType",
        "SystemAssigned",
        ["identityType", "UserAssigned for AKS"],
    ),
    ("certless:identities.shared.name", "x", ["identities.shared.name", "'x'", "3-128"]),
    ("certless:identities.shared.protect", "yes", ["identities.shared.protect", "'yes'", "true or false"]),
    (
        "certless:identities.shared.resourceId",
        "/subscriptions/x",
        ["identities.shared", "both name and resourceId"],
    ),
    ("certless:apps.orders.owners", ["not-a-guid"], ["apps.orders.owners[0]", "'not-a-guid'", "GUID"]),
    ("certless:apps.orders.signInAudience", "PersonalMicrosoftAccount", ["signInAudience", "AzureADMyOrg"]),
    ("certless:apps", None, ["certless:apps", "missing required key"]),
    ("certless:identityOwner", GREEN_REF, ["certless:identityOwner", "not both"]),
]


@pytest.mark.parametrize(("path", "value", "fragments"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_bad_value_gives_one_clear_message(path: str, value: Any, fragments: list[str]) -> None:
    cfg = set_path(prod(), path, value)
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "prod")
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message and "Traceback" not in message


def test_secret_values_are_refused_without_showing_them() -> None:
    cfg = prod(**{"certless:resourceGroupName": "rg-topsecret"})
    with pytest.raises(ConfigError, match=r"certless:resourceGroupName: is a secret value") as err:
        load(cfg, {"certless:resourceGroupName"}, "prod")
    assert "rg-topsecret" not in str(err.value)


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("certless:workloads.orders-api.containerApp.env", "DB", "Server=db;User Id=sa;Password=hunter2"),
        (
            "certless:workloads.orders-api.containerApp.env",
            "STORAGE",
            "DefaultEndpointsProtocol=https;AccountKey=abc==",
        ),
        ("certless:workloads.orders-worker.aks.env", "CLIENT_SECRET", "s3cr3t-literal"),
        (
            "certless:workloads.orders-worker.aks.env",
            "SAS",
            "https://a.blob.core.windows.net/c?sv=1&sig=abcd",
        ),
    ],
)
def test_plain_text_secrets_in_settings_are_refused_without_showing_them(
    path: str, name: str, value: str
) -> None:
    cfg = set_path(prod(), path, {name: value})
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "prod")
    message = str(err.value)
    assert f"{path}.{name}" in message and "Key Vault reference" in message, message
    assert value not in message and "hunter2" not in message


def test_key_vault_references_and_plain_settings_are_accepted() -> None:
    cfg = set_path(
        prod(),
        "certless:workloads.orders-api.containerApp.env",
        {"LOG_LEVEL": "info", "KEY_VAULT_URL": "https://kv.vault.azure.net/", "TOKEN_CACHE": "memory"},
    )
    assert load(cfg, set(), "prod").workloads["orders-api"].container_app is not None


def test_other_namespaces_are_not_ours_to_refuse() -> None:
    cfg = prod(**{"azuread:environment": "global", "kubernetes:enableServerSideApply": "true"})
    assert load(cfg, set(), "prod").workloads.keys() == {
        "orders-api",
        "orders-worker",
        "orders-jobs",
        "orders-batch",
    }


def test_duplicate_physical_names_are_refused() -> None:
    cfg = prod()
    second = copy.deepcopy(cfg["certless:workloads"]["orders-api"])
    cfg["certless:workloads"]["orders-api2"] = second
    with pytest.raises(
        ConfigError, match=r"orders-api2\.containerApp\.name: 'orders-api' is already the container"
    ):
        load(cfg, set(), "prod")


def test_more_than_twenty_credentials_on_one_identity_are_refused_before_any_resource() -> None:
    cfg = prod()
    worker = cfg["certless:workloads"]["orders-worker"]
    for i in range(20):
        clone = copy.deepcopy(worker)
        clone["aks"]["serviceAccount"] = f"sa-{i}"
        clone["aks"]["deploymentName"] = f"worker-{i}"
        clone["aks"]["createNamespace"] = False
        cfg["certless:workloads"][f"worker-{i}"] = clone
    with pytest.raises(
        ConfigError, match=r"identity:shared would hold 21 federated credentials; .* at most 20"
    ):
        load(cfg, set(), "prod")


def test_two_workloads_cannot_share_a_service_account() -> None:
    cfg = prod()
    clone = copy.deepcopy(cfg["certless:workloads"]["orders-worker"])
    clone["aks"]["namespace"] = "other"  # the same service account name in another namespace is fine
    cfg["certless:workloads"]["worker-b"] = clone
    load(cfg, set(), "prod")
    dup = copy.deepcopy(cfg["certless:workloads"]["orders-worker"])
    dup["aks"] |= {"deploymentName": "worker-c", "createNamespace": False}
    cfg["certless:workloads"]["worker-c"] = dup
    with pytest.raises(
        ConfigError, match=r"worker-c\.aks\.serviceAccount: 'orders-worker' is already the service"
    ):
        load(cfg, set(), "prod")


def test_a_namespace_is_created_by_one_workload_only() -> None:
    cfg = prod()
    clone = copy.deepcopy(cfg["certless:workloads"]["orders-worker"])
    clone["aks"]["serviceAccount"] = "other-sa"
    clone["aks"]["deploymentName"] = "other"
    cfg["certless:workloads"]["worker-b"] = clone
    with pytest.raises(ConfigError, match=r"worker-b\.aks\.createNamespace: namespace 'orders' on cluster"):
        load(cfg, set(), "prod")
    clone["aks"]["createNamespace"] = False
    assert load(cfg, set(), "prod").workloads["worker-b"].aks is not None


def test_pinned_issuer_makes_duplicate_trust_visible_across_clusters() -> None:
    cfg = prod()
    issuer = "https://westeurope.oic.prod-aks.azure.com/t/i/"
    cfg["certless:workloads"]["orders-worker"]["aks"]["issuerUrl"] = issuer
    other = copy.deepcopy(cfg["certless:workloads"]["orders-worker"])
    other["aks"]["clusterName"] = "aks-alias"
    other["aks"]["issuerUrl"] = issuer.rstrip("/")  # the same issuer, written without AKS's trailing '/'
    cfg["certless:workloads"]["worker-b"] = other
    with pytest.raises(ConfigError, match=r"trusted twice .*one federated credential per issuer and subject"):
        load(cfg, set(), "prod")


def test_main_registers_nothing_for_a_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from component_fakes import Recorder

    seen: list[Recorder] = []
    import component_fakes

    real_install = component_fakes.install

    def spy(*args: Any, **kwargs: Any) -> Any:
        rec, fake = real_install(*args, **kwargs)
        seen.append(rec)
        return rec, fake

    monkeypatch.setattr("main_runner.install", spy)
    with pytest.raises(pulumi.RunError, match="certless:tenantId"):
        run_main("prod", prod(**{"certless:tenantId": "nope"}))
    (rec,) = seen
    assert rec.registrations == [] and rec.invokes == []


@pytest.mark.parametrize(
    ("stack", "workload", "block", "field", "kind"),
    [
        ("dev", "orders-web", "appService", "name", "webapp"),
        ("dev", "orders-web", "appService", "planName", "plan"),
        ("prod", "orders-jobs", "functionApp", "name", "webapp"),
        ("prod", "orders-jobs", "functionApp", "planName", "plan"),
    ],
    ids=["web app", "web plan", "function app", "function plan"],
)
def test_a_name_the_colour_suffix_makes_too_long_is_named_by_its_key(
    stack: str, workload: str, block: str, field: str, kind: str
) -> None:
    """60 characters pass alone; with '-green' appended they are no App Service name."""
    cfg = copy.deepcopy(shipped(stack))
    cfg["certless:color"] = "green"
    cfg["certless:workloads"][workload][block][field] = "a" * 60
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), stack)
    assert str(err.value).startswith(
        f"config certless:workloads.{workload}.{block}.{field}: got '{'a' * 60}-green', expected a valid "
        f"Azure {kind} name: "
    )
