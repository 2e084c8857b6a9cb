"""App Service Authentication rules, judged on a planned stack: FIC override, callback, trusted identity."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_plans import find, set_prop

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan
from certless_ops.review import Review, review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES
from policy.rules.easy_auth import CALLBACK_REGISTERED, ID_TOKENS_ISSUED, IDENTITY_TRUSTED, USES_FIC

REPO = Path(__file__).resolve().parents[2]
AUTH = "WebAppAuthSettingsV2WithoutSecrets"
APP = "azuread:index/application:Application"
REGISTRATION = "identityProviders.azureActiveDirectory.registration"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = doc["config"]
    config["certless:apps"]["orders"]["web"] = {"redirectUris": ["http://localhost:5000/signin-oidc"]}
    config["certless:workloads"]["orders-web"]["appService"]["authentication"] = {}
    path = tmp_path_factory.mktemp("easyauth") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc))
    return run_plan(load_stack_config(REPO, "dev", path))


@pytest.fixture
def plan(planned: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(planned)


def ours(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    result: Review = review_plan(plan, parse_pack_config({}, ALL_POLICIES))
    names = (USES_FIC, CALLBACK_REGISTERED, IDENTITY_TRUSTED, ID_TOKENS_ISSUED)
    return [(v.policy, v.enforcement, v.message) for v in result.violations if v.policy in names]


def test_the_planned_easy_auth_stack_passes(plan: dict[str, Any]) -> None:
    assert ours(plan) == []
    result = review_plan(plan, parse_pack_config({}, ALL_POLICIES))
    assert [v for v in result.violations if v.enforcement == "mandatory"] == []


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        (
            "clientSecretSettingName",
            "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET",
            "reads the Entra client secret",
        ),
        ("clientSecretSettingName", None, "falls back to the implicit grant"),
        ("clientSecretCertificateThumbprint", "ABCDEF0123", "with a certificate"),
    ],
)
def test_a_secret_a_certificate_or_no_credential_is_mandatory(
    plan: dict[str, Any], field: str, value: Any, says: str
) -> None:
    auth = find(plan, "orders-web", AUTH)
    for side in ("inputs", "outputs"):
        registration = auth[side]["identityProviders"]["azureActiveDirectory"]["registration"]
        if value is None:
            registration.pop(field)
        else:
            registration[field] = value
    ((policy, level, message),) = ours(plan)
    assert (policy, level) == (USES_FIC, "mandatory")
    assert says in message and "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID" in message


def test_a_disabled_entra_provider_is_not_judged(plan: dict[str, Any]) -> None:
    auth = find(plan, "orders-web", AUTH)
    set_prop(auth, "identityProviders.azureActiveDirectory.enabled", False)
    set_prop(auth, f"{REGISTRATION}.clientSecretSettingName", "MY_SECRET")
    assert ours(plan) == []


def test_a_callback_the_app_does_not_list_is_mandatory(plan: dict[str, Any]) -> None:
    app = find(plan, "orders", APP)
    set_prop(app, "web.redirectUris", ["http://localhost:5000/signin-oidc"])
    ((policy, level, message),) = ours(plan)
    assert (policy, level) == (CALLBACK_REGISTERED, "mandatory")
    assert "https://certless-orders-web-dev.azurewebsites.net/.auth/login/aad/callback" in message
    assert "AADSTS50011" in message


def test_a_callback_in_a_separate_redirect_uris_resource_counts(plan: dict[str, Any]) -> None:
    app = find(plan, "orders", APP)
    set_prop(app, "web.redirectUris", [])
    callback = "https://certless-orders-web-dev.azurewebsites.net/.auth/login/aad/callback"
    props = {"applicationId": app["outputs"]["id"], "type": "Web", "redirectUris": [callback]}
    plan["resources"].append(
        {
            **copy.deepcopy(app),
            "urn": app["urn"].replace("application:Application::orders", "applicationRedirectUris:x::cb"),
            "type": "azuread:index/applicationRedirectUris:ApplicationRedirectUris",
            "name": "cb",
            "inputs": dict(props),
            "outputs": {**props, "id": "cb"},
        }
    )
    assert ours(plan) == []


def test_a_site_identity_no_fic_of_the_app_trusts_is_mandatory(plan: dict[str, Any]) -> None:
    fic = next(r for r in plan["resources"] if r["type"].endswith("ApplicationFederatedIdentityCredential"))
    set_prop(fic, "subject", "00000000-1111-4222-8333-444444444444")
    found = [v for v in ours(plan) if v[0] == IDENTITY_TRUSTED]
    ((_, level, message),) = found
    assert level == "mandatory" and "AADSTS70021" in message and "no FIC on 'orders'" in message


@pytest.mark.parametrize("value", [False, None], ids=["off", "absent"])
def test_an_app_that_issues_no_id_tokens_is_mandatory(plan: dict[str, Any], value: Any) -> None:
    app = find(plan, "orders", APP)
    for side in ("inputs", "outputs"):
        grant = app[side]["web"].setdefault("implicitGrant", {})
        if value is None:
            grant.pop("idTokenIssuanceEnabled", None)
        else:
            grant["idTokenIssuanceEnabled"] = value
    ((policy, level, message),) = ours(plan)
    assert (policy, level) == (ID_TOKENS_ISSUED, "mandatory")
    assert "AADSTS700054" in message and "idTokenIssuanceEnabled" in message
