"""Slow steps show progress to a person at a terminal, and nowhere else.

`plan` runs the Pulumi program under the mock engine (seconds): a spinner says so on a terminal. Piped,
logged or with the JSON on stdout, not one spinner frame or control character is written.
`./dev setup` prints one line per step it runs, and on a terminal how long the step took.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .terminal import on_a_terminal, plain

ROOT = Path(__file__).resolve().parents[2]
OPS = str(Path(sys.executable).parent / "certless-ops")
STATUS = "planning stack dev under Pulumi's mock engine"
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's default "dots" spinner
ENV = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"}}


def test_plan_on_a_terminal_shows_a_spinner_while_the_program_runs() -> None:
    code, raw = on_a_terminal([OPS, "plan", "--stack", "dev"], 120, stderr_too=True)
    assert code == 0, plain(raw)[-500:]
    assert STATUS in plain(raw)
    assert any(frame in raw for frame in SPINNER_FRAMES)


def test_plan_through_pipes_writes_no_spinner_nor_control_characters() -> None:
    done = subprocess.run(
        [OPS, "plan", "--stack", "dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr):
        assert STATUS not in stream
        assert not any(c in stream for c in ("\x1b", "\r", *SPINNER_FRAMES)), stream[:300]
    assert "FIC" in done.stdout  # the tree itself did come


def test_plan_with_the_json_on_a_terminal_stdout_shows_no_spinner() -> None:
    code, raw = on_a_terminal([OPS, "plan", "--stack", "dev", "--json"], 120, stderr_too=True)
    assert code == 0, plain(raw)[-500:]
    assert STATUS not in plain(raw)
    assert not any(frame in raw for frame in SPINNER_FRAMES)


def _fake_project(tmp_path: Path) -> Path:
    """A copy of ./dev whose one setup step (uv sync) is a stub: the step lines, without installing."""
    project = tmp_path / "project"
    (project / ".tools" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "dev", project / "dev")
    for name in ("uv.lock", "pyproject.toml"):
        (project / name).write_text("", encoding="utf-8")
    uv = project / ".tools" / "bin" / "uv"
    uv.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "uv 0.13.8"; exit 0\n', encoding="utf-8")
    uv.chmod(0o755)
    python = project / ".venv" / "bin" / "python"
    python.symlink_to(sys.executable)
    return project


def test_dev_setup_says_each_step_and_on_a_terminal_how_long_it_took(tmp_path: Path) -> None:
    project = _fake_project(tmp_path)
    code, raw = on_a_terminal([str(project / "dev"), "setup"], 80, stderr_too=True, cwd=project)
    assert code == 0, raw
    text = plain(raw)
    assert "setup: installing the Python environment from uv.lock into .venv/" in text
    assert re.search(r"setup: installed the Python environment from uv.lock into .venv/ in \d+ s", text), text


def test_dev_setup_through_a_pipe_says_each_step_plainly(tmp_path: Path) -> None:
    project = _fake_project(tmp_path)
    env = {k: v for k, v in ENV.items() if k != "NO_COLOR"}
    done = subprocess.run(
        [str(project / "dev"), "setup"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["setup: installing the Python environment from uv.lock into .venv/"]
    assert done.stdout == ""
