"""A user signs in to a web app through the emulated Entra with real MSAL: the sign-in page, the code
redeemed with the certless credential (the app's managed identity token, trusted by its FIC), the
refresh token, and the errors Entra gives for each way the flow goes wrong."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import msal
import pytest
import requests
from emu_helpers import claims

import certless
from emulator import Emulator, Records
from emulator.records import DelegatedGrant

# MSAL warns unless response_mode is form_post; the default (query) is what most of these tests read.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended:UserWarning")

REDIRECT = "https://localhost:5001/signin-oidc"
WEB = "orders"  # the web app users sign in to (App Service, certless credential)
API = "billing"  # the web API it calls for the user


class _Forms(HTMLParser):
    """The forms of a page: action, method and the inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", ""), "fields": {}})
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button and data.strip():
            self.buttons.append(data.strip())


def _forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


@pytest.fixture
def records() -> Records:
    from emu_helpers import PLAN

    recs = Records.from_plan(PLAN)
    web, api = _app(recs, WEB), _app(recs, API)
    web.redirect_uris.append(REDIRECT)
    api.access_token_version = 2
    api.api_scopes.extend(["access_as_user", "Orders.Write"])
    recs.delegated_grants.append(
        DelegatedGrant(web.service_principal_id, api.service_principal_id, ("access_as_user",))
    )
    recs.add_user("alice")
    recs.add_user("bob")
    return recs


def _app(recs: Records, workload: str) -> Any:
    app = recs.app(recs.workload(workload).app_client_id)
    assert app is not None
    return app


@pytest.fixture
def web_app(
    emu: Emulator, records: Records, monkeypatch: pytest.MonkeyPatch
) -> msal.ConfidentialClientApplication:
    """The web app's MSAL client, proving itself with certless' credential on the App Service host."""
    for key, value in emu.host_env("appservice", WEB).items():
        monkeypatch.setenv(key, value)
    certless.clear_process_caches()
    return msal.ConfidentialClientApplication(
        records.workload(WEB).app_client_id,
        client_credential=certless.client_credential(certless.load_settings()),
        authority=emu.authority(records.tenants[0]),
        instance_discovery=False,
        http_client=requests.Session(),
    )


@pytest.fixture
def browser(emu: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.verify = emu.ca_bundle_path
        yield session


def _api_scope(records: Records, name: str = "access_as_user") -> str:
    return f"api://{records.workload(API).app_client_id}/{name}"


def _sign_in(
    browser: requests.Session, auth_uri: str, user: str = "alice"
) -> tuple[requests.Response, dict[str, str]]:
    """GET the authorize URL, submit the sign-in form as ``user``; the redirect and its parameters."""
    page = browser.get(auth_uri, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    parsed = _forms(page.text)
    assert "Sign in" in parsed.buttons
    (form,) = parsed.forms
    assert "username" in form["fields"]
    fields = {**form["fields"], "username": user}
    action = urlsplit(auth_uri)._replace(path=form["action"], query="").geturl()
    answer = browser.post(action, data=fields, allow_redirects=False, timeout=10)
    if answer.status_code == 302:
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        return answer, {k: v[0] for k, v in query.items()}
    return answer, {}


def _flow(app: msal.ConfidentialClientApplication, scopes: list[str], **kw: Any) -> dict[str, Any]:
    flow: dict[str, Any] = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT, **kw)
    return flow


def _aadsts(text: str) -> int:
    found = re.search(r"AADSTS(\d+)", text)
    assert found, text
    return int(found.group(1))


# ---- the happy path ----------------------------------------------------------------------------


def test_msal_signs_a_user_in_and_refreshes_with_the_certless_credential(
    emu: Emulator, records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    tenant, scope = records.tenants[0], _api_scope(records)
    flow = _flow(web_app, [scope])
    redirect, params = _sign_in(browser, flow["auth_uri"])
    assert redirect.headers["Location"].startswith(REDIRECT + "?")
    assert params["state"] == flow["state"] and params["code"]

    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    alice = records.user("alice", tenant)
    assert alice is not None
    api_client = records.workload(API).app_client_id
    web_client = records.workload(WEB).app_client_id
    at = claims(result["access_token"])
    assert at["aud"] == api_client and at["ver"] == "2.0"
    assert at["iss"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert at["scp"] == "access_as_user" and at["azp"] == web_client
    assert at["oid"] == alice.object_id and at["tid"] == tenant
    idt = result["id_token_claims"]
    assert idt["aud"] == web_client and idt["ver"] == "2.0" and idt["tid"] == tenant
    assert idt["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert idt["preferred_username"] == "alice@contoso.example" and idt["name"] == "alice"
    assert idt["oid"] == alice.object_id and idt["sub"] != alice.object_id
    assert idt["exp"] > idt["iat"] == idt["nbf"]
    assert result["refresh_token"] and result["token_type"] == "Bearer"

    (account,) = web_app.get_accounts(username="alice@contoso.example")
    assert account["home_account_id"] == f"{alice.object_id}.{tenant}"
    again = web_app.acquire_token_silent([scope], account, force_refresh=True)
    assert again is not None and "access_token" in again, again
    assert again["access_token"] != result["access_token"]
    assert claims(again["access_token"])["oid"] == alice.object_id
    token_calls = [
        (e.get("grant"), e["credential"], e["status"]) for e in emu.requests if e["endpoint"] == "entra-token"
    ]
    assert token_calls == [
        ("authorization_code", "federated", 200),
        ("refresh_token", "federated", 200),
    ]
    # Neither the log nor the emulator's state shows a code or a token.
    secrets_seen = [params["code"], result["refresh_token"], again["refresh_token"], result["access_token"]]
    shown = repr(emu.requests) + repr(emu._services.entra.sign_in)
    assert not any(s in shown for s in secrets_seen)


def test_form_post_answers_an_auto_submitting_form_with_code_and_state(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [_api_scope(records)], response_mode="form_post")
    answer, _ = _sign_in(browser, flow["auth_uri"])
    assert answer.status_code == 200
    (form,) = _forms(answer.text).forms
    assert form["action"] == REDIRECT and form["method"] == "post"
    assert "document.forms[0].submit()" in answer.text
    assert form["fields"]["state"] == flow["state"]
    result = web_app.acquire_token_by_auth_code_flow(flow, form["fields"])
    assert claims(result["access_token"])["scp"] == "access_as_user"


def test_the_sign_in_page_lists_the_test_users_and_refuses_an_unknown_one(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [_api_scope(records)])
    page = browser.get(flow["auth_uri"], timeout=10)
    assert "alice@contoso.example" in page.text and "bob@contoso.example" in page.text
    answer, params = _sign_in(browser, flow["auth_uri"], user="mallory")
    assert answer.status_code == 200 and params == {}
    assert "AADSTS50034" in answer.text and "mallory" in answer.text


def test_user_app_roles_reach_the_roles_claim(
    emu: Emulator, records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    api = _app(records, API)
    api.app_roles["5b0e3d52-0000-4000-8000-000000000001"] = "Billing.Approver"
    bob = records.user("bob", records.tenants[0])
    assert bob is not None
    records.app_role_assignments.append(
        (bob.object_id, api.service_principal_id, "5b0e3d52-0000-4000-8000-000000000001")
    )
    for user, roles in (("bob", ["Billing.Approver"]), ("alice", None)):
        flow = _flow(web_app, [_api_scope(records)])
        _, params = _sign_in(browser, flow["auth_uri"], user=user)
        result = web_app.acquire_token_by_auth_code_flow(flow, params)
        assert claims(result["access_token"]).get("roles") == roles


# ---- errors: at the authorize endpoint ---------------------------------------------------------


def test_an_unregistered_redirect_uri_is_an_error_page_never_a_redirect(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    for uri in ("https://evil.example/signin-oidc", REDIRECT + "/", REDIRECT.upper()):
        flow = web_app.initiate_auth_code_flow([_api_scope(records)], redirect_uri=uri)
        page = browser.get(flow["auth_uri"], allow_redirects=False, timeout=10)
        assert page.status_code == 400 and "Location" not in page.headers
        assert _aadsts(page.text) == 50011 and "does not match the redirect URIs" in page.text
        assert "<form" not in page.text


def test_no_consent_for_an_api_scope_is_consent_required_at_the_redirect_uri(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [_api_scope(records, "Orders.Write")])  # exposed, never consented
    redirect, params = _sign_in(browser, flow["auth_uri"])
    assert redirect.headers["Location"].startswith(REDIRECT + "?")
    assert params["error"] == "consent_required" and params["state"] == flow["state"]
    assert params["error_description"].startswith("AADSTS65001: ")
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "consent_required" and "AADSTS65001" in result["error_description"]


def test_a_scope_the_api_does_not_expose_goes_back_before_sign_in(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [_api_scope(records, "Nope.All")])
    answer = browser.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert params["error"] == "invalid_client" and params["state"] == flow["state"]
    assert _aadsts(params["error_description"]) == 650053


# ---- errors: redeeming the code ----------------------------------------------------------------


def _code(
    web_app: msal.ConfidentialClientApplication, records: Records, browser: requests.Session
) -> tuple[dict[str, Any], dict[str, str]]:
    flow = _flow(web_app, [_api_scope(records)])
    _, params = _sign_in(browser, flow["auth_uri"])
    return flow, params


def test_a_code_is_redeemed_once(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow, params = _code(web_app, records, browser)
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(dict(flow), params)
    again = web_app.acquire_token_by_auth_code_flow(dict(flow), params)
    assert again["error"] == "invalid_grant" and again["error_codes"] == [54005]


def test_a_wrong_or_missing_pkce_verifier_is_refused(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow, params = _code(web_app, records, browser)
    wrong = web_app.acquire_token_by_auth_code_flow({**flow, "code_verifier": "x" * 43}, params)
    assert wrong["error"] == "invalid_grant" and wrong["error_codes"] == [501481]
    missing = web_app.acquire_token_by_auth_code_flow({**flow, "code_verifier": None}, params)
    assert missing["error"] == "invalid_grant" and missing["error_codes"] == [50148]
    # A failed attempt leaves the code usable: the right verifier still redeems it.
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, params)


def test_a_code_expires_after_ten_minutes(
    emu: Emulator, records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow, params = _code(web_app, records, browser)
    emu.clock_skew(601)
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [70008]


def test_a_code_is_bound_to_its_redirect_uri(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    _app(records, WEB).redirect_uris.append("https://localhost:5001/other")
    flow, params = _code(web_app, records, browser)
    result = web_app.acquire_token_by_auth_code_flow(
        {**flow, "redirect_uri": "https://localhost:5001/other"}, params
    )
    assert result["error"] == "invalid_grant" and result["error_codes"] == [70000]
    unregistered = web_app.acquire_token_by_auth_code_flow(
        {**flow, "redirect_uri": "https://x.example/"}, params
    )
    assert unregistered["error_codes"] == [50011]


def test_revoked_sessions_end_the_refresh_token(
    emu: Emulator, records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow, params = _code(web_app, records, browser)
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    emu.revoke_sign_in_sessions("alice")
    refreshed = web_app.acquire_token_by_refresh_token(result["refresh_token"], [_api_scope(records)])
    assert refreshed["error"] == "invalid_grant" and refreshed["error_codes"] == [50173]


def test_an_old_refresh_token_still_works_after_rotation_as_in_entra(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow, params = _code(web_app, records, browser)
    first = web_app.acquire_token_by_auth_code_flow(flow, params)["refresh_token"]
    second = web_app.acquire_token_by_refresh_token(first, [_api_scope(records)])
    assert second["refresh_token"] != first
    assert "access_token" in web_app.acquire_token_by_refresh_token(first, [_api_scope(records)])


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, 900144),  # no client_id
        ({"client_id": "00000000-0000-0000-0000-000000000001"}, 700016),
        ({"client_id": "{web}"}, 900971),  # no redirect_uri
    ],
)
def test_requests_that_cannot_go_back_to_the_app_are_error_pages(
    emu: Emulator, records: Records, browser: requests.Session, query: dict[str, str], code: int
) -> None:
    params = {k: v.format(web=records.workload(WEB).app_client_id) for k, v in query.items()}
    page = browser.get(
        f"{emu.entra_url}/{records.tenants[0]}/oauth2/v2.0/authorize",
        params={**params, "response_type": "code", "scope": "openid", "state": "s"},
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 400 and "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")
    assert _aadsts(page.text) == code


def test_an_unknown_tenant_is_an_error_page(
    emu: Emulator, records: Records, browser: requests.Session
) -> None:
    page = browser.get(
        f"{emu.entra_url}/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize",
        params={"client_id": records.workload(WEB).app_client_id, "redirect_uri": REDIRECT},
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 400 and _aadsts(page.text) == 90002


@pytest.mark.parametrize(
    ("extra", "error", "code"),
    [
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request", 501491),
        ({"code_challenge_method": "S256"}, "invalid_request", 50147),
        ({"response_type": "token"}, "unsupported_response_type", 700054),
        ({"scope": ""}, "invalid_request", 900144),
        ({"scope": "api://11111111-2222-3333-4444-555555555555/x"}, "invalid_resource", 500011),
        ({"prompt": "none"}, "login_required", 50058),
    ],
)
def test_bad_requests_go_back_to_the_redirect_uri_with_state(
    emu: Emulator,
    records: Records,
    browser: requests.Session,
    extra: dict[str, str],
    error: str,
    code: int,
) -> None:
    query = {
        "client_id": records.workload(WEB).app_client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile offline_access",
        "state": "st-1",
        **extra,
    }
    answer = browser.get(
        f"{emu.entra_url}/{records.tenants[0]}/oauth2/v2.0/authorize",
        params=query,
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert (params["error"], _aadsts(params["error_description"]), params["state"]) == (error, code, "st-1")


def test_plain_pkce_is_accepted_as_entra_documents(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [_api_scope(records)])
    verifier = "v" * 50
    parts = urlsplit(flow["auth_uri"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(code_challenge=verifier, code_challenge_method="plain")
    auth_uri = parts._replace(query=urlencode(query)).geturl()
    _, params = _sign_in(browser, auth_uri)
    result = web_app.acquire_token_by_auth_code_flow({**flow, "code_verifier": verifier}, params)
    assert "access_token" in result, result


def test_only_openid_scopes_give_an_id_token_and_a_graph_token(
    records: Records, web_app: msal.ConfidentialClientApplication, browser: requests.Session
) -> None:
    flow = _flow(web_app, [])
    _, params = _sign_in(browser, flow["auth_uri"], user="bob")
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["preferred_username"] == "bob@contoso.example"
    at = claims(result["access_token"])
    assert at["aud"] == "https://graph.microsoft.com" and at["scp"] == "openid profile"


# ---- where users, redirect URIs, scopes and grants come from -----------------------------------


def test_records_file_declares_users_redirect_uris_scopes_grants_and_user_roles() -> None:
    tid, web_id, api_id = (
        "ad319c16-7224-5ad5-a463-7b4082ed6e72",
        "11111111-0000-4000-8000-000000000001",
        "11111111-0000-4000-8000-000000000002",
    )
    recs = Records.from_file(
        {
            "schema": "certless.emulator-records/v1",
            "tenants": [tid],
            "apps": [
                {
                    "clientId": web_id,
                    "tenantId": tid,
                    "redirectUris": [REDIRECT],
                    "delegatedPermissions": [{"api": "api://orders", "scopes": ["access_as_user"]}],
                },
                {
                    "clientId": api_id,
                    "tenantId": tid,
                    "identifierUris": ["api://orders"],
                    "api": {"scopes": ["access_as_user"]},
                },
            ],
            "users": [{"name": "carol", "appRoles": [{"app": api_id, "role": "Orders.Approver"}]}],
        }
    )
    web, api = recs.app(web_id), recs.app(api_id)
    assert web is not None and api is not None
    carol = recs.user("CAROL@contoso.example", tid)
    assert carol is not None and carol.name == "carol"
    assert web.redirect_uris == [REDIRECT] and api.api_scopes == ["access_as_user"]
    assert recs.consented_scopes(web, api.service_principal_id, carol.object_id) == {"access_as_user"}
    assert recs.roles_for(carol.object_id, api_id) == ["Orders.Approver"]


@pytest.mark.parametrize(
    ("app_patch", "message"),
    [
        (
            {"delegatedPermissions": [{"api": "api://nowhere", "scopes": ["x"]}]},
            "apps[0].delegatedPermissions[0].api",
        ),
        (
            {"delegatedPermissions": [{"api": "api://orders", "scopes": []}]},
            "apps[0].delegatedPermissions[0].scopes",
        ),
        ({"redirectUris": "https://one.example"}, "apps[0].redirectUris"),
    ],
)
def test_records_file_user_flow_errors_name_the_field(app_patch: dict[str, Any], message: str) -> None:
    from emulator import RecordsError

    tid = "ad319c16-7224-5ad5-a463-7b4082ed6e72"
    doc = {
        "schema": "certless.emulator-records/v1",
        "apps": [
            {"clientId": "11111111-0000-4000-8000-000000000001", "tenantId": tid, **app_patch},
            {
                "clientId": "11111111-0000-4000-8000-000000000002",
                "tenantId": tid,
                "identifierUris": ["api://orders"],
            },
        ],
    }
    with pytest.raises(RecordsError, match=re.escape(message)):
        Records.from_file(doc)


def test_plan_redirect_uris_exposed_scopes_and_delegated_grants(plan_doc: dict[str, Any]) -> None:
    import copy

    from emulator.plan_loader import DELEGATED_GRANT

    doc = copy.deepcopy(plan_doc)
    by_name = {r["name"]: r for r in doc["resources"]}
    web, api = by_name["orders-api"], by_name["billing-api"]
    web["outputs"]["web"] = {"redirectUris": [REDIRECT]}
    api["outputs"]["api"] = {
        "requestedAccessTokenVersion": 2,
        "oauth2PermissionScopes": [
            {"id": "1", "value": "access_as_user", "enabled": True},
            {"id": "2", "value": "Old.Scope", "enabled": False},
        ],
    }
    web_sp, api_sp = (
        by_name["orders-api-sp"]["outputs"]["objectId"],
        by_name["billing-api-sp"]["outputs"]["objectId"],
    )
    doc["resources"].append(
        {
            "type": DELEGATED_GRANT,
            "name": "orders-to-billing",
            "inputs": {
                "servicePrincipalObjectId": web_sp,
                "resourceServicePrincipalObjectId": api_sp,
                "claimValues": ["access_as_user"],
            },
        }
    )
    recs = Records.from_plan(doc)
    web_app, api_app = recs.app(web["outputs"]["clientId"]), recs.app(api["outputs"]["clientId"])
    assert web_app is not None and api_app is not None
    assert web_app.redirect_uris == [REDIRECT] and api_app.api_scopes == ["access_as_user"]
    assert recs.consented_scopes(web_app, api_sp, "any-user") == {"access_as_user"}
    # A plan without any of it (today's program) still loads: no redirect URIs, no grants.
    plain = Records.from_plan(plan_doc)
    assert plain.delegated_grants == [] and all(a.redirect_uris == [] for a in plain.apps)


def test_cli_user_flag_refuses_a_bad_name_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from emu_helpers import PLAN

    from emulator.cli import main

    assert main(["--plan", str(PLAN), "--user", "has space"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "user: got 'has space'" in err and "Traceback" not in err


# ---- the real program's plan: web platform, exposed API, pre-authorized client ------------------

WEB_REDIRECT = "https://certless-orders-web-dev.azurewebsites.net/signin-oidc"


@pytest.fixture(scope="module")
def web_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """certless_ops plan of the dev stack with a web platform on orders and a billing API that
    pre-authorizes orders for one of its two scopes."""
    import subprocess
    import sys

    import yaml

    root = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    apps = doc["config"]["certless:apps"]
    apps["orders"]["web"] = {"redirectUris": [WEB_REDIRECT]}
    apps["billing"] = {
        "displayName": "certless-billing-dev",
        "api": {
            "requestedAccessTokenVersion": 2,
            "scopes": [{"value": "access_as_user"}, {"value": "Invoices.Write"}],
            "preAuthorizedClients": [{"app": "orders", "scopes": ["access_as_user"]}],
        },
    }
    folder = tmp_path_factory.mktemp("web-plan")
    config, plan = folder / "Pulumi.dev.yaml", folder / "plan.json"
    config.write_text(yaml.safe_dump(doc))
    command = [sys.executable, "-m", "certless_ops", "plan", "--stack", "dev", "--config-file", str(config)]
    result = subprocess.run(
        [*command, "--json", str(plan), "--quiet"],
        check=False,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        pytest.fail(f"certless_ops plan failed:\n{result.stderr[-2000:]}")
    return plan


def test_a_user_signs_in_to_the_real_programs_web_app_and_gets_its_pre_authorized_scope(
    web_plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = Records.from_plan(web_plan)
    recs.add_user("alice")
    web_id = recs.workload("orders-web").app_client_id
    billing = next(a for a in recs.apps if a.display_name == "certless-billing-dev")
    scope = f"api://{billing.client_id}/access_as_user"
    with Emulator(recs) as emu, requests.Session() as browser:
        browser.verify = emu.ca_bundle_path
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
        for key, value in emu.host_env("appservice", "orders-web").items():
            monkeypatch.setenv(key, value)
        certless.clear_process_caches()
        app = msal.ConfidentialClientApplication(
            web_id,
            client_credential=certless.client_credential(certless.load_settings()),
            authority=emu.authority(recs.tenants[0]),
            instance_discovery=False,
            http_client=requests.Session(),
        )
        flow = app.initiate_auth_code_flow([scope], redirect_uri=WEB_REDIRECT)
        _, params = _sign_in(browser, flow["auth_uri"])
        result = app.acquire_token_by_auth_code_flow(flow, params)
        at = claims(result["access_token"])
        assert (at["aud"], at["scp"], at["azp"], at["ver"]) == (
            billing.client_id,
            "access_as_user",
            web_id,
            "2.0",
        )

        other = app.initiate_auth_code_flow(
            [f"api://{billing.client_id}/Invoices.Write"], redirect_uri=WEB_REDIRECT
        )
        _, params = _sign_in(browser, other["auth_uri"])
        assert params["error"] == "consent_required" and _aadsts(params["error_description"]) == 65001

        wrong = app.initiate_auth_code_flow(
            [scope], redirect_uri="https://certless-orders-web-dev.azurewebsites.net/"
        )
        page = browser.get(wrong["auth_uri"], allow_redirects=False, timeout=10)
        assert page.status_code == 400 and _aadsts(page.text) == 50011
        assert emu.internal_errors == []


# ---- the signed-in user's token, on to a downstream API (on-behalf-of) -------------------------


def test_the_api_trades_the_signed_in_users_token_on_behalf_of_and_needs_consent_downstream(
    emu: Emulator,
    records: Records,
    web_app: msal.ConfidentialClientApplication,
    browser: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = _flow(web_app, [_api_scope(records)])
    _, params = _sign_in(browser, flow["auth_uri"])
    user_token = web_app.acquire_token_by_auth_code_flow(flow, params)["access_token"]

    # Now the API (billing, a Container App) acting for alice with its own certless credential.
    for key, value in emu.host_env("containerapp", API).items():
        monkeypatch.setenv(key, value)
    certless.clear_process_caches()
    storage = certless.OnBehalfOfCredential(user_token).get_token(
        "https://storage.azure.com/user_impersonation"
    )
    assert claims(storage.token)["oid"] == claims(user_token)["oid"]

    reports = _app(records, "reports")
    downstream = f"api://{reports.client_id}/access_as_user"
    with pytest.raises(certless.TokenRequestError) as refused:
        certless.OnBehalfOfCredential(user_token).get_token(downstream)
    assert "AADSTS65001" in str(refused.value)
    records.delegated_grants.append(
        DelegatedGrant(
            _app(records, API).service_principal_id, reports.service_principal_id, ("access_as_user",)
        )
    )
    certless.clear_process_caches()
    granted = claims(certless.OnBehalfOfCredential(user_token).get_token(downstream).token)
    assert granted["scp"] == "access_as_user" and granted["oid"] == claims(user_token)["oid"]
