"""Entra's error answers (AADSTS codes) as a user sees them: the exact fix, the code, the OAuth error, the
trace and correlation IDs, the transient flag, and never the assertion or a secret in the message.

Entra's answer comes from a wrapping transport (the emulator serves everything else, including the
managed identity token that becomes the assertion), with the body Entra documents: error,
error_description "AADSTSnnnn: ... Trace ID: ... Correlation ID: ... Timestamp: ...", error_codes,
timestamp, trace_id, correlation_id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from certless import credential_from_settings
from certless.errors import CertlessError, NoCredentialError, TokenRequestError
from emulator import Emulator

from .support import IDS, ISSUER, STORAGE, TENANT, FakeClock

HostFn = Callable[..., dict[str, str]]
TRACE = "0b6a4c1e-1111-4c2b-9d2e-0a0b0c0d0e0f"
CORRELATION = "5d5c3b2a-2222-4e1f-8a9b-1a2b3c4d5e6f"


class EntraAnswers:
    """The real transport, except that Entra answers the client-credentials token request with ``body``
    (HTTP ``status``, optional Retry-After). Records the credential each refused request carried."""

    def __init__(
        self,
        body: dict[str, object] | str,
        status: int = 400,
        retry_after: str | None = None,
        client_id: str | None = None,
    ) -> None:
        from certless._http import RequestsTransport

        self.real = RequestsTransport()
        self.body = body
        self.status = status
        self.retry_after = retry_after
        self.client_id = client_id  # only this client's requests are refused (None: every client's)
        self.presented: list[str] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        from certless._http import Response

        data = kwargs.get("data")
        if (
            isinstance(data, dict)
            and data.get("grant_type") == "client_credentials"
            and self.client_id in (None, data.get("client_id"))
        ):
            self.presented.append(str(data.get("client_assertion") or data.get("client_secret")))
            raw = isinstance(self.body, str)  # a gateway's page, not Entra's JSON
            headers = {"Content-Type": "text/html" if raw else "application/json"}
            if self.retry_after is not None:
                headers["Retry-After"] = self.retry_after
            text = self.body if isinstance(self.body, str) else json.dumps(self.body)
            return Response(self.status, text, headers)
        return self.real.request(method, url, **kwargs)

    def close(self) -> None:
        self.real.close()


def entra_error(error: str, code: int | None, text: str) -> dict[str, object]:
    prefix = f"AADSTS{code}: " if code is not None else ""
    body: dict[str, object] = {
        "error": error,
        "error_description": f"{prefix}{text}\r\nTrace ID: {TRACE}\r\nCorrelation ID: {CORRELATION}\r\n"
        "Timestamp: 2026-12-04 02:00:00Z",
        "timestamp": "2026-12-04 02:00:00Z",
        "trace_id": TRACE,
        "correlation_id": CORRELATION,
    }
    if code is not None:
        body["error_codes"] = [code]
    return body


def refused(
    host: HostFn, clock: FakeClock, transport: EntraAnswers, **overrides: str
) -> tuple[TokenRequestError, dict[str, str]]:
    env = host("appservice", "web", **overrides)
    with (
        credential_from_settings(clock=clock, transport=transport) as credential,
        pytest.raises(TokenRequestError) as caught,
    ):
        credential.get_token(STORAGE)
    return caught.value, env


def _nothing_secret_shown(error: TokenRequestError, transport: EntraAnswers) -> None:
    assert transport.presented, "the request reached Entra"
    for text in (str(error), repr(error), error.fix or ""):
        for presented in transport.presented:
            assert presented not in text


RETRIED_CODES = (700027, 7000274, 7000277, 7000214, 1000502)
ASSERTION_REJECTED = (
    "Entra rejected the client assertion even after one retry with a fresh one: check that the "
    "certificate is registered on the app, or that the assertion's issuer is trusted."
)

FIXES = [
    pytest.param(
        "invalid_client",
        700024,
        "Client assertion is not within its valid time range.",
        "The assertion is outside its validity window: check this host's clock (NTP), and that the "
        "assertion is fresh (a token file no longer rotated, or an assertion reused after expiry).",
        id="700024",
    ),
    pytest.param(
        "unauthorized_client",
        700016,
        "Application with identifier 'x' was not found in the directory 'y'.",
        "Check AzureAd:ClientId ({client}) and AzureAd:TenantId ({tenant}): the app registration "
        "must exist in that tenant (and in that cloud).",
        id="700016",
    ),
    pytest.param(
        "invalid_client",
        7000215,
        "Invalid client secret provided.",
        "The client secret is wrong or expired: rotate it, or better, use "
        "SignedAssertionFromManagedIdentity.",
        id="7000215",
    ),
    *(
        pytest.param(
            "invalid_client", code, "The client assertion was rejected.", ASSERTION_REJECTED, id=str(code)
        )
        for code in RETRIED_CODES
    ),
    pytest.param(
        "invalid_resource",
        500011,
        "The resource principal named https://nowhere was not found in the tenant named t.",
        "The scope names a resource that does not exist in this tenant: check the scope you asked for.",
        id="500011",
    ),
    pytest.param(
        "invalid_request",
        90061,
        "Request to External OIDC endpoint failed.",
        "Entra could not fetch the issuer's OIDC documents: the cluster's OIDC issuer must be public.",
        id="90061",
    ),
    pytest.param(
        "invalid_scope",
        1002012,
        "The provided value for scope https://storage.azure.com is not valid.",
        "App-only tokens need a scope ending in /.default, e.g. https://storage.azure.com/.default.",
        id="1002012",
    ),
    pytest.param(
        "invalid_request",
        90002,
        "Tenant 'x' not found.",
        "See the code's description at https://login.microsoftonline.com/error?code=90002.",
        id="other-code",
    ),
]


@pytest.mark.parametrize(("error", "code", "text", "fix"), FIXES)
def test_each_aadsts_code_gets_its_fix_with_the_code_error_and_ids_kept(
    emulator: Emulator, host: HostFn, clock: FakeClock, error: str, code: int, text: str, fix: str
) -> None:
    transport = EntraAnswers(entra_error(error, code, text))
    caught, env = refused(host, clock, transport)
    client = env["AzureAd__ClientId"]
    assert caught.fix == fix.format(client=client, tenant=TENANT)
    assert caught.aadsts == code
    assert caught.oauth_error == error
    assert caught.trace_id == TRACE and caught.correlation_id == CORRELATION
    assert caught.transient is False, "a refusal is a configuration fault: it does not pass by itself"
    assert caught.summary == (
        f"Microsoft Entra refused the token request for the app registration {client} "
        f"(AADSTS{code}, {error}): AADSTS{code}: {text} [trace ID {TRACE}, correlation ID {CORRELATION}]"
    )
    _nothing_secret_shown(caught, transport)


@pytest.mark.parametrize(
    ("code", "error", "requests"),
    [
        *((code, "invalid_client", 2) for code in (700024, *RETRIED_CODES)),
        (700027, "unauthorized_client", 1),  # only invalid_client means "present a fresh assertion"
        (7000215, "invalid_client", 1),  # a wrong secret stays wrong
        (70021, "invalid_client", 1),  # no FIC matched: retried only when opted in
    ],
)
def test_only_a_rejected_assertion_is_retried_once_with_a_fresh_one(
    emulator: Emulator, host: HostFn, clock: FakeClock, code: int, error: str, requests: int
) -> None:
    # 401, as Entra answers invalid_client (MSAL would replay an identical 400 from its own cache)
    transport = EntraAnswers(entra_error(error, code, "Refused."), 401)
    caught, _ = refused(host, clock, transport)
    assert caught.aadsts == code
    assert len(transport.presented) == requests


FIC_FIX = (
    "Compare the federated identity credentials on the app registration {client} with the assertion: "
    f"issuer {ISSUER!r}, subject {IDS.identity_principal!r}, audience "
    "'fb60f99c-7a34-4190-8149-302f77469936'. Issuer and subject must match exactly (the subject must be "
    "the managed identity's principal (object) ID, not its client ID; mind a trailing '/' on the issuer) "
    "and the audience must be api://AzureADTokenExchange. A FIC created minutes ago may still be "
    "propagating: set AzureAd:FicPropagationRetrySeconds to retry."
)


@pytest.mark.parametrize("code", [70021, 700211, 700212, 700213, 70025])
def test_every_no_fic_matched_code_shows_the_assertion_to_compare_with_the_fic(
    emulator: Emulator, host: HostFn, clock: FakeClock, code: int
) -> None:
    transport = EntraAnswers(entra_error("invalid_client", code, "No matching federated identity record."))
    caught, env = refused(host, clock, transport)
    assert caught.fix == FIC_FIX.format(client=env["AzureAd__ClientId"])
    assert (caught.aadsts, caught.oauth_error, caught.transient) == (code, "invalid_client", False)
    assert caught.trace_id == TRACE and caught.correlation_id == CORRELATION
    _nothing_secret_shown(caught, transport)


def test_a_fic_mismatch_on_the_aks_identity_hop_names_the_identity_and_the_service_account_rule(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    env = host("aks-via-identity", "reports")
    identity = env["AzureAd__ClientCredentials__0__ManagedIdentityClientId"]
    transport = EntraAnswers(
        entra_error("invalid_client", 70021, "No matching federated identity record."), client_id=identity
    )
    with (
        credential_from_settings(clock=clock, transport=transport) as credential,
        pytest.raises(NoCredentialError) as caught,
    ):
        credential.get_token(STORAGE)
    assert len(caught.value.failures) == 1
    error = caught.value.failures[0].error
    assert isinstance(error, TokenRequestError)
    assert error.summary.startswith(
        f"Microsoft Entra refused the token request for the managed identity {identity} "
        "(AADSTS70021, invalid_client): AADSTS70021: No matching federated identity record."
    )
    fix = error.fix or ""
    assert fix.startswith(f"Compare the federated identity credentials on the managed identity {identity} ")
    assert "(the subject must be system:serviceaccount:<namespace>:<service account>; mind a trailing " in fix
    _nothing_secret_shown(error, transport)


def test_an_answer_without_an_aadsts_code_names_the_oauth_error_and_points_to_the_sign_in_logs(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    transport = EntraAnswers(entra_error("invalid_request", None, "Something was off."))
    caught, env = refused(host, clock, transport)
    assert caught.fix == (
        "Entra gave no AADSTS code; the trace and correlation IDs identify the request in sign-in logs."
    )
    assert caught.aadsts is None and caught.oauth_error == "invalid_request"
    assert caught.summary == (
        f"Microsoft Entra refused the token request for the app registration {env['AzureAd__ClientId']} "
        f"(invalid_request, invalid_request): Something was off. [trace ID {TRACE}, correlation ID "
        f"{CORRELATION}]"
    )


def test_an_answer_without_error_or_ids_still_makes_a_clear_refusal(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    transport = EntraAnswers({"error_description": "AADSTS7000215: Invalid client secret provided."})
    caught, env = refused(host, clock, transport)
    assert caught.summary == (
        f"Microsoft Entra refused the token request for the app registration {env['AzureAd__ClientId']} "
        "(AADSTS7000215, unknown_error): AADSTS7000215: Invalid client secret provided."
    )
    assert caught.aadsts == 7000215  # read from the description when error_codes is missing
    assert caught.oauth_error == "unknown_error"
    assert caught.trace_id is None and caught.correlation_id is None


def test_error_codes_win_over_a_code_quoted_in_the_description(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    body = entra_error("invalid_client", 7000215, "Invalid client secret provided.")
    body["error_description"] = "AADSTS700016: as quoted by a proxy. " + str(body["error_description"])
    caught, _ = refused(host, clock, EntraAnswers(body))
    assert caught.aadsts == 7000215
    assert (caught.fix or "").startswith("The client secret is wrong or expired")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        ("temporarily_unavailable", True),
        ("server_error", True),
        ("invalid_client", False),
        ("invalid_grant", False),
        ("unauthorized_client", False),
        ("invalid_request", False),
        ("Server_Error", False),  # RFC 6749's error codes are case-sensitive
    ],
)
def test_only_the_two_try_again_later_oauth_errors_are_transient(
    emulator: Emulator, host: HostFn, clock: FakeClock, error: str, transient: bool
) -> None:
    caught, _ = refused(host, clock, EntraAnswers(entra_error(error, 50196, "Busy or refused.")))
    assert caught.transient is transient
    assert caught.retry_after is None  # a 400 carries no Retry-After that certless would read


def test_a_throttled_answer_keeps_its_ids_and_carries_entras_retry_after(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    transport = EntraAnswers(entra_error("temporarily_unavailable", 50196, "Too many requests."), 429, "7")
    caught, _ = refused(host, clock, transport)
    assert len(transport.presented) == 4 and clock.sleeps == [7.0, 7.0, 7.0]
    assert caught.transient is True and caught.retry_after == 7.0
    assert caught.aadsts == 50196 and caught.trace_id == TRACE and caught.correlation_id == CORRELATION


SERVER_FAULT_FIX = "This is usually transient; certless retried already. Try again later."


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_from_entra_keeps_its_aadsts_code_and_ids_and_is_transient(
    emulator: Emulator, host: HostFn, clock: FakeClock, status: int
) -> None:
    transport = EntraAnswers(entra_error("temporarily_unavailable", 50196, "Busy."), status, "120")
    caught, _ = refused(host, clock, transport)
    assert caught.summary == (
        f"Microsoft Entra's token endpoint answered HTTP {status} (AADSTS50196, temporarily_unavailable): "
        f"AADSTS50196: Busy. [trace ID {TRACE}, correlation ID {CORRELATION}]"
    )
    assert caught.fix == SERVER_FAULT_FIX
    assert caught.aadsts == 50196 and caught.oauth_error == "temporarily_unavailable"
    assert caught.trace_id == TRACE and caught.correlation_id == CORRELATION
    assert caught.transient is True and caught.retry_after == 120.0
    assert len(transport.presented) == 1, "a Retry-After beyond the retry budget: no retry here"
    assert isinstance(caught, CertlessError)
    _nothing_secret_shown(caught, transport)


def test_a_5xx_is_transient_whatever_error_its_body_names(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    body = entra_error("invalid_client", 700027, "Client assertion failed signature validation.")
    transport = EntraAnswers(body, 500, "120")
    caught, _ = refused(host, clock, transport)
    assert caught.transient is True and caught.aadsts == 700027 and caught.fix == SERVER_FAULT_FIX
    assert len(transport.presented) == 1, "a server fault is no assertion rejection: no fresh-assertion retry"


def test_a_5xx_without_an_aadsts_code_names_its_oauth_error(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    caught, _ = refused(host, clock, EntraAnswers(entra_error("server_error", None, "Oops."), 500, "120"))
    assert caught.summary == (
        f"Microsoft Entra's token endpoint answered HTTP 500 (server_error): Oops. [trace ID {TRACE}, "
        f"correlation ID {CORRELATION}]"
    )
    assert caught.aadsts is None and caught.oauth_error == "server_error"


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><h1>502 Bad Gateway</h1>upstream-secret-header: abc</body></html>",
        "",
        "[]",
        '{"error": 17, "error_description": "not a string error"}',
        '{"message": "no OAuth error member"}',
        '{"error": "temporarily_unavailable"' + " " * 70_000 + "}",  # past the kept length: not parsed
    ],
    ids=["html", "empty", "json-array", "error-not-a-string", "no-error", "oversized"],
)
def test_a_5xx_without_entras_error_body_says_so_and_shows_none_of_the_page(
    emulator: Emulator, host: HostFn, clock: FakeClock, page: str
) -> None:
    transport = EntraAnswers(page, 502, "120")
    caught, _ = refused(host, clock, transport)
    assert caught.summary == "Microsoft Entra's token endpoint answered HTTP 502 without an OAuth error body."
    assert caught.fix == SERVER_FAULT_FIX
    assert caught.transient is True and caught.retry_after == 120.0
    assert caught.aadsts is None and caught.oauth_error is None and caught.trace_id is None
    assert "upstream-secret-header" not in str(caught)


def test_a_5xx_msal_replays_from_its_cache_is_still_a_clear_transient_error() -> None:
    from msal.exceptions import MsalServiceError

    from certless._engine import server_error

    # What the engine has when MSAL answers from its throttle cache: the exception, no answer of ours.
    exc = MsalServiceError("HTTP Error: 503", error=None, error_description=None)
    caught = server_error(exc, None, 4.0)
    assert caught.summary == "Microsoft Entra's token endpoint failed: MsalServiceError: HTTP Error: 503"
    assert caught.fix == SERVER_FAULT_FIX
    assert caught.transient is True and caught.retry_after == 4.0


@pytest.mark.parametrize("status", [400, 503])
@pytest.mark.parametrize(
    ("kept", "bracket"),
    [
        (("trace_id",), f" [trace ID {TRACE}]"),
        (("correlation_id",), f" [correlation ID {CORRELATION}]"),
        ((), ""),
    ],
    ids=["trace-only", "correlation-only", "neither"],
)
def test_the_id_bracket_shows_only_the_ids_entra_sent(
    emulator: Emulator,
    host: HostFn,
    clock: FakeClock,
    status: int,
    kept: tuple[str, ...],
    bracket: str,
) -> None:
    body = entra_error("invalid_request", 900144, "The request body must contain grant_type.")
    for key in ("trace_id", "correlation_id"):
        if key not in kept:
            del body[key]
    caught, _ = refused(host, clock, EntraAnswers(body, status, "120"))
    assert caught.summary.endswith(f"The request body must contain grant_type.{bracket}")
    assert "None" not in caught.summary
    assert caught.trace_id == (TRACE if "trace_id" in kept else None)
    assert caught.correlation_id == (CORRELATION if "correlation_id" in kept else None)
