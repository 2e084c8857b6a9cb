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
