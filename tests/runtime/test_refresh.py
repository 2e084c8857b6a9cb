"""Proactive refresh through the real engine: tokens are renewed ahead of expiry without callers waiting."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from certless import credential_from_settings
from emulator import Emulator

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]


class Deferred:
    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            job()


def test_a_token_near_expiry_is_renewed_in_the_background_even_though_msal_still_caches_it(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    spawn = Deferred()
    with credential_from_settings(clock=clock, spawn=spawn) as credential:
        first = credential.get_token(STORAGE)
        clock.advance(first.expires_on - clock.time() - 200)  # 200 s left: due, still valid
        assert credential.get_token(STORAGE) == first  # served at once, refresh queued
        assert len(spawn.jobs) == 1
        spawn.run_all()
        second = credential.get_token(STORAGE)
    assert second.token != first.token
    assert emulator.counters["entra-token"] == 2


def test_short_lived_tokens_are_exchanged_at_most_once_per_30_seconds(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    emulator.faults.token_lifetime("entra-token", 200)
    spawn = Deferred()
    with credential_from_settings(clock=clock, spawn=spawn) as credential:
        for _ in range(1000):  # 1,000 calls over 100 s of (fake) time
            assert credential.get_token(STORAGE).token
            spawn.run_all()
            clock.advance(0.1)
    assert 3 <= emulator.counters["entra-token"] <= 1 + 100 // 30 + 1
    assert emulator.counters["appservice"] == 1  # the identity token (24 h) is reused


def test_import_certless_loads_neither_msal_nor_azure_core() -> None:
    code = "import sys, certless; print([m for m in ('msal', 'azure.core', 'requests') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_the_identity_token_is_replaced_before_its_last_5_minutes(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    with credential_from_settings(clock=clock) as credential:
        credential.get_token(STORAGE)
        source = credential.selected_source
        assert source is not None
        claims = source.assertion_claims()
        assert claims is not None
        clock.advance(claims["exp"] - clock.time() - 299)  # the assertion has 299 s left
        credential.get_token("https://vault.azure.net/.default")
    assert emulator.counters["appservice"] == 2  # a new identity token, not the nearly expired one
