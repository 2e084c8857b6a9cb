"""Print a review for people (a rich table and a summary) or for machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from certless_ops.console import show_table
from certless_ops.review.analyzer import Review


def print_json(review: Review, out: IO[str], extra: dict[str, object] | None = None) -> None:
    document = review.to_json()
    document.update(extra or {})
    out.write(json.dumps(document, indent=2) + "\n")


def print_table(review: Review, console: Console, config_source: str | None) -> None:
    if review.violations:
        table = Table(title=f"Policy violations - stack {review.stack}", show_lines=True)
        table.add_column("Policy", style="bold", no_wrap=True)
        table.add_column("Enforcement", no_wrap=True)
        table.add_column("Resource", overflow="fold", ratio=1)
        table.add_column("Message", overflow="fold", ratio=2)
        order = {"mandatory": 0, "advisory": 1}
        for v in sorted(review.violations, key=lambda v: (order.get(v.enforcement, 2), v.policy, v.urn)):
            level = "[red]mandatory[/red]" if v.enforcement == "mandatory" else "[yellow]advisory[/yellow]"
            table.add_row(
                v.policy, level, _resource_cell(v.resource_name, v.resource_type), escape(v.message)
            )
        show_table(console, table)
    if review.preview:
        _print_skipped(review, console)
    verdict = "[bold red]FAILED[/bold red]" if review.mandatory else "[bold green]PASSED[/bold green]"
    mode = " in preview" if review.preview else ""
    console.print(
        f"{verdict}{mode}: policy pack {review.pack_name}@{review.pack_version} on stack {review.stack!r}: "
        f"{len(review.policies)} policies, {review.resources} resources, "
        f"{len(review.mandatory)} mandatory and {len(review.advisory)} advisory violation(s) "
        f"in {review.seconds:.2f} s; pack config: {config_source or 'none (policy defaults)'}."
    )


def _resource_cell(name: str, resource_type: str) -> str:
    # Escaped: a message or name may hold brackets (e.g. "[unknown]") that rich would take as markup.
    return f"{escape(name)}\n[dim]{escape(resource_type)}[/dim]" if resource_type else escape(name)


def _print_skipped(review: Review, console: Console) -> None:
    if review.skipped:
        table = Table(title=f"Skipped in preview - stack {review.stack}", show_lines=True)
        table.add_column("Policy", style="bold", no_wrap=True)
        table.add_column("Resource", overflow="fold", ratio=1)
        table.add_column("Why", overflow="fold", ratio=2)
        for s in sorted(review.skipped, key=lambda s: (s.policy, s.urn)):
            table.add_row(s.policy, _resource_cell(s.resource_name, s.resource_type), escape(s.reason))
        show_table(console, table)
    console.print(escape(review.skipped_summary) + ".", highlight=False)


def _cell(text: str) -> str:
    # A Markdown table cell: no line breaks, pipes escaped, HTML left inert.
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def print_markdown(review: Review, plan: Mapping[str, Any], out: IO[str], config_source: str | None) -> None:
    """A summary for ``$GITHUB_STEP_SUMMARY`` or a PR comment: verdict, violations, the trust chain."""
    from certless_ops.plan.picture import mermaid

    verdict = "FAILED" if review.mandatory else "PASSED"
    mark = ":x:" if review.mandatory else ":white_check_mark:"
    out.write(f"### {mark} certless policy review: stack `{review.stack}` {verdict}\n\n")
    out.write(
        f"Policy pack {review.pack_name}@{review.pack_version}: {len(review.policies)} policies, "
        f"{review.resources} resources, {len(review.mandatory)} mandatory and {len(review.advisory)} "
        f"advisory violation(s); pack config: {config_source or 'none (policy defaults)'}.\n\n"
    )
    if review.preview:
        out.write(f"Reviewed as `pulumi preview` runs the pack; {review.skipped_summary}.\n\n")
        if review.skipped:
            out.write("| skipped policy | resource | why |\n|---|---|---|\n")
            for s in sorted(review.skipped, key=lambda s: (s.policy, s.urn)):
                out.write(f"| `{_cell(s.policy)}` | {_cell(s.resource_name)} | {_cell(s.reason)} |\n")
            out.write("\n")
    if review.violations:
        out.write("| policy | enforcement | resource | message |\n|---|---|---|---|\n")
        order = {"mandatory": 0, "advisory": 1}
        for v in sorted(review.violations, key=lambda v: (order.get(v.enforcement, 2), v.policy, v.urn)):
            out.write(
                f"| `{_cell(v.policy)}` | {v.enforcement} | {_cell(v.resource_name)} | {_cell(v.message)} |\n"
            )
        out.write("\n")
    out.write("<details><summary>Trust chain</summary>\n\n```mermaid\n")
    out.write(mermaid(plan))
    out.write("```\n\n</details>\n")
