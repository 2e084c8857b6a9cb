"""ManagedIdentity: a user-assigned identity, created here or adopted by resource ID."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity

from components.handles import IdentityOutputs


@dataclass(frozen=True)
class ManagedIdentityArgs:
    resource_group_name: pulumi.Input[str] | None = None
    """Resource group of a new identity."""
    identity_name: str | None = None
    """Physical name of a new identity (3-128 characters)."""
    location: pulumi.Input[str] | None = None
    tags: Mapping[str, str] | None = None
    existing_resource_id: str | None = None
    """Adopt this identity instead of creating one: it is only read, never created or changed."""


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1]


class ManagedIdentity(pulumi.ComponentResource):
    """Outputs ``client_id``, ``principal_id``, ``tenant_id``, ``resource_id`` and ``name``."""

    def __init__(self, name: str, args: ManagedIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        new = args.existing_resource_id is None
        if new and (args.resource_group_name is None or args.identity_name is None):
            raise ValueError(
                f"ManagedIdentity {name!r}: a new identity needs resource_group_name and identity_name"
            )
        super().__init__("certless:identity:ManagedIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_resource_id is not None:
            uami = managedidentity.UserAssignedIdentity.get(name, args.existing_resource_id, opts=child)
            resource_group: pulumi.Output[str] = pulumi.Output.from_input(
                resource_group_of(args.existing_resource_id)
            )
        else:
            assert args.resource_group_name is not None
            uami = managedidentity.UserAssignedIdentity(
                name,
                resource_group_name=args.resource_group_name,
                resource_name_=args.identity_name,
                location=args.location,
                tags=dict(args.tags) if args.tags else None,
                opts=child,
            )
            resource_group = pulumi.Output.from_input(args.resource_group_name)
        self.resource = uami
        self.client_id = uami.client_id
        self.principal_id = uami.principal_id
        self.tenant_id = uami.tenant_id
        self.resource_id = uami.id
        self.name = uami.name
        self.outputs = IdentityOutputs(
            client_id=uami.client_id,
            principal_id=uami.principal_id,
            tenant_id=uami.tenant_id,
            resource_id=uami.id,
            name=uami.name,
            resource_group_name=resource_group,
            protected=bool(opts is not None and opts.protect),
        )
        self.register_outputs(
            {
                "client_id": self.client_id,
                "principal_id": self.principal_id,
                "tenant_id": self.tenant_id,
                "resource_id": self.resource_id,
                "name": self.name,
            }
        )
