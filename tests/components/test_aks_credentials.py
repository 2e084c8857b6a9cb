"""aks.credentials: the kubeconfig the kubernetes provider gets, per mode, from what AKS really returns."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import yaml
from pulumi.runtime.mocks import MockCallArgs

from certless_ops.plan.simulator import Environment, Simulator
from components.aks_kubeconfig import KUBELOGIN_MODES, MODES, provider_kubeconfig
from components.errors import EnvironmentMismatchError
from stackconfig import ConfigError, load

TENANT = "0d2b6f3e-6a3c-4e1e-9d7b-1a2b3c4d5e6f"
DEPLOYER = "5b1a3f0e-9c2d-4e7f-8a6b-0c1d2e3f4a5b"
SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
ENV = Environment(TENANT, "1a2b3c4d-0000-4000-8000-000000000001", "westeurope", DEPLOYER, "d2")
WHERE = "workload 'w': AKS cluster 'c'"


def returned(token: str, cluster: str, **extra: str) -> str:
    """The kubeconfig the simulated AKS API returns (the shapes test_simulator checks)."""
    args = {"resourceGroupName": "rg", "resourceName": cluster, **extra}
    result = Simulator(ENV).call(MockCallArgs(f"azure-native:containerservice:{token}", args, ""))[0]
    return base64.b64decode(result["kubeconfigs"][0]["value"]).decode()


AAD_USER = returned("listManagedClusterUserCredentials", "aks-prod", format="exec")
AAD_LEGACY = returned("listManagedClusterUserCredentials", "aks-prod", format="azure")
LOCAL_USER = returned("listManagedClusterUserCredentials", "aks-noaad")
ADMIN = returned("listManagedClusterAdminCredentials", "aks-prod")


def convert(kubeconfig: str, mode: Any) -> dict[str, Any]:
    return yaml.safe_load(
        provider_kubeconfig(kubeconfig, mode, where=WHERE, tenant_id=TENANT, client_id=DEPLOYER)
    )


EXPECTED_ARGS = {
    "azurecli": ["get-token", "--login", "azurecli", "--server-id", SERVER_ID],
    "workloadidentity": ["get-token", "--login", "workloadidentity", "--server-id", SERVER_ID],
    "msi": ["get-token", "--login", "msi", "--server-id", SERVER_ID, "--client-id", DEPLOYER],
    "spn": [
        "get-token",
        "--login",
        "spn",
        "--server-id",
        SERVER_ID,
        "--client-id",
        DEPLOYER,
        "--tenant-id",
        TENANT,
        "--environment",
        "AzurePublicCloud",
    ],
}


@pytest.mark.parametrize("mode", KUBELOGIN_MODES)
@pytest.mark.parametrize("source", [AAD_USER, AAD_LEGACY], ids=["exec", "legacy-azure-provider"])
def test_kubelogin_modes_rewrite_the_exec_block_as_kubelogin_convert_does(mode: str, source: str) -> None:
    before = yaml.safe_load(source)
    after = convert(source, mode)
    (user,) = after["users"]
    assert user["name"] == before["users"][0]["name"]
    exec_ = user["user"]["exec"]
    assert set(user["user"]) == {"exec"}  # the legacy auth-provider block is gone
    assert exec_["command"] == "kubelogin"
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["args"] == EXPECTED_ARGS[mode]
    assert "devicecode" not in yaml.safe_dump(after)
    # Cluster, context and current context stay as AKS returned them.
    assert {k: v for k, v in after.items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }


@pytest.mark.parametrize("mode", ["user", "admin"])
def test_an_interactive_kubelogin_kubeconfig_is_refused_naming_the_setting(mode: str) -> None:
    with pytest.raises(EnvironmentMismatchError) as err:
        convert(AAD_USER, mode)
    message = str(err.value)
    assert message.startswith(WHERE)
    assert "--login devicecode" in message and "aks.credentials" in message
    assert "azurecli" in message and "\n" not in message


@pytest.mark.parametrize("mode", KUBELOGIN_MODES)
def test_kubelogin_modes_on_a_cluster_without_entra_are_refused(mode: str) -> None:
    with pytest.raises(
        EnvironmentMismatchError, match=r"does not use Entra ID.*expected aks.credentials 'user'"
    ):
        convert(LOCAL_USER, mode)


@pytest.mark.parametrize(("kubeconfig", "mode"), [(LOCAL_USER, "user"), (ADMIN, "admin")])
def test_local_account_kubeconfigs_are_used_as_returned(kubeconfig: str, mode: Any) -> None:
    assert provider_kubeconfig(kubeconfig, mode, where=WHERE, tenant_id=TENANT) == kubeconfig


def test_no_secret_ever_lands_in_a_converted_kubeconfig() -> None:
    for mode in KUBELOGIN_MODES:
        text = yaml.safe_dump(convert(AAD_USER, mode))
        assert "secret" not in text.lower() and "client-key-data" not in text


def _prod_with_credentials(value: Any) -> dict[str, Any]:
    from main_runner import shipped

    cfg = copy.deepcopy(shipped("prod"))
    aks = cfg["certless:workloads"]["orders-worker"]["aks"]
    if value is None:
        aks.pop("credentials", None)
    else:
        aks["credentials"] = value
    return cfg


@pytest.mark.parametrize("value", [None, *MODES])
def test_each_mode_is_accepted_and_user_is_the_default(value: Any) -> None:
    config = load(_prod_with_credentials(value), [], "prod")
    aks = config.workloads["orders-worker"].aks
    assert aks is not None and aks.credentials == (value or "user")


@pytest.mark.parametrize("value", ["devicecode", "AzureCLI", "interactive", "", 1, True, ["azurecli"], {}])
def test_other_values_are_refused_in_one_line_before_any_resource(value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        load(_prod_with_credentials(value), [], "prod")
    message = str(err.value)
    assert message.startswith("config certless:workloads.orders-worker.aks.credentials: got ")
    assert "user, azurecli, workloadidentity, msi, spn, admin" in message and "\n" not in message


def test_the_program_hands_the_converted_kubeconfig_to_the_kubernetes_provider() -> None:
    from main_runner import run_main, shipped

    rec, _ = run_main("prod", shipped("prod"))
    provider = rec.one("pulumi:providers:kubernetes")
    value = provider.inputs["kubeconfig"]
    assert isinstance(value, dict) and value["value"], "the kubeconfig goes to the provider as a secret"
    kubeconfig = yaml.safe_load(value["value"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == EXPECTED_ARGS["azurecli"]
    binding = rec.one("certless:compute:AksWorkloadBinding")
    assert binding.outputs.get("cluster_credentials", "azurecli") == "azurecli"
