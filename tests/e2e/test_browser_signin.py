"""A user signs in to the sample web app in a real browser (the system's headless Chromium, Playwright's
sync API) through the emulated Entra's sign-in page; the web app calls the notes API for the user, which
writes the note to Azurite on behalf of the user. Each refusal shows up where a user would see it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from certless_ops.demo import web
from certless_ops.demo.browser import BrowserMissing, chromium, spki_pin
from emulator.keys import process_tls

from .support import JWT
from .web_support import WebChain

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000


@contextlib.contextmanager
def chromium_or_fail(executable: str | None = None) -> Iterator[Any]:
    """Chromium trusting the emulator's key; when it cannot start, the test fails with one line."""
    pin = spki_pin(process_tls().server_cert.cert_chain_pems[0].bytes())
    try:
        with chromium(executable, trusted_keys=(pin,)) as browser:
            yield browser
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_or_fail() as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()  # a fresh cookie jar: a new visitor
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page: Any, chain_: WebChain, user: str) -> None:
    """Open the web app, land on Entra's sign-in page, pick ``user``, and come back."""
    page.goto(chain_.apps.web_url + "/")
    page.wait_for_url(f"{chain_.emulator.entra_url}/**")
    page.fill("input[name=username]", user)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{chain_.apps.web_url}/**")


def test_missing_chromium_fails_in_one_line_naming_the_install() -> None:
    with pytest.raises(pytest.fail.Exception) as failed, chromium_or_fail("/nonexistent/chromium"):
        pass
    message = str(failed.value)
    assert failed.value.pytrace is False  # no Playwright traceback
    assert "\n" not in message
    assert "apt-get install chromium" in message and "/nonexistent/chromium" in message


def test_chromium_starts_when_tmpdir_is_too_deep_for_its_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chromium puts a Unix socket under TMPDIR; past 107 bytes of path (sun_path) it cannot bind it.
    deep = tmp_path.joinpath(*["d" * 40] * 3)
    deep.mkdir(parents=True)
    assert len(f"{deep}/org.chromium.Chromium.XXXXXX/SingletonSocket") > 107
    monkeypatch.setenv("TMPDIR", str(deep))
    with chromium_or_fail() as running:
        page = running.new_page()
        page.set_content('<p id="up">started</p>')
        assert page.locator("#up").inner_text() == "started"
    assert sorted(p.name for p in deep.iterdir()) == []  # nothing of Chromium's left behind


def test_user_signs_in_and_the_note_is_written_as_that_user(page: Any, web_stack: WebChain) -> None:
    alice = web_stack.users["alice"]
    mark = len(web_stack.storage.decisions)
    _sign_in(page, web_stack, "alice")
    assert page.locator("#upn").inner_text() == "alice@contoso.example"
    assert page.locator("#oid").inner_text() == alice.object_id

    page.fill("input[name=text]", "typed in Chromium")
    page.get_by_role("button", name="Save the note").click()
    blob = page.locator("#blob").inner_text()
    assert page.locator("#written-for").inner_text() == alice.object_id
    assert blob.startswith(f"{alice.object_id}/")
    assert web_stack.blobs()[blob]["oid"] == alice.object_id
    writes = [d for d in web_stack.storage.decisions[mark:] if d.permission.endswith("/blobs/write")]
    assert [(d.oid, d.allowed, d.role) for d in writes] == [(alice.object_id, True, web.NOTES_ROLE)]
    assert not JWT.search(page.content()), "a token reached the page"


def test_without_consent_the_user_sees_consent_required(page: Any, web_stack: WebChain) -> None:
    with web_stack.without_consent():
        _sign_in(page, web_stack, "carol")
    text = page.locator("body").inner_text()
    assert "consent_required" in text and "AADSTS65001" in text
    assert page.locator("#upn").count() == 0  # not signed in


def test_an_unregistered_redirect_uri_stops_on_entras_error_page(page: Any, web_stack: WebChain) -> None:
    page.goto(web_stack.apps.web_url + "/")
    page.wait_for_url(f"{web_stack.emulator.entra_url}/**")
    parts = urlsplit(page.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["redirect_uri"] = "http://localhost:1/signin-oidc"  # what an app deployed at another URL sends
    answer = page.goto(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status == 400
    assert page.url.startswith(web_stack.emulator.entra_url)  # no redirect to the unregistered URI
    assert "AADSTS50011" in page.locator("body").inner_text()


def test_the_api_refuses_a_token_for_another_api(page: Any, web_stack: WebChain) -> None:
    token = web_stack.emulator.user_token(
        "alice", web_stack.client_id(web.WEB_WORKLOAD), "https://storage.azure.com/user_impersonation"
    )
    answer = page.request.post(
        f"{web_stack.apps.api_url}/notes", data={"text": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert token not in answer.text() and token not in str(answer.headers)


def test_a_revoked_session_sends_the_user_back_to_sign_in(page: Any, web_stack: WebChain) -> None:
    with web_stack.short_tokens(60):
        _sign_in(page, web_stack, "bob")
        assert page.locator("#upn").inner_text() == "bob@contoso.example"
        web_stack.emulator.revoke_sign_in_sessions("bob")
        page.goto(web_stack.apps.web_url + "/")
        page.wait_for_url(f"{web_stack.emulator.entra_url}/**")
    assert page.locator("input[name=username]").is_visible()
    assert page.get_by_role("button", name="Sign in").is_visible()


def test_chromium_is_the_systems_not_a_downloaded_one(browser: Any) -> None:
    assert os.environ.get("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD") == "1"
    assert browser.browser_type.name == "chromium"
