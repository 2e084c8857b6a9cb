"""What every credential source offers the engine."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from certless import _jwt
from certless._engine import ASSERTION_CREDENTIAL_KEY, current_assertion
from certless._http import IDENTITY_POLICY, Clock, RetryPolicy, Transport
from certless.errors import CertlessError, CredentialUnavailableError
from certless.settings import CredentialDescription, Settings

if TYPE_CHECKING:
    from certless._engine import Apps
    from certless._host_cache import HostCache

log = logging.getLogger("certless")

# An assertion is never presented within this many seconds of its expiry.
ASSERTION_MARGIN = 300.0


@dataclass
class SourceContext:
    settings: Settings
    clock: Clock
    identity_transport: Transport
    entra_transport: Transport
    apps: Apps
    identity_policy: RetryPolicy = IDENTITY_POLICY
    host_cache: HostCache | None = None  # AzureAd:TokenCacheDirectory: shared with the host's processes


class Source(ABC):
    """One entry of AzureAd:ClientCredentials, turned into something MSAL can use."""

    def __init__(self, description: CredentialDescription, ctx: SourceContext) -> None:
        self.description = description
        self.ctx = ctx

    @property
    def label(self) -> str:
        return self.description.label

    @property
    def key(self) -> str:
        """What this source bakes into an MSAL app: sources with equal keys share one app (per authority
        and client) in the process."""
        return f"{self.description.index}:{self.description.source_type}"

    @abstractmethod
    def load(self) -> None:
        """Prove the source works now (fetch an assertion, parse a certificate); raise if not."""

    @abstractmethod
    def client_credential(self) -> Any:
        """The ``client_credential`` argument for MSAL's ConfidentialClientApplication."""

    def invalidate(self) -> None:  # noqa: B027  (optional hook: nothing cached by default)
        """Forget anything cached so the next request presents a freshly obtained credential."""

    def assertion_claims(self) -> dict[str, Any] | None:
        """Claims of the last assertion presented (for error messages), if this source makes one."""
        return None

    def refresh_for_claims(self, claims: str) -> None:  # noqa: B027  (nothing upstream by default)
        """A claims challenge on the app's token: pass it upstream and replace what is cached here."""

    def assertion_provider(self) -> Callable[[], str] | None:
        """For assertion sources: what MSAL's shared ``client_assertion`` callable asks during a request."""
        return None

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release resources; most sources hold none."""

    def after_fork(self) -> None:  # noqa: B027  (optional hook: most sources hold no lock)
        """In a forked child: drop locks and clients the parent's threads may have been using."""


class AssertionSource(Source):
    """A source whose credential is a signed assertion (a JWT) obtained from somewhere else.

    The assertion is cached and replaced before it gets within ``ASSERTION_MARGIN`` of its expiry.
    """

    def __init__(self, description: CredentialDescription, ctx: SourceContext) -> None:
        super().__init__(description, ctx)
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires_on = 0.0
        self._claims: dict[str, Any] | None = None
        self._force_fresh = False
        self._replacing: str | None = None  # the assertion a fetch replaces (never handed back)

    @abstractmethod
    def _fetch(self, *, fresh: bool, claims: str | None = None) -> tuple[str, float]:
        """Obtain an assertion and its expiry (epoch seconds). ``fresh`` bypasses upstream caches;
        ``claims`` is a claims challenge to pass upstream (which bypasses its caches too)."""

    def _stale(self) -> bool:
        """Subclasses add their own reasons to re-fetch (e.g. the token file changed)."""
        return False

    def assertion(self) -> str:
        return self._assertion(None)

    def refresh_for_claims(self, claims: str) -> None:
        self._assertion(claims)

    def _assertion(self, claims: str | None) -> str:
        with self._lock:
            now = self.ctx.clock.time()
            if (
                claims is not None
                or self._value is None
                or self._expires_on - now < ASSERTION_MARGIN
                or self._stale()
            ):
                # Replacing one we had (near expiry, or rejected): upstream caches must not hand it back.
                fresh = self._force_fresh or self._value is not None
                if self._value is not None:
                    self._replacing = self._value
                try:
                    value, expires_on = self._fetch(fresh=fresh, claims=claims)
                except CertlessError as exc:
                    if exc.transient:  # the next attempt must not be answered from upstream caches
                        self._force_fresh = True
                    raise
                self._force_fresh = False
                self._replacing = None
                try:
                    self._claims = _jwt.claims(value)
                except _jwt.NotAJwtError as exc:
                    # One bad answer from upstream (the identity endpoint, Entra): tried again later,
                    # bypassing upstream caches (MSAL's MI client cached what it was given).
                    self._force_fresh = True
                    raise CredentialUnavailableError(
                        f"{self.label} produced an assertion that is {exc}", transient=True
                    ) from None
                self._value, self._expires_on = value, expires_on
                log.debug(
                    "%s: new assertion %s, expires in %.0f s",
                    self.label,
                    _jwt.fingerprint(value),
                    expires_on - now,
                )
            return self._value

    def load(self) -> None:
        self.assertion()

    @property
    def key(self) -> str:
        # Every assertion source shares one MSAL app per authority and client (see _engine).
        return ASSERTION_CREDENTIAL_KEY

    def client_credential(self) -> Any:
        # MSAL calls this only when it needs the network; the request's source answers (see _engine).
        return {"client_assertion": current_assertion}

    def assertion_provider(self) -> Callable[[], str] | None:
        return self.assertion

    def invalidate(self) -> None:
        with self._lock:
            self._replacing = self._value or self._replacing
            self._value = None
            self._expires_on = 0.0
            self._force_fresh = True

    def assertion_claims(self) -> dict[str, Any] | None:
        return self._claims

    def after_fork(self) -> None:
        # The cached assertion (this app's own identity token) stays; the lock may have been held.
        self._lock = threading.Lock()
