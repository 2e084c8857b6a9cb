"""App Service Authentication (Easy Auth) with the app registration's FIC instead of a client secret."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped
from test_sovereign_clouds import prod_in

from stackconfig import ConfigError, load
from stackconfig.json_schema import stack_file_schema

AUTH = "azure-native:web:WebAppAuthSettingsV2WithoutSecrets"
STICKY = "azure-native:web:WebAppSlotConfigurationNames"
APP = "azuread:index/application:Application"
WEB_APP = "azure-native:web:WebApp"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
HOST = "certless-orders-web-dev.azurewebsites.net"
TENANT = "6f1c1ad3-6a35-4c5b-9f4e-2d8f2a7c0b11"
OVERRIDE = "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"


def dev_with(auth: Any = None, web: Any = "default", **workload: Any) -> dict[str, Any]:
    """The dev stack (App Service workload orders-web of app orders) with Easy Auth on it."""
    cfg = copy.deepcopy(shipped("dev"))
    if web == "default":
        web = {"redirectUris": ["http://localhost:5000/signin-oidc"]}
    if web is not None:
        cfg["certless:apps"]["orders"]["web"] = web
    w = cfg["certless:workloads"]["orders-web"]
    w["appService"]["authentication"] = {} if auth is None else auth
    w.update(workload)
    return cfg


def settings_of(app: Any) -> dict[str, str]:
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def refused(cfg: dict[str, Any], stack: str = "dev") -> str:
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), stack)
    message = str(err.value)
    assert "\n" not in message and len(message) < 600, message
    return message


def test_the_site_signs_users_in_as_its_app_with_the_identitys_token_not_a_secret() -> None:
    rec, out = run_main("dev", dev_with())
    app = rec.one(APP, "orders")
    identity = rec.one(UAMI)
    auth = rec.one(AUTH, "orders-web").inputs
    aad = auth["identityProviders"]["azureActiveDirectory"]
    assert auth["platform"] == {"enabled": True}
    assert auth["name"] == "certless-orders-web-dev"
    assert aad["enabled"] is True
    assert aad["registration"] == {
        "clientId": app.outputs["clientId"],
        "openIdIssuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "clientSecretSettingName": OVERRIDE,
    }
    assert aad["validation"]["allowedAudiences"] == [f"api://{app.outputs['clientId']}"]
    assert auth["globalValidation"]["requireAuthentication"] is True
    assert auth["globalValidation"]["unauthenticatedClientAction"] == "RedirectToLoginPage"
    assert auth["login"]["tokenStore"] == {"enabled": True}
    assert auth["httpSettings"] == {"requireHttps": True}
    # The override names the identity the app's FIC trusts, never the app registration.
    settings = settings_of(rec.one(WEB_APP, "orders-web"))
    assert settings[OVERRIDE] == identity.outputs["clientId"] != app.outputs["clientId"]
    assert "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" not in settings
    assert rec.one(STICKY, "orders-web").inputs["appSettingNames"] == [OVERRIDE]
    # Entra sends the sign-in response to the site's callback: registered on the app, beside the others.
    assert app.inputs["web"]["redirectUris"] == [
        "http://localhost:5000/signin-oidc",
        f"https://{HOST}/.auth/login/aad/callback",
    ]
    assert out["workloads"]["orders-web"]["authentication"] == {
        "callbackUri": f"https://{HOST}/.auth/login/aad/callback",
        "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "clientSecretSettingName": OVERRIDE,
    }


def test_an_api_returns_401_and_accepts_the_audiences_and_clients_it_names() -> None:
    client = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    rec, _ = run_main(
        "dev",
        dev_with(
            {
                "unauthenticatedClientAction": "Return401",
                "allowedAudiences": ["https://orders.example.com", "https://orders.example.com"],
                "allowedApplications": [client.upper()],
                "excludedPaths": ["/health"],
                "tokenStore": False,
                "loginParameters": ["scope=openid profile email offline_access"],
            }
        ),
    )
    cid = rec.one(APP, "orders").outputs["clientId"]
    auth = rec.one(AUTH, "orders-web").inputs
    aad = auth["identityProviders"]["azureActiveDirectory"]
    assert aad["validation"]["allowedAudiences"] == [f"api://{cid}", "https://orders.example.com"]
    assert aad["validation"]["defaultAuthorizationPolicy"] == {"allowedApplications": [client]}
    assert aad["login"] == {"loginParameters": ["scope=openid profile email offline_access"]}
    assert auth["globalValidation"]["unauthenticatedClientAction"] == "Return401"
    assert auth["globalValidation"]["excludedPaths"] == ["/health"]
    assert auth["login"]["tokenStore"] == {"enabled": False}


def test_a_listed_callback_is_not_registered_twice() -> None:
    callback = f"https://{HOST}/.auth/login/aad/callback"
    rec, _ = run_main(
        "dev", dev_with(web={"redirectUris": [callback], "callbackPath": "/.auth/login/aad/callback"})
    )
    assert rec.one(APP, "orders").inputs["web"]["redirectUris"] == [callback]


def test_anonymous_access_is_allowed_only_when_authentication_is_not_required() -> None:
    rec, _ = run_main(
        "dev", dev_with({"requireAuthentication": False, "unauthenticatedClientAction": "AllowAnonymous"})
    )
    validation = rec.one(AUTH, "orders-web").inputs["globalValidation"]
    assert validation["requireAuthentication"] is False
    assert validation["unauthenticatedClientAction"] == "AllowAnonymous"


def test_disabled_or_absent_authentication_declares_nothing_and_sets_no_override() -> None:
    for cfg in (dev_with({"enabled": False}), copy.deepcopy(shipped("dev"))):
        rec, out = run_main("dev", cfg)
        assert rec.of_type(AUTH) == [] and rec.of_type(STICKY) == []
        assert OVERRIDE not in settings_of(rec.one(WEB_APP, "orders-web"))
        assert "authentication" not in out["workloads"]["orders-web"]


def test_a_function_app_signs_users_in_the_same_way() -> None:
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:apps"]["orders"]["web"] = {"redirectUris": ["http://localhost:7071/signin-oidc"]}
    cfg["certless:workloads"]["orders-jobs"]["functionApp"]["authentication"] = {
        "unauthenticatedClientAction": "Return401"
    }
    rec, out = run_main("prod", cfg)
    site = next(a for a in rec.of_type(WEB_APP) if a.inputs["kind"] == "functionapp,linux")
    name = site.inputs["name"]
    auth = rec.one(AUTH, "orders-jobs").inputs
    assert auth["name"] == name
    aad = auth["identityProviders"]["azureActiveDirectory"]
    assert aad["registration"]["clientSecretSettingName"] == OVERRIDE
    assert settings_of(site)[OVERRIDE] == rec.one(UAMI).outputs["clientId"]
    callback = f"https://{name}.azurewebsites.net/.auth/login/aad/callback"
    assert callback in rec.one(APP, "orders").inputs["web"]["redirectUris"]
    assert out["workloads"]["orders-jobs"]["authentication"]["callbackUri"] == callback


@pytest.mark.parametrize(
    ("cloud", "login", "suffix"),
    [
        ("AzureUSGovernment", "login.microsoftonline.us", "azurewebsites.us"),
        ("AzureChina", "login.partner.microsoftonline.cn", "chinacloudsites.cn"),
    ],
)
def test_a_sovereign_site_uses_its_clouds_authority_and_host(cloud: str, login: str, suffix: str) -> None:
    cfg = prod_in(cloud)
    cfg["certless:apps"]["orders"]["web"] = {"redirectUris": ["http://localhost:7071/signin-oidc"]}
    cfg["certless:workloads"]["orders-jobs"]["functionApp"]["authentication"] = {}
    rec, _ = run_main("prod", cfg)
    tenant = cfg["certless:tenantId"]
    aad = rec.one(AUTH, "orders-jobs").inputs["identityProviders"]["azureActiveDirectory"]
    assert aad["registration"]["openIdIssuer"] == f"https://{login}/{tenant}/v2.0"
    uris = rec.one(APP, "orders").inputs["web"]["redirectUris"]
    assert any(u.endswith(f".{suffix}/.auth/login/aad/callback") for u in uris), uris


# --- refused before any resource ------------------------------------------------------------------


def _on(kind: str) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    name = {"containerapp": "orders-api", "aks": "orders-worker", "vm": "orders-batch"}[kind]
    block = {"containerapp": "containerApp", "aks": "aks", "vm": "vm"}[kind]
    assert cfg["certless:workloads"][name]["kind"] == kind
    cfg["certless:workloads"][name][block]["authentication"] = {"enabled": True}
    return cfg


@pytest.mark.parametrize("kind", ["containerapp", "aks", "vm"])
def test_authentication_on_a_compute_without_it_is_refused(kind: str) -> None:
    message = refused(_on(kind), "prod")
    block = {"containerapp": "containerApp", "aks": "aks", "vm": "vm"}[kind]
    assert f"{block}.authentication: got " in message and "expected no authentication on" in message
    assert "appservice and functionapp" in message


@pytest.mark.parametrize(
    ("cfg", "fragments"),
    [
        (
            dev_with(identityType="SystemAssigned", identity=None),
            ["orders-web.identityType: got 'SystemAssigned'", "UserAssigned", OVERRIDE],
        ),
        (
            dev_with(web=None),
            [
                "orders-web.appService.authentication: got 'enabled'",
                "a web platform on app orders",
                f"https://{HOST}/.auth/login/aad/callback",
            ],
        ),
        (
            dev_with({"requireAuthentication": True, "unauthenticatedClientAction": "AllowAnonymous"}),
            [
                "authentication.unauthenticatedClientAction: got 'AllowAnonymous'",
                "requireAuthentication: false",
            ],
        ),
        (
            dev_with({"unauthenticatedClientAction": "Redirect"}),
            ["unauthenticatedClientAction: got 'Redirect'", "RedirectToLoginPage"],
        ),
        (dev_with({"excludedPaths": ["health"]}), ["excludedPaths[0]: got 'health'", "/health"]),
        (dev_with({"loginParameters": ["scope"]}), ["loginParameters[0]: got 'scope'", "name=value"]),
        (
            dev_with({"loginParameters": ["client_secret=x"]}),
            ["loginParameters[0]", "leaves to you"],
        ),
        (dev_with({"allowedApplications": ["web"]}), ["allowedApplications[0]: got 'web'", "GUID"]),
        (dev_with({"clientSecret": "x"}), ["authentication.clientSecret: unknown field"]),
        (dev_with({"enabled": "yes"}), ["authentication.enabled: got 'yes'"]),
    ],
)
def test_easy_auth_mistakes_are_one_line_naming_key_value_and_expectation(
    cfg: dict[str, Any], fragments: list[str]
) -> None:
    message = refused(cfg)
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("setting", "why"),
    [(OVERRIDE, "certless sets it"), ("MICROSOFT_PROVIDER_AUTHENTICATION_SECRET", "secret")],
)
def test_a_site_may_not_set_the_override_or_a_sign_in_secret_itself(setting: str, why: str) -> None:
    cfg = dev_with(appService=None)
    cfg["certless:workloads"]["orders-web"]["appService"] = {"appSettings": {setting: "x"}}
    message = refused(cfg)
    assert f"appService.appSettings.{setting}: " in message and why in message
    cfg = copy.deepcopy(shipped("prod"))
    cfg["certless:workloads"]["orders-jobs"]["functionApp"]["appSettings"] = {setting.lower(): "x"}
    assert "functionApp.appSettings" in refused(cfg, "prod")


def test_a_bad_authentication_block_registers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import component_fakes

    seen: list[Recorder] = []
    real_install = component_fakes.install

    def spy(*args: Any, **kwargs: Any) -> Any:
        rec, fake = real_install(*args, **kwargs)
        seen.append(rec)
        return rec, fake

    monkeypatch.setattr("main_runner.install", spy)
    with pytest.raises(pulumi.RunError, match=r"a web platform on app orders"):
        run_main("dev", dev_with(web=None))
    (rec,) = seen
    assert rec.registrations == [] and rec.invokes == []


def test_the_editor_schema_knows_the_authentication_block() -> None:
    defs = stack_file_schema()["$defs"]
    block = defs["AuthenticationBlock"]["properties"]
    assert set(block) == {
        "enabled",
        "requireAuthentication",
        "unauthenticatedClientAction",
        "allowedAudiences",
        "allowedApplications",
        "excludedPaths",
        "tokenStore",
        "loginParameters",
    }
    assert block["unauthenticatedClientAction"]["enum"] == [
        "RedirectToLoginPage",
        "AllowAnonymous",
        "Return401",
        "Return403",
    ]
    assert "authentication" in defs["AppServiceBlock"]["properties"]
    assert "authentication" in defs["FunctionAppBlock"]["properties"]


def test_the_app_issues_id_tokens_for_app_service_authentications_hybrid_sign_in() -> None:
    """App Service Authentication asks Entra for `code id_token`: an app without ID-token issuance
    answers every sign-in with AADSTS700054. Access tokens stay off."""
    rec, _ = run_main("dev", dev_with())
    grant = rec.one(APP, "orders").inputs["web"]["implicitGrant"]
    assert grant["idTokenIssuanceEnabled"] is True
    assert grant["accessTokenIssuanceEnabled"] is False


def test_without_app_service_authentication_id_tokens_stay_as_configured() -> None:
    cfg = dev_with()
    del cfg["certless:workloads"]["orders-web"]["appService"]["authentication"]
    rec, _ = run_main("dev", cfg)
    assert rec.one(APP, "orders").inputs["web"]["implicitGrant"]["idTokenIssuanceEnabled"] is False
