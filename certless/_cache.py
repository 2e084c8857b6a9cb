"""Access tokens cached per (scopes, claims, tenant, CAE), refreshed ahead of time by one thread.

- A caller never waits on the network while a valid token is cached: the refresh runs in the background
  and everyone keeps getting the cached token until the new one lands.
- Single flight: however many callers ask for a key at once, one fetch runs; the rest share its result.
- At most one upstream attempt per key every ``min_interval`` seconds (30 s) once a token is due for
  refresh, so tokens issued with less than 5 minutes to live do not turn every call into a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from certless._engine import TokenResult
from certless._http import Clock

log = logging.getLogger("certless")

REFRESH_MARGIN = 300.0  # refresh when under 5 minutes remain (or at refresh_on, if sooner)
MIN_INTERVAL = 30.0  # between upstream attempts for one key
EXPIRY_GUARD = 30.0  # never hand out a token with less than this left: it could expire in flight

Fetch = Callable[[bool], TokenResult]  # fetch(proactive) -> a new token
Spawn = Callable[[Callable[[], None]], None]


def _spawn_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="certless-refresh", daemon=True).start()


def refresh_at(result: TokenResult) -> float:
    """When a token is due for a proactive refresh."""
    due = result.expires_on - REFRESH_MARGIN
    return min(due, result.refresh_on) if result.refresh_on is not None else due


def worth_sharing(result: TokenResult, now: float, proactive: bool) -> bool:
    """Whether a token another process cached serves this fetch: usable, and for a proactive refresh,
    not itself due for one (else each process would refresh what one already has)."""
    if now >= result.expires_on - EXPIRY_GUARD:
        return False
    return not proactive or now < refresh_at(result)


@dataclass
class Entry:
    result: TokenResult
    value: Any  # what callers get (AccessToken or AccessTokenInfo, built once)
    usable_until: float
    refresh_at: float
    next_attempt: float


class TokenCache:
    def __init__(
        self, clock: Clock, make_value: Callable[[TokenResult], Any], spawn: Spawn | None = None
    ) -> None:
        self.clock = clock
        self.make_value = make_value
        self.spawn = spawn or _spawn_thread
        self.entries: dict[Hashable, Entry] = {}
        self._inflight: dict[Hashable, Future[Entry]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, fetch: Fetch, *, replaces: Hashable | None = None) -> Entry:
        """The slow path (the caller checked ``entries`` first): wait for, or run, the one fetch.

        ``replaces``: never answer from the cache; the new token is stored under that key instead
        (a claims challenge: the token it replaces was revoked, so no caller may get it again)."""
        now = self.clock.time()
        entry = None if replaces is not None else self.entries.get(key)
        if entry is not None and now < entry.usable_until:
            if now >= entry.refresh_at and now >= entry.next_attempt:
                self.refresh_in_background(key, fetch)
            return entry
        with self._lock:
            entry = None if replaces is not None else self.entries.get(key)
            if entry is not None and now < entry.usable_until:
                return entry
            future = self._inflight.get(key)
            leader = future is None
            if future is None:
                future = Future()
                self._inflight[key] = future
        if not leader:
            log.debug("token cache: waiting for the request already in flight")
            return future.result()
        log.debug("token cache: miss, requesting a token")
        try:
            entry = self._store(key if replaces is None else replaces, fetch(False))
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)
        future.set_result(entry)
        return entry

    def refresh_in_background(self, key: Hashable, fetch: Fetch) -> None:
        now = self.clock.time()
        with self._lock:
            entry = self.entries.get(key)
            if key in self._inflight or entry is None or now < entry.next_attempt:
                return
            entry.next_attempt = now + MIN_INTERVAL
            future: Future[Entry] = Future()
            self._inflight[key] = future

        def run() -> None:
            try:
                new = self._store(key, fetch(True))
            except Exception as exc:
                still_usable = entry is not None and self.clock.time() < entry.usable_until
                log.warning(
                    "token cache: proactive refresh failed, %s: %s",
                    "keeping the cached token" if still_usable else "no usable token left",
                    exc.__class__.__name__,
                )
                log.debug("token cache: refresh failure detail: %s", exc)
                with self._lock:
                    self._inflight.pop(key, None)
                if still_usable:
                    future.set_result(entry)
                else:
                    future.set_exception(exc)
                return
            with self._lock:
                self._inflight.pop(key, None)
            log.info(
                "token cache: refreshed ahead of expiry; new token valid for %.0f s",
                new.result.expires_on - self.clock.time(),
            )
            future.set_result(new)

        log.debug("token cache: token due for refresh, refreshing in the background")
        self.spawn(run)

    def _store(self, key: Hashable, result: TokenResult) -> Entry:
        now = self.clock.time()
        entry = Entry(
            result=result,
            value=self.make_value(result),
            usable_until=result.expires_on - EXPIRY_GUARD,
            refresh_at=refresh_at(result),
            next_attempt=now + MIN_INTERVAL,
        )
        self.entries[key] = entry
        return entry

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def after_fork(self) -> None:
        """In a forked child: the parent's in-flight fetches have no thread here and never finish, so
        they are forgotten (callers start their own). Cached tokens stay: they are the same app's."""
        self._lock = threading.Lock()
        self._inflight = {}
