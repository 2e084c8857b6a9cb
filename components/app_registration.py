"""AppRegistration: an Entra application and its service principal in the home tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azuread as azuread

from components.handles import AppOutputs


@dataclass(frozen=True)
class AppRegistrationArgs:
    display_name: str
    owners: Sequence[str] = field(default_factory=tuple)
    """Object IDs of the owners; the deployer must be one (or hold Application.ReadWrite.All) to add FICs."""
    sign_in_audience: str = "AzureADMyOrg"


class AppRegistration(pulumi.ComponentResource):
    """Outputs ``client_id``, ``object_id`` and ``application_id`` (``/applications/{objectId}``)."""

    def __init__(self, name: str, args: AppRegistrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("certless:entra:AppRegistration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        owners = list(args.owners) or None
        application = azuread.Application(
            name,
            display_name=args.display_name,
            sign_in_audience=args.sign_in_audience,
            owners=owners,
            prevent_duplicate_names=True,
            opts=child,
        )
        principal = azuread.ServicePrincipal(name, client_id=application.client_id, owners=owners, opts=child)
        self.application = application
        self.service_principal = principal
        self.outputs = AppOutputs(client_id=application.client_id, object_id=application.object_id)
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
