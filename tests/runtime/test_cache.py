"""The token cache: single flight, refresh ahead of expiry without making callers wait, 30-s pacing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from certless._cache import MIN_INTERVAL, TokenCache
from certless._engine import TokenResult

from .support import FakeClock

KEY = (("https://storage.azure.com/.default",), None, None, False)


class Upstream:
    """A fake token endpoint: counts calls, can block or fail, issues tokens with a given lifetime."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.proactive_calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self, proactive: bool) -> TokenResult:
        with self._lock:
            self.calls += 1
            n = self.calls
            self.proactive_calls += proactive
        self.gate.wait(5)
        if self.fail is not None:
            raise self.fail
        return TokenResult(f"token-{n}", int(self.clock.time() + self.lifetime), None, "Bearer")


class Deferred:
    """A spawn seam that queues background refreshes so the test decides when they run."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            job()


def make(clock: FakeClock, spawn: Deferred | None = None) -> TokenCache:
    return TokenCache(clock, lambda r: (r.token, r.token), spawn)


def test_many_concurrent_callers_on_a_cold_cache_cause_one_upstream_call(clock: FakeClock) -> None:
    upstream = Upstream(clock)
    upstream.gate.clear()  # hold the first request until every caller is waiting
    cache = make(clock)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(KEY, upstream).result.token))
        for _ in range(50)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while not cache._inflight and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)  # let the other callers reach the in-flight request
    upstream.gate.set()
    for t in threads:
        t.join(5)
    assert upstream.calls == 1
    assert results == ["token-1"] * 50


def test_a_failed_cold_fetch_reaches_every_waiting_caller_and_the_next_call_tries_again(
    clock: FakeClock,
) -> None:
    upstream = Upstream(clock)
    upstream.fail = RuntimeError("entra down")
    cache = make(clock)
    with pytest.raises(RuntimeError):
        cache.get(KEY, upstream)
    upstream.fail = None
    assert cache.get(KEY, upstream).result.token == "token-2"


def test_a_token_due_for_refresh_is_still_served_while_one_background_refresh_runs(clock: FakeClock) -> None:
    upstream = Upstream(clock, lifetime=3600)
    spawn = Deferred()
    cache = make(clock, spawn)
    assert cache.get(KEY, upstream).result.token == "token-1"
    clock.advance(3600 - 200)  # under 5 minutes left: due for refresh, still valid
    for _ in range(100):
        assert cache.get(KEY, upstream).result.token == "token-1"  # nobody waits for the network
    assert len(spawn.jobs) == 1  # one refresh, however many callers
    spawn.run_all()
    assert upstream.proactive_calls == 1
    assert cache.get(KEY, upstream).result.token == "token-2"


def test_refresh_on_from_the_token_response_triggers_the_refresh(clock: FakeClock) -> None:
    spawn = Deferred()
    cache = make(clock, spawn)
    now = clock.time()
    cache._store(KEY, TokenResult("t", int(now + 86400), int(now + 600), "Bearer"))
    clock.advance(599)
    cache.get(KEY, Upstream(clock))
    assert spawn.jobs == []
    clock.advance(2)
    cache.get(KEY, Upstream(clock))
    assert len(spawn.jobs) == 1


def test_short_lived_tokens_cause_at_most_one_upstream_exchange_per_30_seconds(clock: FakeClock) -> None:
    upstream = Upstream(clock, lifetime=200)  # always "under 5 minutes left"
    spawn = Deferred()
    cache = make(clock, spawn)
    for _ in range(1000):  # 1,000 calls over 100 s
        cache.get(KEY, upstream)
        spawn.run_all()
        clock.advance(0.1)
    assert upstream.calls <= 1 + 100 / MIN_INTERVAL + 1
    assert upstream.calls >= 3  # it does refresh, just paced


def test_a_failed_background_refresh_keeps_the_valid_token_and_retries_after_30_seconds(
    clock: FakeClock,
) -> None:
    upstream = Upstream(clock, lifetime=3600)
    spawn = Deferred()
    cache = make(clock, spawn)
    cache.get(KEY, upstream)
    clock.advance(3600 - 250)
    upstream.fail = RuntimeError("blip")
    cache.get(KEY, upstream)
    spawn.run_all()
    assert cache.get(KEY, upstream).result.token == "token-1"
    assert spawn.jobs == []  # not again within 30 s
    clock.advance(MIN_INTERVAL)
    upstream.fail = None
    cache.get(KEY, upstream)
    spawn.run_all()
    assert cache.get(KEY, upstream).result.token == "token-3"


def test_an_almost_expired_token_is_not_handed_out(clock: FakeClock) -> None:
    upstream = Upstream(clock, lifetime=3600)
    cache = make(clock, Deferred())
    cache.get(KEY, upstream)
    clock.advance(3600 - 10)  # 10 s left: it could expire on its way to the resource
    assert cache.get(KEY, upstream).result.token == "token-2"


def test_keys_are_independent(clock: FakeClock) -> None:
    upstream = Upstream(clock)
    cache = make(clock)
    other = (("https://vault.azure.net/.default",), None, None, False)
    assert cache.get(KEY, upstream).result.token != cache.get(other, upstream).result.token
    assert upstream.calls == 2


class _WatchedLock:
    """The cache's lock, telling the test when a caller has started waiting for it."""

    def __init__(self) -> None:
        self.real = threading.Lock()
        self.waiting = threading.Event()

    def __enter__(self) -> None:
        self.waiting.set()
        self.real.acquire()

    def __exit__(self, *exc: object) -> None:
        self.real.release()


def test_a_caller_that_missed_a_token_landing_gets_it_without_a_second_request(clock: FakeClock) -> None:
    """A caller looked before another's token landed and waits for the lock while it is stored: it
    gets that token under the lock instead of asking upstream once more."""
    upstream = Upstream(clock)
    cache = make(clock)
    lock = _WatchedLock()
    cache._lock = lock  # type: ignore[assignment]
    results: list[str] = []
    with lock:  # another caller is storing its token now
        lock.waiting.clear()
        caller = threading.Thread(target=lambda: results.append(cache.get(KEY, upstream).result.token))
        caller.start()
        assert lock.waiting.wait(5), "the caller never reached the cache's lock"
        cache._store(KEY, TokenResult("landed", int(clock.time() + 3600), None, "Bearer"))
    caller.join(5)
    assert results == ["landed"] and upstream.calls == 0
