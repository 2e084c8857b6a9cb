"""``OnBehalfOfCredential``: tokens for a downstream API, acting for the user who called this web API.

The web API receives the user's access token (the *user assertion*) and trades it at Entra for a token
to the downstream API (OAuth 2.0 on-behalf-of, ``jwt-bearer`` with ``requested_token_use=on_behalf_of``).
The app proves who it is with the same certificateless source chain as :class:`CertlessCredential`.

A web API builds one credential per request, so what is shared lives per settings in the process: the
source chain, the MSAL app, and a bounded cache of OBO tokens keyed by (user assertion, scopes, claims,
tenant, CAE). Concurrent requests for one user and scope share one token request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

from certless import _jwt
from certless._cache import Entry, Fetch, TokenCache
from certless._engine import TokenResult, _App, acquire, token_error
from certless.credential import CertlessCredential, _values
from certless.errors import CertlessError, TokenRequestError
from certless.settings import Settings, load_settings

log = logging.getLogger("certless")

MAX_CACHED_TOKENS = 10_000
"""OBO tokens kept per settings: one per active (user, scope); the oldest go first beyond this."""

# AADSTS codes where the fix is about the incoming token or consent, not the app's credential.
_CONSENT = frozenset({65001, 65004})
_WRONG_ASSERTION = frozenset({50013, 500131, 50027, 5000224, 50000})


class _Broker:
    """What every OnBehalfOfCredential built from one settings object shares."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.app_credential = CertlessCredential(settings, **kwargs)
        self.settings = settings
        self.clock = self.app_credential._clock
        self.cache = TokenCache(self.clock, _values, kwargs.get("spawn"))
        self._trim_lock = threading.Lock()

    def cached(self, user_assertion: str, key: tuple[Any, ...]) -> Entry | None:
        """The cached token if still usable (a due refresh starts in the background); never blocks.

        Keyed by the user's token itself: the background refresh holds it anyway, and a web API builds a
        credential per request, where hashing a 1-2 KB token would cost more than the lookup."""
        full: Hashable = (user_assertion, *key)
        entry = None if key[1] else self.cache.entries.get(full)  # claims: never from the cache
        if entry is None:
            return None
        now = self.clock.time()
        if now >= entry.usable_until:
            return None
        if now >= entry.refresh_at and now >= entry.next_attempt:
            self.cache.refresh_in_background(full, self._fetcher(user_assertion, key))
        return entry

    def entry(self, user_assertion: str, key: tuple[Any, ...]) -> Entry:
        found = self.cached(user_assertion, key)
        if found is not None:
            return found
        full: Hashable = (user_assertion, *key)
        scopes = key[0]
        if not scopes or not all(isinstance(s, str) and s for s in scopes):
            raise CertlessError(
                f"get_token needs at least one scope, got {scopes!r}",
                fix="Pass the downstream API's scope, e.g. 'https://storage.azure.com/user_impersonation'.",
            )
        if key[1]:  # a claims challenge: the new token replaces the cached one for that user and scope
            scopes, _claims, tenant, cae = key
            entry = self.cache.get(
                full, self._fetcher(user_assertion, key), replaces=(user_assertion, scopes, None, tenant, cae)
            )
        else:
            entry = self.cache.get(full, self._fetcher(user_assertion, key))
        self._trim()
        return entry

    def _trim(self) -> None:
        entries = self.cache.entries
        if len(entries) <= MAX_CACHED_TOKENS:
            return
        with self._trim_lock:
            now = self.clock.time()
            for k in [k for k, e in list(entries.items()) if now >= e.usable_until]:
                entries.pop(k, None)
            while len(entries) > MAX_CACHED_TOKENS:  # dicts keep insertion order: oldest first
                entries.pop(next(iter(entries)), None)

    def _fetcher(self, user_assertion: str, key: tuple[Any, ...]) -> Fetch:
        scopes, claims, requested_tenant, cae = key
        credential = self.app_credential

        def fetch(proactive: bool) -> TokenResult:
            tenant_id = credential._tenant(requested_tenant)
            source = credential._chain.current()

            def app_for_source() -> _App:  # keyed by what the source holds now (see credential.py)
                return credential._apps.get(
                    self.settings.authority_for(tenant_id),
                    self.settings.client_id,
                    source.key,
                    source.client_credential,
                    cae=cae,
                    keep_tokens=False,
                )

            def on_behalf_of(
                app: _App, scope_list: list[str], claims_challenge: str | None
            ) -> dict[str, Any]:
                result: dict[str, Any] = app.msal.acquire_token_on_behalf_of(
                    user_assertion, scope_list, claims_challenge=claims_challenge
                )
                return result

            return acquire(
                app_for_source(),
                list(scopes),
                claims=claims,
                clock=self.clock,
                fresh_assertion=source.invalidate,
                describe_failure=lambda result: _obo_error(result, self.settings, tenant_id, source),
                fic_retry_seconds=self.settings.fic_propagation_retry_seconds,
                proactive=proactive,
                assertion=source.assertion_provider(),
                request=on_behalf_of,
                rebuild=app_for_source,
            )

        return fetch


def _obo_error(result: dict[str, Any], settings: Settings, tenant_id: str, source: Any) -> TokenRequestError:
    error = token_error(
        result,
        client_id=settings.client_id,
        tenant_id=tenant_id,
        assertion_claims=source.assertion_claims(),
        expected_audience=getattr(source, "audience", settings.cloud.token_exchange_audience),
    )
    code = error.aadsts
    if code in _CONSENT:
        fix = (
            "The user (or an admin) has not consented to this API calling the downstream API for them: "
            "grant the delegated permission with admin consent (the program's delegated grants do), or add "
            "this API to the client's knownClientApplications and ask for '.default' at sign-in."
        )
    elif code in _WRONG_ASSERTION:
        fix = (
            f"The incoming token is not a user token for this API ({settings.client_id}): its audience must "
            "be this app's client ID or App ID URI, and it must be a delegated (user) token. An app-only "
            "caller needs client credentials, not on-behalf-of."
        )
    elif result.get("error") == "interaction_required":
        fix = (
            "The user must sign in again (Conditional Access or MFA): return 401 with the claims "
            "challenge to the client, which passes it to its next sign-in."
        )
    else:
        return error
    return TokenRequestError(
        error.summary,
        fix=fix,
        error=error.oauth_error,
        aadsts=code,
        trace_id=error.trace_id,
        correlation_id=error.correlation_id,
        transient=error.transient,
    )


_brokers: dict[int, tuple[Settings, _Broker]] = {}
_brokers_lock = threading.Lock()
_default_settings: list[Settings] = []


def _broker_for(settings: Settings | None, kwargs: dict[str, Any]) -> _Broker:
    if settings is None:
        if not _default_settings:
            with _brokers_lock:
                if not _default_settings:
                    _default_settings.append(load_settings())  # once per process, not per request
        settings = _default_settings[0]
    if kwargs:  # a custom transport/clock: a broker of its own
        return _Broker(settings, **kwargs)
    # Once per request: the lock only when the broker is not there yet (a dict read is atomic).
    known = _brokers.get(id(settings))
    if known is not None and known[0] is settings:
        return known[1]
    with _brokers_lock:
        found = _brokers.get(id(settings))
        if found is None or found[0] is not settings:
            found = (settings, _Broker(settings))
            _brokers[id(settings)] = found
        return found[1]


def forget_brokers() -> None:
    """Drop the shared OBO state (tests; after changing the settings in place)."""
    with _brokers_lock:
        _brokers.clear()
        _default_settings.clear()


def _check_user_assertion(user_assertion: Any) -> str:
    # Runs once per web request: cheap checks only (the token is ~1-2 KB).
    if not isinstance(user_assertion, str) or not user_assertion or user_assertion.isspace():
        raise CertlessError(
            "OnBehalfOfCredential needs the user's access token (the user assertion); got "
            + ("an empty string" if isinstance(user_assertion, str) else type(user_assertion).__name__),
            fix="Pass the bearer token from the incoming request's Authorization header, without 'Bearer '.",
        )
    if user_assertion[:7].lower() == "bearer ":
        raise CertlessError(
            "OnBehalfOfCredential got an Authorization header value, not a token.",
            fix="Strip the 'Bearer ' prefix: pass only the token.",
        )
    if user_assertion.count(".") != 2 or user_assertion != user_assertion.strip():
        raise CertlessError(
            "OnBehalfOfCredential's user assertion is not a JWT (expected three dot-separated parts).",
            fix="Pass the access token the client sent to this API.",
        )
    return user_assertion


class OnBehalfOfCredential:
    """An azure-core ``TokenCredential`` acting for the user whose token this web API received.

    Build one per request: ``OnBehalfOfCredential(user_token)``; the app's credential sources, the MSAL
    app and the token cache are shared by every credential built from the same settings."""

    def __init__(self, user_assertion: str, settings: Settings | None = None, **kwargs: Any) -> None:
        self._assertion = _check_user_assertion(user_assertion)
        self._broker = _broker_for(settings, kwargs)

    @property
    def settings(self) -> Settings:
        return self._broker.settings

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        key = (scopes, claims, tenant_id, enable_cae)
        return self._broker.entry(self._assertion, key).value[0]

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        opts = options or {}
        key = (scopes, opts.get("claims"), opts.get("tenant_id"), bool(opts.get("enable_cae", False)))
        return self._broker.entry(self._assertion, key).value[1]

    def close(self) -> None:
        """Nothing to release per credential: the shared state stays for the next request."""

    def __enter__(self) -> OnBehalfOfCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"OnBehalfOfCredential(client_id={self.settings.client_id!r}, "
            f"user_assertion=<{_jwt.fingerprint(self._assertion)}>)"
        )
