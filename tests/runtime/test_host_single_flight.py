"""Host-wide single flight (AzureAd:TokenCacheDirectory): worker processes of one host share one
identity request and one token request per key, within the identity endpoint's limits; a dead or hung
holder of the lock never blocks the others for longer than the lock timeout; the directory is safe."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from certless import CertlessCredential, clear_process_caches, load_settings
from certless._cache import worth_sharing
from certless._engine import TokenResult
from certless._host_cache import HostCache, on_memory_filesystem
from certless.errors import SettingsError
from emulator import Emulator

from .host_processes import STORAGE, cold_start, hold_lock
from .support import HOST_VARS, build_records

HostFn = Callable[..., dict[str, str]]
LATENCY = 0.3  # the figure: every identity and Entra request answers 300 ms late


@pytest.fixture(scope="module")
def limited() -> Iterator[Emulator]:
    """An emulator with the identity endpoint's documented limits (20 requests/s, 5 at once per host)."""
    with Emulator(build_records()) as emulator:
        yield emulator


@pytest.fixture
def slow(limited: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    limited.faults.clear()
    for endpoint in ("appservice", "imds", "entra-discovery", "entra-token"):
        limited.faults.latency(endpoint, LATENCY)
    limited.reset_log()
    for name in HOST_VARS:
        monkeypatch.delenv(name, raising=False)
    clear_process_caches()
    yield limited
    limited.faults.clear()


def _env(emu: Emulator, cache: Path | None, **extra: str) -> dict[str, str]:
    env = emu.host_env(host="appservice", workload="web")
    if cache is not None:
        env["AzureAd__TokenCacheDirectory"] = str(cache)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------- real processes


@pytest.mark.parametrize("processes", [8])  # 24 and 64: benchmarks/host_single_flight.py
def test_cold_starting_processes_make_one_identity_and_one_token_request(
    slow: Emulator, tmp_path: Path, processes: int
) -> None:
    outcome = cold_start(slow, _env(slow, tmp_path / "cache"), processes)
    assert outcome.failures == []
    assert (outcome.identity_requests, outcome.token_requests, outcome.throttled) == (1, 1, 0)
    assert outcome.distinct_tokens == 1  # every process got the one shared token


def test_without_the_host_cache_each_process_asks_itself(slow: Emulator) -> None:
    # The control: the same start without the setting (throttling figures: the benchmark).
    outcome = cold_start(slow, _env(slow, None), 4)
    assert outcome.failures == []
    assert outcome.token_requests == 4 and outcome.identity_requests >= 4
    assert outcome.distinct_tokens == 4


def _start_holder(emu: Emulator, env: dict[str, str]) -> Any:
    """A worker process caught while it holds the lock: its identity request is in flight."""
    emu.faults.latency("appservice", 5.0)
    before = emu.counters["appservice"]
    process = multiprocessing.get_context("spawn").Process(target=hold_lock, args=(env,), daemon=True)
    process.start()
    deadline = time.monotonic() + 60
    while emu.counters["appservice"] == before:
        assert time.monotonic() < deadline, "the holder never asked the identity endpoint"
        time.sleep(0.02)
    emu.faults.latency("appservice", LATENCY)
    return process


def _settings_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_a_holder_that_dies_frees_the_lock_at_once(
    slow: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(slow, tmp_path / "cache", AzureAd__TokenCacheLockTimeoutSeconds="20")
    holder = _start_holder(slow, env)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    _settings_env(monkeypatch, env)
    started = time.monotonic()
    assert CertlessCredential(load_settings()).get_token(STORAGE).token
    assert time.monotonic() - started < 5  # the kernel released the dead holder's lock; no 20-s wait


def test_a_hung_holder_blocks_the_others_for_the_lock_timeout_only(
    slow: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env = _env(slow, tmp_path / "cache", AzureAd__TokenCacheLockTimeoutSeconds="3")
    holder = _start_holder(slow, env)
    # Alive, holding both locks (the token's, and inside its fetch the identity token's), never finishing.
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        _settings_env(monkeypatch, env)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="certless"):
            assert CertlessCredential(load_settings()).get_token(STORAGE).token
        elapsed = time.monotonic() - started
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    # One timeout for the whole flight: the identity token's lock gets what is left, not 3 s more.
    assert 3 <= elapsed < 6
    assert "held the lock" in caplog.text


# ------------------------------------------------------------------------------------ the directory


def _open(path: Path) -> HostCache:
    return HostCache.open("AzureAd:TokenCacheDirectory", str(path))


def test_the_directory_is_created_for_this_user_only(tmp_path: Path) -> None:
    cache = _open(tmp_path / "a" / "certless")
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722, 0o703])
def test_a_directory_others_can_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(SettingsError, match=r"TokenCacheDirectory.*no one else can write"):
        _open(shared)


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a directory to another user needs root")
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(SettingsError, match=r"TokenCacheDirectory.*owned by this user"):
        _open(theirs)


@pytest.mark.parametrize("value", ["relative/dir", "./cache"])
def test_a_relative_directory_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="absolute directory path"):
        HostCache.open("AzureAd:TokenCacheDirectory", value)


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="TokenCacheDirectory"):
        _open(tmp_path / "file")


@pytest.mark.parametrize("value", ["0", "0.5", "301", "abc", "nan", "inf", "-3"])
def test_the_lock_timeout_must_be_a_sane_number_of_seconds(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureAd__ClientId", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AzureAd__TenantId", "00000000-0000-0000-0000-000000000002")
    monkeypatch.setenv("AzureAd__ClientSecret", "s")
    monkeypatch.setenv("AzureAd__TokenCacheLockTimeoutSeconds", value)
    with pytest.raises(SettingsError, match=r"TokenCacheLockTimeoutSeconds.*from 1 to 300"):
        load_settings()


def test_the_credential_refuses_an_unsafe_directory_when_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("AzureAd__ClientId", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AzureAd__TenantId", "00000000-0000-0000-0000-000000000002")
    monkeypatch.setenv("AzureAd__ClientSecret", "s")
    monkeypatch.setenv("AzureAd__TokenCacheDirectory", str(shared))
    with pytest.raises(SettingsError, match="AzureAd:TokenCacheDirectory"):
        CertlessCredential(load_settings())


def test_tmpfs_is_told_from_the_mount_table() -> None:
    mounts = (
        "overlay / overlay rw 0 0\n"
        "tmpfs /run/user/1000 tmpfs rw,nosuid,nodev,mode=700 0 0\n"
        "/dev/sda1 /run/user/1000/disk ext4 rw 0 0\n"
    )
    assert on_memory_filesystem(Path("/run/user/1000/certless"), mounts)
    assert not on_memory_filesystem(Path("/run/user/1000/disk/certless"), mounts)
    assert not on_memory_filesystem(Path("/srv/certless"), mounts)
    assert not on_memory_filesystem(Path("/run/user/10000"), mounts)  # a prefix, not a parent


# ------------------------------------------------------------------------------- sharing, in detail


class Upstream:
    def __init__(self, lifetime: int = 3600) -> None:
        self.calls = 0
        self.lifetime = lifetime

    def __call__(self) -> TokenResult:
        self.calls += 1
        return TokenResult(f"secret-token-{self.calls}", int(time.time()) + self.lifetime, None, "Bearer")


def _usable(result: TokenResult) -> bool:
    return result.expires_on - time.time() > 60


def test_a_second_process_reads_the_first_ones_token(tmp_path: Path) -> None:
    upstream = Upstream()
    first = _open(tmp_path / "c").get(("k",), upstream, _usable)
    second = _open(tmp_path / "c").get(("k",), upstream, _usable)  # another HostCache: another process
    assert upstream.calls == 1 and second == first
    assert _open(tmp_path / "c").get(("other key",), upstream, _usable).token == "secret-token-2"


def test_a_token_the_caller_cannot_use_is_fetched_again(tmp_path: Path) -> None:
    upstream = Upstream(lifetime=30)
    _open(tmp_path / "c").get(("k",), upstream, _usable)
    assert _open(tmp_path / "c").get(("k",), upstream, _usable).token == "secret-token-2"


def test_token_files_are_private_and_stray_ones_are_ignored(tmp_path: Path) -> None:
    upstream = Upstream()
    cache = _open(tmp_path / "c")
    cache.get(("k",), upstream, _usable)
    files = sorted(p for p in cache.directory.iterdir())
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    for token_file in cache.directory.glob("*.json"):
        token_file.write_text(token_file.read_text().replace("secret-token-1", "planted"))
        token_file.chmod(0o644)  # not private: someone else may have written it
    assert cache.get(("k",), upstream, _usable).token == "secret-token-2"
    for token_file in cache.directory.glob("*.json"):
        token_file.write_text("{not json")
        token_file.chmod(0o600)
    assert cache.get(("k",), upstream, _usable).token == "secret-token-3"


def test_shared_tokens_never_reach_logs_or_reprs(
    tmp_path: Path, certless_logs: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream()
    cache = _open(tmp_path / "c")
    cache.get(("k",), upstream, _usable)
    cache.get(("k",), upstream, _usable)
    assert "secret-token" not in certless_logs.text + repr(cache)


def test_a_proactive_refresh_takes_a_token_another_process_already_refreshed(tmp_path: Path) -> None:
    now = time.time()
    due = TokenResult("secret-due", int(now) + 200, None, "Bearer")  # under 5 minutes left
    calls: list[str] = []

    def upstream(token: str, lifetime: int) -> Callable[[], TokenResult]:
        def fetch() -> TokenResult:
            calls.append(token)
            return TokenResult(token, int(time.time()) + lifetime, None, "Bearer")

        return fetch

    cache = _open(tmp_path / "c")
    cache.get(("k",), lambda: due, lambda r: worth_sharing(r, now, proactive=False))
    # Usable but due: a proactive refresh does not settle for it, a plain miss does.
    assert cache.get(("k",), upstream("x", 0), lambda r: worth_sharing(r, now, False)) == due
    assert cache.get(("k",), upstream("fresh", 3600), lambda r: worth_sharing(r, now, True)).token == "fresh"
    # The next process's refresh finds the fresh token and asks no one.
    assert (
        _open(tmp_path / "c")
        .get(("k",), upstream("again", 3600), lambda r: worth_sharing(r, now, True))
        .token
        == "fresh"
    )
    assert calls == ["fresh"]
