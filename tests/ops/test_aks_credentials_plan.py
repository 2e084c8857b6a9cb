"""aks.credentials end to end offline: the simulated Entra cluster shows what a real deployment would hit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan
from certless_ops.review.analyzer import review_plan

from .support import REPO

AKS_BINDING = "certless:compute:AksWorkloadBinding"


def prod_with(tmp_path: Path, **aks: Any) -> Path:
    doc = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    block = doc["config"]["certless:workloads"]["orders-worker"]["aks"]
    for key, value in aks.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def plan(config_file: Path) -> dict[str, Any]:
    return run_plan(load_stack_config(REPO, "prod", config_file))


def test_the_shipped_prod_stack_reaches_its_entra_cluster_through_azurecli() -> None:
    result = run_plan(load_stack_config(REPO, "prod"))
    (binding,) = [r for r in result["resources"] if r["type"] == AKS_BINDING]
    assert binding["outputs"]["cluster_credentials"] == "azurecli"
    assert result["outputs"]["workloads"]["orders-worker"]["aks"]["credentials"] == "azurecli"
    creds = [i for i in result["invokes"] if i["token"].endswith(":listManagedClusterUserCredentials")]
    assert creds and creds[0]["args"]["format"] == "exec"
    assert creds[0]["result"]["kubeconfigs"][0]["value"] == "[secret]"  # never in the plan file


@pytest.mark.parametrize("value", [None, "user"])
def test_user_credentials_on_an_entra_cluster_fail_offline_before_ci_would_hang(
    tmp_path: Path, value: str | None
) -> None:
    with pytest.raises(UserError) as err:
        plan(prod_with(tmp_path, credentials=value))
    message = str(err.value)
    assert "'orders-worker'" in message and "'aks-certless-prod'" in message
    assert "--login devicecode" in message and "aks.credentials" in message


def test_a_kubelogin_mode_on_a_cluster_without_entra_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not use Entra ID.*aks.credentials 'user'"):
        plan(prod_with(tmp_path, clusterName="aks-noaad-prod", credentials="spn"))
    # ... and that cluster works as before with the default.
    plan(prod_with(tmp_path, clusterName="aks-noaad-prod", credentials=None))


def test_admin_credentials_are_planned_then_flagged_by_the_advisory_rule(tmp_path: Path) -> None:
    result = plan(prod_with(tmp_path, credentials="admin"))
    tokens = {i["token"] for i in result["invokes"]}
    assert "azure-native:containerservice:listManagedClusterAdminCredentials" in tokens
    assert "azure-native:containerservice:listManagedClusterUserCredentials" not in tokens
    report = review_plan(result)
    found = [v for v in report.violations if v.policy == "certless-aks-admin-credentials"]
    assert len(found) == 1 and found[0].enforcement == "advisory"
    assert "orders-worker" in found[0].message
    clean = review_plan(run_plan(load_stack_config(REPO, "prod")))
    assert not [v for v in clean.violations if v.policy == "certless-aks-admin-credentials"]


def test_admin_credentials_where_local_accounts_are_disabled_fail_as_azure_does(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="disable local accounts"):
        plan(prod_with(tmp_path, clusterName="aks-nolocal-prod", credentials="admin"))


def test_a_bad_mode_stops_before_any_resource(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        plan(prod_with(tmp_path, credentials="devicecode"))
    assert str(err.value).endswith(
        "config certless:workloads.orders-worker.aks.credentials: got 'devicecode', expected one of user,"
        " azurecli, workloadidentity, msi, spn, admin"
    )
