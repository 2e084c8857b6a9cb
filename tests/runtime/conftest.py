"""Fixtures for the runtime tests: one emulator per module, host environments, a fake clock."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import pytest

from certless import clear_process_caches
from emulator import Emulator

from .support import HOST_VARS, FakeClock, build_records


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # No IMDS rate limit: fault tests retry through a fake clock, i.e. without really waiting, and
    # would trip the emulator's (realistic) 20 requests/s limit. Scripted 429s cover throttling.
    with Emulator(build_records(), identity_limits=None) as emulator:
        yield emulator


@pytest.fixture
def emulator(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The module's emulator, with faults, skew and counters reset and no host variables set."""
    emu.faults.clear()
    emu.clock_skew(0)
    emu.reset_log()
    for name in HOST_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.lower().startswith("azuread__"):
            monkeypatch.delenv(name)
    clear_process_caches()  # each test starts like a new process: no MSAL app, token or OIDC document
    yield emu


@pytest.fixture
def host(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, str]]:
    """``host("appservice", "web")``: make this process look like that host running that workload."""

    def apply(kind: str, workload: str, **overrides: str) -> dict[str, str]:
        env = emulator.host_env(host=kind, workload=workload)
        env.update(overrides)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return env

    return apply


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HOST_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.lower().startswith("azuread__"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def certless_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="certless")
    return caplog
