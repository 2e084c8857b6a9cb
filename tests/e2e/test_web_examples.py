"""The sample web app and notes API (examples/) as real processes, driven by an HTTP client that signs users
in through the emulated Entra: the note is written to Azurite as the signed-in user (on-behalf-of), and
each way Entra or the API refuses shows up in the answer the user gets."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from certless_ops.demo import web

from .support import JWT
from .web_support import Page, WebChain, sign_in

pytestmark = pytest.mark.e2e


def _logs(chain_: WebChain) -> str:
    return chain_.apps.web.log.read_text() + chain_.apps.api.log.read_text()


def test_signed_in_user_saves_a_note_that_storage_authorised_for_that_user(web_stack: WebChain) -> None:
    alice = web_stack.users["alice"]
    mark = len(web_stack.storage.decisions)
    with requests.Session() as browser:
        home = sign_in(browser, web_stack, "alice")
        assert home.status_code == 200, home.text[:300]
        shown = Page(home.text).by_id
        assert shown["upn"] == "alice@contoso.example"
        assert shown["oid"] == alice.object_id

        saved = browser.post(f"{web_stack.apps.web_url}/notes", data={"text": "buy milk"}, timeout=60)
    assert saved.status_code == 200, saved.text[:500]
    blob = Page(saved.text).by_id["blob"]
    assert blob.startswith(f"{alice.object_id}/")

    # In Azurite, under the user's object ID, with it in the metadata.
    assert web_stack.blobs()[blob]["oid"] == alice.object_id
    # Storage's RBAC check saw the user's own token (the OBO token's oid), allowed by the user's role.
    writes = [d for d in web_stack.storage.decisions[mark:] if d.permission.endswith("/blobs/write")]
    assert [(d.oid, d.allowed, d.role) for d in writes] == [(alice.object_id, True, web.NOTES_ROLE)]
    assert not JWT.search(_logs(web_stack)), "a token reached the apps' logs"


def test_a_user_without_a_role_on_the_account_sees_storage_refuse_the_write(web_stack: WebChain) -> None:
    with requests.Session() as browser:
        sign_in(browser, web_stack, "dave")
        answer = browser.post(f"{web_stack.apps.web_url}/notes", data={"text": "x"}, timeout=60)
    assert answer.status_code == 502
    shown = Page(answer.text).by_id["api-error"]
    assert "403" in shown and "AuthorizationPermissionMismatch" in shown
    dave = web_stack.users["dave"].object_id
    assert not any(name.startswith(dave) for name in web_stack.blobs())


def test_notes_api_refuses_a_token_for_another_api_without_echoing_it(web_stack: WebChain) -> None:
    token = web_stack.emulator.user_token(
        "alice", web_stack.client_id(web.WEB_WORKLOAD), "https://storage.azure.com/user_impersonation"
    )
    answer = requests.post(
        f"{web_stack.apps.api_url}/notes",
        json={"text": "x"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert "another audience" in answer.headers["WWW-Authenticate"]
    assert token not in answer.text and token not in str(answer.headers)
    assert not JWT.search(answer.text)


def test_no_consent_to_the_api_shows_entra_consent_required(web_stack: WebChain) -> None:
    with web_stack.without_consent(), requests.Session() as browser:
        page = sign_in(browser, web_stack, "carol")
    assert "consent_required" in page.text
    assert "AADSTS65001" in page.text
    assert Page(page.text).refresh is None  # an error page, not a signed-in one


def test_a_redirect_uri_not_registered_stops_at_entra_with_50011(web_stack: WebChain) -> None:
    with requests.Session() as browser:
        target = Page(browser.get(web_stack.apps.web_url + "/", timeout=30).text).refresh
        assert target
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["redirect_uri"] = "http://localhost:1/signin-oidc"
        answer = browser.get(
            urlunsplit(parts._replace(query=urlencode(query))),
            verify=web_stack.emulator.ca_bundle_path,
            allow_redirects=False,
            timeout=30,
        )
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "AADSTS50011" in answer.text


def test_revoked_session_sends_the_user_back_to_sign_in(web_stack: WebChain) -> None:
    with web_stack.short_tokens(60), requests.Session() as browser:
        home = sign_in(browser, web_stack, "bob")
        assert Page(home.text).by_id["upn"] == "bob@contoso.example"
        web_stack.emulator.revoke_sign_in_sessions("bob")
        again = browser.get(web_stack.apps.web_url + "/", timeout=60)
    target = Page(again.text).refresh
    assert target and "/oauth2/v2.0/authorize" in target, again.text[:300]
    assert target.startswith(web_stack.emulator.entra_url)
