"""App Service Authentication (Easy Auth) signing users in with the app registration's FIC, not a secret.

The platform's sign-in module redeems codes as the app registration. Told ``clientSecretSettingName:
OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID``, it reads that app setting as the client ID of a user-assigned
identity attached to the site and presents that identity's token as the client assertion, which the
app's FIC trusts (azure-docs ``app-service/configure-authentication-provider-aad.md``, "Use a managed
identity instead of a secret"). No secret setting exists.

The resource is azure-native's ``WebAppAuthSettingsV2WithoutSecrets``: the same ``PUT
.../config/authsettingsV2`` as ``WebAppAuthSettingsV2``, at the provider's current API version (its
``WebAppAuthSettingsV2`` stays on 2021-02-01, the last version whose GET of that path was named so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import web

FIC_OVERRIDE_SETTING = "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
"""The app setting Easy Auth reads as the client ID of the identity whose token is its client assertion."""
CALLBACK_PATH = "/.auth/login/aad/callback"
"""Where Entra sends Easy Auth's sign-in responses: a redirect URI on the site's host."""
UNAUTHENTICATED_ACTIONS = ("RedirectToLoginPage", "AllowAnonymous", "Return401", "Return403")
AUTH_SETTINGS_TYPE = "azure-native:web:WebAppAuthSettingsV2WithoutSecrets"


def callback_uri(host: str) -> str:
    return f"https://{host}{CALLBACK_PATH}"


@dataclass(frozen=True)
class EasyAuth:
    """What ``appService.authentication`` (or ``functionApp.authentication``) asks of the platform."""

    require_authentication: bool = True
    unauthenticated_client_action: str = "RedirectToLoginPage"
    allowed_audiences: Sequence[str] = ()
    """Audiences accepted beside ``api://<client id>`` (bearer tokens sent to the site)."""
    allowed_applications: Sequence[str] = ()
    """Client IDs of the only apps whose tokens are accepted; empty: any app of the tenant."""
    excluded_paths: Sequence[str] = ()
    token_store: bool = True
    login_parameters: Sequence[str] = ()


def declare_auth_settings(
    name: str,
    *,
    site_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    client_id: pulumi.Input[str],
    issuer: str,
    auth: EasyAuth,
    opts: pulumi.ResourceOptions,
) -> tuple[web.WebAppAuthSettingsV2WithoutSecrets, web.WebAppSlotConfigurationNames]:
    """The site's authsettingsV2 (Entra provider, FIC override) and the override setting made slot-sticky."""
    audiences = pulumi.Output.from_input(client_id).apply(
        lambda cid: [f"api://{cid}", *(a for a in auth.allowed_audiences if a != f"api://{cid}")]
    )
    settings = web.WebAppAuthSettingsV2WithoutSecrets(
        name,
        name=site_name,
        resource_group_name=resource_group_name,
        platform=web.AuthPlatformArgs(enabled=True),
        global_validation=web.GlobalValidationArgs(
            require_authentication=auth.require_authentication,
            unauthenticated_client_action=web.UnauthenticatedClientActionV2(
                auth.unauthenticated_client_action
            ),
            redirect_to_provider="azureactivedirectory",
            excluded_paths=list(auth.excluded_paths) or None,
        ),
        http_settings=web.HttpSettingsArgs(require_https=True),
        identity_providers=web.IdentityProvidersV1Args(
            azure_active_directory=web.AzureActiveDirectoryArgs(
                enabled=True,
                registration=web.AzureActiveDirectoryRegistrationArgs(
                    client_id=client_id,
                    open_id_issuer=issuer,
                    # Not a secret: the name of the setting holding the identity's client ID.
                    client_secret_setting_name=FIC_OVERRIDE_SETTING,
                ),
                login=web.AzureActiveDirectoryLoginArgs(login_parameters=list(auth.login_parameters))
                if auth.login_parameters
                else None,
                validation=web.AzureActiveDirectoryValidationArgs(
                    allowed_audiences=audiences,
                    default_authorization_policy=web.DefaultAuthorizationPolicyArgs(
                        allowed_applications=list(auth.allowed_applications)
                    )
                    if auth.allowed_applications
                    else None,
                ),
            )
        ),
        login=web.LoginArgs(token_store=web.TokenStoreArgs(enabled=auth.token_store)),
        opts=opts,
    )
    # Slot-sticky, as the platform asks: a swapped-in slot keeps the identity it is assigned.
    sticky = web.WebAppSlotConfigurationNames(
        name,
        name=site_name,
        resource_group_name=resource_group_name,
        app_setting_names=[FIC_OVERRIDE_SETTING],
        opts=opts,
    )
    return settings, sticky


def easy_auth_settings(
    auth: EasyAuth | None, mi_client_id: pulumi.Input[str] | None
) -> list[tuple[str, pulumi.Input[str]]]:
    """The FIC override setting: the client ID of the user-assigned identity (never the app's)."""
    if auth is None or mi_client_id is None:
        return []
    return [(FIC_OVERRIDE_SETTING, mi_client_id)]
