"""Where a background emulator is, whether it still runs, and how it is stopped, from any folder.

The state file is the emulator's own (``python -m emulator env`` and ``user-token`` read it), at the
emulator's default path: ``$XDG_RUNTIME_DIR/certless-emulator.json``, else ``.certless-run/`` in the
project. Its run folder (plan, merged CA bundle, log) sits beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certless_ops.emulate.daemon import EMULATE_KEY

_STOP_GRACE_SECONDS = 15.0


def state_path() -> Path:
    from emulator.cli import default_state_path

    return default_state_path()


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    """Hold the state file's folder locked (flock on the folder itself: no lock file left behind)."""
    state.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(state.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def run_dir_for(state: Path) -> Path:
    return state.with_name(f"{state.stem}.d")


@dataclass(frozen=True)
class Running:
    """A live emulator's state file, as written by `emulate` (``emulate`` set) or `python -m emulator`."""

    path: Path
    doc: dict[str, Any]

    @property
    def pid(self) -> int:
        return int(self.doc["pid"])

    @property
    def emulate(self) -> dict[str, Any] | None:
        found = self.doc.get(EMULATE_KEY)
        return found if isinstance(found, dict) else None


def find_running(path: Path) -> Running | None:
    from emulator.cli import live_state

    doc = live_state(path)
    return None if doc is None else Running(path, doc)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    from emulator.cli import alive

    return alive(pid)


def _end(pid: int, *, group: bool) -> None:
    """SIGTERM, a grace period, then SIGKILL, for one process or its whole process group."""
    kill = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError, PermissionError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _leftover_azurite(doc: dict[str, Any] | None) -> int | None:
    """Azurite of a run whose emulator died without stopping it (it runs in a session of its own)."""
    azurite = ((doc or {}).get(EMULATE_KEY) or {}).get("azurite") or {}
    pid = azurite.get("pid")
    if isinstance(pid, int) and pid > 0 and _alive(pid) and "azurite" in _cmdline(pid):
        return pid
    return None


def read_any(path: Path) -> dict[str, Any] | None:
    """The state file, live or not (a crashed run leaves one behind)."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def stop(path: Path) -> str:
    """Stop what the state file at ``path`` names; say what was stopped (or that nothing ran)."""
    running = find_running(path)
    leftover = read_any(path)
    stopped: list[str] = []
    if running is not None:
        _end(running.pid, group=False)
        stopped.append(f"the emulator (pid {running.pid})")
        if running.emulate and running.emulate.get("azurite"):
            stopped.append("Azurite")
    azurite = _leftover_azurite(leftover)
    if azurite is not None:
        _end(azurite, group=True)
        if "Azurite" not in stopped:
            stopped.append(f"a leftover Azurite (pid {azurite})")
    path.unlink(missing_ok=True)
    run_dir = run_dir_for(path)
    shutil.rmtree(run_dir, ignore_errors=True)
    if not stopped:
        return f"no emulator running (state file {path} {'was stale' if leftover else 'absent'})"
    return f"stopped {' and '.join(stopped)}; removed {run_dir}"
