"""The web sign-in rules on app registrations: implicit access tokens, https redirect URIs, no wildcards."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from policy_plans import PlanBuilder, find, good_plan, set_prop

from certless_ops.review import Review, review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES
from policy.rules.web import NO_IMPLICIT_ACCESS_TOKENS, NO_WILDCARD_REDIRECT_URIS, REDIRECT_URIS_HTTPS

APP = "azuread:index/application:Application"
WEB = "https://orders.example.com/signin-oidc"


def review(plan: dict[str, Any]) -> Review:
    return review_plan(plan, parse_pack_config({}, ALL_POLICIES))


def found(result: Review) -> list[tuple[str, str, str, str]]:
    return [(v.policy, v.enforcement, v.resource_name, v.message) for v in result.violations]


def with_web(web: dict[str, Any], block: str = "web") -> dict[str, Any]:
    plan = good_plan()
    set_prop(find(plan, "orders-app", APP), block, web)
    return plan


def test_a_web_app_with_https_and_loopback_redirect_uris_passes() -> None:
    plan = with_web(
        {
            "redirectUris": [WEB, "http://localhost:5000/signin-oidc", "http://127.0.0.1/signin-oidc"],
            "implicitGrant": {"accessTokenIssuanceEnabled": False, "idTokenIssuanceEnabled": True},
        }
    )
    assert found(review(plan)) == []


def test_implicit_access_tokens_are_a_mandatory_violation() -> None:
    plan = with_web({"redirectUris": [WEB], "implicitGrant": {"accessTokenIssuanceEnabled": True}})
    ((policy, level, name, message),) = found(review(plan))
    assert (policy, level, name) == (NO_IMPLICIT_ACCESS_TOKENS, "mandatory", "orders-app")
    assert "accessTokenIssuanceEnabled" in message and "authorization-code flow" in message


TRICKS = [
    # (URI, the policy it breaks, what the message says)
    ("http://orders.example.com/signin-oidc", REDIRECT_URIS_HTTPS, "uses http on host"),
    ("http://localhost.evil.com/signin-oidc", REDIRECT_URIS_HTTPS, "uses http on host 'localhost.evil.com'"),
    ("http://127.0.0.1.nip.io/signin-oidc", REDIRECT_URIS_HTTPS, "'127.0.0.1.nip.io'"),
    ("http://127.1/signin-oidc", REDIRECT_URIS_HTTPS, "'127.1'"),
    ("http://[::1]:5000/signin-oidc", REDIRECT_URIS_HTTPS, "[::1]"),
    ("http://localhost@evil.com/signin-oidc", REDIRECT_URIS_HTTPS, "user info"),
    ("https://orders.example.com@evil.com/signin-oidc", REDIRECT_URIS_HTTPS, "user info"),
    ("https://orders.example.com\\@evil.com/", REDIRECT_URIS_HTTPS, "backslash"),
    ("https://%65vil.com/signin-oidc", REDIRECT_URIS_HTTPS, "percent-encoded host"),
    ("https://orders.example.com/..%2fsignin-oidc", REDIRECT_URIS_HTTPS, "encoded separator"),
    ("https://bücher.example/signin-oidc", REDIRECT_URIS_HTTPS, "xn--"),
    ("HTTP://localhost/signin-oidc", REDIRECT_URIS_HTTPS, "uppercase"),
    ("https://orders.example.com/signin-oidc ", REDIRECT_URIS_HTTPS, "whitespace"),
    ("https://orders.example.com/signin-oidc#x", REDIRECT_URIS_HTTPS, "fragment"),
    ("ftp://orders.example.com/", REDIRECT_URIS_HTTPS, "scheme 'ftp'"),
    ("https://*.example.com/signin-oidc", NO_WILDCARD_REDIRECT_URIS, "wildcard"),
    ("https://orders.example.com/*", NO_WILDCARD_REDIRECT_URIS, "wildcard"),
]


@pytest.mark.parametrize(("uri", "policy", "why"), TRICKS)
@pytest.mark.parametrize("block", ["web", "singlePageApplication"])
def test_each_redirect_uri_trick_is_one_mandatory_violation_naming_the_uri(
    uri: str, policy: str, why: str, block: str
) -> None:
    plan = with_web({"redirectUris": [WEB, uri]}, block)
    ((name, level, resource, message),) = found(review(plan))
    assert (name, level, resource) == (policy, "mandatory", "orders-app")
    assert repr(uri) in message and why in message, message


def test_a_separate_redirect_uris_resource_is_checked_too() -> None:
    builder = PlanBuilder()
    builder.app_service()
    app = next(r for r in builder.resources if r["type"] == APP)
    builder._add(
        "azuread:index/applicationRedirectUris:ApplicationRedirectUris",
        "orders-redirects",
        app,
        {
            "applicationId": app["outputs"]["id"],
            "type": "Web",
            "redirectUris": ["http://orders.example.com/"],
        },
    )
    ((policy, _, name, _),) = found(review(builder.plan()))
    assert (policy, name) == (REDIRECT_URIS_HTTPS, "orders-redirects")


def test_public_client_redirect_uris_may_use_custom_schemes() -> None:
    plan = with_web({"redirectUris": ["msauth.com.example.orders://auth"]}, "publicClient")
    assert found(review(plan)) == []


@pytest.fixture(scope="module")
def web_pair_plan() -> dict[str, Any]:
    from pathlib import Path

    from certless_ops.plan.config import load_stack_config
    from certless_ops.plan.runner import run_plan

    repo = Path(__file__).resolve().parents[2]
    return run_plan(load_stack_config(repo, None, repo / "tests" / "e2e" / "stacks" / "Pulumi.web.yaml"))


def test_the_programs_web_app_and_api_pass_every_policy(web_pair_plan: dict[str, Any]) -> None:
    types = {r["type"] for r in web_pair_plan["resources"]}
    assert "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized" in types
    assert (
        "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
        in types
    )
    assert found(review(web_pair_plan)) == []


def test_the_program_plan_breaks_the_rules_when_its_app_is_edited(web_pair_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(web_pair_plan)
    app = find(plan, "orders-web", APP)
    set_prop(app, "web.implicitGrant.accessTokenIssuanceEnabled", True)
    set_prop(app, "web.redirectUris.1", "http://localhost.evil.com/signin-oidc")
    assert sorted(p for p, *_ in found(review(plan))) == [NO_IMPLICIT_ACCESS_TOKENS, REDIRECT_URIS_HTTPS]


MORE_TRICKS = [
    # Every other way Entra or a browser refuses or re-reads a redirect URI, each under the https policy.
    ("https://orders.example.com/sign(in)", "! $ ' ( ) , ;"),
    ("https://Orders.example.com/signin-oidc", "uppercase letters in the host"),
    ("https://orders.example.com:99999/signin-oidc", "port 99999"),
    ("https://orders.example.com/a/../signin-oidc", "dot segment"),
    ("https://orders_example.com/signin-oidc", "is not scheme://host"),
    ("orders.example.com/signin-oidc", "not an absolute URL"),
]


@pytest.mark.parametrize(("uri", "why"), MORE_TRICKS)
def test_every_malformed_redirect_uri_is_the_https_policys_violation(uri: str, why: str) -> None:
    plan = with_web({"redirectUris": [WEB, uri]})
    ((name, level, resource, message),) = found(review(plan))
    assert (name, level, resource) == (REDIRECT_URIS_HTTPS, "mandatory", "orders-app")
    assert why in message, message


@pytest.mark.parametrize("value", [None, 7, ""], ids=["null", "number", "empty"])
def test_a_redirect_uri_that_is_no_text_is_a_violation(value: Any) -> None:
    plan = with_web({"redirectUris": [WEB, value]})
    ((name, level, _, message),) = found(review(plan))
    assert (name, level) == (REDIRECT_URIS_HTTPS, "mandatory")
    assert "is not a non-empty string" in message


def test_an_overlong_redirect_uri_is_named_by_its_first_characters_and_its_length() -> None:
    from policy.rules.redirect_uris import MAX_LENGTH

    uri = "https://orders.example.com/" + "a" * (MAX_LENGTH + 10)
    plan = with_web({"redirectUris": [WEB, uri]})
    ((name, _, _, message),) = found(review(plan))
    assert name == REDIRECT_URIS_HTTPS
    assert repr(uri[:117] + "...") in message and uri not in message
    assert f"is {len(uri)} characters long; Entra takes at most {MAX_LENGTH}" in message
