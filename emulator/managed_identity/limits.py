"""The managed-identity endpoint limits: 20 requests per second and 5 concurrent, per host."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IdentityLimits:
    requests_per_second: int = 20
    concurrent: int = 5


class Limiter:
    """Sliding one-second window plus an in-flight count, keyed by (endpoint, host)."""

    def __init__(self, limits: IdentityLimits | None, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.now = now
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def try_enter(self, key: str) -> bool:
        if self.limits is None:
            return True
        now = self.now()
        with self._lock:
            window = self._recent.setdefault(key, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.limits.requests_per_second:
                return False
            if self._in_flight.get(key, 0) >= self.limits.concurrent:
                return False
            window.append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return True

    def leave(self, key: str) -> None:
        if self.limits is None:
            return
        with self._lock:
            self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)
