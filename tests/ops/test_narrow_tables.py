"""On an 80-column terminal a report table too wide for it becomes one `field value` block per row.

Squeezed into 80 columns, the review table folded the resource type every few letters and put a word or
two of each message per line. Stacked, each message reads as a sentence within the terminal width.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from certless_ops.bluegreen.checks import CheckResult
from certless_ops.bluegreen.report import render_table
from certless_ops.console import make_console

from .terminal import on_a_terminal, plain

ROOT = Path(__file__).resolve().parents[2]
OPS = str(Path(sys.executable).parent / "certless-ops")
PLAN = ROOT / "tests" / "emulator" / "fixture_plan.json"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_review_on_an_80_column_terminal_reads_each_message_as_a_sentence(tmp_path: Path) -> None:
    report = tmp_path / "review.json"
    code, raw = on_a_terminal([OPS, "review", "--plan", str(PLAN), "--json", str(report)], 80)
    text = plain(raw)
    assert code == 1, text[-500:]
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    violations = json.loads(report.read_text(encoding="utf-8"))["violations"]
    for v in violations:
        assert any(line.split() == ["Policy", v["policy"]] for line in lines), v["policy"]
        assert flat(v["message"]) in flat(text), v["message"]  # not cut into table cells
    assert sum(line.startswith("Enforcement") for line in lines) == len(violations)


def _checks() -> list[CheckResult]:
    failed = CheckResult("fic-subjects", "Every FIC subject is a principal ID in both colours")
    failed.fail(
        "app 'orders-app' in green trusts subject 3f1c2a9e-0000-4000-8000-000000000001, which is the client "
        "ID of identity 'id-orders', not its principal ID: Entra would refuse the exchange with AADSTS70021"
    )
    passed = CheckResult("shared-layer", "Both colours reference the same identity layer")
    passed.details.append("owner stack org/certless/shared, 3 identities, 2 apps")
    return [failed, passed]


def test_a_bluegreen_report_too_wide_for_the_terminal_is_stacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    render_table(
        _checks(), make_console(file=out, force_terminal=True, color_system=None), title="blue/green"
    )
    text = out.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.split() == ["check", "fic-subjects"] for line in lines), text
    assert flat(_checks()[0].findings[0]) in flat(text)


def test_a_table_that_fits_stays_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    out = io.StringIO()
    render_table(
        _checks(), make_console(file=out, force_terminal=True, color_system=None), title="blue/green"
    )
    assert "┃ check" in out.getvalue() or "│ check" in out.getvalue()
