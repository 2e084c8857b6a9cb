"""The shape of the stack configuration as pydantic models: every key, its type, its rule and its default.

These models validate what the user wrote (one object at a time, unknown and missing fields, value rules)
and give the JSON Schema editors use. What needs the whole stack (references between sections, names
with the colour applied, uniqueness, the FIC plan) is resolved afterwards in ``loader.py``.

Value rules are the ones in ``rules.py``: each field type wraps one, so the error text is the same
wherever a rule is used. ``errors_from`` turns pydantic's error into the one-line ``ConfigError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from components.clouds import CLOUDS
from components.easy_auth import FIC_OVERRIDE_SETTING, UNAUTHENTICATED_ACTIONS
from policy.rules.redirect_uris import MAX_LENGTH as REDIRECT_URI_MAX
from stackconfig import aks_credentials, web
from stackconfig import rules as r
from stackconfig.errors import ConfigError
from stackconfig.registry import LOGIN_SERVER, LOGIN_SERVER_EXPECTED, REGISTRY_ID, REGISTRY_ID_EXPECTED

NS = "certless"
LOCATION_KEY = "azure-native:location"
AZURE_AD_PREFIX = "AzureAd__"
KIND_BLOCK = {
    "appservice": "appService",
    "containerapp": "containerApp",
    "aks": "aks",
    "functionapp": "functionApp",
    "vm": "vm",
}
FUNCTION_SKUS = ("FC1", "EP1", "EP2", "EP3")
FUNCTION_PYTHON_VERSIONS = ("3.10", "3.11", "3.12")
FLEX_MEMORY_MB = (512, 2048, 4096)
STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
STORAGE_ACCOUNT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Storage"
    r"/storageAccounts/([a-z0-9]{3,24})$"
)
BLOB_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# The host's own connection is certless's to set; a connection-string form of it would carry the key.
HOST_SETTINGS = (
    "AzureWebJobsStorage",
    "AzureWebJobsDashboard",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "DEPLOYMENT_STORAGE_CONNECTION_STRING",
)
CERTLESS_ERROR = "certless"
EASY_AUTH_SETTINGS = {
    FIC_OVERRIDE_SETTING: "no FIC override setting (certless sets it to the identity's client ID with"
    " authentication)",
    "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET": "no App Service Authentication client secret (authentication"
    " uses the FIC instead)",
}
# Blocks of the computes that have no App Service Authentication.
NO_EASY_AUTH = {"containerapp": "Container Apps", "aks": "AKS", "vm": "VM"}


# --- errors -------------------------------------------------------------------------------------------


def anchored(exc: ConfigError) -> PydanticCustomError:
    """A rule's ConfigError, raised under the key "" (or ".field"), as an error pydantic can place."""
    return PydanticCustomError(
        CERTLESS_ERROR, "{detail}", {"at": exc.key or "", "detail": exc.detail or str(exc)}
    )


def problem(at: str, detail: str) -> PydanticCustomError:
    return anchored(ConfigError.at(at, detail))


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + r.where("", str(part))[1:]
    return text


def errors_from(exc: ValidationError) -> ConfigError:
    """The first problem pydantic found, as ``config <full key path>: <what is wrong>`` on one line."""
    first = exc.errors(include_url=False)[0]
    path = _path(tuple(first["loc"]))
    if first["type"] == CERTLESS_ERROR:
        ctx = first.get("ctx") or {}
        return ConfigError.at(path + str(ctx.get("at", "")), str(ctx.get("detail", "")))
    if first["type"] == "missing":
        return ConfigError.at(
            path, "missing required key" if len(first["loc"]) == 1 else "missing required field"
        )
    # Only a shape no field type claims reaches here; the value is still shown capped, never whole.
    return r.fail(path, first.get("input"), str(first.get("msg", "a valid value")).lower())


# --- field types: one rule of rules.py each, with what the JSON Schema says about it --------------------


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Rule:
    """Field metadata: a rules.py check (called with the key "") and what the JSON Schema says of it."""

    check: Callable[[str, Any], Any]
    schema: Mapping[str, Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dict(self.schema)

    def _validate(self, value: Any) -> Any:
        try:
            return self.check("", value)
        except ConfigError as exc:
            raise anchored(exc) from None

    @classmethod
    def matching(cls, pattern: re.Pattern[str], expected: str, schema_pattern: bool = True) -> Rule:
        schema: dict[str, Any] = {"type": "string", "description": expected}
        # ECMA regexes carry no flags: a case-insensitive rule is described, not pinned.
        if schema_pattern and not pattern.flags & re.IGNORECASE:
            schema["pattern"] = pattern.pattern
        return cls(lambda k, v: r.match(k, v, pattern, expected), schema)

    @classmethod
    def choice(cls, choices: tuple[str, ...]) -> Rule:
        return cls(lambda k, v: r.one_of(k, v, choices), {"enum": list(choices)})

    @classmethod
    def integer(cls, low: int, high: int) -> Rule:
        schema = {"type": "integer", "minimum": low, "maximum": high}
        return cls(lambda k, v: r.integer(k, v, low, high), schema)

    @classmethod
    def physical(cls, kind: str) -> Rule:
        pattern, description = r.NAME_RULES[kind]
        schema = {
            "type": "string",
            "pattern": pattern.pattern,
            "description": f"a valid Azure {kind} name: {description} (before the colour suffix)",
        }
        return cls(lambda k, v: r.physical_name(k, v, kind), schema)

    @classmethod
    def settings(cls, check: Callable[[str, Any], dict[str, str]]) -> Rule:
        schema = {
            "type": "object",
            "description": f"setting name -> plain value; no secrets, no {AZURE_AD_PREFIX}* names",
            "propertyNames": {"pattern": r.ENV_NAME.pattern},
            "additionalProperties": {"type": "string"},
        }
        return cls(check, schema)


def _listed(value: Any) -> Any:
    try:
        return r.structured("", value, list)
    except ConfigError as exc:
        raise anchored(exc) from None


def _keyed(value: Any) -> Any:
    try:
        return dict(r.keyed("", value))
    except ConfigError as exc:
        raise anchored(exc) from None


def _display_name(key: str, value: Any) -> str:
    text = r.string(key, value)
    if len(text) > 120:
        raise r.fail(key, text, "at most 120 characters")
    return text


def _runtime_version(key: str, value: Any) -> str:
    # YAML reads 3.11 as a number; the version is its text.
    return r.one_of(key, value if isinstance(value, str) else str(value), FUNCTION_PYTHON_VERSIONS)


def _app_settings(key: str, value: Any) -> dict[str, str]:
    return r.string_map(key, value, AZURE_AD_PREFIX)


def _site_settings(key: str, value: Any) -> dict[str, str]:
    settings = r.string_map(key, value, AZURE_AD_PREFIX)
    for setting in settings:
        if setting.upper() in EASY_AUTH_SETTINGS:
            raise r.fail(r.where(key, setting), setting, EASY_AUTH_SETTINGS[setting.upper()])
    return settings


def _function_settings(key: str, value: Any) -> dict[str, str]:
    settings = _site_settings(key, value)
    for setting in settings:
        if any(setting.lower().split("__")[0] == h.lower() for h in HOST_SETTINGS):
            raise r.fail(
                r.where(key, setting),
                setting,
                "no host storage setting (certless sets AzureWebJobsStorage__* for the identity)",
            )
    return settings


def _namespace(key: str, value: Any) -> str:
    namespace = r.match(
        key, value, r.DNS_LABEL, "a DNS-1123 label (lowercase letters, digits, '-'; at most 63)"
    )
    if namespace.startswith("kube-"):
        raise r.fail(key, namespace, "a namespace outside kube-* (the workload identity webhook skips them)")
    return namespace


def _issuer(key: str, value: Any) -> str:
    issuer = r.https_url(key, value)
    # AKS issuers always end with '/', and the FIC issuer must equal the token's `iss` exactly.
    return issuer if issuer.endswith("/") else issuer + "/"


def _color(key: str, value: Any) -> str:
    return r.match(key, value, r.COLOR, "a lowercase DNS label of 1-12 characters, like blue")


Text = Annotated[str, Rule(r.string, {"type": "string", "minLength": 1})]
# Lower-cased on reading: Entra compares FIC subjects case-sensitively and emits object IDs in lower case.
Guid = Annotated[
    str, Rule(r.guid, Rule.matching(r.GUID, "a GUID like 00000000-0000-0000-0000-000000000000").schema)
]
Flag = Annotated[bool, Rule(r.boolean, {"type": "boolean"})]
ResourceGroup = Annotated[
    str,
    Rule.matching(r.RESOURCE_GROUP, "a resource group name: 1-90 letters, digits, '-', '_', '.', '(' or ')'"),
]
Image = Annotated[
    str, Rule.matching(r.IMAGE, "a container image reference like myregistry.azurecr.io/app:1.0")
]
Port = Annotated[int, Rule.integer(1, 65535)]
Settings = Annotated[dict[str, str], Rule.settings(_app_settings)]
Listed = BeforeValidator(_listed)
Keyed = BeforeValidator(_keyed)
KEYED_SCHEMA = Field(json_schema_extra={"propertyNames": {"pattern": r.KEY.pattern}, "minProperties": 1})


# --- objects ---------------------------------------------------------------------------------------------


class Block(BaseModel):
    """One object of the config: JSON text or decoded, null fields unset, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=False)
    null_is_empty: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _read(cls, value: Any) -> Any:
        if value is None and cls.null_is_empty:
            value = {}
        try:
            obj: dict[str, Any] = r.structured("", value, dict)
        except ConfigError as exc:
            raise anchored(exc) from None
        # A null field is an unset one, as everywhere in Pulumi config (never the text "null").
        obj = {k: v for k, v in obj.items() if v is not None}
        allowed = sorted(f.alias or n for n, f in cls.model_fields.items())
        unknown = sorted(set(map(str, obj)) - set(allowed))
        if unknown:
            raise problem(r.where("", unknown[0]), f"unknown field; expected one of: {', '.join(allowed)}")
        cls.check_raw(obj)
        return obj

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        """Checks that must run before the fields are read (a subclass hook)."""


class IdentityEntry(Block):
    """A user-assigned identity this stack owns: created (``name``) or adopted (``resourceId``)."""

    name: Annotated[str, Rule.physical("identity")] | None = Field(None, description="default: id-<key>")
    resource_id: (
        Annotated[
            str,
            Rule.matching(
                r.IDENTITY_ID,
                "a user-assigned identity resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/<name>",
            ),
        ]
        | None
    ) = None
    resource_group_name: ResourceGroup | None = Field(None, description="default: certless:resourceGroupName")
    protect: Flag = False

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        if "name" in obj and "resourceId" in obj:
            raise problem("", "has both name and resourceId; expected name (create) or resourceId (adopt)")


AppRoles = Annotated[
    Any,
    Rule(
        lambda k, v: v,
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["value"],
                        "properties": {
                            "value": {"type": "string"},
                            "displayName": {"type": "string"},
                            "description": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                ]
            },
        },
    ),
]
"""App roles the app exposes; checked by access.app_roles (values, duplicates)."""


RedirectUri = Annotated[
    str,
    Rule(
        web.redirect_uri,
        {
            "type": "string",
            "maxLength": REDIRECT_URI_MAX,
            "pattern": "^(https://|http://(localhost|127\\.0\\.0\\.1)(:[0-9]{1,5})?(/|$))[^*#\\\\\\s]*$",
            "description": web.REDIRECT_EXPECTED,
        },
    ),
]
WebUrl = Annotated[str, Rule(web.web_url, {"type": "string", "description": web.REDIRECT_EXPECTED})]


class WebBlock(Block):
    """The app's web platform: redirect URIs for sign-in, logout, implicit ID tokens."""

    redirect_uris: Annotated[
        tuple[RedirectUri, ...],
        Listed,
        Field(json_schema_extra={"minItems": 1, "maxItems": web.MAX_REDIRECT_URIS}),
    ]
    callback_path: (
        Annotated[
            str,
            Rule(
                web.callback_path,
                {"type": "string", "pattern": "^/", "description": "the path of one redirect URI"},
            ),
        ]
        | None
    ) = Field(None, description=f"default: {web.DEFAULT_CALLBACK_PATH}")
    logout_url: WebUrl | None = None
    homepage_url: WebUrl | None = None
    id_tokens: Flag = Field(
        False,
        description="implicit ID-token issuance (hybrid flow); access tokens are never issued implicitly",
    )


ScopeValue = Annotated[str, Rule(web.scope_value, Rule.matching(web.SCOPE_VALUE, web.SCOPE_EXPECTED).schema)]


class ScopeEntry(Block):
    """A delegated permission the API exposes."""

    value: ScopeValue
    admin_consent_display_name: (
        Annotated[str, Rule(_display_name, {"type": "string", "minLength": 1, "maxLength": 120})] | None
    ) = Field(None, description="default: the value")
    description: Text | None = Field(None, description="default: Act for the signed-in user (<value>)")
    id: Guid | None = Field(None, description="default: a fixed GUID derived from the value")


class PreAuthorizedEntry(Block):
    app: Text = Field(description="the key of another app in certless:apps")
    scopes: Annotated[tuple[ScopeValue, ...], Listed, Field(min_length=1)]


class ApiBlock(Block):
    """What the app exposes as a web API to signed-in users' clients (delegated permissions)."""

    null_is_empty: ClassVar[bool] = True
    scopes: Annotated[tuple[ScopeEntry, ...], Listed] = ()
    requested_access_token_version: Annotated[int, Rule.integer(1, 2)] = Field(
        2, description="access token version the API accepts (2: aud is the client ID)"
    )
    known_clients: Annotated[
        tuple[Text, ...],
        Listed,
        Field(json_schema_extra={"items": {"type": "string"}, "description": "keys of other certless:apps"}),
    ] = ()
    pre_authorized_clients: Annotated[tuple[PreAuthorizedEntry, ...], Listed] = ()


class AppEntry(Block):
    """An Entra app registration this stack owns."""

    null_is_empty: ClassVar[bool] = True
    display_name: (
        Annotated[str, Rule(_display_name, {"type": "string", "minLength": 1, "maxLength": 120})] | None
    ) = Field(None, description="default: certless-<key>-<stack>")
    owners: Annotated[tuple[Guid, ...], Listed] = ()
    sign_in_audience: Annotated[str, Rule.choice(("AzureADMyOrg", "AzureADMultipleOrgs"))] = "AzureADMyOrg"
    protect: Flag = False
    app_roles: AppRoles | None = None
    trust_identities: Annotated[
        tuple[Any, ...],
        Listed,
        Field(json_schema_extra={"items": {"type": "string"}, "description": "keys of certless:identities"}),
    ] = ()
    web: WebBlock | None = None
    api: ApiBlock | None = None


class ReferencedIdentityEntry(Block):
    resource_id: Annotated[str, Rule.matching(r.IDENTITY_ID, "a user-assigned identity resource ID")]
    client_id: Guid
    principal_id: Guid


class ReferencedWebEntry(Block):
    """What a referencing stack's web apps are told of the owner's web platform, and checked against."""

    callback_path: Annotated[
        str,
        Rule(
            web.callback_path,
            {"type": "string", "pattern": "^/", "description": "the path of one redirect URI"},
        ),
    ] = Field(web.DEFAULT_CALLBACK_PATH, description=f"default: {web.DEFAULT_CALLBACK_PATH}")
    redirect_uris: Annotated[
        tuple[RedirectUri, ...],
        Listed,
        Field(json_schema_extra={"maxItems": web.MAX_REDIRECT_URIS}),
    ] = Field((), description="the redirect URIs the app lists (this stack's sign-in hosts are checked)")
    id_tokens: Flag = Field(
        False, description="the app issues ID tokens (App Service Authentication's sign-in needs them)"
    )


class ReferencedApiEntry(Block):
    """What a referencing stack's web APIs are told of the owner's exposed API."""

    null_is_empty: ClassVar[bool] = True
    requested_access_token_version: Annotated[int, Rule.integer(1, 2)] = Field(
        2, description="access token version the API accepts (2: aud is the client ID)"
    )
    scopes: Annotated[
        tuple[ScopeValue, ...],
        Listed,
        Field(json_schema_extra={"items": {"type": "string"}, "description": "the scope values it exposes"}),
    ] = ()


class ReferencedAppEntry(Block):
    client_id: Guid
    object_id: Guid
    web: ReferencedWebEntry | None = Field(
        None, description="the app signs users in: AzureAd__CallbackPath, redirect URIs to check"
    )
    api: ReferencedApiEntry | None = Field(
        None, description="the app is a web API: AzureAd__Audience and AzureAd__Scopes"
    )


class IdentityOwnerEntry(Block):
    """The identity layer of another stack: named (``stack``) or given by explicit IDs."""

    stack: Annotated[str, Rule.matching(r.STACK_NAME, "a stack name like org/certless/prod")] | None = None
    identities: Annotated[dict[str, ReferencedIdentityEntry], Keyed, KEYED_SCHEMA] | None = None
    apps: Annotated[dict[str, ReferencedAppEntry], Keyed, KEYED_SCHEMA] | None = None

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        if "stack" in obj:
            if "identities" in obj or "apps" in obj:
                raise problem("", "has stack and explicit IDs; expected one of the two")
        elif "apps" not in obj:
            raise problem(
                "",
                "missing stack or apps; expected {stack: org/project/stack} or explicit IDs"
                " {identities: {...}, apps: {...}}",
            )


def _excluded_path(key: str, value: Any) -> str:
    text = r.string(key, value)
    if not text.startswith("/") or any(ch.isspace() for ch in text):
        raise r.fail(key, value, "a URL path starting with '/', like /health")
    return text


def _login_parameter(key: str, value: Any) -> str:
    text = r.string(key, value)
    name, eq, _ = text.partition("=")
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
        raise r.fail(key, value, "an authorize request parameter name=value, like scope=openid profile email")
    if name.lower() in ("client_secret", "client_assertion", "redirect_uri", "response_type", "client_id"):
        raise r.fail(key, value, "a parameter App Service Authentication leaves to you (scope, prompt…)")
    return text


class AuthenticationBlock(Block):
    """App Service Authentication (Easy Auth) with the Entra provider, using the FIC instead of a secret."""

    null_is_empty: ClassVar[bool] = True
    enabled: Flag = True
    require_authentication: Flag = Field(True, description="false: unauthenticated requests reach the app")
    unauthenticated_client_action: Annotated[str, Rule.choice(UNAUTHENTICATED_ACTIONS)] = Field(
        "RedirectToLoginPage", description="RedirectToLoginPage for sites, Return401 for APIs"
    )
    allowed_audiences: Annotated[tuple[Text, ...], Listed] = Field(
        (), description="token audiences accepted beside api://<client id>"
    )
    allowed_applications: Annotated[tuple[Guid, ...], Listed] = Field(
        (), description="client IDs of the only apps whose tokens are accepted"
    )
    excluded_paths: Annotated[
        tuple[Annotated[str, Rule(_excluded_path, {"type": "string", "pattern": "^/"})], ...], Listed
    ] = Field((), description="paths served without authentication, like /health")
    token_store: Flag = Field(True, description="keep the users' tokens for the app (/.auth/me)")
    login_parameters: Annotated[
        tuple[Annotated[str, Rule(_login_parameter, {"type": "string", "pattern": "^[A-Za-z_].*="})], ...],
        Listed,
    ] = Field((), description="authorize request parameters, like scope=openid profile email offline_access")

    @model_validator(mode="after")
    def _consistent(self) -> AuthenticationBlock:
        if self.require_authentication and self.unauthenticated_client_action == "AllowAnonymous":
            raise anchored(
                r.fail(
                    ".unauthenticatedClientAction",
                    self.unauthenticated_client_action,
                    "RedirectToLoginPage, Return401 or Return403 (set requireAuthentication: false to let"
                    " unauthenticated requests through)",
                )
            )
        return self


WebAppName = Annotated[str, Rule.physical("webapp")]
PlanName = Annotated[str, Rule.physical("plan")]


class AppServiceBlock(Block):
    name: WebAppName | None = Field(None, description="default: <workload>-<stack>")
    plan_name: PlanName | None = Field(None, description="default: plan-<workload>")
    sku: Annotated[str, Rule.matching(r.SKU, "an App Service SKU like B1, P1v3")] = "B1"
    linux_fx_version: Text = "PYTHON|3.12"
    app_settings: Annotated[dict[str, str], Rule.settings(_site_settings)] = Field(default_factory=dict)
    authentication: AuthenticationBlock | None = Field(
        None, description="App Service Authentication (Easy Auth) with the FIC instead of a client secret"
    )


class FunctionAppBlock(Block):
    name: WebAppName | None = Field(None, description="default: <workload>-<stack>")
    plan_name: PlanName | None = Field(None, description="default: plan-<workload>")
    sku: Annotated[str, Rule.choice(FUNCTION_SKUS)] = "FC1"
    runtime_version: Annotated[str, Rule(_runtime_version, {"enum": list(FUNCTION_PYTHON_VERSIONS)})] = "3.11"
    storage_account_name: (
        Annotated[
            str, Rule.matching(STORAGE_ACCOUNT, "a storage account name of 3-24 lowercase letters and digits")
        ]
        | None
    ) = Field(None, description="default: st<workload><stack><hash>")
    storage_account_id: (
        Annotated[
            str,
            Rule.matching(
                STORAGE_ACCOUNT_ID,
                "a storage account resource ID: /subscriptions/<guid>/resourceGroups/<rg>/providers/"
                "Microsoft.Storage/storageAccounts/<name>",
            ),
        ]
        | None
    ) = None
    deployment_container: (
        Annotated[
            str,
            Rule.matching(
                BLOB_CONTAINER, "a blob container name of 3-63 lowercase letters, digits and single '-'"
            ),
        ]
        | None
    ) = Field(None, description="default: app-package")
    instance_memory_mb: Annotated[int, Rule.integer(512, 16384)] = Field(2048, alias="instanceMemoryMB")
    maximum_instance_count: Annotated[int, Rule.integer(40, 1000)] = 100
    app_settings: Annotated[dict[str, str], Rule.settings(_function_settings)] = Field(default_factory=dict)
    authentication: AuthenticationBlock | None = Field(
        None, description="App Service Authentication (Easy Auth) with the FIC instead of a client secret"
    )

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        if "storageAccountId" in obj and "storageAccountName" in obj:
            raise problem("", "has storageAccountName and storageAccountId; expected one of the two")

    @model_validator(mode="after")
    def _flex_memory(self) -> FunctionAppBlock:
        if self.sku == "FC1" and self.instance_memory_mb not in FLEX_MEMORY_MB:
            raise anchored(
                r.fail(
                    ".instanceMemoryMB", self.instance_memory_mb, "one of 512, 2048, 4096 (Flex Consumption)"
                )
            )
        return self


class ContainerAppBlock(Block):
    name: Annotated[str, Rule.physical("containerapp")] | None = Field(
        None, description="default: the workload name"
    )
    image: Image
    environment_name: Annotated[str, Rule.physical("environment")] | None = Field(
        None, description="default: cae-<workload>"
    )
    environment_id: (
        Annotated[str, Rule.matching(r.ENVIRONMENT_ID, "a Container Apps managed environment resource ID")]
        | None
    ) = None
    target_port: Port | None = None
    env: Settings = Field(default_factory=dict)
    registry: Annotated[str, Rule.matching(LOGIN_SERVER, LOGIN_SERVER_EXPECTED)] | None = Field(
        None, description="a private Azure Container Registry the image comes from (needs registryResourceId)"
    )
    registry_resource_id: Annotated[str, Rule.matching(REGISTRY_ID, REGISTRY_ID_EXPECTED)] | None = Field(
        None, description="that registry's resource ID: the scope of the identity's AcrPull"
    )

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        if "environmentId" in obj and "environmentName" in obj:
            raise problem("", "has environmentName and environmentId; expected one of the two")


class AksBlock(Block):
    cluster_resource_group: ResourceGroup | None = Field(None, description="default: the workload's group")
    cluster_name: Annotated[str, Rule.physical("cluster")]
    namespace: Annotated[
        str, Rule(_namespace, Rule.matching(r.DNS_LABEL, "a DNS-1123 label outside kube-*").schema)
    ]
    service_account: Annotated[
        str, Rule.matching(r.DNS_SUBDOMAIN, "a DNS-1123 subdomain (lowercase letters, digits, '-', '.')")
    ]
    create_namespace: Flag | None = Field(None, description="default: true without a colour, false with one")
    deployment_name: (
        Annotated[str, Rule.matching(r.DNS_LABEL, "a DNS-1123 name of at most 63 characters")] | None
    ) = Field(None, description="default: the workload name")
    image: Image
    replicas: Annotated[int, Rule.integer(0, 100)] = 1
    container_port: Port | None = None
    mode: Annotated[str, Rule.choice(("via-identity", "direct"))] = "via-identity"
    issuer_url: (
        Annotated[
            str,
            Rule(
                _issuer, {"type": "string", "pattern": "^https://[^?#\\s]+$", "description": "an https URL"}
            ),
        ]
        | None
    ) = None
    env: Settings = Field(default_factory=dict)
    credentials: Annotated[str, Rule.choice(aks_credentials.MODES)] = Field(
        aks_credentials.DEFAULT,
        description="how the kubernetes provider authenticates (user, a kubelogin mode, or admin)",
    )


AnyList = Annotated[Any, Rule(lambda k, v: v, {"type": "array"})]
"""Checked with the whole stack in view (access.py: role table, app keys)."""
VmBlock = Annotated[
    Any,
    Rule(
        lambda k, v: v,
        {
            "type": "object",
            "required": ["sshPublicKey", "command"],
            "description": "a Linux scale set or VM (docs/configuration.md); checked by stackconfig/vm.py",
        },
    ),
]


class WorkloadEntry(Block):
    kind: Annotated[str, Rule.choice(tuple(KIND_BLOCK))]
    app: Text = Field(description="a key of certless:apps (or of the owner stack's apps)")
    identity: Text | None = Field(None, description="a key of certless:identities")
    identity_type: Annotated[str, Rule.choice(("UserAssigned", "SystemAssigned"))] = "UserAssigned"
    resource_group_name: ResourceGroup | None = Field(None, description="default: certless:resourceGroupName")
    app_service: AppServiceBlock | None = None
    container_app: ContainerAppBlock | None = None
    aks: AksBlock | None = None
    function_app: FunctionAppBlock | None = None
    vm: VmBlock | None = None
    access: AnyList | None = Field(
        None, description="Azure role assignments: [{role | roleDefinitionId, scope}]"
    )
    api_permissions: AnyList | None = Field(None, description="app roles granted: [{api, appRoles}]")
    delegated_permissions: AnyList | None = Field(
        None, description="delegated permissions consented for all users: [{api, scopes}]"
    )

    @classmethod
    def check_raw(cls, obj: Mapping[str, Any]) -> None:
        # Before the blocks are read: an aks block on a containerapp workload is a kind mistake,
        # whatever the block holds.
        kind = obj.get("kind")
        if isinstance(kind, str) and kind in KIND_BLOCK:
            for other in KIND_BLOCK.values():
                if other != KIND_BLOCK[kind] and other in obj:
                    raise problem(
                        r.where("", other), f"set on a {kind} workload; expected only {KIND_BLOCK[kind]}"
                    )
            block = obj.get(KIND_BLOCK[kind])
            if kind in NO_EASY_AUTH and isinstance(block, dict) and "authentication" in block:
                raise anchored(
                    r.fail(
                        r.where("", KIND_BLOCK[kind], "authentication"),
                        block["authentication"],
                        f"no authentication on {NO_EASY_AUTH[kind]} (App Service Authentication exists only"
                        " on appservice and functionapp workloads)",
                    )
                )

    @model_validator(mode="after")
    def _kind_rules(self) -> WorkloadEntry:
        if self.kind == "containerapp" and self.container_app is None:
            raise problem(".containerApp", "missing required field (image is needed)")
        if self.kind == "aks" and self.aks is None:
            raise problem(".aks", "missing required field")
        if self.kind == "vm" and self.vm is None:
            raise problem(".vm", "missing required field (sshPublicKey and command are needed)")
        system = self.identity_type == "SystemAssigned"
        if self.kind == "functionapp" and system:
            raise anchored(
                r.fail(
                    ".identityType",
                    self.identity_type,
                    "UserAssigned for Function Apps (host and deployment storage authenticate with it)",
                )
            )
        auth = self.app_service.authentication if self.app_service is not None else None
        if system and auth is not None and auth.enabled:
            raise anchored(
                r.fail(
                    ".identityType",
                    self.identity_type,
                    "UserAssigned with appService.authentication (the FIC override names a user-assigned"
                    f" identity's client ID in {FIC_OVERRIDE_SETTING}; a system-assigned one cannot be"
                    " the FIC subject)",
                )
            )
        if self.kind == "vm" and system:
            raise anchored(r.fail(".identityType", self.identity_type, "UserAssigned for VM workloads"))
        if self.kind == "aks" and system:
            raise anchored(r.fail(".identityType", self.identity_type, "UserAssigned for AKS workloads"))
        direct = self.aks is not None and self.aks.mode == "direct"
        if not system and not direct:
            if self.identity is None:
                raise problem(
                    ".identity",
                    "missing required field (a user-assigned identity key; or identityType: SystemAssigned)",
                )
        elif self.identity is not None:
            reason = (
                "AKS direct mode trusts the cluster itself" if direct else "identityType is SystemAssigned"
            )
            raise anchored(r.fail(".identity", self.identity, f"no identity ({reason})"))
        return self


class StackSettings(BaseModel):
    """The ``config`` block of ``Pulumi.<stack>.yaml`` as far as certless reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    location: Annotated[
        str, Rule.matching(r.LOCATION, "an Azure location name in lowercase, like westeurope")
    ] = Field(alias="azure-native:location")
    tenant_id: Guid = Field(
        alias="certless:tenantId", description="the Entra tenant of the apps and identities"
    )
    cloud: Annotated[str, Rule.choice(tuple(CLOUDS))] = Field("AzurePublic", alias="certless:cloud")
    resource_group_name: ResourceGroup = Field(alias="certless:resourceGroupName")
    color: (
        Annotated[
            str, Rule(_color, Rule.matching(r.COLOR, "a lowercase DNS label of 1-12 characters").schema)
        ]
        | None
    ) = Field(None, alias="certless:color", description="blue-green colour appended to colour-specific names")
    identities: Annotated[dict[str, IdentityEntry], Keyed, KEYED_SCHEMA] | None = Field(
        None, alias="certless:identities"
    )
    apps: Annotated[dict[str, AppEntry], Keyed, KEYED_SCHEMA] | None = Field(None, alias="certless:apps")
    identity_owner: IdentityOwnerEntry | None = Field(None, alias="certless:identityOwner")
    workloads: Annotated[dict[str, WorkloadEntry], Keyed, KEYED_SCHEMA] | None = Field(
        None, alias="certless:workloads"
    )

    @model_validator(mode="after")
    def _layer(self) -> StackSettings:
        if self.identity_owner is not None:
            if self.identities is not None or self.apps is not None:
                raise problem(
                    f"{NS}:identityOwner",
                    f"set together with {NS}:identities/{NS}:apps; expected either (the stack owns the"
                    " identity layer) or the other (it references it), not both",
                )
        elif self.apps is None:
            raise problem(f"{NS}:apps", f"missing required key (or set {NS}:identityOwner)")
        # An owner that declares its trusts may hold the identity layer alone, with no compute of its own.
        layer_only = self.identity_owner is None and any(
            a.trust_identities for a in (self.apps or {}).values()
        )
        if self.workloads is None and not layer_only:
            raise problem(f"{NS}:workloads", "missing required key")
        return self


KEYS = tuple(
    (f.alias or n).partition(":")[2] for n, f in StackSettings.model_fields.items() if f.alias != LOCATION_KEY
)
"""The certless: keys (without the namespace)."""


def read(raw: Mapping[str, Any]) -> StackSettings:
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as exc:
        raise errors_from(exc) from None
