"""Host-wide single flight: the processes of one host share one token acquisition and one cached token
per key (opt-in, ``AzureAd:TokenCacheDirectory``).

Many workers of one app (gunicorn, uvicorn, Celery) each start cold at once; without this, each asks the
identity endpoint and Entra itself, and the identity endpoint throttles them (20 requests/s, 5 at once).
With it, per key:

- a token file (mode 0600) holds the last token; a process finding a usable one makes no request;
- otherwise the process takes the key's lock (filelock: ``flock`` on POSIX, so the kernel drops the lock
  of a process that dies), reads the file again, and only the lock holder fetches and writes it;
- a holder that hangs blocks the others for at most the lock timeout: they then fetch on their own.

The directory must belong to this user and be writable by no one else (0700 when certless creates it).
Token values never reach a log line or a repr: keys are hashed, and logs name their hash prefix only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from pathlib import Path

from certless._engine import TokenResult
from certless.errors import SettingsError

log = logging.getLogger("certless")

POLL, MAX_POLL = 0.02, 0.25  # seconds between looks at the token file while another process holds the lock
LOCK_TIMEOUT = 30.0  # a normal acquisition takes well under a second; a throttled one, a few seconds
_MAX_FILE = 64 * 1024  # a token file is a few kilobytes; anything bigger is not ours
_SPECIAL_FS = frozenset({"tmpfs", "ramfs"})

Good = Callable[[TokenResult], bool]
# Set while a fetch runs after a lock wait timed out: nested waits share what is left of that budget.
_deadline: ContextVar[float | None] = ContextVar("certless_host_cache_deadline", default=None)


class HostCache:
    """One directory of lock and token files shared by every process of this user on the host."""

    def __init__(self, directory: Path, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.directory = directory
        self.lock_timeout = lock_timeout

    @classmethod
    def open(cls, setting: str, value: str, lock_timeout: float = LOCK_TIMEOUT) -> HostCache:
        """Create (0700) or check the directory named by the setting ``setting``; refuse an unsafe one."""
        directory = Path(value).expanduser()
        if not directory.is_absolute():
            raise SettingsError(setting, value, "an absolute directory path, e.g. /dev/shm/certless-myapp")
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.stat(directory)
        except OSError as exc:
            raise SettingsError(
                setting, value, f"a directory this process can create or use ({exc.strerror or exc})"
            ) from None
        if not stat.S_ISDIR(info.st_mode):
            raise SettingsError(setting, value, "a directory (this path is not one)")
        if info.st_uid != os.geteuid():
            raise SettingsError(
                setting,
                value,
                f"a directory owned by this user (uid {os.geteuid()}); it belongs to uid {info.st_uid}, "
                "who could read or replace the tokens",
            )
        if info.st_mode & 0o022:
            raise SettingsError(
                setting,
                value,
                f"a directory no one else can write to (mode {stat.S_IMODE(info.st_mode):04o}; use 0700)",
            )
        if not on_memory_filesystem(directory):
            log.warning(
                "%s %s is not on a tmpfs: cached tokens are written to disk (mode 0600) until they expire",
                setting,
                directory,
            )
        return cls(directory, lock_timeout)

    def __repr__(self) -> str:
        return f"HostCache({str(self.directory)!r})"

    # ----------------------------------------------------------------------------------------- the flight

    def get(self, key: Hashable, fetch: Callable[[], TokenResult], good: Good) -> TokenResult:
        """A token for ``key`` that ``good`` accepts: another process's, or one ``fetch`` gets under
        the key's lock (so at most one process per key fetches at a time)."""
        from filelock import FileLock, Timeout  # deferred: only apps that opt in pay for the import

        name = _file_name(key)
        cached = self._read(name)
        if cached is not None and good(cached):
            log.debug("host token cache: hit (%s)", name[:8])
            return cached
        # No soft-lock fallback: a lock the kernel does not release when its holder dies could block for good.
        lock = FileLock(self.directory / f"{name}.lock", mode=0o600, fallback_to_soft=False)
        # One budget for the whole flight: the identity token's lock, taken inside the access token's
        # fetch, gets what is left of it, so a hung holder of both costs one timeout, not two.
        deadline = _deadline.get()
        outer = deadline is None
        if deadline is None:
            deadline = time.monotonic() + self.lock_timeout  # real time: other processes run on it
        poll = POLL
        while True:
            try:
                lock.acquire(timeout=0)  # one attempt
                break
            except Timeout:
                pass
            # Waiters watch the token file rather than queue for the lock: when the holder writes it,
            # all of them take the token within one poll, instead of one after another.
            cached = self._read(name)
            if cached is not None and good(cached):
                log.debug("host token cache: another process fetched it (%s)", name[:8])
                return cached
            if time.monotonic() >= deadline:
                log.warning(
                    "host token cache: another process has held the lock for %s over %.0f s; "
                    "fetching without it",
                    name[:8],
                    self.lock_timeout,
                )
                return self._fetch_and_store(name, fetch, deadline if outer else None)
            time.sleep(poll)
            poll = min(poll * 1.5, MAX_POLL)  # many waiters on a small host: fewer wake-ups as it drags on
        try:
            cached = self._read(name)
            if cached is not None and good(cached):
                log.debug("host token cache: another process fetched it (%s)", name[:8])
                return cached
            # Holding the lock: nested locks get their own budget (their holders are not waiting on us).
            return self._fetch_and_store(name, fetch, None)
        finally:
            lock.release()

    def _fetch_and_store(
        self, name: str, fetch: Callable[[], TokenResult], deadline: float | None
    ) -> TokenResult:
        scope = _deadline.set(deadline)
        try:
            result = fetch()
        finally:
            _deadline.reset(scope)
        try:
            self._write(name, result)
        except OSError as exc:  # a full or read-only directory costs the sharing, never the token
            log.warning("host token cache: could not store a token (%s)", exc.strerror or exc)
        return result

    # ----------------------------------------------------------------------------------------- the files

    def _read(self, name: str) -> TokenResult | None:
        path = self.directory / f"{name}.json"
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if info.st_uid != os.geteuid() or info.st_mode & 0o077 or not stat.S_ISREG(info.st_mode):
                log.warning("host token cache: ignoring %s (not this user's, or readable by others)", path)
                return None
            raw = os.read(fd, _MAX_FILE + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return _parse(raw)

    def _write(self, name: str, result: TokenResult) -> None:
        body = json.dumps(
            {
                "token": result.token,
                "expires_on": result.expires_on,
                "refresh_on": result.refresh_on,
                "token_type": result.token_type,
            }
        ).encode()
        temp = self.directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.replace(temp, self.directory / f"{name}.json")  # readers see the old file or the new one
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise


def _file_name(key: Hashable) -> str:
    return hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()


def _parse(raw: bytes) -> TokenResult | None:
    if len(raw) > _MAX_FILE:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # half-written by a crashed writer can't happen (rename), but a stranger's file can
    if not isinstance(data, dict):
        return None
    token, expires_on = data.get("token"), data.get("expires_on")
    refresh_on, token_type = data.get("refresh_on"), data.get("token_type")
    if not (isinstance(token, str) and token and isinstance(expires_on, int) and isinstance(token_type, str)):
        return None
    if refresh_on is not None and not isinstance(refresh_on, int):
        return None
    return TokenResult(token=token, expires_on=expires_on, refresh_on=refresh_on, token_type=token_type)


def on_memory_filesystem(path: Path, mounts: str | None = None) -> bool:
    """True when ``path`` lies on a tmpfs/ramfs (``/proc/self/mounts``; False where it can't be told)."""
    if mounts is None:
        try:
            mounts = Path("/proc/self/mounts").read_text()
        except OSError:
            return False
    target = os.path.realpath(path)
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fields[2]
    return best_type in _SPECIAL_FS
