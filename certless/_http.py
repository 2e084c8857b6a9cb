"""The HTTP seam: a small transport tests replace, and the retries MSAL leaves to its caller.

MSAL's clients accept any object with requests-like ``get``/``post``; ``HttpClient`` is that object.
It adds timeouts, retries with backoff (``Retry-After`` honoured, a bounded total time) and an
injectable clock so that tests of 70-second behaviour run in milliseconds.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from certless._urls import AmbiguousUrlError, split_strict

log = logging.getLogger("certless")

# Local endpoints either accept a connection at once or are not there: don't wait long to find out.
CONNECT_TIMEOUT = 2.0

# OIDC discovery documents, shared by every MSAL app in the process: MSAL's constructor fetches the
# document eagerly, so without this each credential object would cost one extra request.
_DISCOVERY_TTL = 24 * 3600.0
_discovery: dict[tuple[str, str], tuple[float, Response]] = {}
_discovery_lock = threading.Lock()


class Clock:
    """Wall time, monotonic time and sleep; tests substitute a fake."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class Response:
    """The parts of an HTTP response MSAL and certless read."""

    status_code: int
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HttpStatusError(self.status_code)


class HttpStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class TransportError(OSError):
    """No response: connection refused, reset, DNS failure or timeout."""

    def __init__(
        self, message: str, *, timeout: bool = False, retryable: bool = True, connect: bool = False
    ) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.connect = connect  # no connection at all: nothing listens there (e.g. no IMDS off Azure)
        self.retryable = retryable  # False for TLS verification failures: retrying cannot help


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | str | None,
        headers: Mapping[str, str],
        timeout: float,
        verify: str | bool,
    ) -> Response: ...

    def close(self) -> None: ...


class RequestsTransport:
    """The default transport: one ``requests.Session`` (imported on first use to keep imports cheap)."""

    def __init__(self, *, trust_env: bool = True) -> None:
        # trust_env=False for identity endpoints: IMDS and App Service must never be reached via a proxy.
        self._trust_env = trust_env
        self._session: Any = None
        self._lock = threading.Lock()
        _transports.add(self)

    def _after_fork(self) -> None:
        # The parent's lock may have been held, and its pooled connections (TLS state included) are
        # the parent's: the child opens its own. Not closed here: that would end them for the parent.
        self._lock = threading.Lock()
        self._session = None

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None:
                import requests

                session = requests.Session()
                session.trust_env = self._trust_env
                self._session = session
            return self._session

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | str | None,
        headers: Mapping[str, str],
        timeout: float,
        verify: str | bool,
    ) -> Response:
        import requests

        session = self._get_session()
        connect_timeout = min(CONNECT_TIMEOUT, timeout)
        try:
            r = session.request(
                method,
                url,
                params=params,
                data=data,
                headers=dict(headers),
                timeout=(connect_timeout, timeout),
                verify=verify,
            )
        except requests.ConnectTimeout:
            raise TransportError(
                f"no connection within {connect_timeout:g} s", timeout=True, connect=True
            ) from None
        except requests.Timeout as exc:
            raise TransportError(
                f"no answer within {timeout:g} s ({exc.__class__.__name__})", timeout=True
            ) from None
        except requests.exceptions.SSLError as exc:
            # A certificate that fails verification stays so; a handshake cut short (EOF, reset) is
            # a dropped connection like any other.
            raise TransportError(_describe(exc), retryable=not _verification_failed(exc)) from None
        except requests.ConnectionError as exc:
            raise TransportError(_describe(exc), connect=_nothing_listens(exc)) from None
        except requests.RequestException as exc:
            raise TransportError(_describe(exc)) from None
        return Response(r.status_code, r.text, dict(r.headers))

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


# Answers from the network stack meaning "no such host here": ECONNREFUSED, EHOSTUNREACH, EHOSTDOWN and
# ENETUNREACH. None of them is a busy endpoint, so retrying them for long only delays the fallback.
_NOTHING_LISTENS = ("refused", "no route to host", "host is down", "unreachable")


def _nothing_listens(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _NOTHING_LISTENS)


def _verification_failed(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in ("certificate_verify_failed", "certificate verify failed", "hostname"))


def _describe(exc: BaseException) -> str:
    # requests' messages can be long chains; the innermost reason is what users need.
    text = str(exc)
    for marker in (
        "Connection refused",
        "No route to host",
        "Host is down",
        "Network is unreachable",
        "Connection reset",
        "Name or service not known",
        "CERTIFICATE_VERIFY_FAILED",
    ):
        if marker in text:
            return f"{exc.__class__.__name__}: {marker}"
    return f"{exc.__class__.__name__}: {text[:200]}"


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures to retry and how long to keep going.

    The identity defaults follow azure-identity's IMDS policy: 404, 410, 429 and 5xx retried with
    exponential backoff (factor 0.8 s), 410 with a larger factor so that the retries span at least
    70 s (IMDS may answer 410 while it restarts), and every wait capped by a total budget.
    """

    statuses: frozenset[int] = frozenset({404, 410, 429, *range(500, 600)})
    max_retries: int = 5
    backoff: float = 0.8
    backoff_410: float = 2.5
    max_backoff: float = 60.0
    min_total_410: float = 70.0
    total_budget: float = 100.0
    timeout: float = 5.0
    retry_transport_errors: bool = True
    # Nothing listening (refused, unreachable, no connection in time) means "not on such a host", not
    # "busy": one quick retry, so that a fallback source gets its turn in seconds, not minutes.
    max_connect_retries: int = 1

    def delay(self, attempt: int, status: int | None, retry_after: float | None) -> float:
        factor = self.backoff_410 if status == 410 else self.backoff
        computed = 0.0 if attempt == 1 else min(self.max_backoff, factor * 2 ** (attempt - 1))
        computed *= 1 + random.uniform(0, 0.1)  # jitter so replicas do not retry in lockstep
        return max(computed, retry_after or 0.0)


IDENTITY_POLICY = RetryPolicy()
# Entra's token endpoint: transient failures only (never 4xx other than 429), fewer attempts.
ENTRA_POLICY = RetryPolicy(
    statuses=frozenset({429, *range(500, 600)}), max_retries=3, total_budget=30.0, timeout=15.0
)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds, or an HTTP-date (RFC 9110 10.2.3)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError):
                return None  # unreadable: fall back to backoff
            return max(0.0, when - (time.time() if now is None else now))
    return None


class HttpClient:
    """Requests-like ``get``/``post`` for MSAL, with retries. One per endpoint family."""

    def __init__(
        self,
        transport: Transport,
        *,
        policy: RetryPolicy,
        clock: Clock,
        verify: str | bool = True,
        name: str = "endpoint",
        endpoint_host_ok: Callable[[str], bool] | None = None,
        keep_server_errors: bool = False,
    ) -> None:
        self.transport = transport
        # Entra's token answers: MSAL raises "HTTP Error: 503" for a 5xx and drops the body, which holds
        # the AADSTS code and the trace IDs; ``last_server_error`` keeps it for the engine.
        self.keep_server_errors = keep_server_errors
        self.policy = policy
        self.clock = clock
        self.verify = verify
        self.name = name
        # Which hosts an OIDC discovery document may send MSAL to (host[:port]); None: only its own.
        self.endpoint_host_ok = endpoint_host_ok
        self.attempts = 0  # total requests sent, for diagnostics

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> Response:
        return self.request("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> Response:
        return self.request("POST", url, params=params, data=data, headers=headers)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if method == "GET" and url.endswith("/.well-known/openid-configuration"):
            return self._discover(url, params, headers)
        return self._send(method, url, params=params, data=data, headers=headers)

    def _discover(
        self, url: str, params: Mapping[str, str] | None, headers: Mapping[str, str] | None
    ) -> Response:
        key = (url, str(self.verify))
        with _discovery_lock:  # held while fetching: concurrent first callers share one request
            hit = _discovery.get(key)
            if hit is not None and hit[0] > time.monotonic():
                response = hit[1]
            else:
                response = self._send("GET", url, params=params, headers=headers)
            if response.status_code in self.policy.statuses:  # still failing after the retries
                raise _discovery_error(
                    url, f"answered HTTP {response.status_code}", parse_retry_after(response.headers)
                )
            if response.status_code != 200:
                return response  # 4xx: MSAL reports it (an unknown tenant answers 400)
            problem = discovery_problem(url, response.text, self._host_ok(url))
            if problem:
                _discovery.pop(key, None)
                raise _discovery_error(url, problem)
            _discovery[key] = (time.monotonic() + _DISCOVERY_TTL, response)
            return response

    def _host_ok(self, url: str) -> Callable[[str], bool]:
        own = urlsplit(url).netloc.lower()
        extra = self.endpoint_host_ok
        return lambda netloc: netloc.lower() == own or (extra is not None and extra(netloc))

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        policy = self.policy
        start = self.clock.monotonic()
        attempt = 0
        connect_failures = 0
        while True:
            attempt += 1
            self.attempts += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                response = self.transport.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers or {},
                    timeout=policy.timeout,
                    verify=self.verify,
                )
            except TransportError as exc:
                if not (policy.retry_transport_errors and exc.retryable):
                    raise
                connect_failures += exc.connect
                if connect_failures > policy.max_connect_retries:
                    log.info("%s: no connection (%s); giving up after %d attempts", self.name, exc, attempt)
                    raise
                failure = str(exc)
                last_exc: TransportError | None = exc
            else:
                if response.status_code not in policy.statuses:
                    return self._answered(response)
                status = response.status_code
                retry_after = parse_retry_after(response.headers)
                failure = f"HTTP {status}"
                last_exc = None
            elapsed = self.clock.monotonic() - start
            wait = policy.delay(attempt, status, retry_after)
            keep_going_for_410 = status == 410 and elapsed < policy.min_total_410
            out_of_attempts = attempt > policy.max_retries and not keep_going_for_410
            if out_of_attempts or elapsed + wait > policy.total_budget:
                log.info(
                    "%s: giving up after %d attempts in %.1f s (%s)", self.name, attempt, elapsed, failure
                )
                if last_exc is not None:
                    raise last_exc
                if retry_after is not None:  # for whoever turns this answer into an error (see _engine)
                    last_retry_after.set(retry_after)
                return self._answered(response)
            log.info("%s: %s; retry %d in %.1f s", self.name, failure, attempt, wait)
            self.clock.sleep(wait)

    def _answered(self, response: Response) -> Response:
        if self.keep_server_errors:
            failed = response.status_code >= 500
            last_server_error.set(
                (response.status_code, response.text[:SERVER_ERROR_KEPT]) if failed else None
            )
        return response

    def close(self) -> None:
        self.transport.close()


# What MSAL reads from the document: each must be an https URL; the two endpoints, where MSAL sends
# requests, on a host the authority check allows (the issuer names a tenant, it is never contacted,
# and Entra's is on login.microsoftonline.com whichever alias the authority uses).
_DISCOVERY_URL_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint")
_CONTACTED_FIELDS = ("authorization_endpoint", "token_endpoint")


def discovery_problem(url: str, text: str, host_ok: Callable[[str], bool]) -> str | None:
    """What makes this OIDC discovery answer unusable, in words, or None if it is fine."""
    try:
        document = json.loads(text)
    except ValueError:
        return "a body that is not JSON" if text.strip() else "an empty body"
    if not isinstance(document, dict):
        return f"JSON that is not a JSON object (a {type(document).__name__})"
    for name in _DISCOVERY_URL_FIELDS:
        value = document.get(name)
        if value is None:
            return f"no {name}"
        if not isinstance(value, str):
            return f"{name} that is not a string"
        shown = value[:100]
        try:
            parts = split_strict(value)
        except AmbiguousUrlError as exc:
            return f"{name} {shown!r} that is not a plain URL ({exc.reason})"
        if parts.scheme != "https":
            return f"{name} {shown!r} that is not https"
        if name in _CONTACTED_FIELDS and not host_ok(parts.netloc):
            return f"{name} {shown!r} on a host that is neither the authority's nor an allowed Entra host"
    return None


def _discovery_error(url: str, problem: str, retry_after: float | None = None) -> Exception:
    from certless.errors import TokenRequestError  # deferred: keeps the transport free of azure-core

    return TokenRequestError(
        f"The OIDC discovery document at {url} is not usable: the answer had {problem}.",
        fix="Nothing was cached and nothing was sent; the next call asks again. If it persists, something "
        "between this host and Microsoft Entra (a proxy, a captive portal) answers in its place: check "
        "outbound HTTPS to the login host.",
        transient=True,
        retry_after=retry_after,
    )


_transports: weakref.WeakSet[RequestsTransport] = weakref.WeakSet()

# The Retry-After of the last answer given up on in this context. MSAL hands back only the body, so
# this is how the engine learns how long Entra asked it to wait (and the chain waits at least that).
last_retry_after: ContextVar[float | None] = ContextVar("certless_last_retry_after", default=None)

# The status and body of the last answer a ``keep_server_errors`` client handed to MSAL in this
# context, if it was a 5xx (an Entra error body is well under the cap; a proxy's page is never shown).
last_server_error: ContextVar[tuple[int, str] | None] = ContextVar("certless_last_server_error", default=None)
SERVER_ERROR_KEPT = 64 * 1024


def _after_fork_in_child() -> None:
    """A forked child inherits locks that the parent's other threads may have held, and connections
    that are the parent's: give it its own (OIDC documents are kept: they are plain data)."""
    global _discovery_lock  # noqa: PLW0603  (a fresh lock for the child is the point)
    _discovery_lock = threading.Lock()
    for transport in list(_transports):
        transport._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forget_discovery() -> None:
    """Drop cached OIDC documents (tests, or after a tenant moved)."""
    with _discovery_lock:
        _discovery.clear()
