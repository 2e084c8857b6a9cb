"""A colour stack of web apps and APIs, planned offline against its owner's outputs: it is told the same
sign-in settings as the owner's workloads, and says so when the owner lacks a redirect URI of its host."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan

from .support import REPO

WEB_STACK = REPO / "tests" / "e2e" / "stacks" / "Pulumi.web.yaml"
GREEN_HOST = "certless-orders-web-green.azurewebsites.net"
GREEN_CALLBACK = f"https://{GREEN_HOST}/.auth/login/aad/callback"


def _write(tmp_path: Path, stack: str, config: dict[str, Any]) -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def owner_config(extra_uris: tuple[str, ...] = (), id_tokens: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(WEB_STACK.read_text())["config"]
    config["certless:apps"]["orders-web"]["web"]["redirectUris"] += list(extra_uris)
    if id_tokens:  # what a colour's App Service Authentication needs of the owner's app
        config["certless:apps"]["orders-web"]["web"]["idTokens"] = True
    return config


def green_config(owner: dict[str, Any], easy_auth: bool = False) -> dict[str, Any]:
    config = copy.deepcopy(owner)
    del config["certless:identities"], config["certless:apps"]
    config["certless:identityOwner"] = {"stack": "web"}
    config["certless:color"] = "green"
    for w in config["certless:workloads"].values():
        w.pop("delegatedPermissions", None)  # consent belongs to the owner's app registrations
    if easy_auth:
        config["certless:workloads"]["orders-web"]["appService"]["authentication"] = {}
    return config


def plans(
    tmp_path: Path, owner: dict[str, Any], green: dict[str, Any], owner_outputs: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    web = run_plan(load_stack_config(REPO, "web", _write(tmp_path, "web", owner)))
    outputs = owner_outputs(copy.deepcopy(web["outputs"])) if owner_outputs else web["outputs"]
    colour = run_plan(
        load_stack_config(REPO, "web-green", _write(tmp_path, "web-green", green)),
        stack_outputs={"web": outputs},
    )
    return web, colour


def env(plan: dict[str, Any], workload: str) -> dict[str, str]:
    return dict(plan["outputs"]["workloads"][workload]["azureAdEnv"])


def site_settings(plan: dict[str, Any], name: str) -> dict[str, str]:
    (site,) = [r for r in plan["resources"] if r["type"] == "azure-native:web:WebApp" and r["name"] == name]
    return {s["name"]: s["value"] for s in site["inputs"]["siteConfig"]["appSettings"]}


def test_colour_workloads_are_told_the_owners_callback_path_audience_and_scopes(tmp_path: Path) -> None:
    green_uri = f"https://{GREEN_HOST}/signin-oidc"
    owner = owner_config((green_uri,))
    web, green = plans(tmp_path, owner, green_config(owner))
    for workload in ("orders-web", "orders-api"):
        mine, theirs = env(green, workload), env(web, workload)
        for name in ("AzureAd__CallbackPath", "AzureAd__Audience", "AzureAd__Scopes", "AzureAd__ClientId"):
            assert mine.get(name) == theirs.get(name), (workload, name)
    assert env(green, "orders-web")["AzureAd__CallbackPath"] == "/signin-oidc"
    assert "AzureAd__Audience" not in env(green, "orders-web")
    api_client = web["outputs"]["sharedIdentity"]["apps"]["orders-api"]["clientId"]
    assert env(green, "orders-api")["AzureAd__Audience"] == api_client
    assert env(green, "orders-api")["AzureAd__Scopes"] == "access_as_user"
    # On the compute itself, not only in the outputs.
    assert site_settings(green, "orders-web")["AzureAd__CallbackPath"] == "/signin-oidc"
    (app,) = [r for r in green["resources"] if r["type"] == "azure-native:app:ContainerApp"]
    container_env = {e["name"]: e["value"] for e in app["inputs"]["template"]["containers"][0]["env"]}
    assert container_env["AzureAd__Audience"] == api_client
    assert green["outputs"]["workloads"]["orders-web"]["redirectUris"] == {
        "needed": [green_uri],
        "missing": [],
    }
    assert not any("lists no redirect URI" in w for w in green["warnings"])


def test_a_colour_host_the_owner_does_not_list_is_reported(tmp_path: Path) -> None:
    owner = owner_config()
    _, green = plans(tmp_path, owner, green_config(owner))
    missing = f"https://{GREEN_HOST}/signin-oidc"
    assert green["outputs"]["workloads"]["orders-web"]["redirectUris"]["missing"] == [missing]
    (warning,) = [w for w in green["warnings"] if "lists no redirect URI" in w]
    assert missing in warning and "certless:apps.orders-web.web.redirectUris of stack 'web'" in warning


def test_colour_easy_auth_needs_its_callback_on_the_owners_app(tmp_path: Path) -> None:
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc",))
    with pytest.raises(Exception, match="App Service Authentication") as err:
        plans(tmp_path, owner, green_config(owner, easy_auth=True))
    message = str(err.value)
    assert GREEN_CALLBACK in message and "AADSTS50011" in message
    assert "certless:apps.orders-web.web.redirectUris of stack 'web'" in message


def test_colour_easy_auth_with_its_callback_listed_by_the_owner(tmp_path: Path) -> None:
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc", GREEN_CALLBACK))
    web, green = plans(tmp_path, owner, green_config(owner, easy_auth=True))
    (auth,) = [r for r in green["resources"] if r["type"].endswith("WebAppAuthSettingsV2WithoutSecrets")]
    registration = auth["inputs"]["identityProviders"]["azureActiveDirectory"]["registration"]
    assert registration["clientId"] == web["outputs"]["sharedIdentity"]["apps"]["orders-web"]["clientId"]
    identity = web["outputs"]["sharedIdentity"]["identities"]["web"]["clientId"]
    assert site_settings(green, "orders-web")["OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"] == identity
    assert green["outputs"]["workloads"]["orders-web"]["redirectUris"]["missing"] == []


def _old_owner(outputs: dict[str, Any]) -> dict[str, Any]:
    for app in outputs["sharedIdentity"]["apps"].values():
        del app["signIn"]
    return outputs


def test_an_owner_that_predates_the_sign_in_record_keeps_working_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    owner = owner_config()
    _, green = plans(tmp_path, owner, green_config(owner), owner_outputs=_old_owner)
    assert "AzureAd__CallbackPath" not in env(green, "orders-web")
    assert "AzureAd__ClientId" in env(green, "orders-web")
    warnings = [w for w in green["warnings"] if "exports no sharedIdentity.apps.orders-web.signIn" in w]
    assert warnings and "run `pulumi up` on 'web'" in warnings[0]
    with pytest.raises(Exception, match=r"exports no sharedIdentity\.apps\.orders-web\.signIn"):
        plans(tmp_path, owner, green_config(owner, easy_auth=True), owner_outputs=_old_owner)


def test_a_missing_or_wrong_field_of_the_record_is_one_error_naming_it(tmp_path: Path) -> None:
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc",))

    def without_scopes(outputs: dict[str, Any]) -> dict[str, Any]:
        del outputs["sharedIdentity"]["apps"]["orders-api"]["signIn"]["scopes"]
        return outputs

    def bad_version(outputs: dict[str, Any]) -> dict[str, Any]:
        outputs["sharedIdentity"]["apps"]["orders-api"]["signIn"]["requestedAccessTokenVersion"] = 3
        return outputs

    with pytest.raises(Exception, match=r"sharedIdentity\.apps\.orders-api\.signIn\.scopes"):
        plans(tmp_path, owner, green_config(owner), owner_outputs=without_scopes)
    with pytest.raises(Exception, match=r"requestedAccessTokenVersion = 3(\.0)?; expected 1 or 2"):
        plans(tmp_path, owner, green_config(owner), owner_outputs=bad_version)


@pytest.mark.parametrize("listed", [False, True], ids=["unlisted", "listed"])
def test_bluegreen_check_fails_on_a_colour_host_the_owner_does_not_list(tmp_path: Path, listed: bool) -> None:
    from certless_ops.bluegreen.checks import Release, run_checks
    from certless_ops.bluegreen.planview import Plan

    green_uri = f"https://{GREEN_HOST}/signin-oidc"
    owner = owner_config((green_uri,) if listed else ())
    web, green = plans(tmp_path, owner, green_config(owner))
    results = {r.id: r for r in run_checks(Release(Plan.from_json(web), Plan.from_json(green)))}
    check = results["redirect-uris"]
    if listed:
        assert check.passed and check.findings == []
        assert any(green_uri in d and "registered" in d for d in check.details)
    else:
        (finding,) = check.findings
        assert not check.passed and green_uri in finding and "AADSTS50011" in finding
        assert "web-green workload orders-web" in finding


def test_a_colour_keeps_the_owners_delegated_permissions_without_granting_them_again(tmp_path: Path) -> None:
    """`duplicate` copies the workloads as they are: their consent to Graph and to an API the owner holds
    (by its app key) is recorded, and only the owner declares the grant (Entra keeps one per client and
    API, 409 on a second)."""
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc",))
    green = green_config(owner)
    green["certless:workloads"]["orders-web"]["delegatedPermissions"] = copy.deepcopy(
        owner["certless:workloads"]["orders-web"]["delegatedPermissions"]
    )
    web, colour = plans(tmp_path, owner, green)
    grant = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
    assert [r for r in web["resources"] if r["type"] == grant]
    assert not [r for r in colour["resources"] if r["type"] == grant]
    recorded = colour["outputs"]["workloads"]["orders-web"]["delegatedPermissions"]
    assert [(d["api"], d["declaredBy"]) for d in recorded] == [
        ("graph", "identity owner"),
        ("orders-api", "identity owner"),
    ]
    api_sp = web["outputs"]["sharedIdentity"]["apps"]["orders-api"]
    owner_grants = {
        d["api"]: d["resourceServicePrincipalId"]
        for d in web["outputs"]["workloads"]["orders-web"]["delegatedPermissions"]
    }
    assert recorded[1]["resourceServicePrincipalId"] == owner_grants["orders-api"], api_sp


def test_a_colour_naming_an_api_its_owner_does_not_export_is_one_error(tmp_path: Path) -> None:
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc",))
    green = green_config(owner)
    green["certless:workloads"]["orders-web"]["delegatedPermissions"] = [
        {"api": "billing-api", "scopes": ["access_as_user"]}
    ]
    with pytest.raises(Exception, match=r"sharedIdentity\.apps\.billing-api\.clientId"):
        plans(tmp_path, owner, green)


def _by_ids(web: dict[str, Any], green: dict[str, Any], **described: Any) -> dict[str, Any]:
    """The colour config with its layer given by explicit IDs (the owner's, as `pulumi stack output` shows
    them) instead of a stack reference, each app described as ``described`` says."""
    shared = web["outputs"]["sharedIdentity"]
    config = copy.deepcopy(green)
    config["certless:identityOwner"] = {
        "identities": {
            key: {k: v for k, v in i.items() if k in ("resourceId", "clientId", "principalId")}
            for key, i in shared["identities"].items()
        },
        "apps": {
            key: {
                "clientId": a["clientId"],
                "objectId": a["objectId"],
                **described.get(key.replace("-", "_"), {}),
            }
            for key, a in shared["apps"].items()
        },
    }
    return config


def _plan_by_ids(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    return run_plan(load_stack_config(REPO, "web-green", _write(tmp_path, "web-green", config)))


def test_a_colour_given_its_layer_by_ids_is_told_the_sign_in_settings_its_config_describes(
    tmp_path: Path,
) -> None:
    green_uri = f"https://{GREEN_HOST}/signin-oidc"
    owner = owner_config((green_uri,))
    web, _ = plans(tmp_path, owner, green_config(owner))
    described = {
        "orders_web": {"web": {"callbackPath": "/signin-oidc", "redirectUris": [green_uri]}},
        "orders_api": {"api": {"scopes": ["access_as_user"]}},
    }
    colour = _plan_by_ids(tmp_path, _by_ids(web, green_config(owner), **described))
    for workload in ("orders-web", "orders-api"):
        mine, theirs = env(colour, workload), env(web, workload)
        for name in ("AzureAd__CallbackPath", "AzureAd__Audience", "AzureAd__Scopes", "AzureAd__ClientId"):
            assert mine.get(name) == theirs.get(name), (workload, name)
    assert colour["outputs"]["workloads"]["orders-web"]["redirectUris"] == {
        "needed": [green_uri],
        "missing": [],
    }
    assert not any("lists no redirect URI" in w for w in colour["warnings"])


def test_a_colour_given_by_ids_says_which_sign_in_uri_its_config_does_not_list(tmp_path: Path) -> None:
    owner = owner_config()
    web, _ = plans(tmp_path, owner, green_config(owner))
    described = {
        "orders_web": {"web": {"redirectUris": ["https://certless-orders-web.azurewebsites.net/signin-oidc"]}}
    }
    colour = _plan_by_ids(tmp_path, _by_ids(web, green_config(owner), **described))
    (warning,) = [w for w in colour["warnings"] if "lists no redirect URI" in w]
    assert f"https://{GREEN_HOST}/signin-oidc" in warning
    assert "certless:identityOwner.apps.orders-web.web.redirectUris" in warning
    with pytest.raises(Exception, match="AADSTS50011") as err:
        _plan_by_ids(tmp_path, _by_ids(web, green_config(owner, easy_auth=True), **described))
    assert GREEN_CALLBACK in str(err.value)


def test_a_colour_given_by_ids_without_sign_in_settings_is_told_none(tmp_path: Path) -> None:
    owner = owner_config()
    web, _ = plans(tmp_path, owner, green_config(owner))
    colour = _plan_by_ids(tmp_path, _by_ids(web, green_config(owner)))
    assert "AzureAd__CallbackPath" not in env(colour, "orders-web")
    assert "AzureAd__Audience" not in env(colour, "orders-api")
    assert "AzureAd__ClientId" in env(colour, "orders-web")
    assert not any("signIn" in w for w in colour["warnings"])


@pytest.mark.parametrize(
    ("described", "named"),
    [
        ({"orders_web": {"web": {"callbackPath": "signin-oidc"}}}, "apps.orders-web.web.callbackPath"),
        (
            {"orders_web": {"web": {"redirectUris": ["http://example.com/cb"]}}},
            "apps.orders-web.web.redirectUris[0]",
        ),
        (
            {"orders_api": {"api": {"requestedAccessTokenVersion": 3}}},
            "apps.orders-api.api.requestedAccessTokenVersion",
        ),
        ({"orders_api": {"api": {"scopes": ["has space"]}}}, "apps.orders-api.api.scopes[0]"),
        ({"orders_api": {"api": {"audience": "x"}}}, "apps.orders-api.api.audience"),
    ],
)
def test_a_bad_sign_in_description_is_one_error_naming_it(
    tmp_path: Path, described: dict[str, Any], named: str
) -> None:
    owner = owner_config()
    web, _ = plans(tmp_path, owner, green_config(owner))
    with pytest.raises(Exception, match=r"certless:identityOwner") as err:
        _plan_by_ids(tmp_path, _by_ids(web, green_config(owner), **described))
    assert named in str(err.value)
    assert "Traceback" not in str(err.value)


def test_colour_easy_auth_needs_id_tokens_from_the_owners_app(tmp_path: Path) -> None:
    owner = owner_config((f"https://{GREEN_HOST}/signin-oidc", GREEN_CALLBACK), id_tokens=False)
    with pytest.raises(Exception, match="AADSTS700054") as err:
        plans(tmp_path, owner, green_config(owner, easy_auth=True))
    assert "certless:apps.orders-web.web of stack 'web'" in str(err.value)
    # Signing in from the app's own code (MSAL) needs no ID tokens from the implicit grant.
    _, green = plans(tmp_path, owner, green_config(owner))
    assert env(green, "orders-web")["AzureAd__CallbackPath"] == "/signin-oidc"


def test_a_colour_given_by_ids_needs_id_tokens_for_easy_auth_too(tmp_path: Path) -> None:
    owner = owner_config()
    web, _ = plans(tmp_path, owner, green_config(owner))
    uris = [f"https://{GREEN_HOST}/signin-oidc", GREEN_CALLBACK]
    without = {"orders_web": {"web": {"redirectUris": uris}}}
    with pytest.raises(Exception, match="AADSTS700054") as err:
        _plan_by_ids(tmp_path, _by_ids(web, green_config(owner, easy_auth=True), **without))
    assert "certless:identityOwner.apps.orders-web.web" in str(err.value)
    issuing = {"orders_web": {"web": {"redirectUris": uris, "idTokens": True}}}
    colour = _plan_by_ids(tmp_path, _by_ids(web, green_config(owner, easy_auth=True), **issuing))
    assert colour["outputs"]["workloads"]["orders-web"]["redirectUris"]["missing"] == []
