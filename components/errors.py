"""Errors the components raise about the live environment (found while the program runs, not in config)."""

from __future__ import annotations

from typing import Any

import pulumi


class EnvironmentMismatchError(pulumi.RunError):
    """An existing resource is not in the state the workload needs; the message names it and the fix.

    A ``RunError``, so the Pulumi engine prints the message without a stack trace.
    """


def system_principal(identity: Any, what: str) -> str:
    """The principal ID Azure reports for a compute resource's system-assigned identity."""
    principal = getattr(identity, "principal_id", None) if identity is not None else None
    if not principal:
        raise EnvironmentMismatchError(
            f"{what} reports no system-assigned identity principal; expected Azure to return"
            " identity.principalId for identity type SystemAssigned"
        )
    return str(principal)
