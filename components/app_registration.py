"""AppRegistration: an Entra application and its service principal in the home tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azuread as azuread

from components.handles import AppOutputs


@dataclass(frozen=True)
class AppRole:
    value: str
    display_name: str
    description: str
    id: str


@dataclass(frozen=True)
class AppRegistrationArgs:
    display_name: str
    owners: Sequence[str] = field(default_factory=tuple)
    """Object IDs of the owners; the deployer must be one (or hold Application.ReadWrite.All) to add FICs."""
    sign_in_audience: str = "AzureADMyOrg"
    app_roles: Sequence[AppRole] = field(default_factory=tuple)
    """Application permissions this app exposes; with any, its identifier URI is ``api://<client id>``."""


class AppRegistration(pulumi.ComponentResource):
    """Outputs ``client_id``, ``object_id`` and ``application_id`` (``/applications/{objectId}``)."""

    def __init__(self, name: str, args: AppRegistrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("certless:entra:AppRegistration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        owners = list(args.owners) or None
        roles = [
            azuread.ApplicationAppRoleArgs(
                allowed_member_types=["Application"],  # application permissions, granted to apps
                description=role.description,
                display_name=role.display_name,
                id=role.id,
                enabled=True,
                value=role.value,
            )
            for role in args.app_roles
        ]
        application = azuread.Application(
            name,
            display_name=args.display_name,
            sign_in_audience=args.sign_in_audience,
            owners=owners,
            prevent_duplicate_names=True,
            app_roles=roles or None,
            # The identifier URI names the client ID, known only after creation: a separate resource
            # owns it, so the application must not fight over the list.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["identifierUris"] if roles else None),
        )
        principal = azuread.ServicePrincipal(name, client_id=application.client_id, owners=owners, opts=child)
        self.identifier_uri: azuread.ApplicationIdentifierUri | None = None
        if roles:
            self.identifier_uri = azuread.ApplicationIdentifierUri(
                name,
                application_id=application.id,
                identifier_uri=application.client_id.apply(lambda cid: f"api://{cid}"),
                opts=child,
            )
        self.application = application
        self.service_principal = principal
        self.outputs = AppOutputs(
            client_id=application.client_id,
            object_id=application.object_id,
            service_principal_id=principal.object_id,
        )
        self.client_id = application.client_id
        self.object_id = application.object_id
        self.application_id = self.outputs.application_id
        self.register_outputs(
            {
                "client_id": self.client_id,
                "object_id": self.object_id,
                "application_id": self.application_id,
                "service_principal_object_id": principal.object_id,
            }
        )
