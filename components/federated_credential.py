"""FederatedCredential: one FIC on an app registration or on a user-assigned identity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import managedidentity

from components.handles import AppOutputs, IdentityOutputs
from components.naming import check_fic_name


@dataclass(frozen=True)
class FederatedCredentialArgs:
    """Exactly one of ``app`` and ``identity`` is the credential's owner.

    For the app trusting a managed identity: issuer = the cloud's v2.0 issuer for the tenant, subject =
    the identity's principal (object) ID, never its client ID. For trusting an AKS cluster: issuer = the
    cluster's OIDC issuer URL, subject = ``system:serviceaccount:<namespace>:<service-account>``.
    """

    credential_name: str
    issuer: pulumi.Input[str]
    subject: pulumi.Input[str]
    audience: str
    app: AppOutputs | None = None
    identity: IdentityOutputs | None = None
    description: str | None = None


class FederatedCredential(pulumi.ComponentResource):
    def __init__(self, name: str, args: FederatedCredentialArgs, opts: pulumi.ResourceOptions | None = None):
        # Checked before registering anything, so a bad call leaves no half-declared component.
        check_fic_name(args.credential_name)
        if (args.app is None) == (args.identity is None):
            raise ValueError(f"FederatedCredential {name!r}: give exactly one of app or identity")
        super().__init__("certless:entra:FederatedCredential", name, None, opts)
        self.on = "app" if args.app is not None else "identity"
        resource: pulumi.CustomResource
        if args.app is not None:
            resource = azuread.ApplicationFederatedIdentityCredential(
                name,
                application_id=args.app.application_id,
                display_name=args.credential_name,
                description=args.description,
                issuer=args.issuer,
                subject=args.subject,
                audiences=[args.audience],
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            assert args.identity is not None
            queue = args.identity.fic_writes
            resource = managedidentity.FederatedIdentityCredential(
                name,
                resource_group_name=args.identity.resource_group_name,
                resource_name_=args.identity.name,
                federated_identity_credential_resource_name=args.credential_name,
                issuer=args.issuer,
                subject=args.subject,
                audiences=[args.audience],
                # The identity's own subscription: the FIC's address (group and name) names none.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=queue.depends_on(), provider=args.identity.provider
                ),
            )
            queue.push(resource)
        self.resource = resource
        self.credential_name = args.credential_name
        self.issuer = pulumi.Output.from_input(args.issuer)
        self.subject = pulumi.Output.from_input(args.subject)
        self.audience = args.audience
        self.register_outputs(
            {
                "name": args.credential_name,
                "on": self.on,
                "issuer": self.issuer,
                "subject": self.subject,
                "audience": args.audience,
            }
        )

    def describe(self) -> pulumi.Output[dict[str, str]]:
        """The record exported under ``workloads.<name>.federatedCredentials``."""
        return pulumi.Output.all(self.issuer, self.subject).apply(
            lambda v: {
                "name": self.credential_name,
                "on": self.on,
                "issuer": v[0],
                "subject": v[1],
                "audience": self.audience,
            }
        )
