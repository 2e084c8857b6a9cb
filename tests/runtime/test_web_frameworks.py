"""certless.web.fastapi and certless.web.flask: a web API's answers to good and bad bearer tokens, through
each framework's own test client, against tokens the emulated Entra issues."""

# No "from __future__ import annotations": FastAPI reads the views' Annotated dependencies at definition time.

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import pytest

from certless import CertlessCredential, load_settings
from certless.web import Caller, TokenValidator
from emulator import Emulator

from .support import IDS

HostFn = Callable[..., dict[str, str]]
API_SCOPE = f"api://{IDS.app}/access_as_user"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def www_authenticate(self) -> str:
        return self.headers.get("www-authenticate", "")


Client = Callable[[str, dict[str, str]], Answer]


def fastapi_client(validator: TokenValidator | None) -> Client:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from certless.web.fastapi import require_role, require_scope

    app = FastAPI()

    @app.get("/notes")
    def notes(
        caller: Annotated[Caller, Depends(require_scope("access_as_user", validator=validator))],
    ) -> dict[str, Any]:
        return {"oid": caller.object_id, "name": caller.claims.get("name"), "repr": repr(caller)}

    @app.get("/admin")
    def admin(
        caller: Annotated[Caller, Depends(require_role("Notes.Admin", validator=validator))],
    ) -> dict[str, Any]:
        return {"oid": caller.object_id}

    @app.get("/any")
    async def any_scope(
        caller: Annotated[Caller, Depends(require_scope(validator=validator))],
    ) -> dict[str, Any]:
        return {"oid": caller.object_id}

    client = TestClient(app)

    def get(path: str, headers: dict[str, str]) -> Answer:
        r = client.get(path, headers=headers)
        return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.text)

    return get


def flask_client(validator: TokenValidator | None) -> Client:
    from flask import Flask

    from certless.web.flask import current_caller, require_role, require_scope

    app = Flask(__name__)

    @app.get("/notes")
    @require_scope("access_as_user", validator=validator)
    def notes() -> dict[str, Any]:
        caller = current_caller()
        return {"oid": caller.object_id, "name": caller.claims.get("name"), "repr": repr(caller)}

    @app.get("/admin")
    @require_role("Notes.Admin", validator=validator)
    def admin() -> dict[str, Any]:
        return {"oid": current_caller().object_id}

    @app.get("/any")
    @require_scope(validator=validator)
    async def any_scope() -> dict[str, Any]:
        return {"oid": current_caller().object_id}

    client = app.test_client()

    def get(path: str, headers: dict[str, str]) -> Answer:
        r = client.get(path, headers=headers)
        return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data(as_text=True))

    return get


FRAMEWORKS = {"fastapi": fastapi_client, "flask": flask_client}


@pytest.fixture(params=sorted(FRAMEWORKS))
def api(request: pytest.FixtureRequest, emulator: Emulator, host: HostFn) -> Client:
    host("appservice", "web")
    return FRAMEWORKS[request.param](TokenValidator(load_settings()))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_token_not_echoed(answer: Answer, token: str) -> None:
    assert token not in answer.text and all(token not in v for v in answer.headers.values())
    # not even the signature or the payload on their own
    for part in token.split(".")[1:]:
        assert part not in answer.text and part not in answer.www_authenticate


def test_a_user_token_with_the_scope_reaches_the_view(emulator: Emulator, api: Client) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    answer = api("/notes", bearer(token))
    assert answer.status == 200, answer.text
    body = json.loads(answer.text)
    assert body["name"] == "alice" and body["oid"]
    assert token not in body["repr"] and body["oid"] in body["repr"]


def test_no_token_is_401_with_a_bare_bearer_challenge(api: Client) -> None:
    answer = api("/notes", {})
    assert answer.status == 401
    assert answer.www_authenticate == "Bearer"  # RFC 6750 3.1: no error code when no credentials came


def test_a_token_for_another_api_is_401_invalid_token_without_echo(emulator: Emulator, api: Client) -> None:
    token = emulator.user_token("alice", IDS.app_direct, f"api://{IDS.app_unfederated}/access_as_user")
    answer = api("/notes", bearer(token))
    assert answer.status == 401
    assert answer.www_authenticate == (
        'Bearer error="invalid_token", error_description="The access token is for another audience."'
    )
    assert_token_not_echoed(answer, token)


def test_a_missing_scope_is_403_insufficient_scope(emulator: Emulator, api: Client) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    answer = api("/admin", bearer(token))
    assert answer.status == 403
    assert answer.www_authenticate == (
        'Bearer error="insufficient_scope", error_description="The access token lacks role Notes.Admin."'
    )
    assert_token_not_echoed(answer, token)


def test_a_user_token_with_another_scope_of_the_api_is_403_naming_the_scope(
    emulator: Emulator, api: Client
) -> None:
    token = emulator.user_token("alice", IDS.app_direct, f"api://{IDS.app}/Notes.Read")
    answer = api("/notes", bearer(token))
    assert answer.status == 403
    assert answer.www_authenticate == (
        'Bearer error="insufficient_scope", error_description="The access token lacks access_as_user."'
    )
    assert_token_not_echoed(answer, token)
    assert api("/any", bearer(token)).status == 200, "any scope passes where none is named"


def test_an_app_token_without_scope_or_role_is_403_even_where_any_scope_passes(
    emulator: Emulator, api: Client
) -> None:
    token = CertlessCredential(load_settings()).get_token(f"api://{IDS.app}/.default").token
    answer = api("/any", bearer(token))
    assert answer.status == 403 and 'error="insufficient_scope"' in answer.www_authenticate
    assert_token_not_echoed(answer, token)
    user = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    assert api("/any", bearer(user)).status == 200


def test_an_expired_token_is_401_expired(emulator: Emulator, api: Client) -> None:
    emulator.clock_skew(-(3600 + 301 + 60))
    try:
        token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    finally:
        emulator.clock_skew(0)
    answer = api("/notes", bearer(token))
    assert answer.status == 401
    assert (
        'error="invalid_token", error_description="The access token has expired."' in answer.www_authenticate
    )
    assert_token_not_echoed(answer, token)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc.def.ghi"])
def test_a_header_that_is_not_bearer_is_400_invalid_request(api: Client, header: str) -> None:
    answer = api("/notes", {"Authorization": header})
    assert answer.status == 400 and 'error="invalid_request"' in answer.www_authenticate


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_garbage_is_401_invalid_token_without_echo(api: Client, garbage: str) -> None:
    answer = api("/notes", bearer(garbage))
    assert answer.status == 401 and 'error="invalid_token"' in answer.www_authenticate
    assert garbage not in answer.text and garbage not in answer.www_authenticate


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_without_a_validator_the_apps_own_settings_are_used(
    emulator: Emulator, host: HostFn, framework: str
) -> None:
    host("appservice", "web")
    api = FRAMEWORKS[framework](None)
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    assert api("/notes", bearer(token)).status == 200
    other = emulator.user_token("alice", IDS.app_direct, f"api://{IDS.app_unfederated}/access_as_user")
    assert api("/notes", bearer(other)).status == 401


def test_current_caller_outside_a_decorated_view_says_where_it_works() -> None:
    from flask import Flask

    from certless.web.flask import current_caller

    with Flask(__name__).test_request_context("/"), pytest.raises(RuntimeError, match="require_scope"):
        current_caller()


def test_certless_and_its_validator_import_without_either_framework() -> None:
    code = (
        "import sys, certless, certless.web; certless.client_credential; "
        "print(sorted(m for m in ('fastapi', 'flask', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
