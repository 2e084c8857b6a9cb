"""One way to make the rich console, so every command honours terminals, CI logs and NO_COLOR alike."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

# Without a terminal (a CI log, `| grep`, `> file`) and without COLUMNS, rich lays everything out for
# 80 columns and folds issuer URLs and policy messages mid-word. There a line is never folded nor
# cropped: no line of ours comes near this width, and nothing stretches to it (tables take the width of
# their content, panels and rules too: see panel() and rule()).
LOG_WIDTH = 10_000


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own answer is exit 1, which a check command also uses for "a check failed". Let the
        # error reach the entry point instead, which ends every command alike (exit 141, see __main__.py).
        self.quiet = True
        raise BrokenPipeError


def make_console(*, stderr: bool = False, **options: Any) -> Console:
    console = _Console(stderr=stderr, **options)  # rich itself honours NO_COLOR and TERM=dumb
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = LOG_WIDTH
    return console


def panel(console: Console, body: Any, *, title: str) -> Panel:
    """A titled box: as wide as the terminal on one, as wide as its content in a log."""
    return Panel(body, title=title, title_align="left", expand=console.is_terminal)


def rule(console: Console, title: str) -> None:
    """A section heading: a rule across the terminal; in a log, as wide as its title (a rule would
    otherwise stretch to LOG_WIDTH)."""
    if console.is_terminal or "COLUMNS" in os.environ:
        console.rule(title)
    else:
        console.print(f"── {title} ──", highlight=False)


def show_table(console: Console, table: Table) -> None:
    """`table` as is where it fits; where it would need more than the terminal's width, one block of
    `field value` lines per row (squeezed, its columns would fold a word or two per line).

    Without a terminal the console is LOG_WIDTH wide, so a log always gets the table, one row a line.
    """
    natural = console.measure(table, options=console.options.update_width(LOG_WIDTH)).maximum
    if natural <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold")
    headers = [column.header for column in table.columns]
    for cells in zip(*(list(column.cells) for column in table.columns), strict=True):
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for header, cell in zip(headers, cells, strict=True):
            block.add_row(header, cell)
        console.print()
        console.print(block)


@contextmanager
def progress(message: str, *, json_to_stdout: bool = False) -> Iterator[None]:
    """A spinner with `message` on stderr while a slow step runs; it leaves no trace when done.

    Only when a person watches: stdout and stderr both terminals (not `| less`, not a CI log, not a
    file) and stdout not carrying JSON. Anywhere else nothing is written, so logs and pipes never see
    a spinner frame or a control character.
    """
    if json_to_stdout or not (sys.stdout.isatty() and sys.stderr.isatty()):
        yield
        return
    console = make_console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:  # TERM=dumb, TTY_COMPATIBLE=0
        yield
        return
    with console.status(message):
        yield
