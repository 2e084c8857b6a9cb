"""Compute bindings: the identity the app is told to use, secrets in settings, App Service hardening."""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import _stack
from ._props import (
    CONTAINER_APP,
    K8S_SERVICE_ACCOUNT,
    SCALE_SET,
    SETTINGS_TYPES,
    UNKNOWN,
    VM_TYPES,
    WEB_TYPES,
    Setting,
    as_list,
    client_credentials,
    dig,
    met_unknown,
    normalized_setting_name,
    plain,
    pod_template,
    settings_of,
)
from .secrets import secret_reason as setting_secret_reason

CLIENT_ID = "certless-compute-names-attached-identity"
CLIENT_ID_SET = "certless-compute-sets-identity-client-id"
NO_SECRETS = "certless-no-secrets-in-settings"
APP_SERVICE = "certless-app-service-hardening"

FROM_MANAGED_IDENTITY: Final = "signedassertionfrommanagedidentity"
CLIENT_ID_ANNOTATION: Final = "azure.workload.identity/client-id"


# --- certless-compute-names-attached-identity -------------------------------------------------


def _has_user_assigned(node: _stack.Node) -> Any:
    identity_type = dig(node.props, "identity", "type")
    if identity_type is UNKNOWN:
        return UNKNOWN
    return isinstance(identity_type, str) and "userassigned" in identity_type.replace(" ", "").lower()


def _service_account_client_ids(view: _stack.StackView) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for node in view.nodes:
        if node.type == K8S_SERVICE_ACCOUNT:
            namespace = dig(node.props, "metadata", "namespace") or "default"
            name = dig(node.props, "metadata", "name")
            if isinstance(name, str) and isinstance(namespace, str):
                found[(namespace, name)] = dig(node.props, "metadata", "annotations", CLIENT_ID_ANNOTATION)
    return found


def _client_id(args: StackValidationArgs, report: ReportViolation) -> None:
    view = _stack.build(args.resources)
    accounts = _service_account_client_ids(view)
    identities_by_client = {i.client_id: i for i in view.identities if isinstance(i.client_id, str)}
    identities_by_principal = {i.principal_id: i for i in view.identities if isinstance(i.principal_id, str)}
    for node in view.nodes:
        if node.type not in SETTINGS_TYPES:
            continue
        credentials = client_credentials(settings_of(node.type, node.props))
        if not credentials:
            if node.type in WEB_TYPES and dig(node.props, "siteConfig", "appSettings") is None:
                _settings_follow_attached_identity(node, view, report, "siteConfig")
            elif node.type in VM_TYPES:
                # Custom data is write-only too: the settings inside it come back from no read.
                holder = "virtualMachineProfile" if node.type == SCALE_SET else "osProfile"
                _settings_follow_attached_identity(node, view, report, holder)
            continue
        pod = pod_template(node.type, node.props)
        if node.type in WEB_TYPES or node.type in VM_TYPES or node.type == CONTAINER_APP:
            user_assigned = _has_user_assigned(node)
            if user_assigned is UNKNOWN or not user_assigned:
                continue
            attached = _stack.attached_client_ids(node, view)
            where = "attached to it"
        elif pod is not None:
            namespace = dig(node.props, "metadata", "namespace") or "default"
            account = dig(pod, "spec", "serviceAccountName") or "default"
            if (namespace, account) not in accounts:
                continue  # the service account is not managed here: nothing to compare with
            annotation = accounts[(namespace, account)]
            if not isinstance(annotation, str):
                continue  # unknown, or missing: certless-aks-workload-identity reports the missing annotation
            attached = {annotation}
            where = f"annotated on its service account '{account}'"
        else:
            continue
        if attached is UNKNOWN:
            continue
        for index, fields in sorted(credentials.items()):
            source = fields.get("sourcetype")
            if not isinstance(source, str) or source.lower() != FROM_MANAGED_IDENTITY:
                continue
            key = f"AzureAd__ClientCredentials__{index}__ManagedIdentityClientId"
            value = fields.get("managedidentityclientid")
            if met_unknown(value, node.props, key):
                continue
            if not value:
                continue  # certless-compute-sets-identity-client-id reports it, from the inputs
            if value in attached:
                continue
            if value in identities_by_principal:
                reason = (
                    f"is the PRINCIPAL ID of identity '{identities_by_principal[value].node.name}'; "
                    "the identity endpoint expects its client ID"
                )
            elif value in identities_by_client:
                reason = (
                    f"is the client ID of identity '{identities_by_client[value].node.name}', which is not "
                    f"{where}"
                )
            else:
                reason = f"matches no user-assigned identity {where}"
            report(f"'{node.name}': {key} = '{value}' {reason}.", node.urn)


def _client_id_set(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """From the inputs, which every engine sends (App Service never returns its app settings)."""
    if args.resource_type not in (*WEB_TYPES, *VM_TYPES, CONTAINER_APP):
        return
    props = plain(args.props)
    identity_type = dig(props, "identity", "type")
    if not isinstance(identity_type, str) or "userassigned" not in identity_type.replace(" ", "").lower():
        return
    for index, fields in sorted(client_credentials(settings_of(args.resource_type, props)).items()):
        source = fields.get("sourcetype")
        from_identity = isinstance(source, str) and source.lower() == FROM_MANAGED_IDENTITY
        if from_identity and fields.get("managedidentityclientid") in (None, ""):
            key = f"AzureAd__ClientCredentials__{index}__ManagedIdentityClientId"
            report(
                f"'{args.name}' has a user-assigned identity but {key} is not set: the identity "
                "endpoint cannot tell which identity to use. Set it to the identity's client ID.",
                None,
            )


def _settings_follow_attached_identity(
    node: _stack.Node, view: _stack.StackView, report: ReportViolation, holder: str
) -> None:
    """App Service never returns app settings, nor a VM its custom data (write-only properties), so a
    stack policy cannot read the client ID the app was given. What the engine does send is which
    resources each input took values from: the identities feeding the settings' property (``holder``)
    must be among those feeding ``identity``."""
    identities = {i.node.urn: i for i in view.identities}
    feeding = node.resource.property_dependencies
    settings_from = [identities[d.urn] for d in feeding.get(holder) or [] if d.urn in identities]
    attached = {d.urn for d in feeding.get("identity") or []}
    for identity in settings_from:
        if identity.node.urn not in attached:
            report(
                f"'{node.name}': {holder} takes a value from identity '{identity.node.name}', which is not "
                "attached to it (its identity property does not reference that identity).",
                node.urn,
            )


# --- certless-no-secrets-in-settings --------------------------------------------------------------


def secret_reason(setting: Setting) -> str | None:
    """Why a literal setting looks like a secret, or None. Never includes the value itself."""
    return setting_secret_reason(setting.name, setting.value)


def _no_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in SETTINGS_TYPES:
        return
    props = plain(args.props)
    allowed = {normalized_setting_name(n) for n in args.get_config().get("allowedNames") or []}
    for setting in settings_of(args.resource_type, props):
        if normalized_setting_name(setting.name) in allowed:
            continue
        reason = secret_reason(setting)
        if reason:
            report(
                f"'{args.name}' {setting.where} '{setting.name}': {reason}. Use the managed identity, or a "
                "Key Vault reference (@Microsoft.KeyVault(...), secretRef with keyVaultUrl, or a "
                "secretKeyRef) instead.",
                None,
            )
    if args.resource_type == CONTAINER_APP:
        for secret in as_list(dig(props, "configuration", "secrets")):
            literal = isinstance(secret, dict) and secret.get("value") not in (None, UNKNOWN, "")
            if literal and not secret.get("keyVaultUrl"):
                report(
                    f"'{args.name}' configuration.secrets '{secret.get('name')}' holds a literal value; "
                    "reference Key Vault (keyVaultUrl + identity) instead.",
                    None,
                )


# --- certless-app-service-hardening ---------------------------------------------------------------

_TLS_OK: Final = ("1.2", "1.3")


def _app_service(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WEB_TYPES:
        return
    props = plain(args.props)
    problems: list[str] = []
    https_only = props.get("httpsOnly")
    if https_only is not UNKNOWN and https_only is not True:
        problems.append("httpsOnly is not true")
    tls = dig(props, "siteConfig", "minTlsVersion")
    if tls is not UNKNOWN and tls not in _TLS_OK:
        problems.append(f"siteConfig.minTlsVersion is {tls or 'unset'} (expected 1.2 or later)")
    ftps = dig(props, "siteConfig", "ftpsState")
    if ftps is not UNKNOWN and ftps != "Disabled":
        problems.append(f"siteConfig.ftpsState is {ftps or 'unset'} (expected Disabled)")
    if problems:
        report(f"'{args.name}': " + "; ".join(problems) + ".", None)


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name=CLIENT_ID,
        description=(
            "A compute binding that uses a user-assigned identity sets AzureAd__ClientCredentials__N__"
            "ManagedIdentityClientId to the CLIENT ID of an identity attached to that compute (for AKS: "
            "the client ID annotated on the pod's service account)."
        ),
        validate=_client_id,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=CLIENT_ID_SET,
        description=(
            "A compute binding (App Service, Container Apps) with a user-assigned identity whose AzureAd "
            "credential is SignedAssertionFromManagedIdentity sets its ManagedIdentityClientId."
        ),
        validate=_client_id_set,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=NO_SECRETS,
        description=(
            "No secret in app settings, connection strings, container env vars or pod env (client secrets, "
            "certificate passwords, storage keys, connection strings with keys): use the managed identity "
            "or Key Vault references."
        ),
        validate=_no_secrets,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            {
                "allowedNames": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Setting names reviewed and accepted as non-secret.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name=APP_SERVICE,
        description="App Service apps: HTTPS only, minimum TLS 1.2, FTP/FTPS disabled.",
        validate=_app_service,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
