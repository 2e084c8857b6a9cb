"""Through a pipe (a CI log, `| grep`, `> file`) nothing folds: each message and name stays on one line.

rich lays a non-terminal out for 80 columns unless told otherwise, so a long policy message or resource
type used to break mid-word in CI logs, and `grep` for it found nothing.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certless_ops.console import make_console, panel
from certless_ops.plan.tree import render

from .support import by_name

ROOT = Path(__file__).resolve().parents[2]
OPS = str(Path(sys.executable).parent / "certless-ops")
PLAN = ROOT / "tests" / "emulator" / "fixture_plan.json"
ENV = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE"}}


def test_review_through_a_pipe_keeps_each_message_and_resource_type_on_one_line(tmp_path: Path) -> None:
    report = tmp_path / "review.json"
    done = subprocess.run(
        [OPS, "review", "--plan", str(PLAN), "--json", str(report)],
        cwd=ROOT,
        capture_output=True,  # stdout is a pipe, as in CI
        text=True,
        check=False,
        timeout=120,
        env=ENV,
    )
    assert done.returncode == 1, done.stderr  # the fixture plan violates mandatory policies
    violations = json.loads(report.read_text(encoding="utf-8"))["violations"]
    assert any(len(v["message"]) > 160 for v in violations)  # longer than any fixed log width
    lines = done.stdout.splitlines()
    for v in violations:
        assert any(v["message"] in line for line in lines), v["message"]
        assert any(v["resourceType"] in line for line in lines), v["resourceType"]
    (verdict,) = [line for line in lines if line.startswith("FAILED")]
    assert re.search(r"pack config: \S+\.$", verdict), verdict
    assert "\x1b" not in done.stdout  # no colour codes into a pipe


def test_a_long_resource_name_stays_on_one_line_of_the_tree(
    mini_plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    plan = copy.deepcopy(mini_plan)
    long_name = "orders-" + "very-long-segment-" * 20 + "fic"
    fic = by_name(plan, "orders-fic")
    fic["name"] = long_name
    for side in ("inputs", "outputs"):  # the tree names a FIC by the name Entra stores
        if "displayName" in (fic.get(side) or {}):
            fic[side]["displayName"] = long_name
    out = io.StringIO()  # not a terminal
    render(plan, make_console(file=out))
    assert any(long_name in line for line in out.getvalue().splitlines())


def test_nothing_stretches_to_the_log_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole lines without a terminal, yet no table or panel padded out to that unbounded width."""
    from rich.table import Table

    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    console = make_console(file=out)
    table = Table(title="checks")
    table.add_column("check")
    table.add_row("fic-issuer")
    console.print(table)
    console.print(panel(console, "short", title="1. Entra discovery"))
    assert max(len(line) for line in out.getvalue().splitlines()) < 80
