"""Every ops command's console: whole lines in CI logs, no colour codes when NO_COLOR is set."""

from __future__ import annotations

import io

import pytest

from certless_ops.console import make_console, rule

ISSUER = "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-2222-3333-4444-555555555555/"


def test_a_log_keeps_a_long_issuer_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()  # not a terminal, like a CI log
    make_console(file=out).print(f"issuer {ISSUER}")
    assert out.getvalue().splitlines() == [f"issuer {ISSUER}"]


def test_columns_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()
    make_console(file=out).print(f"issuer {ISSUER}")
    assert len(out.getvalue().splitlines()) > 1


def test_no_color_means_no_escape_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    make_console(file=out, force_terminal=True).print("[red]broken link[/red]")
    assert "\x1b[31" not in out.getvalue()
    assert "broken link" in out.getvalue()


def test_a_section_rule_in_a_log_is_as_wide_as_its_title(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()  # `./dev demo > demo.log`: a rule must not stretch to the log width
    rule(make_console(file=out), "one token acquisition, hop by hop")
    (line,) = out.getvalue().splitlines()
    assert "one token acquisition, hop by hop" in line
    assert len(line) < 60


def test_a_section_rule_on_a_terminal_spans_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = io.StringIO()
    rule(make_console(file=out, force_terminal=True, no_color=True), "hop by hop")
    (line,) = out.getvalue().splitlines()
    assert len(line) == 100
