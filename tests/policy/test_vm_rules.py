"""The pack reads a VM's settings from its cloud-init custom data, and flags password login and open SSH."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from certless_ops.review import Review, review_plan
from certless_ops.review.pack_config import parse_pack_config
from components import cloud_init
from policy.rules import ALL_POLICIES

SCALE_SET = "azure-native:compute:VirtualMachineScaleSet"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.fixture(scope="module")
def prod_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("plan") / "prod.json"
    subprocess.run(
        [sys.executable, "-m", "certless_ops", "plan", "--stack", "prod", "--json", str(path), "--quiet"],
        check=True,
        timeout=300,
    )
    plan: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return plan


@pytest.fixture
def plan(prod_plan: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(prod_plan)


def review(plan: dict[str, Any]) -> Review:
    return review_plan(plan, parse_pack_config({}, ALL_POLICIES))


def violations(result: Review) -> list[tuple[str, str, str]]:
    return [(v.policy, v.enforcement, v.message) for v in result.violations]


def scale_set(plan: dict[str, Any]) -> dict[str, Any]:
    (found,) = [r for r in plan["resources"] if r["type"] == SCALE_SET]
    return found


def os_profile(resource: dict[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = resource["inputs"]["virtualMachineProfile"]["osProfile"]
    return profile


def rewrite_env(resource: dict[str, Any], change: dict[str, str]) -> None:
    """Edit the environment file inside the scale set's custom data, as a hand-edited program would."""
    profile = os_profile(resource)
    body = yaml.safe_load(base64.b64decode(profile["customData"]).decode())
    env_file = next(f for f in body["write_files"] if f["path"].endswith(".env"))
    env = {**cloud_init.read_environment(cloud_init.read_custom_data(profile["customData"])), **change}
    env_file["content"] = cloud_init.environment_file(sorted(env.items()))
    profile["customData"] = cloud_init.custom_data("#cloud-config\n" + yaml.safe_dump(body))


def test_the_shipped_scale_set_passes_every_rule(plan: dict[str, Any]) -> None:
    assert violations(review(plan)) == []


def test_a_token_in_the_vm_environment_file_is_a_mandatory_violation(plan: dict[str, Any]) -> None:
    rewrite_env(scale_set(plan), {"API_TOKEN": JWT})
    found = violations(review(plan))
    assert [(p, e) for p, e, _ in found] == [("certless-no-secrets-in-settings", "mandatory")]
    assert "customData /etc/certless/" in found[0][2] and "API_TOKEN" in found[0][2]
    assert JWT not in found[0][2]


def test_settings_from_an_identity_that_is_not_attached_are_a_mandatory_violation(
    plan: dict[str, Any],
) -> None:
    # The stack rule sees outputs, where custom data never comes back: it follows which identity the
    # settings took values from, against the identities attached to the scale set.
    vmss = scale_set(plan)
    assert vmss["property_dependencies"]["identity"], "the shipped scale set attaches its identity"
    vmss["property_dependencies"]["identity"] = []
    found = violations(review(plan))
    assert [(p, e) for p, e, _ in found] == [("certless-compute-names-attached-identity", "mandatory")]
    assert "virtualMachineProfile takes a value from identity 'shared'" in found[0][2]


def test_password_login_is_flagged(plan: dict[str, Any]) -> None:
    profile = os_profile(scale_set(plan))
    profile["linuxConfiguration"]["disablePasswordAuthentication"] = False
    profile["adminPassword"] = "Hunter2-Hunter2!"
    found = violations(review(plan))
    assert [(p, e) for p, e, _ in found] == [("certless-vm-hardening", "advisory")]
    assert (
        "adminPassword is set" in found[0][2] and "disablePasswordAuthentication is not true" in found[0][2]
    )
    assert "Hunter2" not in found[0][2]


def test_a_public_address_on_the_instances_is_flagged(plan: dict[str, Any]) -> None:
    nic = scale_set(plan)["inputs"]["virtualMachineProfile"]["networkProfile"][
        "networkInterfaceConfigurations"
    ]
    nic[0]["ipConfigurations"][0]["publicIPAddressConfiguration"] = {"name": "pip"}
    found = violations(review(plan))
    assert [(p, e) for p, e, _ in found] == [("certless-vm-hardening", "advisory")]
    assert "has a public IP address" in found[0][2]


def _nsg(plan: dict[str, Any], rules: list[dict[str, Any]]) -> None:
    type_ = "azure-native:network:NetworkSecurityGroup"
    inputs = {"networkSecurityGroupName": "nsg-batch", "resourceGroupName": "rg", "securityRules": rules}
    plan["resources"].append(
        {
            "urn": f"urn:pulumi:prod::certless::{type_}::nsg-batch",
            "type": type_,
            "name": "nsg-batch",
            "custom": True,
            "parent": None,
            "inputs": inputs,
            "outputs": inputs,
            "dependencies": [],
            "property_dependencies": {},
            "protect": False,
            "read": False,
        }
    )


def _rule(port: str, source: str, access: str = "Allow", direction: str = "Inbound") -> dict[str, Any]:
    return {
        "name": f"r-{port}-{source}",
        "access": access,
        "direction": direction,
        "protocol": "Tcp",
        "priority": 100,
        "destinationPortRange": port,
        "sourceAddressPrefix": source,
    }


@pytest.mark.parametrize(
    ("rule", "flagged"),
    [
        (_rule("22", "*"), True),
        (_rule("22", "Internet"), True),
        (_rule("20-30", "0.0.0.0/0"), True),
        (_rule("*", "::/0"), True),
        (_rule("22", "10.0.0.0/8"), False),
        (_rule("443", "*"), False),
        (_rule("22", "*", access="Deny"), False),
        (_rule("22", "*", direction="Outbound"), False),
    ],
)
def test_ssh_open_to_the_internet_is_flagged(
    plan: dict[str, Any], rule: dict[str, Any], flagged: bool
) -> None:
    _nsg(plan, [rule])
    found = violations(review(plan))
    if flagged:
        assert [(p, e) for p, e, _ in found] == [("certless-vm-hardening", "advisory")]
        assert "allows SSH (22) from anywhere" in found[0][2]
    else:
        assert found == []
