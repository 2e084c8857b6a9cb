"""./dev: a set-up environment is never rebuilt, and a signal to ./dev reaches the Python it started."""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_setup_twice_keeps_the_environment() -> None:
    cfg = ROOT / ".venv" / "pyvenv.cfg"
    before = cfg.stat()
    for _ in range(2):
        done = subprocess.run(
            [str(ROOT / "dev"), "setup"], capture_output=True, text=True, timeout=300, check=True
        )
        assert "Removed virtual environment" not in done.stderr
    after = cfg.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_sigterm_to_dev_ends_its_python_child() -> None:
    value = uuid.uuid4().hex
    marker = f"CERTLESS_DEV_SIGNAL_TEST={value}"
    env = {**os.environ, "CERTLESS_DEV_SIGNAL_TEST": value}
    proc = subprocess.Popen(
        [str(ROOT / "dev"), "plan", "--stack", "dev"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(_is_python(p) for p in _processes_with(marker)):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_with(marker):
        time.sleep(0.1)
    assert _processes_with(marker) == []


def _is_python(pid: int) -> bool:
    try:
        return b"certless_ops" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
