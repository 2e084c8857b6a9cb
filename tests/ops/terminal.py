"""Run a command with its output on a real pseudo-terminal, as a person at a terminal sees it."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import subprocess
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
NOT_FORCED = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM", "COLUMNS"}


def on_a_terminal(
    argv: list[str], columns: int = 80, *, stderr_too: bool = False, cwd: Path = ROOT
) -> tuple[int, str]:
    """`argv`'s exit status and what it wrote to a terminal `columns` wide (raw, control codes kept).

    stdout is always the terminal; stderr too with `stderr_too`, else it is discarded.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in NOT_FORCED}
    env.update(COLUMNS=str(columns), TERM="xterm-256color")
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=slave, stderr=slave if stderr_too else subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # EIO: every writer closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=300)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def plain(text: str) -> str:
    return ANSI.sub("", text)
