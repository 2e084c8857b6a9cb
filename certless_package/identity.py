"""ManagedIdentity for the package: a user-assigned identity, created or adopted by resource ID."""

import pulumi

from certless_package.convert import plain
from certless_package.index_type import IndexTyped
from certless_package.types import ManagedIdentityArgs
from components import identity as base


class ManagedIdentity(base.ManagedIdentity, IndexTyped):
    """A user-assigned managed identity, to share between workloads (pass it as their identity by ID)."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """Principal (object) ID: the subject of an app's FIC trusting this identity."""
    tenant_id: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ManagedIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, base.ManagedIdentityArgs(**plain(args)), opts)
