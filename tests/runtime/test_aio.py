"""The asyncio twin: same tokens, one request for many concurrent coroutines, no blocking of the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from azure.core.credentials import AccessToken, AccessTokenInfo

from certless import aio
from emulator import Emulator

from .support import STORAGE

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
