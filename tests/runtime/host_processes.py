"""N worker processes (multiprocessing spawn, as gunicorn/uvicorn workers are separate interpreters)
cold-starting at once against one emulator, each asking certless for a token; the emulator counts.

Used by tests/runtime/test_host_single_flight.py and benchmarks/host_single_flight.py.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # workers import this module: they load certless only, never the emulator
    from emulator import Emulator

STORAGE = "https://storage.azure.com/.default"


@dataclass(frozen=True)
class Outcome:
    processes: int
    identity_requests: int
    token_requests: int
    throttled: int
    failures: list[str]
    slowest_start: float  # seconds from the common start signal to a process's first token
    distinct_tokens: int


def _worker(env: dict[str, str], ready: Any, start: Any, results: Any, scope: str) -> None:
    os.environ.update(env)
    try:
        from certless import credential_from_settings

        credential = credential_from_settings()
    except Exception as exc:
        ready.put(None)
        results.put(("error", 0.0, f"{type(exc).__name__}: {str(exc)[:300]}"))
        return
    ready.put(os.getpid())
    start.wait(120)
    try:
        token = credential.get_token(scope).token
    except Exception as exc:
        results.put(("error", time.time(), f"{type(exc).__name__}: {str(exc)[:300]}"))
        return
    results.put(("ok", time.time(), hashlib.sha256(token.encode()).hexdigest()))


def hold_lock(env: dict[str, str]) -> None:
    """A worker that asks for a token (tests stop or kill it while it holds the lock)."""
    os.environ.update(env)
    from certless import credential_from_settings

    credential_from_settings().get_token(STORAGE)


def cold_start(
    emu: Emulator, env: dict[str, str], processes: int, scope: str = STORAGE, timeout: float = 180.0
) -> Outcome:
    """Start ``processes`` workers with ``env``, let them all ask at once, and count at the emulator."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    workers = [
        ctx.Process(target=_worker, args=(env, ready, start, results, scope), daemon=True)
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    try:
        for _ in workers:
            ready.get(timeout=timeout)  # every worker imported certless and built its credential
        emu.reset_log()
        started = time.time()
        start.set()
        outcomes = [results.get(timeout=timeout) for _ in workers]
    finally:
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.kill()
    requests = emu.requests
    identity = [r for r in requests if r["endpoint"] in ("appservice", "imds")]
    return Outcome(
        processes=processes,
        identity_requests=len(identity),
        token_requests=sum(1 for r in requests if r["endpoint"] == "entra-token"),
        throttled=sum(1 for r in requests if r.get("limited")),
        failures=[detail for kind, _t, detail in outcomes if kind != "ok"],
        slowest_start=max((t for kind, t, _d in outcomes if kind == "ok"), default=started) - started,
        distinct_tokens=len({d for kind, _t, d in outcomes if kind == "ok"}),
    )
