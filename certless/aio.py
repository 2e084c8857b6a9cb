"""The asyncio twin: ``certless.aio.CertlessCredential`` is an azure-core ``AsyncTokenCredential``.

MSAL is synchronous, so network work runs in a worker thread; the event loop never blocks on it.
Concurrent coroutines asking for the same token share one request (single flight per key), and a
cached token is returned without leaving the loop.
"""

from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

from certless._cache import Entry
from certless.credential import CertlessCredential as _SyncCredential
from certless.credential import _Key
from certless.settings import Settings, load_settings


class CertlessCredential:
    """Async credential over the same sources, engine and cache as :class:`certless.CertlessCredential`."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self._sync = _SyncCredential(settings, **kwargs)
        self._inflight: dict[_Key, asyncio.Task[Entry]] = {}

    @property
    def settings(self) -> Settings:
        return self._sync.settings

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        entry = self._cached((scopes, claims, tenant_id, enable_cae))
        if entry is None:
            entry = await self._slow((scopes, claims, tenant_id, enable_cae))
        return entry.value[0]

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        opts = options or {}
        key = (scopes, opts.get("claims"), opts.get("tenant_id"), bool(opts.get("enable_cae", False)))
        entry = self._cached(key)
        if entry is None:
            entry = await self._slow(key)
        return entry.value[1]

    def _cached(self, key: _Key) -> Entry | None:
        sync = self._sync
        entry = sync._entries.get(key)
        if entry is None:
            return None
        now = sync._now()
        if now >= entry.usable_until:
            return None
        if now >= entry.refresh_at and now >= entry.next_attempt:
            sync._cache.refresh_in_background(key, sync._fetcher(key))  # a thread: never blocks the loop
        return entry

    async def _slow(self, key: _Key) -> Entry:
        # One acquisition per key, owned by no caller: each waiter awaits it through a shield, so a
        # cancelled waiter (a wait_for deadline, a client disconnect) stops waiting, and only that one.
        loop = asyncio.get_running_loop()
        task = self._inflight.get(key)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(asyncio.to_thread(self._sync._slow, key))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: _Key, task: asyncio.Task[Entry]) -> None:
        if self._inflight.get(key) is task:
            self._inflight.pop(key)
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning when every waiter gave up

    def reset_sources(self) -> None:
        self._sync.reset_sources()

    async def close(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> CertlessCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._sync).replace("CertlessCredential(", "aio.CertlessCredential(", 1)


class OnBehalfOfCredential:
    """Async twin of :class:`certless.OnBehalfOfCredential`: same shared chain, MSAL app and cache.

    A cached token is returned without leaving the loop; a request runs in a worker thread, and the
    requests of concurrent callers for one user and scope are one (the shared cache's single flight),
    so a cancelled caller stops waiting without cancelling the others."""

    def __init__(self, user_assertion: str, settings: Settings | None = None, **kwargs: Any) -> None:
        from certless.obo import OnBehalfOfCredential as _SyncObo

        self._sync = _SyncObo(user_assertion, settings, **kwargs)

    @property
    def settings(self) -> Settings:
        return self._sync.settings

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return (await self._entry((scopes, claims, tenant_id, enable_cae))).value[0]

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        opts = options or {}
        key = (scopes, opts.get("claims"), opts.get("tenant_id"), bool(opts.get("enable_cae", False)))
        return (await self._entry(key)).value[1]

    async def _entry(self, key: _Key) -> Entry:
        sync = self._sync
        broker = sync._broker
        entry = broker.cached(sync._assertion, key)
        if entry is not None:
            return entry
        return await asyncio.to_thread(broker.entry, sync._assertion, key)

    async def close(self) -> None:
        """Nothing to release per credential."""

    async def __aenter__(self) -> OnBehalfOfCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "aio." + repr(self._sync)


def credential_from_settings(
    path: str | os.PathLike[str] | None = None, section: str = "AzureAd", **kwargs: Any
) -> CertlessCredential:
    """Async twin of :func:`certless.credential_from_settings`."""
    return CertlessCredential(load_settings(path, section), **kwargs)
