"""VirtualMachineBinding: settings by cloud-init, SSH key only, no public address, and refused input."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from main_runner import run_main, shipped

from components import cloud_init
from stackconfig import ConfigError, load

SCALE_SET = "azure-native:compute:VirtualMachineScaleSet"
VM = "azure-native:compute:VirtualMachine"
WORKLOAD = "orders-batch"
KEY = f"certless:workloads.{WORKLOAD}.vm"


def prod_with(**vm: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    block = cfg["certless:workloads"][WORKLOAD]["vm"]
    for name, value in vm.items():
        if value is None:
            block.pop(name, None)
        else:
            block[name] = value
    return cfg


def public_key(key: Any) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _document(os_profile: dict[str, Any]) -> str:
    return base64.b64decode(os_profile["customData"]).decode()


def test_scale_set_boots_the_app_with_the_azure_ad_settings_from_cloud_init() -> None:
    rec, out = run_main("prod", shipped("prod"))
    vmss = rec.one(SCALE_SET)
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity")
    app = rec.one("azuread:index/application:Application")
    assert vmss.inputs["identity"]["type"] == "UserAssigned"
    (attached,) = vmss.inputs["identity"]["userAssignedIdentities"]
    assert attached.endswith("/userAssignedIdentities/id-certless-shared-prod")
    assert vmss.inputs["sku"]["capacity"] == 2
    os_profile = vmss.inputs["virtualMachineProfile"]["osProfile"]
    linux = os_profile["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True
    assert "adminPassword" not in os_profile
    assert linux["ssh"]["publicKeys"] == [
        {
            "keyData": shipped("prod")["certless:workloads"][WORKLOAD]["vm"]["sshPublicKey"],
            "path": "/home/azureuser/.ssh/authorized_keys",
        }
    ]
    document = _document(os_profile)
    assert document.startswith("#cloud-config\n")
    body = yaml.safe_load(document)
    files = {f["path"]: f for f in body["write_files"]}
    unit = files["/etc/systemd/system/certless-orders-batch.service"]["content"]
    assert "ExecStart=/opt/orders/.venv/bin/python -m orders.batch" in unit
    assert "EnvironmentFile=/etc/certless/certless-orders-batch.env" in unit
    assert "User=certless-app" in unit
    assert ["systemctl", "enable", "--now", "certless-orders-batch.service"] in body["runcmd"]
    env = cloud_init.read_environment(document)
    assert env == {
        "AzureAd__Instance": "https://login.microsoftonline.com/",
        "AzureAd__TenantId": shipped("prod")["certless:tenantId"],
        "AzureAd__ClientId": app.outputs["clientId"],
        "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
        "AzureAd__ClientCredentials__0__ManagedIdentityClientId": identity.outputs["clientId"],
    }
    assert out["workloads"][WORKLOAD]["cloudInit"] == document
    assert out["workloads"][WORKLOAD]["azureAdEnv"] == env


def test_the_new_network_has_nat_egress_and_no_inbound_public_address() -> None:
    rec, _ = run_main("prod", shipped("prod"))
    vnet = rec.one("azure-native:network:VirtualNetwork")
    (subnet,) = vnet.inputs["subnets"]
    nat = rec.one("azure-native:network:NatGateway")
    assert subnet["defaultOutboundAccess"] is False
    assert subnet["natGateway"]["id"].endswith(f"/natGateways/{nat.inputs['natGatewayName']}")
    nic = rec.one(SCALE_SET).inputs["virtualMachineProfile"]["networkProfile"]
    (config,) = nic["networkInterfaceConfigurations"]
    (ip,) = config["ipConfigurations"]
    assert "publicIPAddressConfiguration" not in ip
    vnet_name = vnet.inputs["virtualNetworkName"]
    assert ip["subnet"]["id"].endswith(f"/virtualNetworks/{vnet_name}/subnets/workload")


def test_single_vm_with_an_existing_subnet_creates_no_network() -> None:
    subnet = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers"
        "/Microsoft.Network/virtualNetworks/vnet-hub/subnets/apps"
    )
    rec, _ = run_main("prod", prod_with(mode="single", instances=None, subnetId=subnet))
    assert rec.of_type(SCALE_SET) == []
    assert rec.of_type("azure-native:network:VirtualNetwork") == []
    vm = rec.one(VM)
    nic = rec.one("azure-native:network:NetworkInterface")
    assert nic.inputs["ipConfigurations"][0]["subnet"]["id"] == subnet
    (ref,) = vm.inputs["networkProfile"]["networkInterfaces"]
    assert ref["primary"] is True
    assert ref["id"].endswith(f"/networkInterfaces/{nic.inputs['networkInterfaceName']}")
    assert vm.inputs["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    env = cloud_init.read_environment(_document(vm.inputs["osProfile"]))
    assert env["AzureAd__ClientCredentials__0__SourceType"] == "SignedAssertionFromManagedIdentity"


def test_extra_env_reaches_the_environment_file_quoted_as_systemd_reads_it() -> None:
    rec, _ = run_main("prod", prod_with(env={"GREETING": 'say "hi" \\ bye', "LOG_LEVEL": "info"}))
    env = cloud_init.read_environment(
        _document(rec.one(SCALE_SET).inputs["virtualMachineProfile"]["osProfile"])
    )
    assert env["GREETING"] == 'say "hi" \\ bye'
    assert env["LOG_LEVEL"] == "info"


def test_an_ed25519_or_long_rsa_key_is_accepted() -> None:
    for key in (ed25519.Ed25519PrivateKey.generate(), rsa.generate_private_key(65537, 2048)):
        spec = load(prod_with(sshPublicKey=public_key(key.public_key())), set(), "prod")
        assert spec.workloads[WORKLOAD].vm is not None


SHORT_RSA = public_key(rsa.generate_private_key(65537, 1024).public_key())
ECDSA = public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
DSA = public_key(dsa.generate_private_key(1024).public_key())


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"sshPublicKey": SHORT_RSA}, "sshPublicKey", "this RSA key has 1024 bits"),
        ({"sshPublicKey": ECDSA}, "sshPublicKey", "got a 'ecdsa-sha2-nistp256' key"),
        ({"sshPublicKey": DSA}, "sshPublicKey", "got a 'ssh-dss' key"),
        ({"sshPublicKey": "ssh-rsa not-base64!"}, "sshPublicKey", "OpenSSH public key line"),
        ({"sshPublicKey": None}, "sshPublicKey", "missing required field"),
        ({"command": "python -m app"}, "command", "absolute path"),
        ({"command": "/bin/app\n--evil"}, "command", "absolute path"),
        ({"command": None}, "command", "missing required field"),
        ({"mode": "single"}, "instances", "no instances for mode single"),
        ({"mode": "cluster"}, "mode", "scaleset"),
        ({"instances": 0}, "instances", "an integer from 1 to 100"),
        ({"instances": 101}, "instances", "an integer from 1 to 100"),
        ({"instances": "²"}, "instances", "an integer from 1 to 100"),
        ({"size": "B2s"}, "size", "a VM size like Standard_B2s"),
        ({"image": "ubuntu"}, "image", "publisher:offer:sku:version"),
        ({"adminUsername": "root"}, "adminUsername", "a name Azure allows"),
        ({"adminUsername": "Admin User"}, "adminUsername", "a Linux user name"),
        ({"serviceUser": "root"}, "serviceUser", "a user of its own"),
        ({"serviceUser": "azureuser"}, "serviceUser", "a user of its own"),
        ({"subnetId": "/subscriptions/x/subnets/y"}, "subnetId", "a subnet resource ID"),
        ({"env": {"MY-VAR": "x"}}, "env.MY-VAR", "letters, digits and '_'"),
        ({"env": {"LINE": "a\nb"}}, "env.LINE", "a value on one line"),
        ({"env": {"AzureAd__ClientId": "x"}}, "env.AzureAd__ClientId", "certless sets those"),
        ({"env": {"BIG": "x" * 70_000}}, "", "expected at most 65535"),
        ({"name": "-bad-"}, "name", "a valid Azure VM name"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_bad_vm_input_is_refused_with_the_key(change: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(prod_with(**change), set(), "prod")
    text = str(caught.value)
    assert text.startswith(f"config {KEY}{'.' + key if key else ''}"), text
    assert expected in text, text
    assert len(text) < 400
    assert "x" * 100 not in text


@pytest.mark.parametrize("field", ["adminPassword", "password"])
def test_a_password_is_refused_and_never_echoed(field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(prod_with(**{field: "Hunter2-Hunter2!"}), set(), "prod")
    text = str(caught.value)
    assert f"{KEY}.{field}" in text and "SSH key login only" in text
    assert "Hunter2" not in text


def test_a_private_key_in_place_of_the_public_key_is_refused_and_never_echoed() -> None:
    private = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(ConfigError) as caught:
        load(prod_with(sshPublicKey=private), set(), "prod")
    text = str(caught.value)
    assert "holds a private key" in text
    assert private.splitlines()[1][:20] not in text


def test_a_token_in_the_vm_env_or_command_is_refused() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    for change in ({"env": {"API_TOKEN": jwt}}, {"command": f"/opt/app/run --token {jwt}"}):
        with pytest.raises(ConfigError) as caught:
            load(prod_with(**change), set(), "prod")
        assert jwt not in str(caught.value)


def test_a_system_assigned_vm_is_refused() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    w = cfg["certless:workloads"][WORKLOAD]
    w["identityType"] = "SystemAssigned"
    del w["identity"]
    with pytest.raises(ConfigError, match="identityType: got 'SystemAssigned', expected UserAssigned for VM"):
        load(cfg, set(), "prod")


def test_two_workloads_cannot_claim_one_vm_name() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-batch2"] = copy.deepcopy(cfg["certless:workloads"][WORKLOAD])
    cfg["certless:workloads"]["orders-batch2"]["vm"]["name"] = WORKLOAD
    with pytest.raises(ConfigError, match="already the VM name of workload"):
        load(cfg, set(), "prod")


def test_environment_file_refuses_what_systemd_would_misread() -> None:
    with pytest.raises(cloud_init.CloudInitError, match="control character"):
        cloud_init.environment_file([("A", "x\ry")])
    with pytest.raises(cloud_init.CloudInitError, match="letters, digits"):
        cloud_init.environment_file([("A B", "x")])
