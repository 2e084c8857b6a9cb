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
class WebPlatform:
    """Where Entra sends sign-in responses. Access tokens are never issued by the implicit grant."""

    redirect_uris: Sequence[str]
    logout_url: str | None = None
    homepage_url: str | None = None
    id_tokens: bool = False
    """Implicit ID-token issuance, for hybrid flows (``response_type=code id_token``)."""


@dataclass(frozen=True)
class PermissionScope:
    """A delegated permission the app exposes (``scp`` claim)."""

    value: str
    admin_consent_display_name: str
    description: str
    id: str


@dataclass(frozen=True)
class WebApi:
    scopes: Sequence[PermissionScope] = field(default_factory=tuple)
    requested_access_token_version: int = 2
    known_client_ids: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Client IDs of apps whose consent also covers this API (consent bundling)."""


@dataclass(frozen=True)
class AppRegistrationArgs:
    display_name: str
    owners: Sequence[str] = field(default_factory=tuple)
    """Object IDs of the owners; the deployer must be one (or hold Application.ReadWrite.All) to add FICs."""
    sign_in_audience: str = "AzureADMyOrg"
    app_roles: Sequence[AppRole] = field(default_factory=tuple)
    """Application permissions this app exposes; with any, its identifier URI is ``api://<client id>``."""
    web: WebPlatform | None = None
    api: WebApi | None = None
    """Delegated permissions the app exposes as a web API; its identifier URI is ``api://<client id>``."""


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
        exposes_api = bool(roles) or args.api is not None
        application = azuread.Application(
            name,
            display_name=args.display_name,
            sign_in_audience=args.sign_in_audience,
            owners=owners,
            prevent_duplicate_names=True,
            app_roles=roles or None,
            web=_web(args.web),
            api=_api(args.api),
            # The identifier URI names the client ID, known only after creation: a separate resource
            # owns it, so the application must not fight over the list.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["identifierUris"] if exposes_api else None
            ),
        )
        principal = azuread.ServicePrincipal(name, client_id=application.client_id, owners=owners, opts=child)
        self.identifier_uri: azuread.ApplicationIdentifierUri | None = None
        if exposes_api:
            self.identifier_uri = azuread.ApplicationIdentifierUri(
                name,
                application_id=application.id,
                identifier_uri=application.client_id.apply(lambda cid: f"api://{cid}"),
                opts=child,
            )
        self.application = application
        self.service_principal = principal
        self._name = name
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

    def pre_authorize(self, client_key: str, client_id: pulumi.Input[str], scope_ids: Sequence[str]) -> None:
        """Lets the client app get these scopes of this API without a consent prompt."""
        azuread.ApplicationPreAuthorized(
            f"{self._name}-preauthorizes-{client_key}",
            application_id=self.application_id,
            authorized_client_id=client_id,
            permission_ids=list(scope_ids),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _web(web: WebPlatform | None) -> azuread.ApplicationWebArgs | None:
    if web is None:
        return None
    return azuread.ApplicationWebArgs(
        redirect_uris=list(web.redirect_uris),
        logout_url=web.logout_url,
        homepage_url=web.homepage_url,
        implicit_grant=azuread.ApplicationWebImplicitGrantArgs(
            access_token_issuance_enabled=False,  # tokens in the URL fragment: never
            id_token_issuance_enabled=web.id_tokens,
        ),
    )


def _api(api: WebApi | None) -> azuread.ApplicationApiArgs | None:
    if api is None:
        return None
    return azuread.ApplicationApiArgs(
        requested_access_token_version=api.requested_access_token_version,
        known_client_applications=list(api.known_client_ids) or None,
        oauth2_permission_scopes=[
            azuread.ApplicationApiOauth2PermissionScopeArgs(
                id=scope.id,
                value=scope.value,
                admin_consent_display_name=scope.admin_consent_display_name,
                admin_consent_description=scope.description,
                user_consent_display_name=scope.admin_consent_display_name,
                user_consent_description=scope.description,
                type="User",
                enabled=True,
            )
            for scope in api.scopes
        ]
        or None,
    )
