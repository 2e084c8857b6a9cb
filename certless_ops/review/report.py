"""Print a review for people (a rich table and a summary) or for machines (JSON)."""

from __future__ import annotations

import json
from typing import IO

from rich.console import Console
from rich.table import Table

from certless_ops.review.analyzer import Review


def print_json(review: Review, out: IO[str], extra: dict[str, object] | None = None) -> None:
    document = review.to_json()
    document.update(extra or {})
    out.write(json.dumps(document, indent=2) + "\n")


def print_table(review: Review, console: Console, config_source: str | None) -> None:
    if review.violations:
        table = Table(title=f"Policy violations - stack {review.stack}", show_lines=True, expand=True)
        table.add_column("Policy", style="bold", no_wrap=True)
        table.add_column("Enforcement", no_wrap=True)
        table.add_column("Resource", overflow="fold", ratio=1)
        table.add_column("Message", overflow="fold", ratio=2)
        order = {"mandatory": 0, "advisory": 1}
        for v in sorted(review.violations, key=lambda v: (order.get(v.enforcement, 2), v.policy, v.urn)):
            level = "[red]mandatory[/red]" if v.enforcement == "mandatory" else "[yellow]advisory[/yellow]"
            resource = (
                f"{v.resource_name}\n[dim]{v.resource_type}[/dim]" if v.resource_type else v.resource_name
            )
            table.add_row(v.policy, level, resource, v.message)
        console.print(table)
    verdict = "[bold red]FAILED[/bold red]" if review.mandatory else "[bold green]PASSED[/bold green]"
    console.print(
        f"{verdict}: policy pack {review.pack_name}@{review.pack_version} on stack {review.stack!r}: "
        f"{len(review.policies)} policies, {review.resources} resources, "
        f"{len(review.mandatory)} mandatory and {len(review.advisory)} advisory violation(s) "
        f"in {review.seconds:.2f} s; pack config: {config_source or 'none (policy defaults)'}."
    )
