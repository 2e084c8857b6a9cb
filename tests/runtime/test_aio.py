"""The asyncio twin: same tokens, one request for many concurrent coroutines, no blocking of the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

from certless import aio
from emulator import Emulator

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]


async def test_concurrent_coroutines_share_one_request(emulator: Emulator, host: HostFn) -> None:
    host("vm", "web")
    emulator.faults.latency("entra-token", 0.05)
    async with aio.credential_from_settings() as credential:
        tokens = await asyncio.gather(*(credential.get_token(STORAGE) for _ in range(50)))
        info = await credential.get_token_info(STORAGE)
    assert all(isinstance(t, AccessToken) for t in tokens)
    assert len({t.token for t in tokens}) == 1
    assert isinstance(info, AccessTokenInfo) and info.token == tokens[0].token
    assert emulator.counters["entra-token"] == 1
    assert emulator.counters["imds"] == 1


async def test_the_event_loop_keeps_running_while_a_token_is_fetched(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    emulator.faults.latency("entra-token", 0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    async with aio.credential_from_settings() as credential:
        await credential.get_token(STORAGE)
    task.cancel()
    assert ticks >= 10


async def _cancel_one(credential: aio.CertlessCredential, how: str) -> None:
    if how == "wait_for":  # a caller's own deadline
        await asyncio.wait_for(credential.get_token(STORAGE), timeout=0.05)
    else:  # a client disconnect: the request's task is cancelled
        task = asyncio.ensure_future(credential.get_token(STORAGE))
        await asyncio.sleep(0.05)
        task.cancel()
        await task


@pytest.mark.parametrize("who", ["first", "middle", "last"])
@pytest.mark.parametrize("how", ["wait_for", "cancel"])
async def test_one_cancelled_waiter_never_cancels_the_others(
    emulator: Emulator, host: HostFn, who: str, how: str
) -> None:
    host("vm", "web")
    emulator.faults.latency("entra-token", 0.4)
    before = {"first": 0, "middle": 2, "last": 4}[who]  # callers already waiting when it joins
    async with aio.credential_from_settings() as credential:
        others = [asyncio.ensure_future(credential.get_token(STORAGE)) for _ in range(before)]
        await asyncio.sleep(0.01)
        cancelled = asyncio.ensure_future(_cancel_one(credential, how))  # "first": it starts the request
        await asyncio.sleep(0.01)
        others += [asyncio.ensure_future(credential.get_token(STORAGE)) for _ in range(4 - before)]
        outcome, *tokens = await asyncio.gather(cancelled, *others, return_exceptions=True)
        assert isinstance(outcome, (asyncio.CancelledError, TimeoutError))
        assert all(isinstance(t, AccessToken) for t in tokens), tokens
        # The acquisition went on for the others: one request, and the token is cached now.
        assert emulator.counters["entra-token"] == 1
        again = await credential.get_token(STORAGE)
        assert isinstance(tokens[0], AccessToken) and again.token == tokens[0].token
        assert emulator.counters["entra-token"] == 1


async def test_a_cached_token_past_its_usable_time_is_fetched_anew(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("appservice", "web")
    emulator.faults.token_lifetime("entra-token", 120)  # usable until 30 s before its expiry
    async with aio.credential_from_settings(clock=clock) as credential:
        first = await credential.get_token(STORAGE)
        clock.advance(20)  # within the 30 s before the first background refresh may start
        assert (await credential.get_token(STORAGE)).token == first.token  # still usable: cached
        assert emulator.counters["entra-token"] == 1
        clock.advance(75)  # 25 s left: under the 30-s guard, so never handed out
        second = await credential.get_token(STORAGE)
        info = await credential.get_token_info(STORAGE)
    assert second.token != first.token and info.token == second.token
    assert emulator.counters["entra-token"] == 2
