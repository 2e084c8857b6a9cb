"""Credential sources tried in order, with Microsoft.Identity.Web's semantics minus its quirks.

The first source that loads wins and is used from then on. A source that fails to load is skipped
from then on (until ``reset``) and the next one is tried. A failed source is never handed out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from certless._sources import Source
from certless.errors import CertlessError, NoCredentialError, SourceFailure

log = logging.getLogger("certless")


class SourceChain:
    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self._selected: Source | None = None
        self._failed: dict[int, SourceFailure] = {}
        self._lock = threading.Lock()

    @property
    def selected(self) -> Source | None:
        return self._selected

    def current(self) -> Source:
        selected = self._selected
        if selected is not None:
            return selected
        with self._lock:  # loads are serialised: concurrent first callers share one attempt
            if self._selected is not None:
                return self._selected
            failures: list[SourceFailure] = []
            for source in self.sources:
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
                log.info("Trying credential source %s", source.label)
                try:
                    source.load()
                except CertlessError as exc:
                    failure = SourceFailure(source.label, str(exc).replace("\n", " "), exc)
                except Exception as exc:  # an unexpected failure still must not stop the fallback
                    log.debug("Credential source %s raised", source.label, exc_info=True)
                    failure = SourceFailure(source.label, f"{exc.__class__.__name__}: {str(exc)[:200]}", exc)
                else:
                    log.info("Using credential source %s", source.label)
                    self._selected = source
                    return source
                log.warning(
                    "Credential source %s failed to load and is skipped from now on: %s",
                    source.label,
                    failure.reason,
                )
                self._failed[index] = failure
                failures.append(failure)
            raise NoCredentialError(failures)

    def reset(self) -> None:
        """Forget which source won and which failed: the next request tries them all again in order."""
        with self._lock:
            self._selected = None
            self._failed.clear()
        log.info("Credential sources reset")

    def close(self) -> None:
        for source in self.sources:
            source.close()
