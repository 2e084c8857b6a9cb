"""Show check results: a rich table for people, JSON for pipelines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from certless_ops.bluegreen.checks import CheckResult
from certless_ops.console import show_table


def render_table(results: Sequence[CheckResult], console: Console, *, title: str) -> None:
    table = Table(title=title, show_lines=True, expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("what was found", overflow="fold")
    for result in results:
        verdict = Text("PASS", style="bold green") if result.passed else Text("FAIL", style="bold red")
        lines = result.findings if not result.passed else result.details
        body = Text(result.title, style="bold")
        for line in lines:
            body.append("\n- " + line, style="red" if not result.passed else "")
        table.add_row(result.id, verdict, body)
    show_table(console, table)
    failed = [r.id for r in results if not r.passed]
    if failed:
        console.print(f"[bold red]{len(failed)} of {len(results)} checks failed:[/] {', '.join(failed)}")
    else:
        console.print(f"[bold green]all {len(results)} checks passed[/]")


def to_json(results: Sequence[CheckResult], *, blue: str, green: str, owner: str | None) -> str:
    document = {
        "blue": blue,
        "green": green,
        "owner": owner,
        "passed": all(r.passed for r in results),
        "checks": [r.to_json() for r in results],
    }
    return json.dumps(document, indent=2) + "\n"
