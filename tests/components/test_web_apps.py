"""Web apps and web APIs: the web platform, the exposed API, delegated grants, the AzureAd settings."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped

from stackconfig import ConfigError, load
from stackconfig.json_schema import stack_file_schema

APP = "azuread:index/application:Application"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
WEB_HOST = "https://certless-orders-web-dev.azurewebsites.net"


def dev(**web: Any) -> dict[str, Any]:
    """The dev stack (one App Service workload of app orders) with a web platform on its app."""
    cfg = copy.deepcopy(shipped("dev"))
    if web:
        cfg["certless:apps"]["orders"]["web"] = web
    return cfg


def env_of(out: dict[str, Any], workload: str = "orders-web") -> dict[str, str]:
    return dict(out["workloads"][workload]["azureAdEnv"])


def refused(cfg: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "dev")
    message = str(err.value)
    assert "\n" not in message and len(message) < 600, message
    return message


# --- the web platform ------------------------------------------------------------------------------


def test_a_web_platform_sets_redirect_uris_and_never_implicit_access_tokens() -> None:
    rec, out = run_main(
        "dev",
        dev(
            redirectUris=[f"{WEB_HOST}/signin-oidc", "http://localhost:5000/signin-oidc"],
            logoutUrl=f"{WEB_HOST}/signout-oidc",
            homepageUrl=WEB_HOST,
        ),
    )
    web = rec.one(APP, "orders").inputs["web"]
    assert web["redirectUris"] == [f"{WEB_HOST}/signin-oidc", "http://localhost:5000/signin-oidc"]
    assert web["logoutUrl"] == f"{WEB_HOST}/signout-oidc"
    assert web["homepageUrl"] == WEB_HOST
    assert web["implicitGrant"] == {"accessTokenIssuanceEnabled": False, "idTokenIssuanceEnabled": False}
    env = env_of(out)
    assert env["AzureAd__CallbackPath"] == "/signin-oidc"
    section = json.loads(out["workloads"]["orders-web"]["appsettingsJson"])["AzureAd"]
    assert section["CallbackPath"] == "/signin-oidc"
    assert section["ClientCredentials"][0]["SourceType"] == "SignedAssertionFromManagedIdentity"


def test_id_tokens_turn_on_implicit_id_tokens_only() -> None:
    rec, _ = run_main("dev", dev(redirectUris=[f"{WEB_HOST}/signin-oidc"], idTokens=True))
    grant = rec.one(APP, "orders").inputs["web"]["implicitGrant"]
    assert grant == {"accessTokenIssuanceEnabled": False, "idTokenIssuanceEnabled": True}


def test_a_custom_callback_path_is_the_one_the_app_is_told() -> None:
    _, out = run_main("dev", dev(redirectUris=[f"{WEB_HOST}/auth/callback"], callbackPath="/auth/callback"))
    assert env_of(out)["AzureAd__CallbackPath"] == "/auth/callback"


def test_an_app_without_a_web_platform_gets_no_web_block_and_no_callback_path() -> None:
    rec, out = run_main("dev", dev())
    assert "web" not in rec.one(APP, "orders").inputs
    assert not any(k.startswith(("AzureAd__CallbackPath", "AzureAd__Audience")) for k in env_of(out))


GOOD_URIS = [
    f"{WEB_HOST}/signin-oidc",
    "https://app.example.com:8443/signin-oidc",
    "https://xn--bcher-kva.example/signin-oidc",  # an IDN host in its ASCII form
    "https://localhost.example.com/signin-oidc",  # https: any public host, even one named like this
    "https://app.example.com/signin-oidc?tenant=contoso",  # queries: allowed for work/school apps
    "http://localhost/signin-oidc",
    "http://localhost:5000/signin-oidc",
    "http://127.0.0.1:65535/signin-oidc",
    "https://127.0.0.1/signin-oidc",
    "https://app.example.com/sign%20in",
]


@pytest.mark.parametrize("uri", GOOD_URIS)
def test_https_and_loopback_redirect_uris_are_accepted(uri: str) -> None:
    path = urlsplit(uri).path
    web = load(dev(redirectUris=[uri], callbackPath=path), set(), "dev").apps["orders"].web
    assert web is not None and web.redirect_uris == (uri,) and web.callback_path == path


BAD_URIS = [
    # (URI, what the message must say)
    ("http://app.example.com/signin-oidc", "uses http on host 'app.example.com'"),
    ("http://localhost.evil.com/signin-oidc", "uses http on host 'localhost.evil.com'"),
    ("http://127.0.0.1.nip.io/signin-oidc", "uses http on host '127.0.0.1.nip.io'"),
    ("http://127.1/signin-oidc", "uses http on host '127.1'"),
    ("http://2130706433/signin-oidc", "uses http on host '2130706433'"),
    ("http://0x7f.0.0.1/signin-oidc", "uses http on host '0x7f.0.0.1'"),
    ("http://127.0.0.2/signin-oidc", "uses http on host '127.0.0.2'"),
    ("http://[::1]:5000/signin-oidc", "Entra does not support [::1]"),
    ("http://[::ffff:127.0.0.1]/signin-oidc", "IPv6"),
    ("https://evil.com@app.example.com/signin-oidc", "user info"),
    ("http://localhost@evil.com/signin-oidc", "user info"),
    ("http://localhost:80@evil.com/signin-oidc", "user info"),
    ("https://app.example.com\\@evil.com/signin-oidc", "backslash"),
    ("https:\\\\evil.com/signin-oidc", "backslash"),
    ("https://app.example.com/..%2f..%2fsignin-oidc", "encoded separator"),
    ("https://app.example.com/a/../signin-oidc", "dot segment"),
    ("https://app.example.com/a/%2e%2e/signin-oidc", "dot segment"),
    ("https://%65vil.com/signin-oidc", "percent-encoded host"),
    ("https://bücher.example/signin-oidc", "xn-- form"),
    ("https://app.example.com/sígnin-oidc", "non-ASCII"),
    ("HTTPS://app.example.com/signin-oidc", "uppercase (write https://)"),
    ("Http://localhost/signin-oidc", "uppercase"),
    ("http://LOCALHOST/signin-oidc", "uppercase letters in the host"),
    (" https://app.example.com/signin-oidc", "whitespace"),
    ("https://app.example.com/signin-oidc\n", "whitespace"),
    ("https://app.example.com/sign in", "whitespace"),
    ("https://app.example.com/signin-oidc\t", "whitespace"),
    ("https://app.example.com/signin-oidc#frag", "fragment"),
    ("https://app.example.com/#", "fragment"),
    ("https://*.example.com/signin-oidc", "wildcard"),
    ("https://app.example.com/*", "wildcard"),
    ("https://app.example.com/signin-oidc;x", "! $ ' ( ) , ;"),
    ("https://app.example.com./signin-oidc", "scheme://host"),
    ("https://app.example.com:/signin-oidc", "scheme://host"),
    ("https://app.example.com:0/signin-oidc", "port 0"),
    ("http://localhost:65536/signin-oidc", "port 65536"),
    ("https:app.example.com/signin-oidc", "not an absolute URL"),
    ("//app.example.com/signin-oidc", "not an absolute URL"),
    ("/signin-oidc", "not an absolute URL"),
    ("javascript:alert(1)//signin-oidc", "not an absolute URL"),
    ("ftp://app.example.com/signin-oidc", "scheme 'ftp'"),
    ("msauth.com.example://auth", "scheme 'msauth.com.example'"),
    ("https://" + "a" * 250 + ".com/signin-oidc", "at most 256"),
]


@pytest.mark.parametrize(("uri", "why"), BAD_URIS)
def test_each_url_parser_trick_is_one_line_naming_key_value_and_expectation(uri: str, why: str) -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/signin-oidc", uri]))
    assert message.startswith("config certless:apps.orders.web.redirectUris[1]: got "), message
    assert repr(uri)[:40] in message
    assert "expected an absolute https URL (http only on http://localhost or http://127.0.0.1" in message
    assert why in message, message


def test_a_non_string_redirect_uri_is_refused() -> None:
    message = refused(dev(redirectUris=[42]))
    assert "web.redirectUris[0]: got 42, expected an absolute https URL" in message


def test_loopback_uris_differing_only_in_port_are_refused() -> None:
    message = refused(
        dev(redirectUris=["http://localhost:5000/signin-oidc", "http://localhost:7000/signin-oidc"])
    )
    assert "web.redirectUris[1]: got 'http://localhost:7000/signin-oidc'" in message
    assert "Entra ignores a loopback URI's port" in message


def test_a_repeated_redirect_uri_is_refused() -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/signin-oidc", f"{WEB_HOST}/signin-oidc"]))
    assert "redirectUris[1]" in message and "a duplicate" in message


def test_the_default_callback_path_must_be_a_redirect_uris_path_and_the_error_says_the_fix() -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/auth"]))
    assert message.startswith("config certless:apps.orders.web.redirectUris: got ")
    assert f"add {WEB_HOST}/signin-oidc to redirectUris, or set callbackPath" in message


def test_a_callback_path_no_redirect_uri_has_is_refused_with_the_fix() -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/signin-oidc"], callbackPath="/Signin-oidc"))
    assert message.startswith("config certless:apps.orders.web.callbackPath: got '/Signin-oidc', expected")
    assert f"add {WEB_HOST}/Signin-oidc to redirectUris" in message


@pytest.mark.parametrize("path", ["signin-oidc", "/a b", "/a//b", "https://x/signin-oidc", "/a#b", ""])
def test_a_callback_path_is_a_url_path(path: str) -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/signin-oidc"], callbackPath=path))
    assert "web.callbackPath" in message


@pytest.mark.parametrize(
    ("web", "key"),
    [
        ({}, "web.redirectUris: missing required field"),
        ({"redirectUris": []}, "web.redirectUris: got '[]', expected 1 to 256 redirect URIs"),
        ({"redirectUris": f"{WEB_HOST}/signin-oidc"}, "web.redirectUris: got"),
        ({"redirectUris": [f"{WEB_HOST}/signin-oidc"], "logoutUrl": "http://a.example/out"}, "logoutUrl"),
        ({"redirectUris": [f"{WEB_HOST}/signin-oidc"], "homepageUrl": "https://a.com/#x"}, "homepageUrl"),
        ({"redirectUris": [f"{WEB_HOST}/signin-oidc"], "idTokens": "yes"}, "idTokens: got 'yes'"),
        ({"redirectUris": [f"{WEB_HOST}/signin-oidc"], "replyUrls": []}, "web.replyUrls: unknown field"),
        (
            {"redirectUris": [f"{WEB_HOST}/signin-oidc"], "implicitGrant": {"accessTokens": True}},
            "web.implicitGrant: unknown field",
        ),
    ],
)
def test_web_block_mistakes_name_their_key(web: dict[str, Any], key: str) -> None:
    cfg = dev()
    cfg["certless:apps"]["orders"]["web"] = web
    assert key in refused(cfg)


def test_a_bad_redirect_uri_registers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import component_fakes

    seen: list[Recorder] = []
    real_install = component_fakes.install

    def spy(*args: Any, **kwargs: Any) -> Any:
        rec, fake = real_install(*args, **kwargs)
        seen.append(rec)
        return rec, fake

    monkeypatch.setattr("main_runner.install", spy)
    with pytest.raises(pulumi.RunError, match=r"web\.redirectUris\[0\]"):
        run_main("dev", dev(redirectUris=["http://evil.example/signin-oidc"]))
    (rec,) = seen
    assert rec.registrations == [] and rec.invokes == []


def test_the_editor_schema_knows_the_web_block() -> None:
    defs = stack_file_schema()["$defs"]
    web = defs["WebBlock"]["properties"]
    assert {"redirectUris", "callbackPath", "logoutUrl", "homepageUrl", "idTokens"} <= set(web)
    assert defs["WebBlock"]["required"] == ["redirectUris"]
    assert "web" in defs["AppEntry"]["properties"]


# --- the web API and the pair ----------------------------------------------------------------------

API_HOST = "https://orders-api.example.com"


def pair(**api: Any) -> dict[str, Any]:
    """dev with a web app (orders) calling a web API (orders-api, its own app) as the signed-in user."""
    cfg = dev(redirectUris=[f"{WEB_HOST}/signin-oidc"])
    cfg["certless:apps"]["orders-api"] = {
        "api": api
        or {
            "scopes": [
                {"value": "access_as_user", "adminConsentDisplayName": "Call the orders API"},
                {"value": "Orders.Write", "description": "Write orders as the signed-in user"},
            ],
            "knownClients": ["orders"],
            "preAuthorizedClients": [{"app": "orders", "scopes": ["access_as_user"]}],
        }
    }
    cfg["certless:workloads"]["orders-api"] = {
        "kind": "containerapp",
        "app": "orders-api",
        "identity": "web",
        "containerApp": {"image": "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"},
    }
    cfg["certless:workloads"]["orders-web"]["delegatedPermissions"] = [
        {"api": "graph", "scopes": ["User.Read"]},
        {"api": "orders-api", "scopes": ["access_as_user"]},
    ]
    return cfg


@pytest.fixture(scope="module")
def deployed_pair() -> tuple[Recorder, dict[str, Any]]:
    return run_main("dev", pair())


def test_the_api_exposes_its_scopes_under_api_client_id(
    deployed_pair: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, _ = deployed_pair
    api_app = rec.one(APP, "orders-api")
    api = api_app.inputs["api"]
    assert api["requestedAccessTokenVersion"] == 2
    scopes = {s["value"]: s for s in api["oauth2PermissionScopes"]}
    assert set(scopes) == {"access_as_user", "Orders.Write"}
    assert scopes["access_as_user"]["adminConsentDisplayName"] == "Call the orders API"
    assert scopes["Orders.Write"]["adminConsentDescription"] == "Write orders as the signed-in user"
    assert all(s["enabled"] and s["type"] == "User" for s in scopes.values())
    assert len({s["id"] for s in scopes.values()}) == 2
    # Consent bundling names the web app's client ID.
    assert api["knownClientApplications"] == [rec.one(APP, "orders").outputs["clientId"]]
    uri = rec.one("azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "orders-api")
    assert uri.inputs["identifierUri"] == f"api://{api_app.outputs['clientId']}"
    assert "api" not in rec.one(APP, "orders").inputs


def test_the_web_app_is_pre_authorized_for_the_scopes_it_gets(
    deployed_pair: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, _ = deployed_pair
    pre = rec.one("azuread:index/applicationPreAuthorized:ApplicationPreAuthorized")
    api_app = rec.one(APP, "orders-api")
    assert pre.inputs["applicationId"] == f"/applications/{api_app.outputs['objectId']}"
    assert pre.inputs["authorizedClientId"] == rec.one(APP, "orders").outputs["clientId"]
    (scope,) = [s for s in api_app.inputs["api"]["oauth2PermissionScopes"] if s["value"] == "access_as_user"]
    assert pre.inputs["permissionIds"] == [scope["id"]]


def test_delegated_permissions_are_admin_consented_from_the_web_apps_principal(
    deployed_pair: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, out = deployed_pair
    grants = {
        g.name: g.inputs
        for g in rec.of_type(
            "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
        )
    }
    web_sp = rec.one(SP, "orders").outputs["objectId"]
    api_sp = rec.one(SP, "orders-api").outputs["objectId"]
    assert grants["orders-web-consent-orders-api"] == {
        "servicePrincipalObjectId": web_sp,
        "resourceServicePrincipalObjectId": api_sp,
        "claimValues": ["access_as_user"],
    }
    graph = grants["orders-web-consent-graph"]
    assert graph["claimValues"] == ["User.Read"] and graph["servicePrincipalObjectId"] == web_sp
    assert "userObjectId" not in graph  # every user: consent type AllPrincipals
    recorded = out["workloads"]["orders-web"]["delegatedPermissions"]
    assert [(r["api"], r["scopes"], r["declaredBy"]) for r in recorded] == [
        ("graph", ["User.Read"], "this stack"),
        ("orders-api", ["access_as_user"], "this stack"),
    ]
    assert recorded[1]["resourceServicePrincipalId"] == api_sp


def test_the_api_workload_is_told_its_audience_and_scopes(
    deployed_pair: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, out = deployed_pair
    env = env_of(out, "orders-api")
    # v2 access tokens carry the API's client ID as aud; Microsoft.Identity.Web accepts it as Audience.
    assert env["AzureAd__Audience"] == rec.one(APP, "orders-api").outputs["clientId"]
    assert env["AzureAd__Scopes"] == "access_as_user Orders.Write"
    assert "AzureAd__CallbackPath" not in env
    section = json.loads(out["workloads"]["orders-api"]["appsettingsJson"])["AzureAd"]
    assert (section["Audience"], section["Scopes"]) == (env["AzureAd__Audience"], env["AzureAd__Scopes"])
    web_env = env_of(out, "orders-web")
    assert web_env["AzureAd__CallbackPath"] == "/signin-oidc" and "AzureAd__Audience" not in web_env


def test_a_v1_api_is_told_the_app_id_uri_its_tokens_carry() -> None:
    rec, out = run_main("dev", pair(scopes=[{"value": "access_as_user"}], requestedAccessTokenVersion=1))
    client_id = rec.one(APP, "orders-api").outputs["clientId"]
    assert env_of(out, "orders-api")["AzureAd__Audience"] == f"api://{client_id}"
    assert rec.one(APP, "orders-api").inputs["api"]["requestedAccessTokenVersion"] == 1


def test_scope_ids_are_stable_and_a_given_id_is_kept() -> None:
    given = "8c5f3c4e-1b2a-4d6e-9f70-0a1b2c3d4e5f"
    first = load(
        pair(scopes=[{"value": "access_as_user"}, {"value": "b", "id": given.upper()}]), set(), "dev"
    )
    second = load(pair(scopes=[{"value": "access_as_user"}, {"value": "b", "id": given}]), set(), "dev")
    api_first, api_second = first.apps["orders-api"].api, second.apps["orders-api"].api
    assert api_first is not None and api_second is not None
    assert api_first.scopes == api_second.scopes
    assert api_first.scopes[1].id == given


def with_api(api: dict[str, Any]) -> dict[str, Any]:
    cfg = pair()
    cfg["certless:apps"]["orders-api"]["api"] = api
    cfg["certless:workloads"]["orders-web"]["delegatedPermissions"] = [
        {"api": "graph", "scopes": ["User.Read"]}
    ]
    return cfg


@pytest.mark.parametrize(
    ("api", "fragments"),
    [
        (
            {"scopes": [{"value": "access as user"}]},
            ["api.scopes[0].value: got 'access as user'", "no spaces"],
        ),
        ({"scopes": [{"value": ".hidden"}]}, ["api.scopes[0].value", "not starting with '.'"]),
        ({"scopes": [{"value": "x" * 121}]}, ["api.scopes[0].value", "at most 120"]),
        ({"scopes": [{"value": "openid"}]}, ["api.scopes[0].value: got 'openid'", "OpenID Connect scope"]),
        (
            {"scopes": [{"value": "a"}, {"value": "a"}]},
            ["api.scopes[1].value: got 'a'", "each scope value once"],
        ),
        ({"scopes": [{"value": "a", "id": "nope"}]}, ["api.scopes[0].id: got 'nope'", "GUID"]),
        ({"scopes": [{"value": "a", "displayName": "A"}]}, ["api.scopes[0].displayName: unknown field"]),
        ({"scopes": "access_as_user"}, ["api.scopes: got 'access_as_user'"]),
        ({"requestedAccessTokenVersion": 3}, ["api.requestedAccessTokenVersion: got 3", "1 to 2"]),
        (
            {"knownClients": ["nope"]},
            ["api.knownClients[0]: got 'nope'", "another app in certless:apps (orders)"],
        ),
        ({"knownClients": ["orders-api"]}, ["api.knownClients[0]: got 'orders-api'", "another app"]),
        ({"knownClients": ["orders", "orders"]}, ["api.knownClients[1]", "each known client once"]),
        (
            {"scopes": [{"value": "a"}], "preAuthorizedClients": [{"app": "orders", "scopes": ["b"]}]},
            ["api.preAuthorizedClients[0].scopes[0]: got 'b'", "a scope this app exposes", "(a)"],
        ),
        (
            {"scopes": [{"value": "a"}], "preAuthorizedClients": [{"app": "ghost", "scopes": ["a"]}]},
            ["api.preAuthorizedClients[0].app: got 'ghost'"],
        ),
        ({"preAuthorizedClients": [{"app": "orders"}]}, ["api.preAuthorizedClients[0].scopes: missing"]),
        ({"oauth2PermissionScopes": []}, ["api.oauth2PermissionScopes: unknown field"]),
    ],
)
def test_api_mistakes_are_one_line_naming_key_value_and_expectation(
    api: dict[str, Any], fragments: list[str]
) -> None:
    message = refused(with_api(api))
    assert message.startswith("config certless:apps.orders-api.api"), message
    for fragment in fragments:
        assert fragment in message, message


def test_a_scope_may_not_reuse_an_app_role_value() -> None:
    cfg = with_api({"scopes": [{"value": "Orders.Read"}]})
    cfg["certless:apps"]["orders-api"]["appRoles"] = ["Orders.Read"]
    assert "one namespace" in refused(cfg)


def test_apps_naming_each_other_as_known_clients_are_refused() -> None:
    cfg = with_api({"knownClients": ["orders"]})
    cfg["certless:apps"]["orders"]["api"] = {"knownClients": ["orders-api"]}
    message = refused(cfg)
    assert message.startswith("config certless:apps.orders-api.api.knownClients: apps name each other")
    assert "(orders -> orders-api -> orders)" in message, message


@pytest.mark.parametrize(
    ("delegated", "fragments"),
    [
        (
            [{"api": "orders-api", "scopes": ["Orders.Delete"]}],
            ["delegatedPermissions[0].scopes[0]: got 'Orders.Delete'", "(access_as_user, Orders.Write)"],
        ),
        ([{"api": "orders", "scopes": ["x"]}], ["delegatedPermissions[0].scopes[0]", "it exposes none"]),
        (
            [{"api": "billing", "scopes": ["x"]}],
            ["delegatedPermissions[0].api: got 'billing'", "graph, the key"],
        ),
        ([{"api": "graph", "scopes": []}], ["delegatedPermissions[0].scopes: got '[]'", "non-empty list"]),
        ([{"api": "graph", "scopes": ["User Read"]}], ["delegatedPermissions[0].scopes[0]: got 'User Read'"]),
        (
            [{"api": "graph", "scopes": ["User.Read", "User.Read"]}],
            ["delegatedPermissions[0].scopes[1]", "each scope of graph once"],
        ),
        (
            [{"api": "graph", "scopes": ["User.Read"]}, {"api": "graph", "scopes": ["openid"]}],
            ["delegatedPermissions[1].api: got 'graph'", "each api once"],
        ),
        ([{"api": "graph", "appRoles": ["x"]}], ["delegatedPermissions[0].appRoles: unknown field"]),
        ({"api": "graph"}, ["delegatedPermissions: got", "a list of {api, scopes}"]),
    ],
)
def test_delegated_permission_mistakes_are_one_line(delegated: Any, fragments: list[str]) -> None:
    cfg = pair()
    cfg["certless:workloads"]["orders-web"]["delegatedPermissions"] = delegated
    message = refused(cfg)
    assert message.startswith("config certless:workloads.orders-web.delegatedPermissions"), message
    for fragment in fragments:
        assert fragment in message, message


def test_a_graph_scope_graph_does_not_expose_stops_before_any_resource() -> None:
    cfg = pair()
    cfg["certless:workloads"]["orders-web"]["delegatedPermissions"] = [
        {"api": "graph", "scopes": ["User.Read", "User.Read.Everything"]}
    ]
    with pytest.raises(
        pulumi.RunError,
        match=r"delegatedPermissions\[0\]\.scopes\[1\]: got 'User.Read.Everything', expected a delegated"
        r" permission that graph exposes \(",
    ):
        run_main("dev", cfg)


def test_two_workloads_of_one_app_consent_to_an_api_once() -> None:
    cfg = pair()
    cfg["certless:workloads"]["orders-web-2"] = copy.deepcopy(cfg["certless:workloads"]["orders-web"])
    cfg["certless:workloads"]["orders-web-2"]["appService"]["name"] = "certless-orders-web2-dev"
    cfg["certless:workloads"]["orders-web-2"]["appService"]["planName"] = "plan-certless-dev-2"
    cfg["certless:workloads"]["orders-web-2"].pop("access")
    message = refused(cfg)
    assert "workloads.orders-web-2.delegatedPermissions[0].api: got 'graph'" in message
    assert "already granted by workload orders-web" in message


def test_the_editor_schema_knows_the_api_block_and_delegated_permissions() -> None:
    defs = stack_file_schema()["$defs"]
    api = defs["ApiBlock"]["properties"]
    assert {"scopes", "requestedAccessTokenVersion", "knownClients", "preAuthorizedClients"} <= set(api)
    assert set(defs["ScopeEntry"]["properties"]) == {"value", "adminConsentDisplayName", "description", "id"}
    assert "delegatedPermissions" in defs["WorkloadEntry"]["properties"]


@pytest.mark.parametrize("path", ["signin-oidc", "/a//b", "https://x/signin-oidc"])
def test_a_callback_path_that_is_no_url_path_is_refused_by_its_key(path: str) -> None:
    message = refused(dev(redirectUris=[f"{WEB_HOST}/signin-oidc"], callbackPath=path))
    assert message == (
        f"config certless:apps.orders.web.callbackPath: got {path!r}, expected a URL path starting with "
        "'/', like /signin-oidc"
    )
