"""MSAL confidential clients, built once per (authority, client, credential), plus the retries MSAL lacks.

- Only https authorities on a Microsoft Entra host (or a host the settings explicitly allow) ever get
  an assertion.
- OIDC discovery happens at most once per authority per process (``_http``'s discovery cache), not
  once per client object or per token.
- ``invalid_client`` with an expired/rejected-assertion code: one retry with a fresh assertion.
- AADSTS70021 right after a deployment (FIC propagation): opt-in bounded retries, each a fresh request
  (MSAL caches an identical HTTP 400 for 60 s, so its per-app HTTP cache is purged first).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from certless._http import (
    ENTRA_POLICY,
    Clock,
    HttpClient,
    Transport,
    TransportError,
    last_retry_after,
    last_server_error,
)
from certless._urls import AmbiguousUrlError, split_strict
from certless.errors import (
    CertlessError,
    CredentialUnavailableError,
    InsecureEndpointError,
    TokenRequestError,
)
from certless.settings import AUTO_DETECT_REGION, Settings, host_allowed

log = logging.getLogger("certless")

# Microsoft.Identity.Web's list: invalid_client with these codes means "rebuild the credential, retry once".
RETRY_WITH_FRESH_ASSERTION = frozenset({700027, 700024, 7000214, 1000502, 7000274, 7000277})
# No FIC matched yet: right after a deployment this is propagation delay, not a misconfiguration.
FIC_NOT_FOUND = frozenset({70021, 700211, 700212, 700213, 70025})


@dataclass(frozen=True)
class TokenResult:
    token: str
    expires_on: int
    refresh_on: int | None
    token_type: str


class _ResponseCache(dict[str, Any]):
    """The per-app ``http_cache`` handed to MSAL, so that certless can forget cached 400 responses."""

    def forget_http_400(self) -> None:
        self._forget(lambda status: status == 400)

    def forget_throttled(self) -> None:
        """Drop replayed 429/5xx answers: certless's own backoff (at least their Retry-After) has run."""
        self._forget(lambda status: status == 429 or status >= 500)

    def _forget(self, matches: Callable[[int], bool]) -> None:
        for key, value in list(self.items()):
            status = getattr(value, "status_code", None)
            if isinstance(status, int) and matches(status):
                self.pop(key, None)


class _App:
    def __init__(self, app: Any, cache: _ResponseCache) -> None:
        self.msal = app
        self.http_cache = cache


# One MSAL app per (authority, client, credential kind, client capabilities, region, TLS trust, transport,
# clock) per process:
# credential objects built from the same settings share it (and its token cache). Assertion-based apps
# do not hold the assertion itself: MSAL calls ``_current_assertion``, which asks the source of the
# request in flight (a context variable set by ``acquire``), so a shared app never presents another
# credential's assertion.
_apps: dict[tuple[str, str, str, tuple[str, ...], str | None, str, int, int, bool], _App] = {}
_apps_lock = threading.Lock()
_assertion_provider: ContextVar[Callable[[], str] | None] = ContextVar("certless_assertion", default=None)

ASSERTION_CREDENTIAL_KEY = "signed-assertion"


def _after_fork_in_child() -> None:
    # MSAL apps hold locks and HTTP clients of the parent: a child builds its own (from the cached
    # OIDC documents, so without a discovery request).
    global _apps_lock  # noqa: PLW0603  (a fresh lock for the child is the point)
    _apps_lock = threading.Lock()
    _apps.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forget_apps() -> None:
    """Drop the process's MSAL apps and their token caches (tests; or after rotating credentials)."""
    with _apps_lock:
        _apps.clear()


def current_assertion() -> str:
    """The ``client_assertion`` callable given to MSAL for every assertion-based source."""
    provider = _assertion_provider.get()
    if provider is None:  # only reachable if MSAL called back outside ``acquire``
        raise CredentialUnavailableError("No assertion source is active for this token request.")
    return provider()


class Apps:
    """Finds or builds the MSAL ``ConfidentialClientApplication`` objects one credential uses."""

    def __init__(self, settings: Settings, transport: Transport, clock: Clock) -> None:
        self.settings = settings
        self.transport = transport
        self.clock = clock

    def check_authority(self, authority: str, what: str = "authority") -> None:
        try:
            parts = split_strict(authority)
        except AmbiguousUrlError:
            allowed = False
        else:
            allowed = parts.scheme == "https" and host_allowed(
                parts.netloc, self.settings.extra_authority_hosts, self.settings.cloud
            )
        if not allowed:
            raise InsecureEndpointError(
                f"Refusing to send a client assertion to {what} {authority!r}: only https Microsoft "
                f"Entra hosts of the configured cloud ({self.settings.cloud.name}) receive it.",
                fix="Use the cloud's login host (e.g. https://login.microsoftonline.com/), or, for a local "
                "emulator only, list its host in AzureAd:ExtraAuthorityHosts and its CA in AzureAd:CaBundle.",
            )

    def _verify_for(self, authority: str) -> str | bool:
        host = urlsplit(authority).netloc.lower()
        extra = self.settings.extra_authority_hosts
        is_extra = host in extra or (urlsplit(authority).hostname or "") in extra
        return self.settings.ca_bundle if is_extra and self.settings.ca_bundle else True

    def get(
        self,
        authority: str,
        client_id: str,
        credential_key: str,
        make_credential: Callable[[], Any],
        *,
        cae: bool = False,
        keep_tokens: bool = True,
    ) -> _App:
        """``keep_tokens=False`` for on-behalf-of apps: every user's tokens would pile up in MSAL's cache,
        so that app stores none and certless keeps a bounded cache of its own."""
        self.check_authority(authority)
        verify = self._verify_for(authority)
        capabilities = self._capabilities(cae)
        key = (
            authority,
            client_id,
            credential_key,
            capabilities,
            self.settings.azure_region,
            str(verify),
            id(self.transport),
            id(self.clock),
            keep_tokens,
        )
        app = _apps.get(key)
        if app is not None:
            return app
        with _apps_lock:  # also makes concurrent first callers share one OIDC discovery
            app = _apps.get(key)
            if app is None:
                app = self._build(
                    authority, client_id, make_credential(), capabilities, verify, keep_tokens=keep_tokens
                )
                _apps[key] = app
            return app

    def _capabilities(self, cae: bool) -> tuple[str, ...]:
        """ClientCapabilities from the settings (announced on every request, as Microsoft.Identity.Web
        does), plus CP1 when the caller asks for a CAE token."""
        configured = self.settings.client_capabilities
        if cae and "cp1" not in (c.lower() for c in configured):
            return (*configured, "CP1")
        return configured

    def _build(
        self,
        authority: str,
        client_id: str,
        credential: Any,
        capabilities: tuple[str, ...],
        verify: str | bool,
        *,
        keep_tokens: bool = True,
    ) -> _App:
        import msal  # deferred: importing msal costs more than everything else in certless

        class _NoTokens(msal.TokenCache):
            def add(self, event: Any, now: Any = None) -> None:
                return None

        http = HttpClient(
            self.transport,
            policy=ENTRA_POLICY,
            clock=self.clock,
            verify=verify,
            name="Entra",
            keep_server_errors=True,
            endpoint_host_ok=lambda netloc: host_allowed(
                netloc, self.settings.extra_authority_hosts, self.settings.cloud
            ),
        )
        cache = _ResponseCache()
        region = self.settings.azure_region
        try:
            app = msal.ConfidentialClientApplication(
                client_id,
                client_credential=credential,
                authority=authority,
                http_client=http,
                http_cache=cache,
                # Hosts are validated above against the configured cloud; no instance-discovery call.
                instance_discovery=False,
                client_capabilities=list(capabilities) or None,
                # MSAL.NET's "TryAutoDetect" is MSAL Python's True; None leaves MSAL_FORCE_REGION in charge.
                azure_region=True if region == AUTO_DETECT_REGION else region,
                token_cache=msal.TokenCache() if keep_tokens else _NoTokens(),
            )
        except TransportError as exc:
            tls = not exc.retryable
            raise TokenRequestError(
                f"Microsoft Entra at {authority} could not be reached for OIDC discovery ({exc}).",
                fix="The server's certificate is not trusted: for a local emulator set AzureAd:CaBundle "
                "to its CA file; behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE."
                if tls
                else "Check outbound HTTPS to the login host (firewall, proxy, DNS).",
            ) from None
        except ValueError as exc:
            text = str(exc)
            raise TokenRequestError(
                f"Microsoft Entra rejected the authority {authority}: {_first_line(text)}",
                fix="Check AzureAd:TenantId (or Authority) and AzureAd:Instance: the tenant must exist "
                "in that cloud.",
                aadsts=_aadsts(text, None),
            ) from None
        return _App(app, cache)


def acquire(
    app: _App,
    scopes: list[str],
    *,
    claims: str | None,
    clock: Clock,
    fresh_assertion: Callable[[], None],
    describe_failure: Callable[[dict[str, Any]], TokenRequestError],
    fic_retry_seconds: float = 0.0,
    proactive: bool = False,
    assertion: Callable[[], str] | None = None,
    request: Callable[[_App, list[str], str | None], dict[str, Any]] | None = None,
    rebuild: Callable[[], _App] | None = None,
) -> TokenResult:
    """One token, with the two retries described in the module docstring: client credentials by
    default, or what ``request(app, scopes, claims)`` asks MSAL for (on-behalf-of).

    ``assertion`` is the source's assertion getter, for apps built with ``current_assertion``;
    ``rebuild`` gives the app to retry through after ``fresh_assertion`` reloaded the credential (a
    reloaded certificate needs an app built with it: MSAL apps hold their certificate)."""
    scope_token = _assertion_provider.set(assertion)
    try:
        return _acquire(
            app,
            scopes,
            claims=claims,
            clock=clock,
            fresh_assertion=fresh_assertion,
            describe_failure=describe_failure,
            fic_retry_seconds=fic_retry_seconds,
            proactive=proactive,
            request=request,
            rebuild=rebuild,
        )
    finally:
        _assertion_provider.reset(scope_token)


def _acquire(
    app: _App,
    scopes: list[str],
    *,
    claims: str | None,
    clock: Clock,
    fresh_assertion: Callable[[], None],
    describe_failure: Callable[[dict[str, Any]], TokenRequestError],
    fic_retry_seconds: float,
    proactive: bool,
    request: Callable[[_App, list[str], str | None], dict[str, Any]] | None = None,
    rebuild: Callable[[], _App] | None = None,
) -> TokenResult:
    if proactive and request is None:
        # MSAL would answer from its own cache until 5 minutes before expiry; certless decides when.
        app.msal.remove_tokens_for_client()
    fresh_retry_used = False
    started = clock.monotonic()
    wait = 5.0
    while True:
        last_retry_after.set(None)
        last_server_error.set(None)
        try:
            now = clock.time()
            if request is None:
                result = app.msal.acquire_token_for_client(scopes, claims_challenge=claims)
            else:
                result = request(app, scopes, claims)
        except CertlessError:
            raise
        except TransportError as exc:
            raise TokenRequestError(
                f"Microsoft Entra could not be reached ({exc}).",
                fix="Check outbound HTTPS to the login host; certless retried transient failures already.",
                transient=exc.retryable,  # a TLS verification failure will not pass by itself
            ) from None
        except Exception as exc:  # MSAL raises MsalServiceError on 5xx after our retries
            raise server_error(exc, last_server_error.get(), last_retry_after.get()) from None
        if "access_token" in result:
            return _token_result(result, now)
        code = _aadsts(result.get("error_description", ""), result.get("error_codes"))
        if (
            result.get("error") == "invalid_client"
            and code in RETRY_WITH_FRESH_ASSERTION
            and not fresh_retry_used
        ):
            fresh_retry_used = True
            log.info("Entra rejected the assertion (AADSTS%s); retrying once with a fresh one", code)
            fresh_assertion()
            if rebuild is not None:
                app = rebuild()
            continue
        elapsed = clock.monotonic() - started
        if code in FIC_NOT_FOUND and elapsed + wait <= fic_retry_seconds:
            log.warning(
                "AADSTS%s: no federated credential matched yet (propagation takes minutes); "
                "retrying in %.0f s (%.0f of %.0f s used)",
                code,
                wait,
                elapsed,
                fic_retry_seconds,
            )
            clock.sleep(wait)
            wait = min(wait * 2, 30.0)
            app.http_cache.forget_http_400()  # else MSAL replays the cached 400 without asking Entra
            continue
        failure = describe_failure(result)
        if failure.transient and failure.retry_after is None:
            failure.retry_after = last_retry_after.get()
        raise failure


def _token_result(result: dict[str, Any], now: float) -> TokenResult:
    expires_in = int(result.get("expires_in", 3600))
    expires_on = int(now + expires_in)
    refresh_on = result.get("refresh_on")
    if refresh_on is None and expires_in >= 7200:
        refresh_on = int(now + expires_in // 2)  # half-life, as azure-identity and MSAL's MI client do
    return TokenResult(
        token=result["access_token"],
        expires_on=expires_on,
        refresh_on=int(refresh_on) if refresh_on is not None else None,
        token_type=str(result.get("token_type", "Bearer")),
    )


def _aadsts(description: str, codes: Any) -> int | None:
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = re.search(r"AADSTS(\d+)", description or "")
    return int(match.group(1)) if match else None


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:500] if text and text.strip() else ""


def _request_ids(result: dict[str, Any]) -> str:
    """`` [trace ID …, correlation ID …]`` with the IDs Entra sent (either may be missing), or ``""``."""
    ids = [
        f"{label} {result[key]}"
        for key, label in (("trace_id", "trace ID"), ("correlation_id", "correlation ID"))
        if result.get(key)
    ]
    return f" [{', '.join(ids)}]" if ids else ""


_SERVER_FAULT_FIX = "This is usually transient; certless retried already. Try again later."


def server_error(
    exc: Exception, answer: tuple[int, str] | None, retry_after: float | None
) -> TokenRequestError:
    """The error for a token request MSAL gave up on: a 5xx (with Entra's error body, if it sent one)."""
    if answer is None:  # not a 5xx this request received (e.g. MSAL replayed one it had cached)
        return TokenRequestError(
            f"Microsoft Entra's token endpoint failed: {exc.__class__.__name__}: {_first_line(str(exc))}",
            fix=_SERVER_FAULT_FIX,
            transient=True,
            retry_after=retry_after,
        )
    status, text = answer
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
        # A gateway's or proxy's page: its text is not Entra's and is not shown.
        return TokenRequestError(
            f"Microsoft Entra's token endpoint answered HTTP {status} without an OAuth error body.",
            fix=_SERVER_FAULT_FIX,
            transient=True,
            retry_after=retry_after,
        )
    description = str(body.get("error_description") or "")
    code = _aadsts(description, body.get("error_codes"))
    error = body["error"]
    label = f"AADSTS{code}, {error}" if code else error
    trace_id, correlation_id = body.get("trace_id"), body.get("correlation_id")
    return TokenRequestError(
        f"Microsoft Entra's token endpoint answered HTTP {status} ({label}): {_first_line(description)}"
        + _request_ids(body),
        fix=_SERVER_FAULT_FIX,
        error=error,
        aadsts=code,
        trace_id=trace_id if isinstance(trace_id, str) else None,
        correlation_id=correlation_id if isinstance(correlation_id, str) else None,
        transient=True,  # a 5xx is a server fault whatever its body says
        retry_after=retry_after,
    )


def token_error(
    result: dict[str, Any],
    *,
    client_id: str,
    tenant_id: str,
    assertion_claims: dict[str, Any] | None,
    expected_audience: str,
    hop: str = "app",
) -> TokenRequestError:
    """Turn MSAL's error dict into a TokenRequestError whose fix names the likely cause."""
    description = str(result.get("error_description") or "")
    code = _aadsts(description, result.get("error_codes"))
    error = str(result.get("error") or "unknown_error")
    who = "the app registration" if hop == "app" else "the managed identity"
    if code in FIC_NOT_FOUND:
        if assertion_claims:
            shown = (
                f"issuer {assertion_claims.get('iss')!r}, subject {assertion_claims.get('sub')!r}, "
                f"audience {assertion_claims.get('aud')!r}"
            )
        else:
            shown = "(the assertion's claims could not be read)"
        if hop == "app":
            subject_rule = (
                "the subject must be the managed identity's principal (object) ID, not its client ID"
            )
        else:
            subject_rule = "the subject must be system:serviceaccount:<namespace>:<service account>"
        fix = (
            f"Compare the federated identity credentials on {who} {client_id} with the assertion: {shown}. "
            f"Issuer and subject must match exactly ({subject_rule}; mind a trailing '/' on the issuer) and "
            f"the audience must be {expected_audience}. A FIC created minutes ago may still be propagating: "
            "set AzureAd:FicPropagationRetrySeconds to retry."
        )
    elif code == 700024:
        fix = (
            "The assertion is outside its validity window: check this host's clock (NTP), and that the "
            "assertion is fresh (a token file no longer rotated, or an assertion reused after expiry)."
        )
    elif code == 700016:
        fix = (
            f"Check AzureAd:ClientId ({client_id}) and AzureAd:TenantId ({tenant_id}): the app registration "
            "must exist in that tenant (and in that cloud)."
        )
    elif code == 7000215:
        fix = (
            "The client secret is wrong or expired: rotate it, or better, use "
            "SignedAssertionFromManagedIdentity."
        )
    elif code in (700027, 7000274, 7000277, 7000214, 1000502):
        fix = (
            "Entra rejected the client assertion even after one retry with a fresh one: check that the "
            "certificate is registered on the app, or that the assertion's issuer is trusted."
        )
    elif code == 500011:
        fix = "The scope names a resource that does not exist in this tenant: check the scope you asked for."
    elif code == 90061:
        fix = "Entra could not fetch the issuer's OIDC documents: the cluster's OIDC issuer must be public."
    elif code == 1002012:
        fix = "App-only tokens need a scope ending in /.default, e.g. https://storage.azure.com/.default."
    elif code is not None:
        fix = f"See the code's description at https://login.microsoftonline.com/error?code={code}."
    else:
        fix = "Entra gave no AADSTS code; the trace and correlation IDs identify the request in sign-in logs."
    label = f"AADSTS{code}" if code else error
    return TokenRequestError(
        f"Microsoft Entra refused the token request for {who} {client_id} ({label}, {error}): "
        f"{_first_line(description)}" + _request_ids(result),
        fix=fix,
        error=error,
        aadsts=code,
        trace_id=result.get("trace_id"),
        correlation_id=result.get("correlation_id"),
    )
