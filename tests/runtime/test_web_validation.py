"""certless.web: a web API's bearer-token validation, against tokens the emulated Entra issues."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest

from certless import CertlessCredential, load_settings
from certless.web import BearerError, TokenValidator
from emulator import Emulator

from .support import IDS

HostFn = Callable[..., dict[str, str]]
API_SCOPE = f"api://{IDS.app}/access_as_user"


@pytest.fixture
def validator(emulator: Emulator, host: HostFn) -> TokenValidator:
    host("appservice", "web")
    return TokenValidator(load_settings())


def test_a_user_token_for_this_api_is_accepted(emulator: Emulator, validator: TokenValidator) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    _, claims = validator.authorize(f"Bearer {token}", scopes=["access_as_user"])
    assert claims["name"] == "alice" and claims["scp"] == "access_as_user"


def test_an_app_token_with_no_scope_or_role_is_forbidden(
    emulator: Emulator, validator: TokenValidator
) -> None:
    token = CertlessCredential(load_settings()).get_token(f"api://{IDS.app}/.default").token
    with pytest.raises(BearerError) as caught:
        validator.validate(token)
    assert caught.value.status == 403 and caught.value.error == "insufficient_scope"
    assert token not in caught.value.www_authenticate


def test_a_token_for_another_api_is_refused(emulator: Emulator, validator: TokenValidator) -> None:
    token = emulator.user_token("alice", IDS.app_direct, f"api://{IDS.app_unfederated}/access_as_user")
    with pytest.raises(BearerError) as caught:
        validator.validate(token)
    assert (caught.value.status, caught.value.error) == (401, "invalid_token")
    assert "another audience" in caught.value.www_authenticate
    assert token not in str(caught.value) and token not in caught.value.www_authenticate


def test_a_missing_scope_is_forbidden_with_the_reason(emulator: Emulator, validator: TokenValidator) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    with pytest.raises(BearerError) as caught:
        validator.validate(token, scopes=["Orders.Write"])
    assert caught.value.status == 403
    assert caught.value.www_authenticate == (
        'Bearer error="insufficient_scope", error_description="The access token lacks Orders.Write."'
    )


def test_a_forged_signature_is_refused(emulator: Emulator, validator: TokenValidator) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    header, payload, _ = token.split(".")
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), "k" * 32, algorithm="HS256")
    for bad in (f"{header}.{payload}.AAAA", forged):
        with pytest.raises(BearerError) as caught:
            validator.validate(bad)
        assert caught.value.status == 401


def test_an_expired_token_is_refused_beyond_the_skew(emulator: Emulator, validator: TokenValidator) -> None:
    emulator.clock_skew(-(3600 + 301 + 60))  # issued long enough ago to be past exp + 5 min
    try:
        token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    finally:
        emulator.clock_skew(0)
    with pytest.raises(BearerError, match="expired"):
        validator.validate(token)


@pytest.mark.parametrize(
    ("header", "status", "www"),
    [
        (None, 401, "Bearer"),
        ("", 401, "Bearer"),
        ("Basic dXNlcjpwYXNz", 400, 'Bearer error="invalid_request"'),
        ("Bearer not-a-jwt", 401, 'Bearer error="invalid_token"'),
    ],
)
def test_bad_authorization_headers(
    validator: TokenValidator, header: str | None, status: int, www: str
) -> None:
    with pytest.raises(BearerError) as caught:
        validator.authorize(header)
    assert caught.value.status == status
    assert caught.value.www_authenticate.startswith(www)


def test_a_validated_token_is_not_verified_again(emulator: Emulator, validator: TokenValidator) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    validator.validate(token)
    started = time.perf_counter()
    for _ in range(1000):
        validator.validate(token, scopes=["access_as_user"])
    assert emulator.counters.get("entra-discovery", 0) <= 1
    assert time.perf_counter() - started < 5  # no RSA verification per call (a loose bound, not a benchmark)


def _with_header(token: str, header_segment: str) -> str:
    _, payload, signature = token.split(".")
    return f"{header_segment}.{payload}.{signature}"


def _segment(header: object) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header_segment",
    [
        _segment({"alg": "RS256", "typ": "JWT"}),  # no kid
        _segment({"alg": "RS256", "kid": "not-a-key-of-the-tenant"}),
        _segment({"alg": "RS256", "kid": 7}),
        _segment({"alg": "none", "kid": "x"}),
        _segment(["RS256"]),
        "bm90IGpzb24",  # base64 of text that is not JSON
        "!!!!",  # not base64url
        "",
    ],
    ids=[
        "no-kid",
        "unknown-kid",
        "kid-number",
        "alg-none",
        "not-an-object",
        "not-json",
        "not-base64",
        "empty",
    ],
)
def test_a_token_whose_header_is_odd_is_refused_as_invalid(
    emulator: Emulator, validator: TokenValidator, header_segment: str
) -> None:
    token = _with_header(emulator.user_token("alice", IDS.app_direct, API_SCOPE), header_segment)
    with pytest.raises(BearerError) as caught:
        validator.validate(token)
    assert (caught.value.status, caught.value.error) == (401, "invalid_token")
    assert token not in str(caught.value) and token not in caught.value.www_authenticate


def test_the_real_header_with_its_kid_still_validates_after_an_odd_one(
    emulator: Emulator, validator: TokenValidator
) -> None:
    token = emulator.user_token("alice", IDS.app_direct, API_SCOPE)
    with pytest.raises(BearerError):
        validator.validate(_with_header(token, _segment({"alg": "RS256", "kid": "nope"})))
    assert validator.validate(token)["name"] == "alice"
