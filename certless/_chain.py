"""Credential sources tried in order, with Microsoft.Identity.Web's semantics minus its quirks.

The first source that loads wins and is used from then on. A failed source is never handed out:
- a configuration fault (identity not assigned, nothing listening, file missing) skips the source
  until ``reset``;
- a transient fault (5xx, 429, timeout, reset, malformed answer; ``errors.is_transient``) only parks it:
  it is tried again on the first call after its backoff (10 s, doubling to 5 min, at least the server's
  Retry-After), and as soon as it answers it is preferred again over any fallback chosen meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from certless._sources import Source
from certless.errors import CertlessError, NoCredentialError, SourceFailure, is_transient

log = logging.getLogger("certless")

FIRST_BACKOFF = 10.0
MAX_BACKOFF = 300.0


@dataclass
class _Parked:
    failure: SourceFailure
    failures: int
    retry_at: float


class SourceChain:
    def __init__(self, sources: Sequence[Source], monotonic: Callable[[], float] | None = None) -> None:
        self.sources = list(sources)
        if monotonic is None:
            monotonic = self.sources[0].ctx.clock.monotonic if self.sources else time.monotonic
        self._monotonic = monotonic
        self._selected: Source | None = None
        self._failed: dict[int, SourceFailure] = {}
        self._parked: dict[int, _Parked] = {}  # transient failures, by source index
        self._next_retry = float("inf")  # earliest retry_at of a source preferred over the selected one
        self._lock = threading.Lock()

    def retry_in(self, index: int) -> float:
        """Seconds until the parked source ``index`` is tried again (0 if it is not parked)."""
        parked = self._parked.get(index)
        return max(0.0, parked.retry_at - self._monotonic()) if parked else 0.0

    @property
    def selected(self) -> Source | None:
        return self._selected

    def current(self) -> Source:
        selected = self._selected
        if selected is not None and self._monotonic() < self._next_retry:
            return selected
        with self._lock:  # loads are serialised: concurrent first callers share one attempt
            now = self._monotonic()
            if self._selected is not None and now < self._next_retry:
                return self._selected
            failures: list[SourceFailure] = []
            for source in self.sources:
                if source is self._selected:  # nothing before it is due: keep it
                    self._next_retry = self._earliest_retry_before(source)
                    return source
                index = source.description.index
                if source.description.skip:
                    failures.append(SourceFailure(source.label, "Skip is true in the settings"))
                    continue
                if index in self._failed:
                    earlier = self._failed[index]
                    failures.append(
                        SourceFailure(
                            source.label,
                            f"{earlier.reason} (failed earlier; skipped until reset)",
                            earlier.error,
                        )
                    )
                    continue
                parked = self._parked.get(index)
                if parked is not None and now < parked.retry_at:
                    failures.append(
                        SourceFailure(
                            source.label,
                            f"{parked.failure.reason} (transient; retrying in {parked.retry_at - now:.0f} s)",
                            parked.failure.error,
                        )
                    )
                    continue
                log.info("Trying credential source %s", source.label)
                try:
                    source.load()
                except CertlessError as exc:
                    # The failure is listed under its label: the message's own "<label>: " would repeat it.
                    reason = str(exc).replace("\n", " ").removeprefix(f"{source.label}: ")
                    failure = SourceFailure(source.label, reason, exc)
                except Exception as exc:  # an unexpected failure still must not stop the fallback
                    log.debug("Credential source %s raised", source.label, exc_info=True)
                    failure = SourceFailure(source.label, f"{exc.__class__.__name__}: {str(exc)[:200]}", exc)
                else:
                    log.info("Using credential source %s", source.label)
                    self._parked.pop(index, None)
                    self._selected = source
                    self._next_retry = self._earliest_retry_before(source)
                    return source
                if is_transient(failure.error):
                    wait = self._park(source, failure, self._monotonic())
                    failures.append(
                        SourceFailure(
                            source.label,
                            f"{failure.reason} (transient; retrying in {wait:.0f} s)",
                            failure.error,
                        )
                    )
                    continue
                failures.append(failure)
                log.warning(
                    "Credential source %s failed to load and is skipped from now on: %s",
                    source.label,
                    failure.reason,
                )
                self._failed[index] = failure
            self._selected = None
            self._next_retry = float("inf")
            raise NoCredentialError(failures)

    def _park(self, source: Source, failure: SourceFailure, now: float) -> float:
        index = source.description.index
        earlier = self._parked.get(index)
        count = earlier.failures + 1 if earlier else 1
        wait = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (count - 1))
        retry_after = getattr(failure.error, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            wait = max(wait, float(retry_after))
        self._parked[index] = _Parked(failure, count, now + wait)
        log.warning(
            "Credential source %s failed with a transient fault, retrying in %.0f s: %s",
            source.label,
            wait,
            failure.reason,
        )
        return wait

    def _earliest_retry_before(self, selected: Source) -> float:
        earliest = float("inf")
        for source in self.sources:
            if source is selected:
                break
            parked = self._parked.get(source.description.index)
            if parked is not None:
                earliest = min(earliest, parked.retry_at)
        return earliest

    def reset(self) -> None:
        """Forget which source won and which failed: the next request tries them all again in order."""
        with self._lock:
            self._selected = None
            self._failed.clear()
            self._parked.clear()
            self._next_retry = float("inf")
        log.info("Credential sources reset")

    def after_fork(self) -> None:
        """In a forked child: fresh locks; which source won and which failed is kept."""
        self._lock = threading.Lock()
        for source in self.sources:
            source.after_fork()

    def close(self) -> None:
        for source in self.sources:
            source.close()
