"""``CertlessCredential``: an azure-core ``TokenCredential`` and ``SupportsTokenInfo`` built from the
AzureAd settings. Any Azure SDK client accepts it as ``credential=``."""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import weakref
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

from certless import _jwt
from certless._cache import Entry, Fetch, Spawn, TokenCache, worth_sharing
from certless._chain import SourceChain
from certless._engine import Apps, TokenResult, _App, acquire, forget_apps, token_error
from certless._host_cache import HostCache
from certless._http import IDENTITY_POLICY, Clock, RequestsTransport, RetryPolicy, Transport, forget_discovery
from certless._sources import Source, SourceContext, build_source
from certless._tenants import resolve_tenant
from certless.errors import CertlessError, SettingsError
from certless.settings import Settings, load_settings

log = logging.getLogger("certless")
# Shared by every credential in the process: connection pools, and the MSAL apps keyed on them (_engine).
_CLOCK = Clock()
_ENTRA_TRANSPORT = RequestsTransport()
_IDENTITY_TRANSPORT = RequestsTransport(trust_env=False)  # identity endpoints: never via a proxy

_Key = tuple[tuple[str, ...], str | None, str | None, bool]  # scopes, claims, tenant, CAE
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{1,252}$")


class _AccessToken(AccessToken):
    """An AccessToken whose repr does not print the token."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"AccessToken(token=<{_jwt.fingerprint(self.token)}>, expires_on={self.expires_on})"


class _AccessTokenInfo(AccessTokenInfo):
    """An AccessTokenInfo whose repr does not print the token."""

    def __repr__(self) -> str:
        return (
            f"AccessTokenInfo(token=<{_jwt.fingerprint(self.token)}>, expires_on={self.expires_on}, "
            f"token_type={self.token_type!r}, refresh_on={self.refresh_on})"
        )


def _values(result: TokenResult) -> tuple[AccessToken, AccessTokenInfo]:
    return (
        _AccessToken(result.token, result.expires_on),
        _AccessTokenInfo(
            result.token, result.expires_on, token_type=result.token_type, refresh_on=result.refresh_on
        ),
    )


class CertlessCredential:
    """Tokens for the app registration in ``settings``, proving its identity with the configured
    credential sources (managed identity first, typically). Thread-safe; share one per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        spawn: Spawn | None = None,
        identity_policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock or _CLOCK
        entra = transport or _ENTRA_TRANSPORT
        identity = transport or _IDENTITY_TRANSPORT
        self._apps = Apps(settings, entra, self._clock)
        self._host_cache = (
            HostCache.open(
                f"{settings.section}:TokenCacheDirectory",
                settings.token_cache_directory,
                settings.token_cache_lock_timeout,
            )
            if settings.token_cache_directory
            else None
        )
        ctx = SourceContext(
            settings,
            self._clock,
            identity,
            entra,
            self._apps,
            identity_policy or IDENTITY_POLICY,
            self._host_cache,
        )
        self._chain = SourceChain([build_source(d, ctx) for d in settings.credentials])
        from certless._parity import log_dotnet_differences  # construction only, never per token

        log_dotnet_differences(settings)
        self._cache = TokenCache(self._clock, _values, spawn)
        self._entries = self._cache.entries
        self._now = self._clock.time
        _live.add(self)

    # ------------------------------------------------------------------------------------------ protocol

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        key = (scopes, claims, tenant_id, enable_cae)
        entry = self._entries.get(key)
        if entry is not None:
            now = self._now()
            if now < entry.usable_until:  # the hot path: no lock, no network
                if now >= entry.refresh_at and now >= entry.next_attempt:
                    self._cache.refresh_in_background(key, self._fetcher(key))
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("token cache: hit for %s (%.0f s left)", scopes, entry.result.expires_on - now)
                return entry.value[0]
        return self._slow(key).value[0]

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        opts = options or {}
        key = (scopes, opts.get("claims"), opts.get("tenant_id"), bool(opts.get("enable_cae", False)))
        entry = self._entries.get(key)
        if entry is not None:
            now = self._now()
            if now < entry.usable_until:
                if now >= entry.refresh_at and now >= entry.next_attempt:
                    self._cache.refresh_in_background(key, self._fetcher(key))
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("token cache: hit for %s (%.0f s left)", scopes, entry.result.expires_on - now)
                return entry.value[1]
        return self._slow(key).value[1]

    def close(self) -> None:
        """Release this credential's sources. HTTP sessions and MSAL apps are shared by the process
        (and a transport you passed in stays yours to close)."""
        self._chain.close()

    def __enter__(self) -> CertlessCredential:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- extras

    def reset_sources(self) -> None:
        """Try every credential source again, in order (after fixing what made one fail)."""
        self._chain.reset()
        self._cache.clear()

    @property
    def selected_source(self) -> Source | None:
        return self._chain.selected

    @property
    def sources(self) -> list[Source]:
        return list(self._chain.sources)

    def __repr__(self) -> str:
        labels = ", ".join(s.label for s in self._chain.sources)
        return (
            f"CertlessCredential(client_id={self.settings.client_id!r}, "
            f"tenant_id={self.settings.tenant_id!r}, sources=[{labels}])"
        )

    # ---------------------------------------------------------------------------------------- internals

    def _slow(self, key: _Key) -> Entry:
        scopes, _claims, tenant_id, _cae = key
        if not scopes or not all(isinstance(s, str) and s for s in scopes):
            raise CertlessError(
                f"get_token needs at least one scope, got {scopes!r}",
                fix="Pass the resource's scope, e.g. get_token('https://storage.azure.com/.default').",
            )
        if tenant_id is not None:
            if not _TENANT.match(tenant_id):
                raise SettingsError("tenant_id", tenant_id, "a tenant ID (GUID) or domain")
            self._tenant(tenant_id)  # refuses a tenant the settings do not allow, before any request
        if _claims:  # a claims challenge: to Entra, and the answer replaces the cached token (as MSAL)
            return self._cache.get(key, self._fetcher(key), replaces=(scopes, None, tenant_id, _cae))
        return self._cache.get(key, self._fetcher(key))

    def _tenant(self, requested: str | None) -> str:
        s = self.settings
        return resolve_tenant(
            s.tenant_id,
            requested,
            s.additionally_allowed_tenants,
            organizations=s.configured_for_organizations,
        )

    def _fetcher(self, key: _Key) -> Fetch:
        scopes, claims, requested_tenant, cae = key

        def fetch(proactive: bool) -> TokenResult:
            tenant_id = self._tenant(requested_tenant)
            host_cache = self._host_cache
            if host_cache is None or claims:  # a claims challenge is answered afresh, by this process
                return fetch_here(proactive, tenant_id)
            # Everything that tells tokens apart: another app, tenant or cloud never shares one.
            host_key = (
                "access",
                self.settings.authority_for(tenant_id),
                self.settings.client_id,
                self.settings.client_capabilities,
                *key,
            )
            return host_cache.get(
                host_key,
                lambda: fetch_here(proactive, tenant_id),
                lambda result: worth_sharing(result, self._clock.time(), proactive),
            )

        def fetch_here(proactive: bool, tenant_id: str) -> TokenResult:
            source = self._chain.current()
            if claims:  # the managed-identity leg gets the claims too (Microsoft.Identity.Web: WithClaims)
                source.refresh_for_claims(claims)

            def app_for_source() -> _App:
                # Keyed by what the source holds now (a certificate's thumbprint): a reloaded
                # certificate gets an app built with it.
                return self._apps.get(
                    self.settings.authority_for(tenant_id),
                    self.settings.client_id,
                    source.key,
                    source.client_credential,
                    cae=cae,
                )

            app = app_for_source()
            return acquire(
                app,
                list(scopes),
                claims=claims,
                clock=self._clock,
                fresh_assertion=source.invalidate,
                describe_failure=lambda result: token_error(
                    result,
                    client_id=self.settings.client_id,
                    tenant_id=tenant_id,
                    assertion_claims=source.assertion_claims(),
                    expected_audience=getattr(
                        source, "audience", self.settings.cloud.token_exchange_audience
                    ),
                ),
                fic_retry_seconds=self.settings.fic_propagation_retry_seconds,
                proactive=proactive,
                assertion=source.assertion_provider(),
                rebuild=app_for_source,
            )

        return fetch


_live: weakref.WeakSet[CertlessCredential] = weakref.WeakSet()


def _before_fork() -> None:
    # certless imports msal and requests on first use, maybe in a thread that is mid-import now: a
    # child would inherit that module's import lock held by a thread it does not have, and block on
    # its first import. Waiting here for such an import to finish costs nothing otherwise.
    for name in _LAZY_IMPORTS:
        if name in sys.modules:
            importlib.import_module(name)


def _after_fork_in_child() -> None:
    for credential in list(_live):
        credential._cache.after_fork()
        credential._chain.after_fork()


_LAZY_IMPORTS = ("msal", "requests", "cryptography.x509")
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def clear_process_caches() -> None:
    """Forget what every credential in this process shares: MSAL apps with their token caches, and OIDC
    documents. For tests that restart an emulator, or after moving an app to another tenant."""
    from certless.obo import forget_brokers  # obo builds on this module

    forget_apps()
    forget_discovery()
    forget_brokers()
    web = sys.modules.get("certless.web")  # loaded only by web APIs (an optional extra)
    if web is not None:
        web.forget_default_validator()


def credential_from_settings(
    path: str | os.PathLike[str] | None = None,
    section: str = "AzureAd",
    **kwargs: Any,
) -> CertlessCredential:
    """Read ``appsettings.json`` (+ the environment's overlay + env vars) and build the credential."""
    return CertlessCredential(load_settings(path, section), **kwargs)


def client_credential(settings: Settings | None = None, **kwargs: Any) -> Any:
    """The ``client_credential`` argument for any MSAL-based library (MSAL itself, ``identity``,
    azure-identity's ``client_assertion_func=cred["client_assertion"]``), backed by the source chain.

    For an assertion source (managed identity, token file) this is ``{"client_assertion": callable}``:
    MSAL calls it per token request and gets the chain's cached, refreshed assertion. A certificate or
    secret source returns what MSAL takes for it. The chain is loaded now, so a misconfiguration fails here.
    """
    credential = CertlessCredential(settings or load_settings(), **kwargs)
    chain = credential._chain
    source = chain.current()
    provider = source.assertion_provider()
    if provider is None:
        return source.client_credential()

    def client_assertion() -> str:
        # Re-resolved per call: after reset_sources the chain may pick another assertion source.
        current = chain.current().assertion_provider()
        if current is None:
            raise CertlessError(
                "The selected credential source no longer yields an assertion.",
                fix="Call certless.client_credential() again after changing the sources.",
            )
        return current()

    return {"client_assertion": client_assertion}
