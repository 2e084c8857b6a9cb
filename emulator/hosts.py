"""Host kinds the emulator can impersonate, and the loopback-only rule for where it listens."""

from __future__ import annotations

import ipaddress

from emulator.errors import EmulatorError

HOST_KINDS = ("appservice", "containerapp", "aks-via-identity", "aks-direct", "vm")
LOOPBACK = "127.0.0.1"


def check_loopback(host: str) -> str:
    """The emulator hands out tokens to anyone who can reach it: refuse anything but loopback."""
    if host == "localhost":
        return LOOPBACK
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise EmulatorError(f"--host: got {host!r}, expected the loopback address 127.0.0.1") from None
    if str(addr) != LOOPBACK:
        raise EmulatorError(
            f"--host: got {host}, expected the loopback address 127.0.0.1 (the emulator issues tokens "
            "to anyone who can reach it, so it never listens on other interfaces)"
        )
    return LOOPBACK
