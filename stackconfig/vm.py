"""The ``vm`` block of a workload: a Linux scale set or VM, SSH-key login only, settings by cloud-init."""

from __future__ import annotations

import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from components import cloud_init
from components.azure_ad import FROM_MANAGED_IDENTITY
from components.naming import with_color
from components.virtual_machine import unit_name
from stackconfig import rules as r
from stackconfig.errors import ConfigError
from stackconfig.model import VmSpec
from stackconfig.secrets import KEY_VAULT_ADVICE, secret_reason

FIELDS = (
    "name",
    "mode",
    "instances",
    "size",
    "image",
    "adminUsername",
    "sshPublicKey",
    "command",
    "serviceUser",
    "subnetId",
    "env",
)
PASSWORD_FIELDS = ("adminPassword", "password")

VM_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")
VM_SIZE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]{1,40}$")
LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_URN_PART = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
IMAGE_URN = re.compile(rf"^{_URN_PART}:{_URN_PART}:{_URN_PART}:([A-Za-z0-9.]+)$")
SUBNET_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/"
    r"Microsoft\.Network/virtualNetworks/[A-Za-z0-9][\w.-]{0,78}/subnets/[A-Za-z0-9][\w.-]{0,78}$",
    re.IGNORECASE,
)
PROCESS_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_INSTANCES = 100
"""A Uniform scale set in one placement group (the default) holds at most 100 instances."""

# Names Azure refuses as the admin user of a Linux VM (the API's disallowed list).
RESERVED_USERS = frozenset(
    {
        *("administrator", "admin", "admin1", "admin2", "user", "user1", "user2", "user3", "user4", "user5"),
        *("test", "test1", "test2", "test3", "1", "123", "a", "actuser", "adm", "aspnet", "backup"),
        *("console", "david", "guest", "john", "owner", "root", "server", "sql", "support"),
        *("support_388945a0", "sys"),
    }
)


def ssh_public_key(key: str, value: Any) -> str:
    """An OpenSSH public key line Azure accepts for Linux: RSA of 2048 bits or more, or Ed25519."""
    expected = "an OpenSSH public key line: 'ssh-rsa AAAA…' (2048 bits or more) or 'ssh-ed25519 AAAA…'"
    if isinstance(value, str) and ("PRIVATE KEY" in value or value.lstrip().startswith("-----BEGIN")):
        # Never echo it: it is a private key.
        raise ConfigError(f"config {key}: holds a private key; expected {expected}. Remove it from config.")
    text = r.string(key, value)
    kind = text.split(" ", 1)[0]
    if kind not in ("ssh-rsa", "ssh-ed25519"):
        raise r.fail(key, value, f"{expected}; got a {kind[:20]!r} key")
    try:
        loaded = load_ssh_public_key(text.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise r.fail(key, value, expected) from None
    if isinstance(loaded, rsa.RSAPublicKey):
        if loaded.key_size < 2048:
            raise r.fail(key, value, f"{expected}; this RSA key has {loaded.key_size} bits")
    elif not isinstance(loaded, ed25519.Ed25519PublicKey):
        raise r.fail(key, value, expected)
    return text


def _command(key: str, value: Any) -> str:
    text = r.string(key, value)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) or not text.startswith("/"):
        raise r.fail(key, value, "one command line starting with an absolute path, like /opt/app/bin/serve")
    reason = secret_reason("command", text)
    if reason:
        raise ConfigError(
            f"config {key}: {reason}; a certificateless app needs no secret. {KEY_VAULT_ADVICE}"
        )
    return text


def vm(key: str, value: Any, workload: str, color: str | None, reserved_prefix: str) -> VmSpec:
    if not isinstance(value, dict):
        raise r.fail(key, value, "a mapping with at least sshPublicKey and command")
    for field in PASSWORD_FIELDS:
        if field in value:
            # Never echo it: it is the password.
            raise ConfigError(
                f"config {r.where(key, field)}: a VM password is refused; expected sshPublicKey only"
                " (certless VMs allow SSH key login only)"
            )
    obj = r.fields(key, value, FIELDS, ("sshPublicKey", "command"))
    name = r.match(
        r.where(key, "name"),
        with_color(obj.get("name", workload), color),
        VM_NAME,
        "a valid Azure VM name: 1-64 letters, digits or '-', not starting or ending with '-'",
    )
    mode = r.one_of(r.where(key, "mode"), obj.get("mode", "scaleset"), ("scaleset", "single"))
    if mode == "single" and obj.get("instances") is not None:
        raise r.fail(r.where(key, "instances"), obj["instances"], "no instances for mode single (one VM)")
    instances = r.integer(r.where(key, "instances"), obj.get("instances", 2), 1, MAX_INSTANCES)
    size = r.match(
        r.where(key, "size"), obj.get("size", "Standard_B2s"), VM_SIZE, "a VM size like Standard_B2s"
    )
    image_urn = r.match(
        r.where(key, "image"),
        obj.get("image", "Canonical:ubuntu-24_04-lts:server:latest"),
        IMAGE_URN,
        "an image URN publisher:offer:sku:version, like Canonical:ubuntu-24_04-lts:server:latest",
    )
    user = r.match(
        r.where(key, "adminUsername"),
        obj.get("adminUsername", "azureuser"),
        LINUX_USER,
        "a Linux user name: 1-32 lowercase letters, digits, '_' or '-', starting with a letter or '_'",
    )
    if user in RESERVED_USERS:
        raise r.fail(
            r.where(key, "adminUsername"), user, "a name Azure allows (not admin, root, user, test, …)"
        )
    service_user = r.match(
        r.where(key, "serviceUser"),
        obj.get("serviceUser", "certless-app"),
        LINUX_USER,
        "a Linux user name: 1-32 lowercase letters, digits, '_' or '-', starting with a letter or '_'",
    )
    if service_user in ("root", user):
        raise r.fail(
            r.where(key, "serviceUser"), service_user, "a user of its own (not root, not the admin user)"
        )
    subnet = obj.get("subnetId")
    if subnet is not None:
        subnet = r.match(
            r.where(key, "subnetId"),
            subnet,
            SUBNET_ID,
            "a subnet resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
            "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
        )
    env = r.string_map(r.where(key, "env"), obj.get("env", {}), reserved_prefix)
    for setting in env:
        if not PROCESS_ENV.fullmatch(setting):
            raise r.fail(
                r.where(key, "env", setting), setting, "an environment name of letters, digits and '_'"
            )
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in env[setting]):
            raise r.fail(r.where(key, "env", setting), env[setting], "a value on one line")
    command = _command(r.where(key, "command"), obj["command"])
    _check_custom_data_size(key, name, command, service_user, env)
    found = IMAGE_URN.fullmatch(image_urn)
    assert found is not None
    return VmSpec(
        name=name,
        mode=mode,  # type: ignore[arg-type]
        instances=instances,
        size=size,
        image=found.groups(),  # type: ignore[arg-type]
        admin_username=user,
        ssh_public_key=ssh_public_key(r.where(key, "sshPublicKey"), obj["sshPublicKey"]),
        command=command,
        service_user=service_user,
        subnet_id=subnet,
        env=env,
    )


# The settings certless adds, with values as long as they can be (IDs are GUIDs; the longest instance).
_PLACEHOLDER_GUID = "00000000-0000-0000-0000-000000000000"
_AZURE_AD_AT_MOST = [
    ("AzureAd__Instance", "https://login.partner.microsoftonline.cn/"),
    ("AzureAd__TenantId", _PLACEHOLDER_GUID),
    ("AzureAd__ClientId", _PLACEHOLDER_GUID),
    ("AzureAd__ClientCredentials__0__SourceType", FROM_MANAGED_IDENTITY),
    ("AzureAd__ClientCredentials__0__ManagedIdentityClientId", _PLACEHOLDER_GUID),
    ("AzureAd__ClientCredentials__0__TokenExchangeUrl", "api://AzureADTokenExchangeUSGov"),
]


def _check_custom_data_size(key: str, name: str, command: str, user: str, env: dict[str, str]) -> None:
    """Custom data over Azure's limit fails only at deploy, after other resources exist: check it now."""
    try:
        cloud_init.document(
            unit_name(name),
            command,
            user,
            [*_AZURE_AD_AT_MOST, *sorted(env.items())],
            f"certless workload {name}",
        )
    except cloud_init.CloudInitError as err:
        raise ConfigError(f"config {key}: {err}; shorten env or command") from None
