"""Virtual machines: SSH key login only, and no SSH port open to the internet."""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import SCALE_SET, UNKNOWN, VM_TYPES, as_list, dig, os_profile, plain

VM_HARDENING: Final = "certless-vm-hardening"

NSG: Final = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE: Final = "azure-native:network:SecurityRule"
NIC: Final = "azure-native:network:NetworkInterface"
SSH_PORT: Final = 22
_ANYWHERE: Final = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})


def _login_problems(resource_type: str, props: dict[str, Any]) -> list[str]:
    profile = os_profile(resource_type, props)
    problems: list[str] = []
    password = dig(profile, "adminPassword")
    if password not in (None, UNKNOWN, ""):
        problems.append("osProfile.adminPassword is set (use SSH keys only)")
    disabled = dig(profile, "linuxConfiguration", "disablePasswordAuthentication")
    if disabled is not UNKNOWN and disabled is not True:
        problems.append("linuxConfiguration.disablePasswordAuthentication is not true")
    keys = dig(profile, "linuxConfiguration", "ssh", "publicKeys")
    if keys is not UNKNOWN and not as_list(keys):
        problems.append("no SSH public key is configured")
    return problems


def _public_ip_configs(props: dict[str, Any]) -> list[str]:
    """Scale set NIC configurations that give each instance a public address."""
    found: list[str] = []
    nics = dig(props, "virtualMachineProfile", "networkProfile", "networkInterfaceConfigurations")
    for nic in as_list(nics):
        for ip in as_list(dig(nic, "ipConfigurations")):
            if dig(ip, "publicIPAddressConfiguration") not in (None, UNKNOWN):
                found.append(f"{dig(nic, 'name') or '?'}/{dig(ip, 'name') or '?'}")
    return found


def _covers_ssh(port: Any) -> bool:
    if not isinstance(port, str):
        return False
    port = port.strip()
    if port == "*":
        return True
    low, _, high = port.partition("-")
    try:
        return int(low) <= SSH_PORT <= int(high or low)
    except ValueError:
        return False


def _from_anywhere(prefix: Any) -> bool:
    if not isinstance(prefix, str):
        return False
    text = prefix.strip().lower()
    if text in _ANYWHERE:
        return True
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen == 0
    except ValueError:
        return False


def _open_ssh(rule: Any) -> bool:
    """An inbound Allow rule that lets the internet reach port 22."""
    props = dig(rule, "properties") if isinstance(dig(rule, "properties"), dict) else rule
    if (
        str(dig(props, "direction") or "").lower() != "inbound"
        or str(dig(props, "access") or "").lower() != "allow"
    ):
        return False
    ports = [dig(props, "destinationPortRange"), *as_list(dig(props, "destinationPortRanges"))]
    sources = [dig(props, "sourceAddressPrefix"), *as_list(dig(props, "sourceAddressPrefixes"))]
    return any(_covers_ssh(p) for p in ports) and any(_from_anywhere(s) for s in sources)


def _vm_hardening(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    problems: list[str] = []
    if args.resource_type in VM_TYPES:
        problems += _login_problems(args.resource_type, props)
        if args.resource_type == SCALE_SET:
            problems += [f"NIC configuration {c} has a public IP address" for c in _public_ip_configs(props)]
    elif args.resource_type == NIC:
        for ip in as_list(dig(props, "ipConfigurations")):
            if dig(ip, "publicIPAddress") not in (None, UNKNOWN):
                problems.append(f"IP configuration '{dig(ip, 'name') or '?'}' has a public IP address")
    elif args.resource_type == NSG:
        for rule in as_list(dig(props, "securityRules")):
            if _open_ssh(rule):
                problems.append(f"security rule '{dig(rule, 'name') or '?'}' allows SSH (22) from anywhere")
    elif args.resource_type == SECURITY_RULE and _open_ssh(props):
        problems.append("it allows SSH (22) from anywhere")
    if problems:
        report(f"'{args.name}': " + "; ".join(problems) + ".", None)


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=VM_HARDENING,
        description=(
            "Virtual machines and scale sets: SSH key login only (no password, password authentication "
            "disabled), no public IP address on their network interfaces, and no network security rule "
            "that opens SSH (22) to the internet."
        ),
        validate=_vm_hardening,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
