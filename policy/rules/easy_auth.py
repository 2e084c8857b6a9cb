"""App Service Authentication (Easy Auth): the FIC override instead of a secret, a callback Entra knows, and
an identity the app registration trusts.

The platform's Entra provider redeems sign-in codes with the credential its ``clientSecretSettingName``
points at. Named ``OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID``, that setting holds a user-assigned identity's
client ID and the credential is that identity's token, which the app's FIC trusts; any other name is an
app setting holding a client secret (azure-docs ``app-service/configure-authentication-provider-aad.md``).
Entra refuses a sign-in whose redirect URI the app does not list (AADSTS50011), the platform's hybrid
sign-in (``response_type=code id_token``) for an app that issues no ID tokens (AADSTS700054; the azure-docs
article above has the app enable them), and the assertion of an identity no FIC trusts (AADSTS70021); all
only show when a user signs in.
"""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack
from ._props import APP, APP_FIC, WEB_TYPES, as_dict, as_list, dig, met_unknown, plain

AUTH_SETTINGS_TYPES: Final = frozenset(
    {
        "azure-native:web:WebAppAuthSettingsV2",
        "azure-native:web:WebAppAuthSettingsV2WithoutSecrets",
        "azure-native:web:WebAppAuthSettingsV2Slot",
        "azure-native:web:WebAppAuthSettingsV2WithoutSecretsSlot",
    }
)
APP_REDIRECT_URIS: Final = "azuread:index/applicationRedirectUris:ApplicationRedirectUris"
FIC_OVERRIDE_SETTING: Final = "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
CALLBACK_PATH: Final = "/.auth/login/aad/callback"
CERTIFICATE_FIELDS: Final = (
    "clientSecretCertificateThumbprint",
    "clientSecretCertificateIssuer",
    "clientSecretCertificateSubjectAlternativeName",
)

USES_FIC: Final = "certless-easy-auth-uses-fic"
CALLBACK_REGISTERED: Final = "certless-easy-auth-callback-registered"
IDENTITY_TRUSTED: Final = "certless-easy-auth-identity-trusted"
ID_TOKENS_ISSUED: Final = "certless-easy-auth-id-tokens-issued"


def _entra(props: Any) -> dict[str, Any] | None:
    """The Entra provider block when it signs users in (enabled, or enabled by default)."""
    aad = dig(props, "identityProviders", "azureActiveDirectory")
    if not isinstance(aad, dict) or dig(aad, "enabled") is False:
        return None
    return aad


def _uses_fic(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in AUTH_SETTINGS_TYPES:
        return
    props = plain(args.props)
    aad = _entra(props)
    if aad is None:
        return
    registration = as_dict(dig(aad, "registration"))
    setting = dig(registration, "clientSecretSettingName")
    if met_unknown(setting, registration, "clientSecretSettingName"):
        return
    for name in CERTIFICATE_FIELDS:
        if isinstance(dig(registration, name), str) and registration[name]:
            report(
                f"'{args.name}' signs users in with a certificate ({name}); expected clientSecretSettingName"
                f" {FIC_OVERRIDE_SETTING}, so the site's user-assigned identity is the credential.",
                None,
            )
            return
    if setting is None:
        report(
            f"'{args.name}' has no client credential for the Entra provider, so the platform falls back to"
            f" the implicit grant; expected clientSecretSettingName {FIC_OVERRIDE_SETTING} (the identity's"
            " token through the app's FIC).",
            None,
        )
    elif setting != FIC_OVERRIDE_SETTING:
        shown = setting if isinstance(setting, str) and len(setting) <= 80 else f"{str(setting)[:77]}..."
        report(
            f"'{args.name}' reads the Entra client secret from app setting {shown!r}; expected"
            f" clientSecretSettingName {FIC_OVERRIDE_SETTING} (the identity's token through the app's FIC),"
            " and no secret setting.",
            None,
        )


def _site_of(view: _stack.StackView, auth: _stack.Node) -> _stack.Node | None:
    """The site an authsettingsV2 belongs to: its ARM ID is ``<site id>/config/authsettingsV2``."""
    rid = dig(auth.props, "id")
    if not isinstance(rid, str) or "/config/" not in rid.lower():
        return None
    site_id = rid[: rid.lower().rindex("/config/")].lower()
    for node in view.nodes:
        if node.type in WEB_TYPES and str(dig(node.props, "id") or "").lower() == site_id:
            return node
    return None


def _signing_in(view: _stack.StackView) -> list[tuple[_stack.Node, _stack.Node, _stack.Node]]:
    """(auth settings, site, app registration) for each site whose Entra provider is an app of this stack.

    An app another stack owns (a blue-green colour's) is not judged here: bluegreen-check reads both.
    """
    apps = {
        dig(n.props, "clientId"): n
        for n in view.nodes
        if n.type == APP and isinstance(dig(n.props, "clientId"), str)
    }
    found = []
    for node in view.nodes:
        if node.type not in AUTH_SETTINGS_TYPES:
            continue
        aad = _entra(node.props)
        client = dig(aad, "registration", "clientId") if aad is not None else None
        if aad is None or met_unknown(client, node.props, "clientId") or client not in apps:
            continue
        site = _site_of(view, node)
        if site is not None:
            found.append((node, site, apps[client]))
    return found


def _callback_registered(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    for auth, site, app in _signing_in(view):
        host = dig(site.props, "defaultHostName")
        if met_unknown(host, site.props, "defaultHostName") or not isinstance(host, str):
            continue
        callback = f"https://{host}{CALLBACK_PATH}"
        uris = list(as_list(dig(app.props, "web", "redirectUris")))
        app_id = dig(app.props, "id")
        for node in view.nodes:
            same_app = node.type == APP_REDIRECT_URIS and dig(node.props, "applicationId") == app_id
            if same_app and str(dig(node.props, "type")) == "Web":
                uris += as_list(dig(node.props, "redirectUris"))
        if callback not in uris:
            report(
                f"'{auth.name}' signs users in to {host} as application '{app.name}', which lists no"
                f" redirect URI {callback}; Entra refuses the sign-in (AADSTS50011). Add it to the"
                " application's web redirect URIs.",
                auth.urn,
            )


def _id_tokens_issued(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    for auth, site, app in _signing_in(view):
        enabled = dig(app.props, "web", "implicitGrant", "idTokenIssuanceEnabled")
        if met_unknown(enabled, app.props, "web") or enabled is True:
            continue
        report(
            f"'{auth.name}' signs site '{site.name}' users in as application '{app.name}', which issues no"
            " ID tokens (web.implicitGrant.idTokenIssuanceEnabled is not true); App Service Authentication"
            " asks for 'code id_token' and Entra refuses it (AADSTS700054). Enable ID-token issuance on"
            " the application (access tokens stay off).",
            auth.urn,
        )


def _identity_trusted(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    for auth, site, app in _signing_in(view):
        attached = dig(site.props, "identity", "userAssignedIdentities")
        if met_unknown(attached, site.props, "identity"):
            continue
        principals = {
            dig(v, "principalId")
            for v in as_dict(attached).values()
            if isinstance(dig(v, "principalId"), str)
        }
        app_id = dig(app.props, "id")
        trusted = {
            f.subject
            for f in view.fics
            if f.node.type == APP_FIC and f.on == "app" and f.parent_key == app_id
        }
        if any(met_unknown(s) for s in trusted):
            continue
        if not principals:
            report(
                f"'{auth.name}' signs users in with the FIC override, but site '{site.name}' has no"
                " user-assigned identity; expected one whose client ID is in"
                f" {FIC_OVERRIDE_SETTING} and whose principal ID a FIC on '{app.name}' trusts.",
                auth.urn,
            )
        elif not principals & trusted:
            report(
                f"'{auth.name}' signs users in as application '{app.name}' with the token of a user-assigned"
                f" identity of site '{site.name}', but no FIC on '{app.name}' trusts one of them (subject ="
                " its principal ID); Entra refuses the assertion (AADSTS70021).",
                auth.urn,
            )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=USES_FIC,
        description=(
            f"App Service Authentication's Entra provider uses the FIC override ({FIC_OVERRIDE_SETTING}),"
            " never a client secret setting or a certificate."
        ),
        validate=_uses_fic,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name=CALLBACK_REGISTERED,
        description=(
            "A site signing users in with App Service Authentication has its callback"
            f" https://<host>{CALLBACK_PATH} among its application's web redirect URIs."
        ),
        validate=_callback_registered,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name=IDENTITY_TRUSTED,
        description=(
            "A site signing users in with the FIC override has a user-assigned identity its application's"
            " FIC trusts (subject = the identity's principal ID)."
        ),
        validate=_identity_trusted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name=ID_TOKENS_ISSUED,
        description=(
            "A site signing users in with App Service Authentication does so as an application that issues"
            " ID tokens (its hybrid sign-in asks for code id_token)."
        ),
        validate=_id_tokens_issued,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
